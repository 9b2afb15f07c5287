//! Executes a diff: walks the dependency graph of its steps (`graph`) with
//! bounded parallelism. A step starts as soon as every step it depends on
//! is done; a failed step skips only what depends on it; an interrupt
//! (`Stop`) starts nothing new and lets calls in flight finish.
//!
//! Resources created by this run are referred to by address until their
//! ids are known. Creates never leave a second resource (`create`): client
//! tokens where EC2 takes one, a look-up by tags before a tokenless create
//! is sent again. Retries the SDK does not do live in `retry`: NotFound
//! just after this run created something, transient conflicts during
//! deletes and modifies, and waits for a state. Throttling and 5xx are the
//! SDK's standard retry (one layer), except for tokenless creates.

pub mod create;
pub mod graph;
pub mod retry;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::cloud::{Cloud, CloudError, EndpointCreate, EndpointModify, Filter};
use crate::diff::ops::{EndpointEdit, RouteTarget};
use crate::diff::{Changes, IdRef, Op};
use crate::model::{Address, EndpointType, RouteDest, Tags, TAG_DNS, TAG_PLAN};

pub use crate::stop::Stop;
pub use graph::{label, schedule};
pub use retry::{PeeringStage, RetryPolicy, WaitError};

/// How many client tokens a create tries before giving up.
const TOKEN_SALTS: u32 = 16;
/// How long a route table just created may take to become visible.
const ROUTE_TABLE_VISIBLE: Duration = Duration::from_secs(15);

/// Steps in flight at once unless `--parallelism` says otherwise.
pub const DEFAULT_PARALLELISM: usize = 16;

/// Receives progress as the executor runs; called from steps running side
/// by side. Library code never touches indicatif; `render::progress`
/// implements this for the terminal.
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
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub policy: RetryPolicy,
    /// Steps in flight at once (at least 1).
    pub parallelism: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            policy: RetryPolicy::default(),
            parallelism: DEFAULT_PARALLELISM,
        }
    }
}

/// A step that failed, with the change it belonged to.
#[derive(Debug, Clone)]
pub struct Failure {
    pub address: Address,
    pub label: String,
    pub message: String,
}

/// A step that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAttempted {
    pub label: String,
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Labels of steps that finished.
    pub done: Vec<String>,
    /// Steps that failed (their dependents are in `not_attempted`).
    pub failed: Vec<Failure>,
    /// Steps in flight when the run was interrupted that stopped before
    /// finishing (a wait or a retry pause cut short).
    pub interrupted: Vec<Failure>,
    /// Steps that never started: a step they depend on failed, or the run
    /// was interrupted first.
    pub not_attempted: Vec<NotAttempted>,
    /// Whether the run was interrupted (Ctrl-C).
    pub stopped: bool,
    /// Ids created by this run, by address.
    pub created: HashMap<Address, String>,
}

impl Report {
    /// Every step done.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
            && self.interrupted.is_empty()
            && self.not_attempted.is_empty()
            && !self.stopped
    }
}

type Running<'a> = Pin<Box<dyn Future<Output = (usize, Result<String, StepError>)> + Send + 'a>>;

