//! The dependency graph of a diff's steps.
//!
//! Steps are first put in one safe total order (deletes by descending rank,
//! then creates and in-place changes by ascending rank; see [`schedule`]).
//! A step then depends on an earlier step only for a reason it can name
//! ([`Why`]):
//! * both belong to the same change (a change's steps run in order);
//! * it uses the id of a resource the earlier step creates (`IdRef::Addr`):
//!   a subnet its VPC, an endpoint its tables, groups and subnets, a
//!   peering route its table and its peering; or of a live resource the
//!   earlier step changes (a route through a peering being accepted);
//! * an order EC2 imposes inside one VPC (`Change::scope`):
//!   - deletes run inside out: a resource is deleted after what sits in it
//!     or uses it (DeleteVpc answers DependencyViolation while subnets,
//!     groups or endpoints remain; a subnet or group while an endpoint's
//!     network interface uses it; a peering while routes point at it);
//!   - creates and in-place changes wait for the deletes of their VPC,
//!     which free CIDRs, group names, associations and route tables;
//!   - endpoint creates, modifies and deletes take turns (two can name one
//!     route table, and EC2 refuses the second while the first is in
//!     progress);
//!   - endpoints wait for DNS hostnames being turned on in their VPC
//!     (private DNS needs enableDnsHostnames);
//!   - an interface endpoint created or switched to inbound-only private
//!     DNS waits for the gateway endpoints created in its VPC (EC2 refuses
//!     PrivateDnsOnlyForInboundResolverEndpoint without a gateway endpoint
//!     for the service, DnsOptionsSpecification in the EC2 API reference),
//!     and a gateway endpoint is deleted after the interface endpoints of
//!     its VPC are deleted or switched off inbound-only (EC2 refuses to
//!     delete a gateway endpoint an inbound-only interface endpoint relies
//!     on, cloudposse/terraform-aws-vpc #153).
//!
//! Nothing else waits: two creates in one VPC that share no id (a subnet
//! and a security group, a route table and an ingress rule) run side by
//! side, so the walk follows the critical path of real references.

use crate::diff::{Change, Changes, IdRef, Op, Phase, Step, ANY_SCOPE as ANY};

/// One step with its place in the graph.
#[derive(Debug)]
pub struct Node<'a> {
    pub change: &'a Change,
    pub step: &'a Step,
    /// Position in the change list (steps of one change share it).
    pub change_index: usize,
    pub label: String,
    /// Indices of the nodes this one waits for.
    pub deps: Vec<usize>,
    /// Why it waits for each of `deps` (same order).
    pub why: Vec<Why>,
}

/// Orders every step: deletes by descending rank, then creates by
/// ascending rank; within a rank, by change order (addresses).
pub fn schedule(changes: &Changes) -> Vec<(usize, &Change, &Step)> {
    let mut steps: Vec<(usize, usize, &Change, &Step)> = Vec::new();
    for (ci, c) in changes.changes.iter().enumerate() {
        for (si, s) in c.steps.iter().enumerate() {
            steps.push((ci, si, c, s));
        }
    }
    steps.sort_by_key(|(ci, si, _, s)| (order_key(s), *ci, *si));
    steps.into_iter().map(|(ci, _, c, s)| (ci, c, s)).collect()
}

fn order_key(s: &Step) -> (u8, u8, u8) {
    match s.phase {
        Phase::Delete => (0, u8::MAX - s.rank, u8::from(deletes_gateway(s))),
        Phase::Create => (1, s.rank, u8::from(needs_gateway(s))),
    }
}

/// Creates an interface endpoint with inbound-only private DNS, or switches
/// one to it (create phase).
fn needs_gateway(s: &Step) -> bool {
    use crate::model::{EndpointType, PrivateDns};
    s.phase == Phase::Create
        && match &s.op {
            Op::CreateEndpoint {
                endpoint_type: EndpointType::Interface,
                private_dns: Some(PrivateDns::InboundOnly),
                ..
            } => true,
            Op::ModifyEndpoint { edit, .. } => edit.private_dns == Some(PrivateDns::InboundOnly),
            _ => false,
        }
}

/// Creates a gateway endpoint.
fn creates_gateway(s: &Step) -> bool {
    matches!(
        s.op,
        Op::CreateEndpoint {
            endpoint_type: crate::model::EndpointType::Gateway,
            ..
        }
    )
}

/// Deletes a gateway endpoint.
fn deletes_gateway(s: &Step) -> bool {
    matches!(
        s.op,
        Op::DeleteEndpoint {
            endpoint_type: crate::model::EndpointType::Gateway,
            ..
        }
    )
}

