//! Diffs the desired state against live state: `fn diff(&Desired, &Live)`.
//!
//! Pure: no I/O. Each resource address gets at most one `Change` with an
//! action (create / update / replace / delete), a reason for the preview,
//! the attribute changes people read, and the `Step`s the executor runs.
//! Steps refer to resources that do not exist yet by address (`IdRef::Addr`);
//! the executor resolves those as it creates them.
//!
//! The emulator switch ([`Emulator`]) only adds what an emulator needs and
//! real EC2 does by itself (see `peering.rs`, `gateway_routes`).

mod cleanup;
use cleanup::explicit_associations;
mod egress;
pub use egress::Note;
mod endpoints;
mod network;
pub mod ops;
mod peering;
mod policy;
mod scope;
pub use scope::ANY as ANY_SCOPE;

pub use ops::{IdRef, Op, Phase, Step};
pub use policy::{default_policy, normalize_policy, policies_equal};

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::emulator::Emulator;
use crate::model::{
    ipv6_subnet, Address, DEndpoint, Desired, EndpointKind, EndpointType, HttpsSource, LEndpoint, LPeering,
    LRouteTable, LSecurityGroup, LSubnet, LVpc, Live, PrivateDns, Ref, RouteDest, RulePeer, Source, Tags,
    TAG_DNS, TAG_KEY,
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
    /// The VPCs this change touches (plan names, or ids of VPCs the plan
    /// does not name); `*` when unknown. The executor orders steps only
    /// between changes whose scopes meet, so VPCs proceed side by side.
    pub scope: Vec<String>,
}

/// The outcome of a diff: every change, ordered by address.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub changes: Vec<Change>,
    /// What the preview should say that is no change (see [`Note`]).
    pub notes: Vec<Note>,
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
    /// The plan key the problem is written at (see `model::Origin`).
    pub key: String,
    pub message: String,
}

/// An error about the resource at `address`, located at its plan key.
fn err(address: &Address, message: impl Into<String>) -> DiffError {
    err_at(address, &plan_key(address), message)
}

/// An error about `address`, located at a specific plan key.
fn err_at(address: &Address, key: &str, message: impl Into<String>) -> DiffError {
    DiffError {
        address: address.to_string(),
        key: key.to_string(),
        message: message.into(),
    }
}

