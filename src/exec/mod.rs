//! Executes a diff: every step of every change, deletes first in reverse
//! dependency order (routes → peerings → endpoints → rules → groups → route
//! tables → subnets → VPCs), then creates and in-place changes in dependency
//! order. Resources created by this run are referred to by address until
//! their ids are known.
//!
//! Retries the SDK does not do live here (`retry`): NotFound just after this
//! run created something, transient conflicts during deletes, and waits for
//! a state. Throttling and 5xx are left to the SDK's standard retry.

pub mod retry;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::cloud::{Cloud, CloudError, EndpointCreate, EndpointModify, Filter};
use crate::diff::ops::{EndpointEdit, RouteTarget};
use crate::diff::{Action, Change, Changes, IdRef, Op, Phase, Step};
use crate::model::{Address, EndpointType, RouteDest};

pub use retry::{PeeringStage, RetryPolicy, WaitError};

/// Receives progress as the executor runs. Library code never touches
/// indicatif; `render::progress` implements this for the terminal.
pub trait Reporter: Send + Sync {
    /// Step `index` of `total` starts; `label` names the change.
    fn started(&self, index: usize, total: usize, label: &str);
    /// A running step reports what it is doing ("waiting for available").
    fn status(&self, index: usize, message: &str);
    /// The step ended; `outcome` is `Ok(detail)` or `Err(error)`.
    fn finished(&self, index: usize, label: &str, outcome: Result<&str, &str>, elapsed: Duration);
}

/// A reporter that reports nothing (tests, `-q`).
pub struct Silent;

impl Reporter for Silent {
    fn started(&self, _: usize, _: usize, _: &str) {}
    fn status(&self, _: usize, _: &str) {}
    fn finished(&self, _: usize, _: &str, _: Result<&str, &str>, _: Duration) {}
}

/// Tunables for one run.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub policy: RetryPolicy,
}

/// A step that failed, with the change it belonged to.
#[derive(Debug, Clone)]
pub struct Failure {
    pub address: Address,
    pub message: String,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Labels of steps that finished.
    pub done: Vec<String>,
    /// The step that failed, if any (the run stops there).
    pub failed: Option<Failure>,
    /// Labels of steps not attempted because of the failure.
    pub not_attempted: Vec<String>,
    /// Ids created by this run, by address.
    pub created: HashMap<Address, String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_none()
    }
}

/// Orders every step: deletes by descending rank, then creates by
/// ascending rank; within a rank, by change order (addresses).
pub fn schedule(changes: &Changes) -> Vec<(&Change, &Step)> {
    let mut steps: Vec<(usize, usize, &Change, &Step)> = Vec::new();
    for (ci, c) in changes.changes.iter().enumerate() {
        for (si, s) in c.steps.iter().enumerate() {
            steps.push((ci, si, c, s));
        }
    }
    steps.sort_by_key(|(ci, si, _, s)| {
        let rank = match s.phase {
            Phase::Delete => (0u8, u8::MAX - s.rank),
            Phase::Create => (1u8, s.rank),
        };
        (rank, *ci, *si)
    });
    steps.into_iter().map(|(_, _, c, s)| (c, s)).collect()
}

/// The label a step shows in progress output.
pub fn label(change: &Change, step: &Step) -> String {
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

/// Runs every step in order. Stops at the first failure: what depends on
/// a failed step cannot run, and a re-run converges from where this stopped.
pub async fn execute(
    cloud: &dyn Cloud,
    changes: &Changes,
    reporter: &dyn Reporter,
    opts: &ExecOptions,
) -> Report {
    let plan = schedule(changes);
    let total = plan.len();
    let mut report = Report::default();
    let mut exec = Executor {
        cloud,
        opts,
        ids: HashMap::new(),
    };
    for (i, (change, step)) in plan.iter().enumerate() {
        let label = label(change, step);
        if report.failed.is_some() {
            report.not_attempted.push(label);
            continue;
        }
        reporter.started(i, total, &label);
        let t0 = Instant::now();
        let status = |m: &str| reporter.status(i, m);
        match exec.run(&change.address, &step.op, &status).await {
            Ok(detail) => {
                reporter.finished(i, &label, Ok(&detail), t0.elapsed());
                report.done.push(label);
            }
            Err(e) => {
                let msg = e.to_string();
                reporter.finished(i, &label, Err(&msg), t0.elapsed());
                report.failed = Some(Failure {
                    address: change.address.clone(),
                    message: msg,
                });
            }
        }
    }
    report.created = exec.ids;
    report
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error("{0} has no id: it was not created")]
    Unresolved(Address),
}

