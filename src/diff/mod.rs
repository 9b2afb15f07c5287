//! Diffs the desired state against live state: `fn diff(&Desired, &Live)`.
//!
//! Pure: no I/O. Each resource address gets at most one `Change` with an
//! action (create / update / replace / delete), a reason for the preview,
//! the attribute changes people read, and the `Step`s the executor runs.
//! Steps refer to resources that do not exist yet by address (`IdRef::Addr`);
//! the executor resolves those as it creates them.

pub mod ops;
mod policy;

pub use ops::{IdRef, Op, Phase, Step};
pub use policy::{default_policy, normalize_policy, policies_equal};

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::model::{
    Address, DEndpoint, Desired, EndpointKind, HttpsSource, LEndpoint, LPeering, LRouteTable,
    LSecurityGroup, LSubnet, LVpc, Live, Ref, RouteDest, RulePeer, Source, Tags, TAG_KEY,
};

/// What happens to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    /// The symbol shown in the preview, as Terraform draws it.
    pub fn symbol(&self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// One attribute's old and new value, as text for the preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttrChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

impl AttrChange {
    fn new(name: &str, old: Option<String>, new: Option<String>) -> Self {
        AttrChange {
            name: name.to_string(),
            old,
            new,
        }
    }
}

/// A change to one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// Why, in words: "not found", "cidr changes (forces replacement)", …
    pub reason: String,
    pub region: String,
    /// The live id, when the resource exists.
    pub id: Option<String>,
    pub attrs: Vec<AttrChange>,
    /// What the executor runs, in phase and rank order.
    pub steps: Vec<Step>,
}

/// The outcome of a diff: every change, ordered by address.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub changes: Vec<Change>,
}

impl Changes {
    /// Counts per action: (create, update, replace, delete).
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Counts of changes per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
}

/// A plan that cannot be reconciled with what exists.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{address}: {message}")]
pub struct DiffError {
    pub address: String,
    pub message: String,
}

fn err(address: &Address, message: impl Into<String>) -> DiffError {
    DiffError {
        address: address.to_string(),
        message: message.into(),
    }
}

/// Apply: converge live towards the plan. Destroy: delete everything owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Destroy,
}

/// The resource kinds in dependency order; the rank orders steps.
pub mod rank {
    pub const VPC: u8 = 0;
    pub const SUBNET: u8 = 1;
    pub const ROUTE_TABLE: u8 = 2;
    pub const SECURITY_GROUP: u8 = 3;
    pub const INGRESS: u8 = 4;
    pub const ENDPOINT: u8 = 5;
    pub const PEERING: u8 = 6;
    pub const ROUTE: u8 = 7;
}

/// Whether a resource keeps its live id through this run.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    /// Exists and stays (possibly updated in place).
    Kept(String),
    /// Will be created or replaced: its id is known only after the run.
    New,
}

impl Fate {
    fn id_ref(&self, address: &Address) -> IdRef {
        match self {
            Fate::Kept(id) => IdRef::Id(id.clone()),
            Fate::New => IdRef::Addr(address.clone()),
        }
    }
    fn kept(&self) -> Option<&str> {
        match self {
            Fate::Kept(id) => Some(id),
            Fate::New => None,
        }
    }
}

fn key_of(tags: &Tags) -> Option<&str> {
    tags.get(TAG_KEY).map(String::as_str)
}

/// Owned live resources grouped by their `s3ep:key`; within a key, sorted by
/// id so the one kept among duplicates is stable.
fn by_key<'a, T>(
    items: impl Iterator<Item = &'a T>,
    tags: impl Fn(&T) -> &Tags,
    id: impl Fn(&T) -> &str,
) -> BTreeMap<String, Vec<&'a T>>
where
    T: 'a,
{
    let mut map: BTreeMap<String, Vec<&'a T>> = BTreeMap::new();
    for item in items {
        if let Some(k) = key_of(tags(item)) {
            map.entry(k.to_string()).or_default().push(item);
        }
    }
    for v in map.values_mut() {
        v.sort_by(|a, b| id(a).cmp(id(b)));
    }
    map
}

/// Working state of one diff.
struct Differ<'a> {
    desired: &'a Desired,
    live: &'a Live,
    mode: Mode,
    out: Vec<Change>,
    vpcs: BTreeMap<String, Fate>,
    vpc_cidrs: BTreeMap<String, Ipv4Net>,
    subnets: BTreeMap<(String, String), Fate>,
    route_tables: BTreeMap<(String, String), Fate>,
    groups: BTreeMap<String, Fate>,
    endpoints: BTreeMap<String, Fate>,
    peerings: BTreeMap<String, Fate>,
    /// Owned live ids that a desired resource claimed; the rest is deleted.
    claimed: BTreeSet<String>,
}

/// Diffs `desired` against `live`. In `Mode::Destroy` the plan's resources
/// are all treated as absent, so every owned resource is deleted; adopted
/// ones never are.
pub fn diff(desired: &Desired, live: &Live, mode: Mode) -> Result<Changes, DiffError> {
    let mut d = Differ {
        desired,
        live,
        mode,
        out: Vec::new(),
        vpcs: BTreeMap::new(),
        vpc_cidrs: BTreeMap::new(),
        subnets: BTreeMap::new(),
        route_tables: BTreeMap::new(),
        groups: BTreeMap::new(),
        endpoints: BTreeMap::new(),
        peerings: BTreeMap::new(),
        claimed: BTreeSet::new(),
    };
    if mode == Mode::Apply {
        d.vpcs()?;
        d.subnets()?;
        d.route_tables()?;
        d.endpoints_and_groups()?;
        d.peerings()?;
    }
    d.peering_routes()?;
    d.delete_unclaimed();
    let mut changes = d.out;
    changes.sort_by(|a, b| {
        (rank_of(&a.address), &a.address, &a.id).cmp(&(rank_of(&b.address), &b.address, &b.id))
    });
    Ok(Changes { changes })
}

