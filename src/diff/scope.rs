//! Which VPCs each change touches. Two changes whose scopes do not meet
//! cannot conflict (no shared route table, group, CIDR space or name), so
//! the executor may run them side by side; changes that share a VPC keep
//! the dependency order of their steps.
//!
//! A VPC is named by its plan name when the plan (or an s3ep tag on it)
//! gives one, else by its id, so that a delete known only by id and a
//! create known only by address still meet. A change whose VPCs cannot be
//! told is scoped `*` and meets everything.

use std::collections::{BTreeSet, HashMap};

use crate::model::{Desired, Live, TAG_KEY};

use super::Change;

/// The scope that meets every other scope.
pub const ANY: &str = "*";

/// Sets `scope` on every change.
pub fn assign(desired: &Desired, live: &Live, changes: &mut [Change]) {
    let vpcs = VpcNames::new(desired, live);
    for c in changes.iter_mut() {
        let mut scope = BTreeSet::new();
        vpcs.of_change(desired, c, &mut scope);
        if scope.is_empty() {
            scope.insert(ANY.to_string());
        }
        c.scope = scope.into_iter().collect();
    }
}

/// Maps ids of live resources to the VPC tokens they belong to.
struct VpcNames {
    /// VPC id → plan name (adopted, or tagged `s3ep:key = vpc.<name>`).
    names: HashMap<String, String>,
    /// Resource id → ids of the VPCs it sits in (a peering has two).
    parents: HashMap<String, Vec<String>>,
}

impl VpcNames {
    fn new(desired: &Desired, live: &Live) -> Self {
        let mut names = HashMap::new();
        for v in &live.vpcs {
            if let Some(name) = v.tags.get(TAG_KEY).and_then(|k| k.strip_prefix("vpc.")) {
                names.insert(v.id.clone(), name.to_string());
            }
        }
        for (name, v) in &desired.vpcs {
            if let Some(id) = v.source.adopted_id() {
                names.insert(id.to_string(), name.clone());
            }
        }
        let mut parents: HashMap<String, Vec<String>> = HashMap::new();
        for v in &live.vpcs {
            parents.insert(v.id.clone(), vec![v.id.clone()]);
        }
        for s in &live.subnets {
            parents.insert(s.id.clone(), vec![s.vpc_id.clone()]);
        }
        for t in &live.route_tables {
            parents.insert(t.id.clone(), vec![t.vpc_id.clone()]);
            for a in &t.associations {
                parents.insert(a.id.clone(), vec![t.vpc_id.clone()]);
            }
        }
        for g in &live.security_groups {
            parents.insert(g.id.clone(), vec![g.vpc_id.clone()]);
        }
        for e in &live.endpoints {
            parents.insert(e.id.clone(), vec![e.vpc_id.clone()]);
        }
        for p in &live.peerings {
            let ends = [&p.requester_vpc_id, &p.accepter_vpc_id];
            parents.insert(p.id.clone(), ends.into_iter().flatten().cloned().collect());
        }
        VpcNames { names, parents }
    }

    fn token(&self, vpc_id: &str) -> String {
        self.names
            .get(vpc_id)
            .cloned()
            .unwrap_or_else(|| vpc_id.to_string())
    }

    fn of_change(&self, desired: &Desired, c: &Change, out: &mut BTreeSet<String>) {
        let addr = c.address.as_str();
        let (kind, rest) = addr.split_once('.').unwrap_or((addr, ""));
        let first = rest.split('.').next().unwrap_or("");
        match kind {
            "vpc" | "subnet" | "route_table" | "route" => {
                // A VPC the plan does not name appears by id in addresses.
                out.insert(self.token(first));
            }
            "endpoint" | "security_group" | "ingress" | "egress" => {
                if let Some(e) = desired.endpoints.get(first) {
                    out.insert(e.vpc.clone());
                }
            }
            "peering" => {
                if let Some(p) = desired.peerings.get(first) {
                    out.insert(p.requester.clone());
                    out.insert(p.accepter.clone());
                }
            }
            _ => {}
        }
        // The live resource's VPCs too: a change of an id the plan no
        // longer names, or one whose VPC is being replaced.
        if let Some(id) = &c.id {
            for vpc in self.parents.get(id).into_iter().flatten() {
                out.insert(self.token(vpc));
            }
        }
    }
}