struct Executor<'a> {
    cloud: &'a dyn Cloud,
    opts: &'a ExecOptions,
    /// Ids of resources this run created, by address.
    ids: HashMap<Address, String>,
}

impl Executor<'_> {
    /// Resolves a reference; `fresh` says whether this run created it (so
    /// NotFound on it is eventual consistency, worth retrying).
    fn resolve(&self, r: &IdRef) -> Result<(String, bool), StepError> {
        match r {
            IdRef::Id(id) => Ok((id.clone(), false)),
            IdRef::Addr(a) => self
                .ids
                .get(a)
                .map(|id| (id.clone(), true))
                .ok_or_else(|| StepError::Unresolved(a.clone())),
        }
    }

    fn resolve_all(&self, refs: &[IdRef]) -> Result<(Vec<String>, bool), StepError> {
        let mut out = Vec::new();
        let mut fresh = false;
        for r in refs {
            let (id, f) = self.resolve(r)?;
            fresh |= f;
            out.push(id);
        }
        Ok((out, fresh))
    }

    /// Runs one operation; returns a short detail for progress output.
    async fn run(
        &mut self,
        address: &Address,
        op: &Op,
        status: &(dyn Fn(&str) + Sync),
    ) -> Result<String, StepError> {
        let c = self.cloud;
        let p = &self.opts.policy;
        match op {
            Op::CreateVpc { region, cidr, tags } => {
                let id = c.create_vpc(region, *cidr, tags).await?;
                self.ids.insert(address.clone(), id.clone());
                Ok(id)
            }
            Op::DeleteVpc { region, id } => {
                p.delete("InvalidVpcID", || c.delete_vpc(region, id)).await?;
                Ok(id.clone())
            }
            Op::CreateSubnet {
                region,
                vpc,
                az,
                cidr,
                tags,
            } => {
                let (vpc, fresh) = self.resolve(vpc)?;
                let id = p
                    .fresh(fresh, || c.create_subnet(region, &vpc, az, *cidr, tags))
                    .await?;
                self.ids.insert(address.clone(), id.clone());
                Ok(id)
            }
            Op::DeleteSubnet { region, id } => {
                p.delete("InvalidSubnetID", || c.delete_subnet(region, id))
                    .await?;
                Ok(id.clone())
            }
            Op::CreateRouteTable {
                region,
                vpc,
                subnets,
                tags,
            } => {
                let (vpc, fresh) = self.resolve(vpc)?;
                let id = p
                    .fresh(fresh, || c.create_route_table(region, &vpc, tags, None))
                    .await?;
                self.ids.insert(address.clone(), id.clone());
                let (subnets, _) = self.resolve_all(subnets)?;
                for s in &subnets {
                    status(&format!("associating {s}"));
                    p.fresh(true, || c.associate_route_table(region, &id, s)).await?;
                }
                Ok(id)
            }
            Op::Associate {
                region,
                route_table,
                subnet,
            } => {
                let (rt, f1) = self.resolve(route_table)?;
                let (sn, f2) = self.resolve(subnet)?;
                let assoc = p
                    .fresh(f1 || f2, || c.associate_route_table(region, &rt, &sn))
                    .await?;
                Ok(assoc)
            }
            Op::Disassociate {
                region,
                association_id,
            } => {
                p.delete("InvalidAssociationID", || {
                    c.disassociate_route_table(region, association_id)
                })
                .await?;
                Ok(association_id.clone())
            }
            Op::DeleteRouteTable {
                region,
                id,
                associations,
            } => {
                for a in associations {
                    p.delete("InvalidAssociationID", || c.disassociate_route_table(region, a))
                        .await?;
                }
                p.delete("InvalidRouteTableID", || c.delete_route_table(region, id))
                    .await?;
                Ok(id.clone())
            }
            Op::CreateSecurityGroup {
                region,
                vpc,
                name,
                description,
                tags,
            } => {
                let (vpc, fresh) = self.resolve(vpc)?;
                let id = p
                    .fresh(fresh, || {
                        c.create_security_group(region, &vpc, name, description, tags)
                    })
                    .await?;
                self.ids.insert(address.clone(), id.clone());
                Ok(id)
            }
            Op::DeleteSecurityGroup { region, id } => {
                p.delete("InvalidGroup", || c.delete_security_group(region, id))
                    .await?;
                Ok(id.clone())
            }
            Op::AuthorizeIngress {
                region,
                group,
                peer,
                tags,
            } => {
                let (sg, fresh) = self.resolve(group)?;
                match p
                    .fresh(fresh, || c.authorize_https_ingress(region, &sg, peer, tags))
                    .await
                {
                    Err(e) if e.is_duplicate() => Ok(format!("{sg}: already present")),
                    r => r.map(|_| sg).map_err(Into::into),
                }
            }
            Op::RevokeIngress { region, group, peer } => {
                p.delete("InvalidPermission", || {
                    c.revoke_https_ingress(region, group, peer)
                })
                .await?;
                Ok(group.clone())
            }
            Op::CreateEndpoint {
                region,
                vpc,
                service,
                endpoint_type,
                route_tables,
                subnets,
                security_groups,
                private_dns,
                policy,
                tags,
            } => {
                let (vpc_id, f0) = self.resolve(vpc)?;
                let (route_table_ids, f1) = self.resolve_all(route_tables)?;
                let (subnet_ids, f2) = self.resolve_all(subnets)?;
                let (security_group_ids, f3) = self.resolve_all(security_groups)?;
                let spec = EndpointCreate {
                    vpc_id,
                    service: service.clone(),
                    endpoint_type: *endpoint_type,
                    route_table_ids,
                    subnet_ids,
                    security_group_ids,
                    private_dns: if *endpoint_type == EndpointType::Interface {
                        *private_dns
                    } else {
                        None
                    },
                    policy: policy.clone(),
                    tags: tags.clone(),
                    client_token: None,
                };
                let ep = p
                    .fresh(f0 || f1 || f2 || f3, || c.create_endpoint(region, &spec))
                    .await?;
                self.ids.insert(address.clone(), ep.id.clone());
                status("waiting for available");
                retry::wait_endpoint_available(c, region, &ep.id, p, status).await?;
                Ok(ep.id)
            }
            Op::ModifyEndpoint {
                region,
                id,
                edit,
                prefix_list,
            } => {
                let m = self.endpoint_modify(edit)?;
                if !m.0.is_empty() {
                    p.conflict(m.1, || c.modify_endpoint(region, id, &m.0)).await?;
                    status("waiting for available");
                    retry::wait_endpoint_available(c, region, id, p, status).await?;
                    if let Some(pl) = prefix_list {
                        status("checking the prefix-list routes");
                        gateway_routes_follow(c, p, region, id, pl, &m.0).await?;
                    }
                }
                Ok(id.clone())
            }
            Op::DeleteEndpoint { region, id } => {
                p.delete("InvalidVpcEndpointId", || c.delete_endpoint(region, id))
                    .await?;
                status("waiting for deleted");
                retry::wait_endpoint_deleted(c, region, id, p, status).await?;
                Ok(id.clone())
            }
            Op::CreatePeering {
                region,
                requester,
                accepter,
                accepter_region,
                tags,
            } => {
                let (req, f1) = self.resolve(requester)?;
                let (acc, f2) = self.resolve(accepter)?;
                let id = p
                    .fresh(f1 || f2, || {
                        c.create_peering(region, &req, &acc, accepter_region, tags)
                    })
                    .await?;
                self.ids.insert(address.clone(), id.clone());
                accept_and_wait(c, p, region, accepter_region, &id, status).await?;
                Ok(id)
            }
            Op::AcceptPeering {
                region,
                accepter_region,
                id,
            } => {
                accept_and_wait(c, p, region, accepter_region, id, status).await?;
                Ok(id.clone())
            }
            Op::DeletePeering { region, id } => {
                p.delete("InvalidVpcPeeringConnectionID", || c.delete_peering(region, id))
                    .await?;
                Ok(id.clone())
            }
            Op::CreateRoute {
                region,
                route_table,
                dest,
                target,
            } => {
                let (rt, f1) = self.resolve(route_table)?;
                let result = match target {
                    RouteTarget::Peering(pcx) => {
                        let (pcx, f2) = self.resolve(pcx)?;
                        p.fresh(f1 || f2, || c.create_peering_route(region, &rt, dest, &pcx))
                            .await
                    }
                    RouteTarget::Endpoint(vpce) => match p
                        .fresh(f1, || c.create_endpoint_route(region, &rt, dest, vpce))
                        .await
                    {
                        Err(e) if !e.is_duplicate() => {
                            // EC2 may refuse a hand-made route to a gateway
                            // endpoint; re-associating the table restores it.
                            tracing::debug!(error = %e, "CreateRoute to {vpce} refused; re-associating {rt} instead");
                            status("re-associating the route table with the endpoint");
                            let remove = EndpointModify {
                                remove_route_table_ids: vec![rt.clone()],
                                ..Default::default()
                            };
                            let add = EndpointModify {
                                add_route_table_ids: vec![rt.clone()],
                                ..Default::default()
                            };
                            p.conflict(false, || c.modify_endpoint(region, vpce, &remove))
                                .await?;
                            p.conflict(false, || c.modify_endpoint(region, vpce, &add)).await
                        }
                        r => r,
                    },
                };
                match result {
                    Err(e) if e.is_duplicate() => Ok(format!("{rt}: already present")),
                    r => r.map(|_| rt).map_err(Into::into),
                }
            }
            Op::DeleteRoute {
                region,
                route_table,
                dest,
            } => {
                p.delete("InvalidRoute", || c.delete_route(region, route_table, dest))
                    .await?;
                Ok(route_table.clone())
            }
            Op::SetTags { region, id, tags } => {
                p.fresh(false, || c.set_tags(region, id, tags)).await?;
                Ok(id.clone())
            }
        }
    }

    /// Resolves an edit's references into ModifyVpcEndpoint lists; the flag
    /// says whether any reference was created by this run.
    fn endpoint_modify(&self, e: &EndpointEdit) -> Result<(EndpointModify, bool), StepError> {
        let (add_rt, f1) = self.resolve_all(&e.route_tables)?;
        let (add_sn, f2) = self.resolve_all(&e.subnets)?;
        let (add_sg, f3) = self.resolve_all(&e.security_groups)?;
        Ok((
            EndpointModify {
                add_route_table_ids: add_rt,
                remove_route_table_ids: e.route_table_ids.clone(),
                add_subnet_ids: add_sn,
                remove_subnet_ids: e.subnet_ids.clone(),
                add_security_group_ids: add_sg,
                remove_security_group_ids: e.security_group_ids.clone(),
                policy: e.policy.clone(),
                private_dns: e.private_dns,
            },
            f1 || f2 || f3,
        ))
    }
}