fn rank_of(a: &Address) -> u8 {
    match a.kind() {
        "vpc" => rank::VPC,
        "subnet" => rank::SUBNET,
        "route_table" => rank::ROUTE_TABLE,
        "security_group" => rank::SECURITY_GROUP,
        "ingress" => rank::INGRESS,
        "endpoint" => rank::ENDPOINT,
        "peering" => rank::PEERING,
        _ => rank::ROUTE,
    }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

impl<'a> Differ<'a> {
    fn push(&mut self, c: Change) {
        self.out.push(c);
    }

    fn region_of(&self, vpc: &str) -> String {
        self.desired
            .vpcs
            .get(vpc)
            .map(|v| v.region.clone())
            .unwrap_or_default()
    }

    /// Picks the owned live resource for `address` among duplicates; marks
    /// it claimed. The others stay unclaimed and are deleted as duplicates.
    fn claim<'b, T>(
        &mut self,
        found: Option<&Vec<&'b T>>,
        id: impl Fn(&T) -> &str,
    ) -> Option<&'b T> {
        let first = found.and_then(|v| v.first().copied());
        if let Some(f) = first {
            self.claimed.insert(id(f).to_string());
        }
        first
    }

    fn vpcs(&mut self) -> Result<(), DiffError> {
        let live: Vec<&LVpc> = self.live.vpcs.iter().collect();
        let owned = by_key(live.iter().copied(), |v| &v.tags, |v| &v.id);
        for (name, vpc) in &self.desired.vpcs {
            let address = Address::vpc(name);
            match &vpc.source {
                Source::Adopt(id) => {
                    let found = self.live.vpcs.iter().find(|v| &v.id == id);
                    let cidr = found.and_then(|v| v.cidr).ok_or_else(|| {
                        err(
                            &address,
                            format!("adopted VPC {id} has no readable IPv4 CIDR"),
                        )
                    })?;
                    self.vpc_cidrs.insert(name.clone(), cidr);
                    self.vpcs.insert(name.clone(), Fate::Kept(id.clone()));
                }
                Source::Create(cidr) => {
                    self.vpc_cidrs.insert(name.clone(), *cidr);
                    let found = self.claim(owned.get(address.as_str()), |v| &v.id);
                    let tags = self.desired.tags_for(&address);
                    let create = Step::create(
                        rank::VPC,
                        Op::CreateVpc {
                            region: vpc.region.clone(),
                            cidr: *cidr,
                            tags,
                        },
                    );
                    let attrs_new = vec![
                        AttrChange::new("region", None, Some(vpc.region.clone())),
                        AttrChange::new("cidr", None, Some(cidr.to_string())),
                    ];
                    match found {
                        None => {
                            self.vpcs.insert(name.clone(), Fate::New);
                            self.push(Change {
                                address,
                                action: Action::Create,
                                reason: "not found".into(),
                                region: vpc.region.clone(),
                                id: None,
                                attrs: attrs_new,
                                steps: vec![create],
                            });
                        }
                        Some(l) => {
                            let mut why = Vec::new();
                            let mut attrs = Vec::new();
                            if l.region != vpc.region {
                                why.push("region");
                                attrs.push(AttrChange::new(
                                    "region",
                                    Some(l.region.clone()),
                                    Some(vpc.region.clone()),
                                ));
                            }
                            if l.cidr != Some(*cidr) {
                                why.push("cidr");
                                attrs.push(AttrChange::new(
                                    "cidr",
                                    l.cidr.map(|c| c.to_string()),
                                    Some(cidr.to_string()),
                                ));
                            }
                            if why.is_empty() {
                                self.vpcs.insert(name.clone(), Fate::Kept(l.id.clone()));
                                self.tag_drift(&address, &l.region, &l.id, &l.tags);
                            } else {
                                self.vpcs.insert(name.clone(), Fate::New);
                                self.push(Change {
                                    address,
                                    action: Action::Replace,
                                    reason: format!(
                                        "{} changes (forces replacement)",
                                        why.join(" and ")
                                    ),
                                    region: vpc.region.clone(),
                                    id: Some(l.id.clone()),
                                    attrs,
                                    steps: vec![
                                        Step::delete(
                                            rank::VPC,
                                            Op::DeleteVpc {
                                                region: l.region.clone(),
                                                id: l.id.clone(),
                                            },
                                        ),
                                        create,
                                    ],
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds an update when an owned resource lacks the tags the plan gives it.
    fn tag_drift(&mut self, address: &Address, region: &str, id: &str, live: &Tags) {
        let want = self.desired.tags_for(address);
        let missing: Tags = want
            .into_iter()
            .filter(|(k, v)| live.get(k) != Some(v))
            .collect();
        if missing.is_empty() {
            return;
        }
        let attrs = missing
            .iter()
            .map(|(k, v)| {
                AttrChange::new(&format!("tags.{k}"), live.get(k).cloned(), Some(v.clone()))
            })
            .collect();
        self.push(Change {
            address: address.clone(),
            action: Action::Update,
            reason: "tags differ from the plan".into(),
            region: region.to_string(),
            id: Some(id.to_string()),
            attrs,
            steps: vec![Step::create(
                rank_of(address),
                Op::SetTags {
                    region: region.to_string(),
                    id: id.to_string(),
                    tags: missing,
                },
            )],
        });
    }

    fn subnets(&mut self) -> Result<(), DiffError> {
        let owned = by_key(self.live.subnets.iter(), |s| &s.tags, |s| &s.id);
        for (vname, vpc) in &self.desired.vpcs {
            let vpc_fate = self.vpcs.get(vname).cloned().unwrap_or(Fate::New);
            for (sname, subnet) in &vpc.subnets {
                let address = Address::subnet(vname, sname);
                match &subnet.source {
                    Source::Adopt(id) => {
                        let l = self.live.subnets.iter().find(|s| &s.id == id);
                        if let (Some(l), Some(vid)) = (l, vpc_fate.kept()) {
                            if l.vpc_id != vid {
                                return Err(err(
                                    &address,
                                    format!("adopted subnet {id} is in {}, not in {vid}", l.vpc_id),
                                ));
                            }
                        }
                        self.subnets
                            .insert((vname.clone(), sname.clone()), Fate::Kept(id.clone()));
                    }
                    Source::Create(spec) => {
                        let found: Option<&LSubnet> =
                            self.claim(owned.get(address.as_str()), |s| &s.id);
                        let create = Step::create(
                            rank::SUBNET,
                            Op::CreateSubnet {
                                region: vpc.region.clone(),
                                vpc: vpc_fate.id_ref(&Address::vpc(vname)),
                                az: spec.az.clone(),
                                cidr: spec.cidr,
                                tags: self.desired.tags_for(&address),
                            },
                        );
                        let fate = self.resource(
                            &address,
                            &vpc.region,
                            found.map(|l| (l.id.as_str(), l.region.as_str(), &l.tags)),
                            |why, attrs| {
                                if let Some(l) = found {
                                    if vpc_fate.kept() != Some(l.vpc_id.as_str()) {
                                        why.push("its VPC is replaced".to_string());
                                    }
                                    if l.az != spec.az {
                                        why.push("az changes".to_string());
                                        attrs.push(AttrChange::new(
                                            "az",
                                            Some(l.az.clone()),
                                            Some(spec.az.clone()),
                                        ));
                                    }
                                    if l.cidr != Some(spec.cidr) {
                                        why.push("cidr changes".to_string());
                                        attrs.push(AttrChange::new(
                                            "cidr",
                                            l.cidr.map(|c| c.to_string()),
                                            Some(spec.cidr.to_string()),
                                        ));
                                    }
                                }
                            },
                            vec![
                                AttrChange::new("az", None, Some(spec.az.clone())),
                                AttrChange::new("cidr", None, Some(spec.cidr.to_string())),
                            ],
                            |l_id, l_region| Op::DeleteSubnet {
                                region: l_region.to_string(),
                                id: l_id.to_string(),
                            },
                            create,
                            rank::SUBNET,
                        );
                        self.subnets.insert((vname.clone(), sname.clone()), fate);
                    }
                }
            }
        }
        Ok(())
    }

    /// The create / replace / keep decision shared by every resource kind.
    /// `check` fills in why a live resource must be replaced (empty: keep).
    #[allow(clippy::too_many_arguments)]
    fn resource(
        &mut self,
        address: &Address,
        region: &str,
        found: Option<(&str, &str, &Tags)>,
        check: impl FnOnce(&mut Vec<String>, &mut Vec<AttrChange>),
        create_attrs: Vec<AttrChange>,
        delete_op: impl FnOnce(&str, &str) -> Op,
        create: Step,
        rank: u8,
    ) -> Fate {
        match found {
            None => {
                self.push(Change {
                    address: address.clone(),
                    action: Action::Create,
                    reason: "not found".into(),
                    region: region.to_string(),
                    id: None,
                    attrs: create_attrs,
                    steps: vec![create],
                });
                Fate::New
            }
            Some((id, l_region, tags)) => {
                let mut why = Vec::new();
                let mut attrs = Vec::new();
                if l_region != region {
                    why.push("region changes".to_string());
                    attrs.push(AttrChange::new(
                        "region",
                        Some(l_region.to_string()),
                        Some(region.to_string()),
                    ));
                }
                check(&mut why, &mut attrs);
                if why.is_empty() {
                    self.tag_drift(address, l_region, id, tags);
                    Fate::Kept(id.to_string())
                } else {
                    self.push(Change {
                        address: address.clone(),
                        action: Action::Replace,
                        reason: format!("{} (forces replacement)", why.join(", ")),
                        region: region.to_string(),
                        id: Some(id.to_string()),
                        attrs,
                        steps: vec![Step::delete(rank, delete_op(id, l_region)), create],
                    });
                    Fate::New
                }
            }
        }
    }

    fn subnet_ref(&self, vpc: &str, r: &Ref) -> IdRef {
        match r {
            Ref::Id(id) => IdRef::Id(id.clone()),
            Ref::Name(n) => self
                .subnets
                .get(&(vpc.to_string(), n.clone()))
                .cloned()
                .unwrap_or(Fate::New)
                .id_ref(&Address::subnet(vpc, n)),
        }
    }

    fn table_ref(&self, vpc: &str, r: &Ref) -> IdRef {
        match r {
            Ref::Id(id) => IdRef::Id(id.clone()),
            Ref::Name(n) => self
                .route_tables
                .get(&(vpc.to_string(), n.clone()))
                .cloned()
                .unwrap_or(Fate::New)
                .id_ref(&Address::route_table(vpc, n)),
        }
    }

    fn live_table(&self, id: &str) -> Option<&'a LRouteTable> {
        self.live.route_tables.iter().find(|t| t.id == id)
    }

    fn route_tables(&mut self) -> Result<(), DiffError> {
        let owned = by_key(self.live.route_tables.iter(), |t| &t.tags, |t| &t.id);
        for (vname, vpc) in &self.desired.vpcs {
            let vpc_fate = self.vpcs.get(vname).cloned().unwrap_or(Fate::New);
            for (tname, table) in &vpc.route_tables {
                let address = Address::route_table(vname, tname);
                let spec = match &table.source {
                    Source::Adopt(id) => {
                        if let (Some(l), Some(vid)) = (self.live_table(id), vpc_fate.kept()) {
                            if l.vpc_id != vid {
                                return Err(err(
                                    &address,
                                    format!(
                                        "adopted route table {id} is in {}, not in {vid}",
                                        l.vpc_id
                                    ),
                                ));
                            }
                        }
                        self.route_tables
                            .insert((vname.clone(), tname.clone()), Fate::Kept(id.clone()));
                        continue;
                    }
                    Source::Create(spec) => spec,
                };
                let subnet_refs: Vec<IdRef> = spec
                    .subnets
                    .iter()
                    .map(|s| self.subnet_ref(vname, &Ref::Name(s.clone())))
                    .collect();
                let found: Option<&LRouteTable> =
                    self.claim(owned.get(address.as_str()), |t| &t.id);
                let assocs = found.map(explicit_associations).unwrap_or_default();
                let create = Step::create(
                    rank::ROUTE_TABLE,
                    Op::CreateRouteTable {
                        region: vpc.region.clone(),
                        vpc: vpc_fate.id_ref(&Address::vpc(vname)),
                        subnets: subnet_refs.clone(),
                        tags: self.desired.tags_for(&address),
                    },
                );
                let fate = self.resource(
                    &address,
                    &vpc.region,
                    found.map(|l| (l.id.as_str(), l.region.as_str(), &l.tags)),
                    |why, _| {
                        if let Some(l) = found {
                            if vpc_fate.kept() != Some(l.vpc_id.as_str()) {
                                why.push("its VPC is replaced".to_string());
                            }
                        }
                    },
                    vec![AttrChange::new("subnets", None, Some(list(&spec.subnets)))],
                    |id, region| Op::DeleteRouteTable {
                        region: region.to_string(),
                        id: id.to_string(),
                        associations: assocs,
                    },
                    create,
                    rank::ROUTE_TABLE,
                );
                if let (Fate::Kept(id), Some(l)) = (&fate, found) {
                    self.associations(&address, &vpc.region, id, l, &spec.subnets, &subnet_refs);
                }
                self.route_tables
                    .insert((vname.clone(), tname.clone()), fate);
            }
        }
        Ok(())
    }

    /// Subnet associations of a kept route table: add and remove one by one.
    fn associations(
        &mut self,
        address: &Address,
        region: &str,
        id: &str,
        l: &LRouteTable,
        names: &[String],
        refs: &[IdRef],
    ) {
        let live_subnets: BTreeMap<&str, &str> = l
            .associations
            .iter()
            .filter(|a| !a.main)
            .filter_map(|a| a.subnet_id.as_deref().map(|s| (s, a.id.as_str())))
            .collect();
        let mut steps = Vec::new();
        let mut added = Vec::new();
        for (name, r) in names.iter().zip(refs) {
            let present = matches!(r, IdRef::Id(sid) if live_subnets.contains_key(sid.as_str()));
            if !present {
                added.push(name.clone());
                steps.push(Step::create(
                    rank::ROUTE_TABLE,
                    Op::Associate {
                        region: region.to_string(),
                        route_table: IdRef::Id(id.to_string()),
                        subnet: r.clone(),
                    },
                ));
            }
        }
        let wanted: BTreeSet<&str> = refs
            .iter()
            .filter_map(|r| match r {
                IdRef::Id(s) => Some(s.as_str()),
                IdRef::Addr(_) => None,
            })
            .collect();
        let mut removed = Vec::new();
        for (subnet, assoc) in &live_subnets {
            if !wanted.contains(subnet) {
                removed.push(subnet.to_string());
                steps.push(Step::delete(
                    rank::ROUTE_TABLE,
                    Op::Disassociate {
                        region: region.to_string(),
                        association_id: assoc.to_string(),
                    },
                ));
            }
        }
        if steps.is_empty() {
            return;
        }
        let mut attrs = Vec::new();
        if !added.is_empty() {
            attrs.push(AttrChange::new(
                "subnets",
                None,
                Some(format!("+{}", list(&added))),
            ));
        }
        if !removed.is_empty() {
            attrs.push(AttrChange::new(
                "subnets",
                Some(format!("-{}", list(&removed))),
                None,
            ));
        }
        self.push(Change {
            address: address.clone(),
            action: Action::Update,
            reason: "subnet associations differ".into(),
            region: region.to_string(),
            id: Some(id.to_string()),
            attrs,
            steps,
        });
    }

    fn endpoints_and_groups(&mut self) -> Result<(), DiffError> {
        let live_eps: Vec<&LEndpoint> = self
            .live
            .endpoints
            .iter()
            .filter(|e| !matches!(e.state.as_str(), "deleted" | "deleting"))
            .collect();
        let owned_eps = by_key(live_eps.iter().copied(), |e| &e.tags, |e| &e.id);
        let owned_sgs = by_key(self.live.security_groups.iter(), |g| &g.tags, |g| &g.id);
        for (ename, ep) in &self.desired.endpoints {
            let region = self.region_of(&ep.vpc);
            let vpc_fate = self.vpcs.get(&ep.vpc).cloned().unwrap_or(Fate::New);
            // The endpoint's own security group and its rules come first.
            let mut group_ref = None;
            if let EndpointKind::Interface {
                security_group: Some(sg),
                ..
            } = &ep.kind
            {
                let address = Address::security_group(ename);
                let found: Option<&LSecurityGroup> =
                    self.claim(owned_sgs.get(address.as_str()), |g| &g.id);
                let group_name = format!("{}-{}", self.desired.name, ename);
                let create = Step::create(
                    rank::SECURITY_GROUP,
                    Op::CreateSecurityGroup {
                        region: region.clone(),
                        vpc: vpc_fate.id_ref(&Address::vpc(&ep.vpc)),
                        name: group_name.clone(),
                        description: format!(
                            "s3ep {}: HTTPS (443) to S3 endpoint {ename}",
                            self.desired.name
                        ),
                        tags: self.desired.tags_for(&address),
                    },
                );
                let fate = self.resource(
                    &address,
                    &region,
                    found.map(|g| (g.id.as_str(), g.region.as_str(), &g.tags)),
                    |why, _| {
                        if let Some(g) = found {
                            if vpc_fate.kept() != Some(g.vpc_id.as_str()) {
                                why.push("its VPC is replaced".to_string());
                            }
                        }
                    },
                    vec![AttrChange::new("name", None, Some(group_name))],
                    |id, region| Op::DeleteSecurityGroup {
                        region: region.to_string(),
                        id: id.to_string(),
                    },
                    create,
                    rank::SECURITY_GROUP,
                );
                self.ingress(ename, &region, &fate, found, &sg.allow_https_from)?;
                group_ref = Some(fate.id_ref(&address));
                self.groups.insert(ename.clone(), fate);
            }
            let address = Address::endpoint(ename);
            let found: Option<&LEndpoint> = self.claim(owned_eps.get(address.as_str()), |e| &e.id);
            let fate = self.endpoint(ename, ep, &region, &vpc_fate, group_ref, found)?;
            self.endpoints.insert(ename.clone(), fate);
        }
        Ok(())
    }

    fn ingress(
        &mut self,
        ename: &str,
        region: &str,
        group: &Fate,
        found: Option<&LSecurityGroup>,
        rules: &[crate::model::HttpsRule],
    ) -> Result<(), DiffError> {
        let sg_address = Address::security_group(ename);
        let live_rules: Vec<RulePeer> = match (group, found) {
            (Fate::Kept(_), Some(g)) => g
                .ingress
                .iter()
                .filter(|r| r.is_https())
                .map(|r| r.peer.clone())
                .collect(),
            _ => Vec::new(),
        };
        let mut wanted = Vec::new();
        for rule in rules {
            let address = Address::ingress(ename, &rule.written);
            let peer = match &rule.source {
                HttpsSource::Cidr(c) => RulePeer::Cidr(*c),
                HttpsSource::Group(g) => RulePeer::Group(g.clone()),
                HttpsSource::Vpc(v) => RulePeer::Cidr(
                    *self
                        .vpc_cidrs
                        .get(v)
                        .ok_or_else(|| err(&address, format!("VPC {v} has no known CIDR")))?,
                ),
            };
            wanted.push(peer.clone());
            if live_rules.contains(&peer) {
                continue;
            }
            self.push(Change {
                address: address.clone(),
                action: Action::Create,
                reason: "not found".into(),
                region: region.to_string(),
                id: None,
                attrs: vec![AttrChange::new(
                    "rule",
                    None,
                    Some(format!("tcp/443 from {peer}")),
                )],
                steps: vec![Step::create(
                    rank::INGRESS,
                    Op::AuthorizeIngress {
                        region: region.to_string(),
                        group: group.id_ref(&sg_address),
                        peer,
                        tags: self.desired.tags_for(&address),
                    },
                )],
            });
        }
        if let (Fate::Kept(gid), Some(_)) = (group, found) {
            for peer in live_rules.iter().filter(|p| !wanted.contains(p)) {
                self.push(Change {
                    address: Address::ingress(ename, &peer.to_string()),
                    action: Action::Delete,
                    reason: "not in plan".into(),
                    region: region.to_string(),
                    id: Some(gid.clone()),
                    attrs: vec![AttrChange::new(
                        "rule",
                        Some(format!("tcp/443 from {peer}")),
                        None,
                    )],
                    steps: vec![Step::delete(
                        rank::INGRESS,
                        Op::RevokeIngress {
                            region: region.to_string(),
                            group: gid.clone(),
                            peer: peer.clone(),
                        },
                    )],
                });
            }
        }
        Ok(())
    }

    fn endpoint(
        &mut self,
        ename: &str,
        ep: &DEndpoint,
        region: &str,
        vpc_fate: &Fate,
        group_ref: Option<IdRef>,
        found: Option<&LEndpoint>,
    ) -> Result<Fate, DiffError> {
        let address = Address::endpoint(ename);
        self.check_endpoint_refs(&address, ep, vpc_fate)?;
        let (tables, subnets, groups, private_dns) = match &ep.kind {
            EndpointKind::Gateway { route_tables } => (
                route_tables
                    .iter()
                    .map(|r| self.table_ref(&ep.vpc, r))
                    .collect::<Vec<_>>(),
                Vec::new(),
                Vec::new(),
                None,
            ),
            EndpointKind::Interface {
                subnets,
                security_groups,
                private_dns,
                ..
            } => {
                let mut groups: Vec<IdRef> = group_ref.into_iter().collect();
                groups.extend(security_groups.iter().map(|g| IdRef::Id(g.clone())));
                (
                    Vec::new(),
                    subnets
                        .iter()
                        .map(|s| self.subnet_ref(&ep.vpc, s))
                        .collect(),
                    groups,
                    Some(*private_dns),
                )
            }
        };
        let create = Step::create(
            rank::ENDPOINT,
            Op::CreateEndpoint {
                region: region.to_string(),
                vpc: vpc_fate.id_ref(&Address::vpc(&ep.vpc)),
                service: ep.service.clone(),
                endpoint_type: ep.endpoint_type(),
                route_tables: tables.clone(),
                subnets: subnets.clone(),
                security_groups: groups.clone(),
                private_dns,
                policy: ep.policy.clone(),
                tags: self.desired.tags_for(&address),
            },
        );
        let mut create_attrs = vec![
            AttrChange::new("type", None, Some(ep.endpoint_type().to_string())),
            AttrChange::new("service", None, Some(ep.service.clone())),
        ];
        let show = |refs: &[IdRef]| refs.iter().map(IdRef::to_string).collect::<Vec<_>>();
        if !tables.is_empty() {
            create_attrs.push(AttrChange::new(
                "route_tables",
                None,
                Some(list(&show(&tables))),
            ));
        }
        if !subnets.is_empty() {
            create_attrs.push(AttrChange::new(
                "subnets",
                None,
                Some(list(&show(&subnets))),
            ));
        }
        if !groups.is_empty() {
            create_attrs.push(AttrChange::new(
                "security_groups",
                None,
                Some(list(&show(&groups))),
            ));
        }
        if let Some(p) = private_dns {
            create_attrs.push(AttrChange::new("private_dns", None, Some(p.to_string())));
        }
        create_attrs.push(AttrChange::new(
            "policy",
            None,
            Some(if ep.policy.is_some() {
                "(from plan)".into()
            } else {
                "(AWS default: full access)".into()
            }),
        ));
        let fate = self.resource(
            &address,
            region,
            found.map(|e| (e.id.as_str(), e.region.as_str(), &e.tags)),
            |why, attrs| {
                if let Some(l) = found {
                    if vpc_fate.kept() != Some(l.vpc_id.as_str()) {
                        why.push(if vpc_fate.kept().is_some() {
                            "vpc changes".into()
                        } else {
                            "its VPC is replaced".into()
                        });
                        attrs.push(AttrChange::new(
                            "vpc_id",
                            Some(l.vpc_id.clone()),
                            vpc_fate.kept().map(str::to_string),
                        ));
                    }
                    if l.endpoint_type != ep.endpoint_type() {
                        why.push("type changes".into());
                        attrs.push(AttrChange::new(
                            "type",
                            Some(l.endpoint_type.to_string()),
                            Some(ep.endpoint_type().to_string()),
                        ));
                    }
                    if l.service != ep.service {
                        why.push("service changes".into());
                        attrs.push(AttrChange::new(
                            "service",
                            Some(l.service.clone()),
                            Some(ep.service.clone()),
                        ));
                    }
                    if matches!(l.state.as_str(), "failed" | "rejected" | "expired") {
                        why.push(format!(
                            "it is {}{}",
                            l.state,
                            l.last_error
                                .as_deref()
                                .map(|e| format!(" ({e})"))
                                .unwrap_or_default()
                        ));
                    }
                }
            },
            create_attrs,
            |id, region| Op::DeleteEndpoint {
                region: region.to_string(),
                id: id.to_string(),
            },
            create,
            rank::ENDPOINT,
        );
        if let (Fate::Kept(id), Some(l)) = (&fate, found) {
            self.endpoint_update(
                &address,
                region,
                id,
                ep,
                l,
                &tables,
                &subnets,
                &groups,
                private_dns,
            );
        }
        Ok(fate)
    }

    /// Checks what only live state can tell: subnets and route tables given
    /// by id belong to the endpoint's VPC, and an interface endpoint has at
    /// most one subnet per AZ (EC2 answers DuplicateSubnetsInSameZone; some
    /// emulators accept it silently).
    fn check_endpoint_refs(
        &self,
        address: &Address,
        ep: &DEndpoint,
        vpc_fate: &Fate,
    ) -> Result<(), DiffError> {
        let vpc = self.desired.vpcs.get(&ep.vpc);
        let live_id = |r: &Ref| -> Option<String> {
            match r {
                Ref::Id(id) => Some(id.clone()),
                Ref::Name(n) => vpc
                    .and_then(|v| {
                        v.subnets
                            .get(n)
                            .and_then(|s| s.source.adopted_id())
                            .or_else(|| v.route_tables.get(n).and_then(|t| t.source.adopted_id()))
                    })
                    .map(str::to_string),
            }
        };
        match &ep.kind {
            EndpointKind::Gateway { route_tables } => {
                for r in route_tables {
                    let Some(id) = live_id(r) else { continue };
                    if let (Some(t), Some(vid)) = (self.live_table(&id), vpc_fate.kept()) {
                        if t.vpc_id != vid {
                            return Err(err(address, format!("route table {id} is in {}, not in the endpoint's VPC {} ({vid})", t.vpc_id, ep.vpc)));
                        }
                    }
                }
            }
            EndpointKind::Interface { subnets, .. } => {
                let mut by_az: BTreeMap<String, String> = BTreeMap::new();
                for r in subnets {
                    let (label, az) = match (r, live_id(r)) {
                        (_, Some(id)) => {
                            let Some(l) = self.live.subnets.iter().find(|s| s.id == id) else {
                                continue;
                            };
                            if let Some(vid) = vpc_fate.kept() {
                                if l.vpc_id != vid {
                                    return Err(err(address, format!("subnet {id} is in {}, not in the endpoint's VPC {} ({vid})", l.vpc_id, ep.vpc)));
                                }
                            }
                            (id, l.az.clone())
                        }
                        (Ref::Name(n), None) => {
                            match vpc.and_then(|v| v.subnets.get(n)).map(|s| &s.source) {
                                Some(Source::Create(spec)) => (n.clone(), spec.az.clone()),
                                _ => continue,
                            }
                        }
                        (Ref::Id(_), None) => continue,
                    };
                    if let Some(other) = by_az.insert(az.clone(), label.clone()) {
                        return Err(err(address, format!(
                            "subnets {other} and {label} are both in {az}: an interface endpoint takes at most one subnet per availability zone"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// In-place endpoint changes: ModifyVpcEndpoint with add/remove lists.
    /// Removals run in the delete phase (before what they referenced goes
    /// away), additions in the create phase (after what they reference exists).
    #[allow(clippy::too_many_arguments)]
    fn endpoint_update(
        &mut self,
        address: &Address,
        region: &str,
        id: &str,
        ep: &DEndpoint,
        l: &LEndpoint,
        tables: &[IdRef],
        subnets: &[IdRef],
        groups: &[IdRef],
        private_dns: Option<bool>,
    ) {
        let mut attrs = Vec::new();
        let mut add = ops::EndpointEdit::default();
        let mut remove = ops::EndpointEdit::default();
        let mut set_diff = |name: &str,
                            want: &[IdRef],
                            have: &[String],
                            add: &mut Vec<IdRef>,
                            remove: &mut Vec<String>| {
            let plus: Vec<IdRef> = want
                .iter()
                .filter(|r| !matches!(r, IdRef::Id(i) if have.contains(i)))
                .cloned()
                .collect();
            let minus: Vec<String> = have
                .iter()
                .filter(|h| !want.iter().any(|r| matches!(r, IdRef::Id(i) if i == *h)))
                .cloned()
                .collect();
            if !plus.is_empty() {
                attrs.push(AttrChange::new(
                    name,
                    None,
                    Some(format!(
                        "+{}",
                        list(&plus.iter().map(IdRef::to_string).collect::<Vec<_>>())
                    )),
                ));
            }
            if !minus.is_empty() {
                attrs.push(AttrChange::new(
                    name,
                    Some(format!("-{}", list(&minus))),
                    None,
                ));
            }
            add.extend(plus);
            remove.extend(minus);
        };
        match ep.endpoint_type() {
            crate::model::EndpointType::Gateway => {
                set_diff(
                    "route_tables",
                    tables,
                    &l.route_table_ids,
                    &mut add.route_tables,
                    &mut remove.route_table_ids,
                );
            }
            crate::model::EndpointType::Interface => {
                set_diff(
                    "subnets",
                    subnets,
                    &l.subnet_ids,
                    &mut add.subnets,
                    &mut remove.subnet_ids,
                );
                set_diff(
                    "security_groups",
                    groups,
                    &l.security_group_ids,
                    &mut add.security_groups,
                    &mut remove.security_group_ids,
                );
            }
        }
        if let Some(p) = private_dns {
            if p != l.private_dns {
                attrs.push(AttrChange::new(
                    "private_dns",
                    Some(l.private_dns.to_string()),
                    Some(p.to_string()),
                ));
                add.private_dns = Some(p);
            }
        }
        if !policies_equal(ep.policy.as_ref(), l.policy.as_ref()) {
            let show = |p: Option<&serde_json::Value>| match p {
                None => "(AWS default: full access)".to_string(),
                Some(v) => serde_json::to_string(v).unwrap_or_default(),
            };
            attrs.push(AttrChange::new(
                "policy",
                Some(show(l.policy.as_ref())),
                Some(show(ep.policy.as_ref())),
            ));
            add.policy = Some(ep.policy.clone());
        }
        if attrs.is_empty() {
            return;
        }
        let mut steps = Vec::new();
        if !remove.is_empty() {
            steps.push(Step::delete(
                rank::ENDPOINT,
                Op::ModifyEndpoint {
                    region: region.to_string(),
                    id: id.to_string(),
                    edit: remove,
                },
            ));
        }
        if !add.is_empty() {
            steps.push(Step::create(
                rank::ENDPOINT,
                Op::ModifyEndpoint {
                    region: region.to_string(),
                    id: id.to_string(),
                    edit: add,
                },
            ));
        }
        self.push(Change {
            address: address.clone(),
            action: Action::Update,
            reason: "attributes differ from the plan".into(),
            region: region.to_string(),
            id: Some(id.to_string()),
            attrs,
            steps,
        });
    }

    fn peerings(&mut self) -> Result<(), DiffError> {
        let live: Vec<&LPeering> = self.live.peerings.iter().filter(|p| !p.is_gone()).collect();
        let owned = by_key(live.iter().copied(), |p| &p.tags, |p| &p.id);
        for (pname, p) in &self.desired.peerings {
            let address = Address::peering(pname);
            let req_region = self.region_of(&p.requester);
            let acc_region = self.region_of(&p.accepter);
            let req = self.vpcs.get(&p.requester).cloned().unwrap_or(Fate::New);
            let acc = self.vpcs.get(&p.accepter).cloned().unwrap_or(Fate::New);
            if let (Some(a), Some(b)) = (
                self.vpc_cidrs.get(&p.requester),
                self.vpc_cidrs.get(&p.accepter),
            ) {
                if a.contains(&b.network()) || b.contains(&a.network()) {
                    return Err(err(&address, format!(
                        "VPC {} ({a}) and VPC {} ({b}) have overlapping CIDRs: EC2 cannot peer them",
                        p.requester, p.accepter
                    )));
                }
            }
            let found: Option<&LPeering> = self.claim(owned.get(address.as_str()), |p| &p.id);
            let create = Step::create(
                rank::PEERING,
                Op::CreatePeering {
                    region: req_region.clone(),
                    requester: req.id_ref(&Address::vpc(&p.requester)),
                    accepter: acc.id_ref(&Address::vpc(&p.accepter)),
                    accepter_region: acc_region.clone(),
                    tags: self.desired.tags_for(&address),
                },
            );
            let fate = self.resource(
                &address,
                &req_region,
                found.map(|l| {
                    (
                        l.id.as_str(),
                        l.requester_region.as_deref().unwrap_or(l.region.as_str()),
                        &l.tags,
                    )
                }),
                |why, attrs| {
                    if let Some(l) = found {
                        if req.kept() != l.requester_vpc_id.as_deref() {
                            why.push("requester VPC changes".into());
                            attrs.push(AttrChange::new(
                                "requester",
                                l.requester_vpc_id.clone(),
                                req.kept().map(str::to_string),
                            ));
                        }
                        if acc.kept() != l.accepter_vpc_id.as_deref() {
                            why.push("accepter VPC changes".into());
                            attrs.push(AttrChange::new(
                                "accepter",
                                l.accepter_vpc_id.clone(),
                                acc.kept().map(str::to_string),
                            ));
                        }
                    }
                },
                vec![
                    AttrChange::new(
                        "requester",
                        None,
                        Some(format!("{} ({req_region})", p.requester)),
                    ),
                    AttrChange::new(
                        "accepter",
                        None,
                        Some(format!("{} ({acc_region})", p.accepter)),
                    ),
                ],
                |id, region| Op::DeletePeering {
                    region: region.to_string(),
                    id: id.to_string(),
                },
                create,
                rank::PEERING,
            );
            if let (Fate::Kept(id), Some(l)) = (&fate, found) {
                if l.status != "active" {
                    self.push(Change {
                        address: address.clone(),
                        action: Action::Update,
                        reason: format!("status is {}, not active", l.status),
                        region: req_region.clone(),
                        id: Some(id.clone()),
                        attrs: vec![AttrChange::new(
                            "status",
                            Some(l.status.clone()),
                            Some("active".into()),
                        )],
                        steps: vec![Step::create(
                            rank::PEERING,
                            Op::AcceptPeering {
                                region: acc_region.clone(),
                                id: id.clone(),
                                pending: l.status == "pending-acceptance",
                            },
                        )],
                    });
                }
            }
            self.peerings.insert(pname.clone(), fate);
        }
        Ok(())
    }

    /// Names a live route table for route addresses: `(vpc, table)` from the
    /// plan or the table's own key, else its id.
    fn table_label(&self, t: &LRouteTable) -> (String, String) {
        if let Some(key) = key_of(&t.tags) {
            if owned_by_plan(&t.tags, &self.desired.name) {
                if let Some(rest) = key.strip_prefix("route_table.") {
                    if let Some((v, n)) = rest.split_once('.') {
                        return (v.to_string(), n.to_string());
                    }
                }
            }
        }
        for (vname, vpc) in &self.desired.vpcs {
            for (tname, table) in &vpc.route_tables {
                if table.source.adopted_id() == Some(t.id.as_str()) {
                    return (vname.clone(), tname.clone());
                }
            }
        }
        let vpc = self
            .desired
            .vpcs
            .iter()
            .find(|(_, v)| v.source.adopted_id() == Some(t.vpc_id.as_str()))
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| t.vpc_id.clone());
        (vpc, t.id.clone())
    }

    /// Routes through peerings, and gateway-endpoint routes missing from
    /// tables the endpoint is associated with.
    fn peering_routes(&mut self) -> Result<(), DiffError> {
        let owned_pcx: BTreeSet<&str> = self
            .live
            .peerings
            .iter()
            .filter(|p| !p.is_gone())
            .map(|p| p.id.as_str())
            .collect();
        let mut wanted: BTreeSet<(String, RouteDest)> = BTreeSet::new();
        if self.mode == Mode::Apply {
            for (pname, p) in &self.desired.peerings {
                let pcx_address = Address::peering(pname);
                let pcx = self.peerings.get(pname).cloned().unwrap_or(Fate::New);
                for (vname, tables) in &p.routes {
                    let other = if vname == &p.requester {
                        &p.accepter
                    } else {
                        &p.requester
                    };
                    let Some(cidr) = self.vpc_cidrs.get(other).copied() else {
                        return Err(err(&pcx_address, format!("VPC {other} has no known CIDR")));
                    };
                    let dest = RouteDest::Cidr(cidr);
                    let region = self.region_of(vname);
                    for t in tables {
                        let tref = self.table_ref(vname, t);
                        let label = t.to_string();
                        let address = Address::route(vname, &label, &dest.to_string());
                        let create = Step::create(
                            rank::ROUTE,
                            Op::CreateRoute {
                                region: region.clone(),
                                route_table: tref.clone(),
                                dest: dest.clone(),
                                target: ops::RouteTarget::Peering(pcx.id_ref(&pcx_address)),
                            },
                        );
                        let attrs = vec![AttrChange::new(
                            "target",
                            None,
                            Some(format!("{} ({})", pcx_address, pcx.kept().unwrap_or("new"))),
                        )];
                        let IdRef::Id(tid) = &tref else {
                            self.push(route_change(
                                address,
                                Action::Create,
                                "not found",
                                &region,
                                None,
                                attrs,
                                vec![create],
                            ));
                            continue;
                        };
                        if let (Some(lt), Some(vid)) = (
                            self.live_table(tid),
                            self.vpcs.get(vname).and_then(Fate::kept),
                        ) {
                            if lt.vpc_id != vid {
                                return Err(err(
                                    &address,
                                    format!(
                                        "route table {tid} is in {}, not in VPC {vname} ({vid})",
                                        lt.vpc_id
                                    ),
                                ));
                            }
                        }
                        wanted.insert((tid.clone(), dest.clone()));
                        let existing = self
                            .live_table(tid)
                            .and_then(|lt| lt.routes.iter().find(|r| r.dest == dest));
                        match existing {
                            None => self.push(route_change(
                                address,
                                Action::Create,
                                "not found",
                                &region,
                                None,
                                attrs,
                                vec![create],
                            )),
                            Some(r) => {
                                let ours = r
                                    .peering_id
                                    .as_deref()
                                    .is_some_and(|p| owned_pcx.contains(p));
                                let same =
                                    pcx.kept().is_some() && r.peering_id.as_deref() == pcx.kept();
                                let blackhole = r.state.as_deref() == Some("blackhole");
                                if same && !blackhole {
                                    continue;
                                }
                                if !ours && !blackhole {
                                    let target = r
                                        .peering_id
                                        .clone()
                                        .or_else(|| r.gateway_id.clone())
                                        .unwrap_or_else(|| "another target".into());
                                    return Err(err(&address, format!(
                                        "route table {tid} already routes {dest} to {target}, which this plan does not own; remove that route or choose another table"
                                    )));
                                }
                                let reason = if blackhole {
                                    "route is a blackhole (its target is gone)"
                                } else {
                                    "target changes (forces replacement)"
                                };
                                let old = r.peering_id.clone().or_else(|| r.gateway_id.clone());
                                let attrs = vec![AttrChange::new(
                                    "target",
                                    old,
                                    Some(pcx_address.to_string()),
                                )];
                                let steps = vec![
                                    Step::delete(
                                        rank::ROUTE,
                                        Op::DeleteRoute {
                                            region: region.clone(),
                                            route_table: tid.clone(),
                                            dest: dest.clone(),
                                        },
                                    ),
                                    create,
                                ];
                                self.push(route_change(
                                    address,
                                    Action::Replace,
                                    reason,
                                    &region,
                                    Some(tid.clone()),
                                    attrs,
                                    steps,
                                ));
                            }
                        }
                    }
                }
            }
            self.gateway_routes();
        }
        // Routes through peerings this plan owns that the plan no longer wants.
        let mut deletes = Vec::new();
        for t in &self.live.route_tables {
            for r in &t.routes {
                let Some(pcx) = r.peering_id.as_deref() else {
                    continue;
                };
                if !owned_pcx.contains(pcx) || wanted.contains(&(t.id.clone(), r.dest.clone())) {
                    continue;
                }
                let (v, n) = self.table_label(t);
                deletes.push(route_change(
                    Address::route(&v, &n, &r.dest.to_string()),
                    Action::Delete,
                    if self.mode == Mode::Destroy {
                        "its target is owned by this plan (destroy)"
                    } else {
                        "not in plan"
                    },
                    &t.region,
                    Some(t.id.clone()),
                    vec![AttrChange::new("target", Some(pcx.to_string()), None)],
                    vec![Step::delete(
                        rank::ROUTE,
                        Op::DeleteRoute {
                            region: t.region.clone(),
                            route_table: t.id.clone(),
                            dest: r.dest.clone(),
                        },
                    )],
                ));
            }
        }
        self.out.extend(deletes);
        Ok(())
    }

    /// A gateway endpoint kept in place must have its prefix-list route in
    /// every route table it is associated with; a missing one is restored.
    fn gateway_routes(&mut self) {
        let mut add = Vec::new();
        for (ename, ep) in &self.desired.endpoints {
            let Some(Fate::Kept(eid)) = self.endpoints.get(ename) else {
                continue;
            };
            let Some(l) = self.live.endpoints.iter().find(|e| &e.id == eid) else {
                continue;
            };
            let region = self.region_of(&ep.vpc);
            let Some(pl) = self.live.s3_prefix_lists.get(&region) else {
                continue;
            };
            if l.endpoint_type != crate::model::EndpointType::Gateway
                || !ep.service.ends_with(".s3")
            {
                continue;
            }
            for tid in &l.route_table_ids {
                let Some(t) = self.live_table(tid) else {
                    continue;
                };
                let dest = RouteDest::PrefixList(pl.clone());
                if t.routes.iter().any(|r| r.dest == dest) {
                    continue;
                }
                let (v, n) = self.table_label(t);
                add.push(route_change(
                    Address::route(&v, &n, pl),
                    Action::Create,
                    "route to the gateway endpoint is missing (deleted out of band)",
                    &region,
                    None,
                    vec![AttrChange::new("target", None, Some(eid.clone()))],
                    vec![Step::create(
                        rank::ROUTE,
                        Op::CreateRoute {
                            region: region.clone(),
                            route_table: IdRef::Id(tid.clone()),
                            dest,
                            target: ops::RouteTarget::Endpoint(eid.clone()),
                        },
                    )],
                ));
            }
        }
        self.out.extend(add);
    }

    /// Every owned live resource no desired resource claimed is deleted.
    fn delete_unclaimed(&mut self) {
        let destroying = self.mode == Mode::Destroy;
        let reason = |claimed_key: bool| {
            if claimed_key {
                "duplicate: another resource already holds this address".to_string()
            } else if destroying {
                "owned by this plan (destroy)".to_string()
            } else {
                "not in plan".to_string()
            }
        };
        let claimed_keys: BTreeSet<String> = self
            .out
            .iter()
            .map(|c| c.address.to_string())
            .chain(self.claimed_keys())
            .collect();
        let mut dels = Vec::new();
        let mut del =
            |tags: &Tags, id: &str, region: &str, rank: u8, op: Op, claimed: &BTreeSet<String>| {
                if claimed.contains(id) {
                    return;
                }
                let address = Address(key_of(tags).unwrap_or(id).to_string());
                let dup = self_claimed(&claimed_keys, &address);
                dels.push(Change {
                    address,
                    action: Action::Delete,
                    reason: reason(dup),
                    region: region.to_string(),
                    id: Some(id.to_string()),
                    attrs: Vec::new(),
                    steps: vec![Step::delete(rank, op)],
                });
            };
        let c = &self.claimed;
        for p in self.live.peerings.iter().filter(|p| !p.is_gone()) {
            let region = p
                .requester_region
                .clone()
                .unwrap_or_else(|| p.region.clone());
            del(
                &p.tags,
                &p.id,
                &region,
                rank::PEERING,
                Op::DeletePeering {
                    region: region.clone(),
                    id: p.id.clone(),
                },
                c,
            );
        }
        for e in self
            .live
            .endpoints
            .iter()
            .filter(|e| !matches!(e.state.as_str(), "deleted" | "deleting"))
        {
            del(
                &e.tags,
                &e.id,
                &e.region,
                rank::ENDPOINT,
                Op::DeleteEndpoint {
                    region: e.region.clone(),
                    id: e.id.clone(),
                },
                c,
            );
        }
        for g in &self.live.security_groups {
            del(
                &g.tags,
                &g.id,
                &g.region,
                rank::SECURITY_GROUP,
                Op::DeleteSecurityGroup {
                    region: g.region.clone(),
                    id: g.id.clone(),
                },
                c,
            );
        }
        let plan = self.desired.name.clone();
        for t in self
            .live
            .route_tables
            .iter()
            .filter(|t| owned_by_plan(&t.tags, &plan))
        {
            let associations = explicit_associations(t);
            del(
                &t.tags,
                &t.id,
                &t.region,
                rank::ROUTE_TABLE,
                Op::DeleteRouteTable {
                    region: t.region.clone(),
                    id: t.id.clone(),
                    associations,
                },
                c,
            );
        }
        for s in self
            .live
            .subnets
            .iter()
            .filter(|s| owned_by_plan(&s.tags, &plan))
        {
            del(
                &s.tags,
                &s.id,
                &s.region,
                rank::SUBNET,
                Op::DeleteSubnet {
                    region: s.region.clone(),
                    id: s.id.clone(),
                },
                c,
            );
        }
        for v in self
            .live
            .vpcs
            .iter()
            .filter(|v| owned_by_plan(&v.tags, &plan))
        {
            del(
                &v.tags,
                &v.id,
                &v.region,
                rank::VPC,
                Op::DeleteVpc {
                    region: v.region.clone(),
                    id: v.id.clone(),
                },
                c,
            );
        }
        self.out.extend(dels);
    }

    /// Addresses of resources that were claimed (kept) by the plan.
    fn claimed_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let all_tags = self
            .live
            .vpcs
            .iter()
            .map(|v| (&v.id, &v.tags))
            .chain(self.live.subnets.iter().map(|v| (&v.id, &v.tags)))
            .chain(self.live.route_tables.iter().map(|v| (&v.id, &v.tags)))
            .chain(self.live.security_groups.iter().map(|v| (&v.id, &v.tags)))
            .chain(self.live.endpoints.iter().map(|v| (&v.id, &v.tags)))
            .chain(self.live.peerings.iter().map(|v| (&v.id, &v.tags)));
        for (id, tags) in all_tags {
            if self.claimed.contains(id) {
                if let Some(k) = key_of(tags) {
                    keys.push(k.to_string());
                }
            }
        }
        keys
    }
}

/// Association ids of a table's explicit (non-main) subnet associations.
fn explicit_associations(t: &LRouteTable) -> Vec<String> {
    t.associations
        .iter()
        .filter(|a| !a.main)
        .map(|a| a.id.clone())
        .collect()
}

fn self_claimed(keys: &BTreeSet<String>, address: &Address) -> bool {
    keys.contains(address.as_str())
}

fn owned_by_plan(tags: &Tags, plan: &str) -> bool {
    crate::model::owned_by(tags, plan)
}

fn route_change(
    address: Address,
    action: Action,
    reason: &str,
    region: &str,
    id: Option<String>,
    attrs: Vec<AttrChange>,
    steps: Vec<Step>,
) -> Change {
    Change {
        address,
        action,
        reason: reason.to_string(),
        region: region.to_string(),
        id,
        attrs,
        steps,
    }
}