/// The plan key that declares the resource at `address`.
fn plan_key(address: &Address) -> String {
    let parts: Vec<&str> = address.as_str().splitn(4, '.').collect();
    match parts.as_slice() {
        ["vpc", v] => format!("vpcs.{v}"),
        ["subnet", v, s] => format!("vpcs.{v}.subnets.{s}"),
        ["route_table", v, t] => format!("vpcs.{v}.route_tables.{t}"),
        ["endpoint", e] => format!("endpoints.{e}"),
        ["security_group", e] => format!("endpoints.{e}.security_group"),
        ["ingress", e, ..] => format!("endpoints.{e}.security_group.allow_https_from"),
        ["egress", e, ..] => format!("endpoints.{e}.security_group.client_groups"),
        ["peering", p] => format!("peerings.{p}"),
        _ => String::new(),
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
    /// Client groups' outbound rules to an endpoint's group: created after
    /// that group, revoked before it is deleted (like its inbound rules).
    pub const EGRESS: u8 = 4;
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
    /// Why a live resource in `live_vpc` must move with its VPC, if it must:
    /// the plan names another existing VPC, or the VPC is being replaced.
    fn moves(&self, live_vpc: &str) -> Option<String> {
        match self {
            Fate::Kept(id) if id == live_vpc => None,
            Fate::Kept(_) => Some("vpc changes".to_string()),
            Fate::New => Some("its VPC is replaced".to_string()),
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
/// id (see [`Differ::claim`] for which duplicate is kept).
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
    emulator: Emulator,
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
    /// How many live resources use each id (see [`use_counts`]).
    uses: BTreeMap<&'a str, usize>,
    /// Notes for the preview (see [`Note`]).
    notes: Vec<Note>,
}

/// How many other live resources use each live id: a VPC's owned subnets,
/// route tables, groups, endpoints and peerings; a subnet's route-table
/// associations and the endpoints in it; a route table's associations and
/// the gateway endpoints listing it; a group's endpoints and the rules that
/// name it; a gateway endpoint's and a peering's routes. Among duplicates of
/// one address the most used one is kept: EC2 ids are random, so the lowest
/// id is as likely to be an empty twin as the one in use.
fn use_counts<'a>(live: &'a Live, plan: &str) -> BTreeMap<&'a str, usize> {
    let mut uses: BTreeMap<&'a str, usize> = BTreeMap::new();
    let mut add = |id: &'a str| *uses.entry(id).or_default() += 1;
    let owned = |tags: &Tags| crate::model::owned_by(tags, plan);
    for s in live.subnets.iter().filter(|s| owned(&s.tags)) {
        add(&s.vpc_id);
    }
    for t in &live.route_tables {
        if owned(&t.tags) {
            add(&t.vpc_id);
        }
        for a in &t.associations {
            add(&t.id);
            if let Some(s) = a.subnet_id.as_deref() {
                add(s);
            }
        }
        for r in &t.routes {
            if let Some(p) = r.peering_id.as_deref() {
                add(p);
            }
            if let Some(g) = r.gateway_id.as_deref().filter(|g| g.starts_with("vpce-")) {
                add(g);
            }
        }
    }
    for g in &live.security_groups {
        if owned(&g.tags) {
            add(&g.vpc_id);
        }
        for r in &g.ingress {
            if let RulePeer::Group(other) = &r.peer {
                add(other);
            }
        }
    }
    for e in live.endpoints.iter().filter(|e| !e.is_gone()) {
        if owned(&e.tags) {
            add(&e.vpc_id);
        }
        for id in e
            .route_table_ids
            .iter()
            .chain(&e.subnet_ids)
            .chain(&e.security_group_ids)
        {
            add(id);
        }
    }
    for p in live.peerings.iter().filter(|p| !p.is_gone() && owned(&p.tags)) {
        for v in [&p.requester_vpc_id, &p.accepter_vpc_id].into_iter().flatten() {
            add(v);
        }
    }
    uses
}

/// Diffs `desired` against `live`. In `Mode::Destroy` the plan's resources
/// are all treated as absent, so every owned resource is deleted; adopted
/// ones never are. `emulator` is `Emulator::Off` for real EC2; with
/// `Emulator::Moto` a gateway endpoint's missing prefix-list route is
/// restored by a CreateRoute (on EC2 such routes are EC2's own).
pub fn diff(desired: &Desired, live: &Live, mode: Mode, emulator: Emulator) -> Result<Changes, DiffError> {
    let mut d = Differ {
        desired,
        live,
        mode,
        emulator,
        out: Vec::new(),
        vpcs: BTreeMap::new(),
        vpc_cidrs: BTreeMap::new(),
        subnets: BTreeMap::new(),
        route_tables: BTreeMap::new(),
        groups: BTreeMap::new(),
        endpoints: BTreeMap::new(),
        peerings: BTreeMap::new(),
        // What the plan adopts is never deleted, even if it carries this
        // plan's tags (say, a VPC s3ep created that a later plan adopts).
        claimed: desired.adopted_ids().into_iter().collect(),
        uses: use_counts(live, &desired.name),
        notes: Vec::new(),
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
    let mut changes = merge_by_address(d.out);
    scope::assign(desired, live, &mut changes);
    changes.sort_by(|a, b| {
        (rank_of(&a.address), &a.address, &a.id).cmp(&(rank_of(&b.address), &b.address, &b.id))
    });
    Ok(Changes {
        changes,
        notes: d.notes,
    })
}

/// One address, one change: two in-place updates of one resource (say tags
/// and associations) become one update, and an old one deleted where a new
/// one is created at the same address (a route moving to a replaced table)
/// becomes one replace. Deletes of duplicates keep their own lines.
fn merge_by_address(changes: Vec<Change>) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    for c in changes {
        let pair = out.iter_mut().find(|p| {
            p.address == c.address
                && match (p.action, c.action) {
                    (Action::Update, Action::Update) => p.id == c.id,
                    (Action::Create, Action::Delete) | (Action::Delete, Action::Create) => true,
                    _ => false,
                }
        });
        let Some(p) = pair else {
            out.push(c);
            continue;
        };
        if p.action == Action::Update {
            p.reason = format!("{}; {}", p.reason, c.reason);
        } else {
            let (del, new) = if p.action == Action::Delete {
                (p.reason.clone(), c.reason.clone())
            } else {
                (c.reason.clone(), p.reason.clone())
            };
            p.id = p.id.take().or(c.id.clone());
            p.action = Action::Replace;
            p.reason = format!("the existing one goes ({del}) and a new one is created ({new})");
        }
        p.attrs.extend(c.attrs);
        p.steps.extend(c.steps);
    }
    out
}

fn rank_of(a: &Address) -> u8 {
    match a.kind() {
        "vpc" => rank::VPC,
        "subnet" => rank::SUBNET,
        "route_table" => rank::ROUTE_TABLE,
        "security_group" => rank::SECURITY_GROUP,
        "ingress" => rank::INGRESS,
        "egress" => rank::EGRESS,
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

    /// Picks the owned live resource for `address` among duplicates: first
    /// those `home` says belong with the VPCs kept so far (given their ids:
    /// a subnet in the kept VPC, a peering between kept VPCs, a VPC peered
    /// with a kept one), then the one other live resources use most, then
    /// the lowest id (stable). Marks it claimed; the others stay unclaimed
    /// and are deleted as duplicates.
    /// Two copies of a whole plan left by an interrupted run then resolve
    /// to one consistent copy, not a kept subnet in a VPC deleted as a
    /// duplicate.
    fn claim_in<'b, T>(
        &mut self,
        found: Option<&Vec<&'b T>>,
        id: impl Fn(&T) -> &str,
        home: impl Fn(&T, &std::collections::BTreeSet<&str>) -> bool,
    ) -> Option<&'b T> {
        let kept: std::collections::BTreeSet<&str> = self.vpcs.values().filter_map(Fate::kept).collect();
        let home = |x: &T| home(x, &kept);
        let uses = |x: &T| self.uses.get(id(x)).copied().unwrap_or(0);
        let best = found.and_then(|v| {
            v.iter().copied().max_by(|a, b| {
                home(a)
                    .cmp(&home(b))
                    .then_with(|| uses(a).cmp(&uses(b)))
                    .then_with(|| id(b).cmp(id(a)))
            })
        });
        if let Some(f) = best {
            self.claimed.insert(id(f).to_string());
        }
        best
    }

    /// Adds an update when an owned resource lacks the tags the plan gives it.
    fn tag_drift(&mut self, address: &Address, region: &str, id: &str, live: &Tags) {
        let want = self.desired.tags_for(address);
        let missing: Tags = want.into_iter().filter(|(k, v)| live.get(k) != Some(v)).collect();
        if missing.is_empty() {
            return;
        }
        let attrs = missing
            .iter()
            .map(|(k, v)| AttrChange::new(&format!("tags.{k}"), live.get(k).cloned(), Some(v.clone())))
            .collect();
        self.push(Change {
            scope: Vec::new(),
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
                self.push(created(address.clone(), region, create_attrs, vec![create]));
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
                        scope: Vec::new(),
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
}

/// A resource (or child) that does not exist and will be created.
fn created(address: Address, region: &str, attrs: Vec<AttrChange>, steps: Vec<Step>) -> Change {
    Change {
        scope: Vec::new(),
        address,
        action: Action::Create,
        reason: "not found".into(),
        region: region.to_string(),
        id: None,
        attrs,
        steps,
    }
}

/// A subnet or route table the plan gives by id (or adopts by name) must sit
/// in the VPC it is used with: never in a VPC this run creates (which has no
/// existing subnets or tables), and when live, in that VPC's id.
#[allow(clippy::too_many_arguments)]
fn check_in_vpc(
    address: &Address,
    key: &str,
    what: &str,
    id: &str,
    written_as_id: bool,
    live_vpc: Option<&str>,
    vpc: &str,
    fate: &Fate,
) -> Result<(), DiffError> {
    match (fate, live_vpc) {
        (Fate::New, _) if written_as_id => Err(err_at(
            address,
            key,
            format!("{what} {id} cannot be in VPC {vpc}: this plan creates that VPC; name a {what} of the plan instead"),
        )),
        (Fate::Kept(vid), Some(l)) if l != vid => {
            Err(err_at(address, key, format!("{what} {id} is in {l}, not in VPC {vpc} ({vid})")))
        }
        _ => Ok(()),
    }
}