/// Deletes an interface endpoint, or changes its private DNS in the delete
/// phase (where s3ep switches it off inbound-only).
fn releases_gateway(s: &Step) -> bool {
    s.phase == Phase::Delete
        && match &s.op {
            Op::DeleteEndpoint {
                endpoint_type: crate::model::EndpointType::Interface,
                ..
            } => true,
            Op::ModifyEndpoint { edit, .. } => edit.private_dns.is_some_and(|p| !p.inbound_only()),
            _ => false,
        }
}

/// Builds the graph; nodes are in [`schedule`] order, so every dependency
/// has a lower index than its dependent.
pub fn build(changes: &Changes) -> Vec<Node<'_>> {
    let order = schedule(changes);
    let mut nodes: Vec<Node<'_>> = Vec::with_capacity(order.len());
    for (ci, change, step) in order {
        let refs = references(&step.op);
        let (deps, whys) = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, a)| why(a, ci, change, step, &refs).map(|w| (i, w)))
            .unzip();
        nodes.push(Node {
            change,
            step,
            change_index: ci,
            label: label(change, step),
            deps,
            why: whys,
        });
    }
    nodes
}

/// Why a step waits for an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    SameChange,
    UsesId,
    DeleteInsideOut,
    CreateAfterDelete,
    EndpointTurns,
    DnsHostnames,
    /// Inbound-only private DNS and the VPC's gateway endpoint: the gateway
    /// is created (and available) first, and deleted last.
    InboundOnlyGateway,
}

/// Why step `b` (of change `cb` at index `bi`) waits for the earlier node
/// `a`, if it does.
fn why(a: &Node<'_>, bi: usize, cb: &Change, b: &Step, refs: &[&IdRef]) -> Option<Why> {
    if a.change_index == bi {
        return Some(Why::SameChange);
    }
    // A new resource's id is known once the step that creates it is done
    // (later steps of its change, say its subnet associations, need not be);
    // a live resource's own change (an accept, a modify) comes first whole.
    let used = |r: &&IdRef| match r {
        IdRef::Addr(addr) => *addr == a.change.address && makes_id(&a.step.op),
        IdRef::Id(id) => a.change.id.as_deref() == Some(id.as_str()),
    };
    if a.step.phase == Phase::Create && refs.iter().any(used) {
        return Some(Why::UsesId);
    }
    if revokes_reference_to(&a.step.op, &b.op) {
        return Some(Why::DeleteInsideOut);
    }
    if !scopes_meet(a.change, cb) {
        return None;
    }
    if (creates_gateway(a.step) && needs_gateway(b)) || (releases_gateway(a.step) && deletes_gateway(b)) {
        return Some(Why::InboundOnlyGateway);
    }
    match (a.step.phase, b.phase) {
        (Phase::Delete, Phase::Delete) if a.step.rank != b.rank => Some(Why::DeleteInsideOut),
        (Phase::Delete, Phase::Create) => Some(Why::CreateAfterDelete),
        _ if edits_endpoint(a.step) && edits_endpoint(b) => Some(Why::EndpointTurns),
        (Phase::Create, Phase::Create)
            if matches!(a.step.op, Op::EnableDnsHostnames { .. }) && edits_endpoint(b) =>
        {
            Some(Why::DnsHostnames)
        }
        _ => None,
    }
}

/// Roughly how long a step takes, in EC2 calls: most make one or two; an
/// endpoint create, modify or delete also waits its turn in EC2's
/// CreateVpcEndpoint/ModifyVpcEndpoint/DeleteVpcEndpoints bucket (0.3 per
/// second: about 66 calls of 50 ms), so what leads to one is worth
/// starting first.
fn weight(op: &Op) -> u32 {
    const ENDPOINT_TOKEN: u32 = 66;
    match op {
        Op::CreateEndpoint { .. } | Op::ModifyEndpoint { .. } | Op::DeleteEndpoint { .. } => {
            2 + ENDPOINT_TOKEN
        }
        Op::CreatePeering { .. } => 5,
        Op::AcceptPeering { .. } => 3,
        Op::EnableDnsHostnames { .. } | Op::DeleteRouteTable { .. } => 2,
        _ => 1,
    }
}