/// Runs every step of `changes`, at most `opts.parallelism` at a time, each
/// as soon as the steps it depends on are done. With parallelism 1 the
/// steps run one by one in [`schedule`] order.
pub async fn execute(
    cloud: &dyn Cloud,
    changes: &Changes,
    reporter: &dyn Reporter,
    opts: &ExecOptions,
) -> Report {
    let nodes = graph::build(changes);
    let total = nodes.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut waiting: Vec<usize> = Vec::with_capacity(total);
    for (i, n) in nodes.iter().enumerate() {
        waiting.push(n.deps.len());
        for &d in &n.deps {
            dependents[d].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..total).filter(|&i| waiting[i] == 0).collect();
    // Why a node will not run: the step at its root, and what became of it.
    let mut blocked: Vec<Option<(String, &'static str)>> = vec![None; total];
    let mut started = vec![false; total];
    let exec = Executor {
        cloud,
        opts,
        ids: Mutex::new(HashMap::new()),
        modify_locks: Mutex::new(HashMap::new()),
    };
    let stop = &opts.policy.stop;
    let limit = opts.parallelism.max(1);
    let mut report = Report::default();
    let mut running: Vec<Running<'_>> = Vec::new();
    let mut t0: HashMap<usize, Instant> = HashMap::new();
    loop {
        while !stop.is_fired() && running.len() < limit {
            let Some(i) = ready.pop_first() else { break };
            started[i] = true;
            let n = &nodes[i];
            reporter.started(i, total, &n.label);
            t0.insert(i, Instant::now());
            let exec = &exec;
            running.push(Box::pin(async move {
                let status = |m: &str| reporter.status(i, m);
                (i, exec.run(&n.change.address, &n.step.op, &status).await)
            }));
        }
        if running.is_empty() {
            break;
        }
        let (k, (i, result)) = std::future::poll_fn(|cx| {
            for (k, f) in running.iter_mut().enumerate() {
                if let Poll::Ready(out) = f.as_mut().poll(cx) {
                    return Poll::Ready((k, out));
                }
            }
            Poll::Pending
        })
        .await;
        drop(running.swap_remove(k));
        let n = &nodes[i];
        let elapsed = t0.remove(&i).map(|t| t.elapsed()).unwrap_or_default();
        match result {
            Ok(detail) => {
                reporter.finished(i, &n.label, Ok(&detail), elapsed);
                report.done.push(n.label.clone());
                for &j in &dependents[i] {
                    waiting[j] -= 1;
                    if waiting[j] == 0 && blocked[j].is_none() {
                        ready.insert(j);
                    }
                }
            }
            Err(e) => {
                let msg = e.to_string();
                reporter.finished(i, &n.label, Err(&msg), elapsed);
                let f = Failure {
                    address: n.change.address.clone(),
                    label: n.label.clone(),
                    message: msg,
                };
                let fate = if e.is_interrupted() {
                    report.interrupted.push(f);
                    "was interrupted"
                } else {
                    report.failed.push(f);
                    "failed"
                };
                // Everything downstream is blocked by this step.
                let mut stack = dependents[i].clone();
                while let Some(j) = stack.pop() {
                    if blocked[j].is_none() {
                        blocked[j] = Some((n.label.clone(), fate));
                        ready.remove(&j);
                        stack.extend(&dependents[j]);
                    }
                }
            }
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        if started[i] {
            continue;
        }
        let reason = match &blocked[i] {
            Some((root, fate)) => format!("depends on {root}, which {fate}"),
            None => "the run was interrupted before it started".to_string(),
        };
        report.not_attempted.push(NotAttempted {
            label: n.label.clone(),
            reason,
        });
    }
    drop(running);
    report.stopped = stop.is_fired();
    report.created = exec.ids.into_inner().unwrap_or_else(|p| p.into_inner());
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
    #[error("interrupted before trying again after: {0}")]
    Interrupted(CloudError),
}

impl StepError {
    /// The thing already exists (duplicate route or rule).
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StepError::Cloud(e) if e.is_duplicate())
    }

    /// Cut short by Ctrl-C.
    pub fn is_interrupted(&self) -> bool {
        match self {
            StepError::Interrupted(_) | StepError::Wait(WaitError::Interrupted { .. }) => true,
            StepError::Cloud(e) | StepError::Wait(WaitError::Cloud(e)) => e.interrupted,
            StepError::Wait(_) | StepError::Unresolved(_) => false,
        }
    }
}

struct Executor<'a> {
    cloud: &'a dyn Cloud,
    opts: &'a ExecOptions,
    /// Ids of resources this run created, by address.
    ids: Mutex<HashMap<Address, String>>,
    /// One ModifyVpcEndpoint in flight per endpoint (EC2 answers
    /// OperationInProgress otherwise).
    modify_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Executor<'_> {
    /// Resolves a reference; `fresh` says whether this run created it (so
    /// NotFound on it is eventual consistency, worth retrying).
    fn resolve(&self, r: &IdRef) -> Result<(String, bool), StepError> {
        match r {
            IdRef::Id(id) => Ok((id.clone(), false)),
            IdRef::Addr(a) => self
                .ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
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

    fn created(&self, address: &Address, id: &str) {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address.clone(), id.to_string());
    }

    /// ModifyVpcEndpoint on `id`, one at a time per endpoint, with
    /// transient conflicts retried.
    async fn modify_endpoint(
        &self,
        region: &str,
        id: &str,
        m: &EndpointModify,
        fresh: bool,
    ) -> Result<(), StepError> {
        self.modify_endpoint_with(&self.opts.policy, region, id, m, fresh)
            .await
    }

    /// [`modify_endpoint`](Self::modify_endpoint) with retries bounded by `p`.
    async fn modify_endpoint_with(
        &self,
        p: &RetryPolicy,
        region: &str,
        id: &str,
        m: &EndpointModify,
        fresh: bool,
    ) -> Result<(), StepError> {
        let lock = self
            .modify_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_string())
            .or_default()
            .clone();
        let _guard = lock.lock().await;
        let c = self.cloud;
        p.conflict(fresh, || c.modify_endpoint(region, id, m)).await
    }

    /// Runs one operation; returns a short detail for progress output.
    async fn run(
        &self,
        address: &Address,
        op: &Op,
        status: &(dyn Fn(&str) + Sync),
    ) -> Result<String, StepError> {
        let c = self.cloud;
        let p = &self.opts.policy;
        match op {
            Op::CreateVpc { region, cidr, tags } => {
                let find = || async {
                    let plan = Filter::Plan(plan_of(tags));
                    let vpcs = c.describe_vpcs(region, &plan).await?;
                    Ok(vpcs
                        .into_iter()
                        .find(|v| {
                            create::same_key(&v.tags, tags) && v.cidr == Some(*cidr) && v.state != "deleted"
                        })
                        .map(|v| v.id))
                };
                let id = create::create_or_find(
                    p,
                    address.as_str(),
                    false,
                    || c.create_vpc(region, *cidr, tags),
                    find,
                )
                .await?;
                self.created(address, &id);
                status("enabling DNS hostnames");
                enable_dns_hostnames(c, p, region, &id, true).await?;
                Ok(id)
            }
            Op::EnableDnsHostnames { region, id } => {
                enable_dns_hostnames(c, p, region, id, false).await?;
                Ok(id.clone())
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
                let find = || async {
                    let subnets = c
                        .describe_subnets(region, &Filter::Vpcs(vec![vpc.clone()]))
                        .await?;
                    Ok(subnets
                        .into_iter()
                        .find(|s| create::same_key(&s.tags, tags) && s.cidr == Some(*cidr))
                        .map(|s| s.id))
                };
                let id = create::create_or_find(
                    p,
                    address.as_str(),
                    fresh,
                    || c.create_subnet(region, &vpc, az, *cidr, tags),
                    find,
                )
                .await?;
                self.created(address, &id);
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
                let id = self.create_route_table(region, &vpc, tags, fresh).await?;
                self.created(address, &id);
                let (subnets, _) = self.resolve_all(subnets)?;
                for s in &subnets {
                    status(&format!("associating {s}"));
                    self.associate(region, &id, s, true).await?;
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
                self.associate(region, &rt, &sn, f1 || f2).await
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
                let find = || async {
                    let groups = c
                        .describe_security_groups(region, &Filter::Vpcs(vec![vpc.clone()]))
                        .await?;
                    // The name is unique in a VPC: a group of that name
                    // without the plan's tags is not ours to take.
                    Ok(groups
                        .into_iter()
                        .find(|g| create::same_key(&g.tags, tags) && g.name == *name)
                        .map(|g| g.id))
                };
                let id = create::create_or_find(
                    p,
                    address.as_str(),
                    fresh,
                    || c.create_security_group(region, &vpc, name, description, tags),
                    find,
                )
                .await?;
                self.created(address, &id);
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
                let fresh = f0 || f1 || f2 || f3;
                let id = self.create_endpoint(address, region, spec, fresh, status).await?;
                Ok(id)
            }
            Op::ModifyEndpoint {
                region,
                id,
                edit,
                prefix_list,
            } => {
                let m = self.endpoint_modify(edit)?;
                if !m.0.is_empty() {
                    self.modify_endpoint(region, id, &m.0, m.1).await?;
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
                match p
                    .delete("InvalidVpcEndpointId", || c.delete_endpoint(region, id))
                    .await
                {
                    // Some emulators (moto) remove a gateway endpoint's
                    // prefix-list routes by destination and fail when one is
                    // already gone (taken by a duplicate's deletion, or by
                    // hand): detach the route tables, then delete.
                    Err(StepError::Cloud(e)) if e.code_starts_with("InvalidRoute.NotFound") => {
                        status("detaching its route tables first");
                        let filter = Filter::Ids(vec![id.clone()]);
                        let found = c.describe_endpoints(region, &filter).await?;
                        let tables = found
                            .into_iter()
                            .find(|x| x.id == *id)
                            .map(|x| x.route_table_ids)
                            .unwrap_or_default();
                        if tables.is_empty() {
                            return Err(e.into());
                        }
                        let detach = EndpointModify {
                            remove_route_table_ids: tables,
                            ..Default::default()
                        };
                        self.modify_endpoint(region, id, &detach, false).await?;
                        p.delete("InvalidVpcEndpointId", || c.delete_endpoint(region, id))
                            .await?;
                    }
                    r => r?,
                }
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
                let find = || async {
                    let all = c.describe_peerings(region, &Filter::Plan(plan_of(tags))).await?;
                    Ok(all
                        .into_iter()
                        .find(|x| {
                            create::same_key(&x.tags, tags)
                                && !x.is_gone()
                                && x.requester_vpc_id.as_deref() == Some(req.as_str())
                                && x.accepter_vpc_id.as_deref() == Some(acc.as_str())
                        })
                        .map(|x| x.id))
                };
                let id = create::create_or_find(
                    p,
                    address.as_str(),
                    f1 || f2,
                    || c.create_peering(region, &req, &acc, accepter_region, tags),
                    find,
                )
                .await?;
                self.created(address, &id);
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
                        Err(StepError::Cloud(e))
                            if e.code.is_some() && !e.is_transient() && !e.is_duplicate() =>
                        {
                            // EC2 may refuse a hand-made route to a gateway
                            // endpoint; re-associating the table restores it.
                            // Once detached, the table is re-attached even
                            // after Ctrl-C: its subnets must not lose S3.
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
                            self.modify_endpoint(region, vpce, &remove, false).await?;
                            let steady = RetryPolicy {
                                stop: Stop::new(),
                                ..p.clone()
                            };
                            self.modify_endpoint_with(&steady, region, vpce, &add, false)
                                .await
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

    /// CreateVpcEndpoint with a client token derived from the spec, then a
    /// wait until it is available. EC2 answers a token it has seen with the
    /// endpoint it created then; when that one has since been deleted (the
    /// same plan applied again after a destroy) or the token was used with
    /// other parameters, the next salt gives a new token.
    async fn create_endpoint(
        &self,
        address: &Address,
        region: &str,
        mut spec: EndpointCreate,
        fresh: bool,
        status: &(dyn Fn(&str) + Sync),
    ) -> Result<String, StepError> {
        let c = self.cloud;
        let p = &self.opts.policy;
        let fingerprint = serde_json::json!({
            "vpc": spec.vpc_id,
            "service": spec.service,
            "type": format!("{:?}", spec.endpoint_type),
            "route_tables": spec.route_table_ids,
            "subnets": spec.subnet_ids,
            "security_groups": spec.security_group_ids,
            "private_dns": spec.private_dns,
            "policy": spec.policy,
            "tags": spec.tags,
        });
        for salt in 0..TOKEN_SALTS {
            spec.client_token = Some(create::client_token("endpoint", &spec.tags, &fingerprint, salt));
            let ep = match p.fresh(fresh, || c.create_endpoint(region, &spec)).await {
                Err(StepError::Cloud(e)) if e.code_starts_with("IdempotentParameterMismatch") => continue,
                r => r?,
            };
            if ep.is_gone() {
                tracing::info!(
                    "{address}: the client token answered with {}, which is {}",
                    ep.id,
                    ep.state
                );
                continue;
            }
            self.created(address, &ep.id);
            status("waiting for available");
            match retry::wait_endpoint_available(c, region, &ep.id, p, status).await {
                Err(WaitError::Failed { state, .. }) if matches!(state.as_str(), "deleted" | "deleting") => {
                    tracing::info!(
                        "{address}: the client token answered with {}, which is {state}",
                        ep.id
                    );
                    continue;
                }
                r => r?,
            }
            return Ok(ep.id);
        }
        Err(no_fresh_token("CreateVpcEndpoint", region))
    }

    /// CreateRouteTable with a client token derived from the plan, the
    /// address, the VPC and the tags. In a VPC this run did not create, a
    /// token may have been used by an earlier run whose table is gone since:
    /// the table is looked up, and a new salt used if it is not there.
    async fn create_route_table(
        &self,
        region: &str,
        vpc: &str,
        tags: &Tags,
        fresh: bool,
    ) -> Result<String, StepError> {
        let c = self.cloud;
        let p = &self.opts.policy;
        let fingerprint = serde_json::json!({ "vpc": vpc, "tags": tags });
        for salt in 0..TOKEN_SALTS {
            let token = create::client_token("route_table", tags, &fingerprint, salt);
            let id = match p
                .fresh(fresh, || c.create_route_table(region, vpc, tags, Some(&token)))
                .await
            {
                Err(StepError::Cloud(e)) if e.code_starts_with("IdempotentParameterMismatch") => continue,
                r => r?,
            };
            // A VPC created by this run is new: no earlier table can share
            // its tokens.
            if fresh || self.route_table_exists(region, &id).await? {
                return Ok(id);
            }
            tracing::info!("the client token of a route table answered with {id}, which no longer exists");
        }
        Err(no_fresh_token("CreateRouteTable", region))
    }

    /// Whether route table `id` can be read, allowing a few seconds for a
    /// table just created to become visible.
    async fn route_table_exists(&self, region: &str, id: &str) -> Result<bool, StepError> {
        let p = RetryPolicy {
            fresh_timeout: ROUTE_TABLE_VISIBLE,
            ..self.opts.policy.clone()
        };
        let filter = Filter::Ids(vec![id.to_string()]);
        match p
            .fresh(true, || self.cloud.describe_route_tables(region, &filter))
            .await
        {
            Ok(list) => Ok(list.iter().any(|t| t.id == id)),
            Err(StepError::Cloud(e)) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// AssociateRouteTable. An association whose answer was lost and that
    /// the SDK sent again comes back `Resource.AlreadyAssociated`: when the
    /// subnet is associated with this very table, that is success.
    async fn associate(
        &self,
        region: &str,
        rt: &str,
        subnet: &str,
        fresh: bool,
    ) -> Result<String, StepError> {
        let c = self.cloud;
        match self
            .opts
            .policy
            .fresh(fresh, || c.associate_route_table(region, rt, subnet))
            .await
        {
            Err(StepError::Cloud(e)) if e.code_starts_with("Resource.AlreadyAssociated") => {
                let tables = c
                    .describe_route_tables(region, &Filter::Ids(vec![rt.to_string()]))
                    .await?;
                let assoc = tables
                    .iter()
                    .flat_map(|t| &t.associations)
                    .find(|a| a.subnet_id.as_deref() == Some(subnet));
                match assoc {
                    Some(a) => Ok(a.id.clone()),
                    None => Err(e.into()),
                }
            }
            r => r,
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

/// Turns DNS hostnames on, then records that in the `s3ep:dns-hostnames`
/// tag, so a run killed in between is repaired by the next apply.
async fn enable_dns_hostnames(
    c: &dyn Cloud,
    p: &RetryPolicy,
    region: &str,
    id: &str,
    fresh: bool,
) -> Result<(), StepError> {
    p.fresh(fresh, || c.enable_dns_hostnames(region, id)).await?;
    let tag: Tags = [(TAG_DNS.to_string(), "enabled".to_string())].into();
    p.fresh(fresh, || c.set_tags(region, id, &tag)).await?;
    Ok(())
}

/// Every client token tried answered with a resource that is gone.
fn no_fresh_token(op: &'static str, region: &str) -> StepError {
    CloudError::new(
        op,
        region,
        None,
        format!("all {TOKEN_SALTS} client tokens tried returned a deleted resource or a parameter mismatch"),
    )
    .into()
}

/// The plan name a create's tags carry.
fn plan_of(tags: &Tags) -> String {
    tags.get(TAG_PLAN).cloned().unwrap_or_default()
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
        if let Err(e) = p.fresh(true, || c.accept_peering(accepter_region, id)).await {
            // An accept whose answer was lost and that was sent again finds
            // the peering already past pending-acceptance: that is success.
            let list = c
                .describe_peerings(accepter_region, &Filter::Ids(vec![id.to_string()]))
                .await?;
            let accepted = list
                .iter()
                .any(|x| x.id == id && matches!(x.status.as_str(), "active" | "provisioning"));
            if !accepted {
                return Err(e);
            }
        }
    }
    status("waiting for active");
    retry::wait_peering(c, region, id, PeeringStage::Active, p, status).await?;
    Ok(())
}