/// After route tables were added to or removed from a gateway endpoint,
/// makes sure each added table routes the prefix list to the endpoint and
/// no removed one still does. EC2 does this itself (one Describe confirms
/// it); emulators that only update the endpoint's list get the routes fixed.
async fn gateway_routes_follow(
    c: &dyn Cloud,
    p: &RetryPolicy,
    region: &str,
    endpoint: &str,
    pl: &str,
    m: &EndpointModify,
) -> Result<(), StepError> {
    let ids: Vec<String> = m
        .add_route_table_ids
        .iter()
        .chain(&m.remove_route_table_ids)
        .cloned()
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let dest = RouteDest::PrefixList(pl.to_string());
    let filter = Filter::Ids(ids);
    let tables = p.fresh(true, || c.describe_route_tables(region, &filter)).await?;
    for t in &tables {
        let route = t.routes.iter().find(|r| r.dest == dest);
        let ours = route.is_some_and(|r| r.gateway_id.as_deref() == Some(endpoint));
        if m.add_route_table_ids.contains(&t.id) && route.is_none() {
            match c.create_endpoint_route(region, &t.id, &dest, endpoint).await {
                Err(e) if !e.is_duplicate() => return Err(e.into()),
                _ => {}
            }
        } else if m.remove_route_table_ids.contains(&t.id) && ours {
            p.delete("InvalidRoute", || c.delete_route(region, &t.id, &dest))
                .await?;
        }
    }
    Ok(())
}

/// Waits until the accepter's region sees the request, accepts it if it is
/// still pending, then waits until the requester's region sees it active.
async fn accept_and_wait(
    c: &dyn Cloud,
    p: &RetryPolicy,
    region: &str,
    accepter_region: &str,
    id: &str,
    status: &(dyn Fn(&str) + Sync),
) -> Result<(), StepError> {
    status("waiting for the request to reach the accepter");
    let seen = retry::wait_peering(c, accepter_region, id, PeeringStage::Acceptable, p, status).await?;
    if seen == "pending-acceptance" {
        status("accepting");
        p.fresh(true, || c.accept_peering(accepter_region, id)).await?;
    }
    status("waiting for active");
    retry::wait_peering(c, region, id, PeeringStage::Active, p, status).await?;
    Ok(())
}