/// For each node, the weight of the longest path of steps from it to the
/// end of the run (itself included): the walk starts ready steps with the
/// longest first. `dependents[i]` lists the nodes that wait for node `i`.
pub fn critical_tail(nodes: &[Node<'_>], dependents: &[Vec<usize>]) -> Vec<u32> {
    let mut tail = vec![0u32; nodes.len()];
    // Dependents have higher indices than what they depend on.
    for i in (0..nodes.len()).rev() {
        let after = dependents[i].iter().map(|&j| tail[j]).max().unwrap_or(0);
        tail[i] = weight(&nodes[i].step.op) + after;
    }
    tail
}

/// For each node, how many steps lie between it and the nearest endpoint
/// call (CreateVpcEndpoint, ModifyVpcEndpoint, DeleteVpcEndpoints) that
/// waits for it, itself included (0 for an endpoint call); `None` when none
/// waits for it. EC2 paces those calls at 0.3 per second per region, so
/// the run ends when the last of them does: the walk starts first what
/// releases an endpoint call soonest (depth first along one VPC's chain,
/// not breadth first over every VPC's first step).
pub fn to_endpoint_call(nodes: &[Node<'_>], dependents: &[Vec<usize>]) -> Vec<Option<u32>> {
    let mut dist = vec![None; nodes.len()];
    for i in (0..nodes.len()).rev() {
        dist[i] = if edits_endpoint(nodes[i].step) {
            Some(0)
        } else {
            dependents[i]
                .iter()
                .filter_map(|&j| dist[j])
                .min()
                .map(|d: u32| d + 1)
        };
    }
    dist
}

/// A client group's outbound rule to an endpoint's group is revoked before
/// that group is deleted, whatever VPCs the two changes are scoped to (the
/// client group may sit in a peered VPC): EC2 refuses to delete a group that
/// a rule of another group references (DeleteSecurityGroup,
/// DependencyViolation).
fn revokes_reference_to(a: &Op, b: &Op) -> bool {
    matches!((a, b), (Op::RevokeEgress { peer, .. }, Op::DeleteSecurityGroup { id, .. }) if peer == id)
}

/// The step whose answer is a new resource's id (also the kinds `plan`
/// finds by their tags, which apply's settle waits for).
pub(crate) fn makes_id(op: &Op) -> bool {
    matches!(
        op,
        Op::CreateVpc { .. }
            | Op::CreateSubnet { .. }
            | Op::CreateRouteTable { .. }
            | Op::CreateSecurityGroup { .. }
            | Op::CreateEndpoint { .. }
            | Op::CreatePeering { .. }
    )
}

/// Creates, modifies and deletes of endpoints in one VPC run one at a time,
/// in address order: two of them can name the same route table, subnet or
/// group (one endpoint gives up a table another takes), and EC2 refuses the
/// second while the first is in progress. EC2's rate for these calls is
/// low anyway.
fn edits_endpoint(s: &Step) -> bool {
    matches!(
        s.op,
        Op::CreateEndpoint { .. } | Op::ModifyEndpoint { .. } | Op::DeleteEndpoint { .. }
    )
}

fn scopes_meet(a: &Change, b: &Change) -> bool {
    let any = |c: &Change| c.scope.is_empty() || c.scope.iter().any(|s| s == ANY);
    any(a) || any(b) || a.scope.iter().any(|s| b.scope.contains(s))
}

/// The resources `op` uses: addresses of resources this run creates, and
/// ids of live ones (whose own change, an accept or a modify, comes first).
fn references(op: &Op) -> Vec<&IdRef> {
    let mut refs: Vec<&IdRef> = Vec::new();
    match op {
        Op::CreateSubnet { vpc, .. }
        | Op::CreateSecurityGroup { vpc, .. }
        | Op::CreateRouteTable { vpc, .. }
        | Op::EnableDnsHostnames { vpc, .. } => refs.push(vpc),
        Op::Associate {
            route_table, subnet, ..
        } => refs.extend([route_table, subnet]),
        Op::AuthorizeIngress { group, .. } => refs.push(group),
        Op::AuthorizeEgress { peer, .. } => refs.push(peer),
        Op::CreateEndpoint {
            vpc,
            route_tables,
            subnets,
            security_groups,
            ..
        } => {
            refs.push(vpc);
            refs.extend(route_tables.iter().chain(subnets).chain(security_groups));
        }
        Op::ModifyEndpoint { edit, .. } => refs.extend(
            edit.route_tables
                .iter()
                .chain(&edit.subnets)
                .chain(&edit.security_groups),
        ),
        Op::CreatePeering {
            requester, accepter, ..
        } => refs.extend([requester, accepter]),
        Op::CreateRoute {
            route_table, target, ..
        } => {
            refs.push(route_table);
            if let crate::diff::ops::RouteTarget::Peering(p) = target {
                refs.push(p);
            }
        }
        _ => {}
    }
    refs
}

/// The label a step shows in progress output.
pub fn label(change: &Change, step: &Step) -> String {
    use crate::diff::Action;
    let verb = match (&step.op, change.action) {
        (Op::DeleteVpc { .. }, _)
        | (Op::DeleteSubnet { .. }, _)
        | (Op::DeleteRouteTable { .. }, _)
        | (Op::DeleteSecurityGroup { .. }, _)
        | (Op::RevokeIngress { .. }, _)
        | (Op::RevokeEgress { .. }, _)
        | (Op::DeleteEndpoint { .. }, _)
        | (Op::DeletePeering { .. }, _)
        | (Op::DeleteRoute { .. }, _) => "delete",
        (_, Action::Update) => "update",
        (Op::Disassociate { .. }, _) | (Op::ModifyEndpoint { .. }, _) => "update",
        _ => "create",
    };
    format!("{verb} {}", change.address)
}
