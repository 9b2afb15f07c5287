//! The dependency graph of a diff's steps.
//!
//! Steps are first put in one safe total order (deletes by descending rank,
//! then creates and in-place changes by ascending rank; see [`schedule`]).
//! A step then depends on an earlier step when
//! * both belong to the same change (a change's steps run in order);
//! * it refers to a resource the earlier step's change creates
//!   (`IdRef::Addr`); or
//! * their changes touch a common VPC (`Change::scope`) and the two steps sit
//!   at different places of the order (phase or rank): inside one VPC,
//!   subnets wait for the VPC, endpoints for their tables and groups, a
//!   deleted VPC for everything deleted in it, and creates for the deletes
//!   that free their names and CIDRs.
//!
//! Steps of one rank in one VPC (two subnets, three tables) and anything in
//! VPCs that share nothing run side by side, except endpoint creates,
//! modifies and deletes, which take turns within a VPC.

use crate::diff::{Change, Changes, IdRef, Op, Phase, Step, ANY_SCOPE as ANY};
use crate::model::Address;

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

fn order_key(s: &Step) -> (u8, u8) {
    match s.phase {
        Phase::Delete => (0, u8::MAX - s.rank),
        Phase::Create => (1, s.rank),
    }
}

/// Builds the graph; nodes are in [`schedule`] order, so every dependency
/// has a lower index than its dependent.
pub fn build(changes: &Changes) -> Vec<Node<'_>> {
    let order = schedule(changes);
    let mut nodes: Vec<Node<'_>> = Vec::with_capacity(order.len());
    for (ci, change, step) in order {
        let refs = references(&step.op);
        let deps = nodes
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.change_index == ci
                    || (a.step.phase == Phase::Create && refs.contains(&&a.change.address))
                    || ((order_key(a.step) != order_key(step)
                        || (edits_endpoint(a.step) && edits_endpoint(step)))
                        && scopes_meet(a.change, change))
            })
            .map(|(i, _)| i)
            .collect();
        nodes.push(Node {
            change,
            step,
            change_index: ci,
            label: label(change, step),
            deps,
        });
    }
    nodes
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

/// The addresses of resources this run creates that `op` refers to.
fn references(op: &Op) -> Vec<&Address> {
    let mut refs: Vec<&IdRef> = Vec::new();
    match op {
        Op::CreateSubnet { vpc, .. } | Op::CreateSecurityGroup { vpc, .. } => refs.push(vpc),
        Op::CreateRouteTable { vpc, subnets, .. } => {
            refs.push(vpc);
            refs.extend(subnets);
        }
        Op::Associate {
            route_table, subnet, ..
        } => refs.extend([route_table, subnet]),
        Op::AuthorizeIngress { group, .. } => refs.push(group),
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
    refs.into_iter()
        .filter_map(|r| match r {
            IdRef::Addr(a) => Some(a),
            IdRef::Id(_) => None,
        })
        .collect()
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
        | (Op::DeleteEndpoint { .. }, _)
        | (Op::DeletePeering { .. }, _)
        | (Op::DeleteRoute { .. }, _) => "delete",
        (_, Action::Update) => "update",
        (Op::Disassociate { .. }, _) | (Op::ModifyEndpoint { .. }, _) => "update",
        _ => "create",
    };
    format!("{verb} {}", change.address)
}
