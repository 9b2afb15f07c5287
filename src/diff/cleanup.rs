//! Deletes every owned resource no desired resource claimed: resources that
//! left the plan, duplicates of one address, and everything on `destroy`.

use super::*;

/// An owned live resource and the step that deletes it.
struct Deletable<'b> {
    tags: &'b Tags,
    id: &'b str,
    region: String,
    step: Step,
}

impl<'a> Differ<'a> {
    /// Every live resource this plan owns (checked on its own tags: live
    /// state also holds adopted resources), with its delete step.
    fn owned_deletables(&self) -> Vec<Deletable<'a>> {
        let live = self.live;
        let plan = self.desired.name.as_str();
        let mut out = Vec::new();
        let mut add = |tags: &'a Tags, id: &'a str, region: &str, rank: u8, op: Op| {
            if crate::model::owned_by(tags, plan) {
                out.push(Deletable {
                    tags,
                    id,
                    region: region.to_string(),
                    step: Step::delete(rank, op),
                });
            }
        };
        for p in live.peerings.iter().filter(|p| !p.is_gone()) {
            let region = p.requester_region.clone().unwrap_or_else(|| p.region.clone());
            let op = Op::DeletePeering {
                region: region.clone(),
                id: p.id.clone(),
            };
            add(&p.tags, &p.id, &region, rank::PEERING, op);
        }
        for e in live.endpoints.iter().filter(|e| !e.is_gone()) {
            let op = Op::DeleteEndpoint {
                region: e.region.clone(),
                id: e.id.clone(),
                endpoint_type: e.endpoint_type,
            };
            add(&e.tags, &e.id, &e.region, rank::ENDPOINT, op);
        }
        for r in &live.egress_rules {
            let Some(RulePeer::Group(peer)) = &r.peer else {
                continue;
            };
            let op = Op::RevokeEgress {
                region: r.region.clone(),
                group: r.group_id.clone(),
                rule_id: r.id.clone(),
                peer: peer.clone(),
            };
            add(&r.tags, &r.id, &r.region, rank::EGRESS, op);
        }
        for g in &live.security_groups {
            let op = Op::DeleteSecurityGroup {
                region: g.region.clone(),
                id: g.id.clone(),
            };
            add(&g.tags, &g.id, &g.region, rank::SECURITY_GROUP, op);
        }
        for t in &live.route_tables {
            let associations = explicit_associations(t);
            let op = Op::DeleteRouteTable {
                region: t.region.clone(),
                id: t.id.clone(),
                associations,
            };
            add(&t.tags, &t.id, &t.region, rank::ROUTE_TABLE, op);
        }
        for s in &live.subnets {
            let op = Op::DeleteSubnet {
                region: s.region.clone(),
                id: s.id.clone(),
            };
            add(&s.tags, &s.id, &s.region, rank::SUBNET, op);
        }
        for v in &live.vpcs {
            let op = Op::DeleteVpc {
                region: v.region.clone(),
                id: v.id.clone(),
            };
            add(&v.tags, &v.id, &v.region, rank::VPC, op);
        }
        out
    }

    /// Every owned live resource no desired resource claimed is deleted.
    /// One whose address a claimed resource holds is a duplicate.
    pub(super) fn delete_unclaimed(&mut self) {
        let all = self.owned_deletables();
        let held: BTreeSet<&str> = all
            .iter()
            .filter(|d| self.claimed.contains(d.id))
            .filter_map(|d| key_of(d.tags))
            .collect();
        let mut dels = Vec::new();
        for d in all.iter().filter(|d| !self.claimed.contains(d.id)) {
            let key = key_of(d.tags).unwrap_or(d.id);
            let reason = if held.contains(key) {
                "duplicate: another resource already holds this address"
            } else if self.mode == Mode::Destroy {
                "owned by this plan (destroy)"
            } else {
                "not in plan"
            };
            dels.push(Change {
                scope: Vec::new(),
                address: Address(key.to_string()),
                action: Action::Delete,
                reason: reason.to_string(),
                region: d.region.clone(),
                id: Some(d.id.to_string()),
                attrs: Vec::new(),
                steps: vec![d.step.clone()],
            });
        }
        self.out.extend(dels);
    }
}

/// Association ids of a table's explicit (non-main) subnet associations.
pub(super) fn explicit_associations(t: &LRouteTable) -> Vec<String> {
    t.associations
        .iter()
        .filter(|a| !a.main)
        .map(|a| a.id.clone())
        .collect()
}
