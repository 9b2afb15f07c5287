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
pub mod resource;
pub mod retry;
pub mod settle;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::cloud::{Cloud, CloudError, EndpointModify};
use crate::diff::{Changes, IdRef, Op};
use crate::emulator::Emulator;
use crate::model::Address;
use resource::{endpoint, peering, route, route_table, security_group, subnet, vpc, Status};

pub use crate::stop::Stop;
pub use graph::{label, schedule};
pub use retry::{RetryPolicy, WaitError};

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
    /// Emulator workarounds (off on real EC2; see `crate::emulator`).
    pub emulator: Emulator,
    /// Wait until the plan's tag filter lists what the run created
    /// (`apply`; see [`settle`]); each kind and region as soon as its last
    /// create has ended, alongside the rest of the run.
    pub settle: Option<settle::Settle>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            policy: RetryPolicy::default(),
            parallelism: DEFAULT_PARALLELISM,
            emulator: Emulator::Off,
            settle: None,
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
    /// With `ExecOptions::settle`: created resources the plan's tag filter
    /// did not list yet when the run ended (the settle timed out, or the
    /// run was interrupted before or during their settle).
    pub unlisted: Vec<Address>,
    /// With `ExecOptions::settle`: Describe failures of the settle (the
    /// resources were created; only the check that EC2 lists them failed).
    pub settle_errors: Vec<String>,
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
type Settling<'a> = Pin<Box<dyn Future<Output = Result<Vec<Address>, CloudError>> + Send + 'a>>;

/// What the walk waits for next: a step, or the settle of one kind in one
/// region.
enum Event {
    Step(usize, Result<String, StepError>),
    Settled(Result<Vec<Address>, CloudError>),
}

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
    // Ready steps start in this order: first those an endpoint call waits
    // for, nearest to one first (EC2 paces those calls, so the run ends
    // when the last one does); then the longest remaining path; then
    // schedule order.
    let tail = graph::critical_tail(&nodes, &dependents);
    let to_endpoint = graph::to_endpoint_call(&nodes, &dependents);
    let key = |i: usize| (to_endpoint[i].unwrap_or(u32::MAX), std::cmp::Reverse(tail[i]), i);
    let mut ready: BTreeSet<(u32, std::cmp::Reverse<u32>, usize)> =
        (0..total).filter(|&i| waiting[i] == 0).map(key).collect();
    // Why a node will not run: the step at its root, and what became of it.
    let mut blocked: Vec<Option<(String, &'static str)>> = vec![None; total];
    let mut started = vec![false; total];
    let exec = Ctx {
        cloud,
        opts,
        run_id: create::run_id(),
        ids: Mutex::new(HashMap::new()),
        modify_locks: Mutex::new(HashMap::new()),
    };
    let stop = &opts.policy.stop;
    let limit = opts.parallelism.max(1);
    let mut report = Report::default();
    let mut running: Vec<Running<'_>> = Vec::new();
    let mut t0: HashMap<usize, Instant> = HashMap::new();
    // The settle, per (region, kind): the creates of that kind and region
    // not ended yet; at zero, its wait starts (`settling`).
    let group_of: Vec<Option<(String, String)>> = nodes
        .iter()
        .map(|n| {
            (opts.settle.is_some() && settle::is_settled_create(&n.step.op))
                .then(|| (n.change.region.clone(), n.change.address.kind().to_string()))
        })
        .collect();
    let mut open: HashMap<(String, String), usize> = HashMap::new();
    for g in group_of.iter().flatten() {
        *open.entry(g.clone()).or_default() += 1;
    }
    let mut settling: Vec<Settling<'_>> = Vec::new();
    // A create of node `i` has ended (or will never run): when it was the
    // last of its group, what its group made, to settle.
    let close = |i: usize, open: &mut HashMap<(String, String), usize>| -> Option<settle::Groups> {
        let g = group_of[i].as_ref()?;
        let left = open.get_mut(g)?;
        *left -= 1;
        if *left > 0 {
            return None;
        }
        open.remove(g);
        let ids = exec.ids.lock().unwrap_or_else(|p| p.into_inner());
        let members: BTreeSet<(String, Address)> = nodes
            .iter()
            .zip(&group_of)
            .filter(|(_, k)| k.as_ref() == Some(g))
            .filter_map(|(n, _)| {
                ids.get(&n.change.address)
                    .map(|id| (id.clone(), n.change.address.clone()))
            })
            .collect();
        (!members.is_empty()).then(|| settle::Groups::from([(g.clone(), members)]))
    };
    let start_settle = |pending: settle::Groups| -> Option<Settling<'_>> {
        let s = opts.settle.as_ref()?;
        Some(Box::pin(settle::wait_listed(
            cloud,
            &s.plan,
            pending,
            &opts.policy,
            s.timeout,
        )))
    };
    loop {
        while !stop.is_fired() && running.len() < limit {
            let Some((_, _, i)) = ready.pop_first() else { break };
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
        if running.is_empty() && settling.is_empty() {
            break;
        }
        let (k, event) = std::future::poll_fn(|cx| {
            for (k, f) in running.iter_mut().enumerate() {
                if let Poll::Ready((i, out)) = f.as_mut().poll(cx) {
                    return Poll::Ready((k, Event::Step(i, out)));
                }
            }
            for (k, f) in settling.iter_mut().enumerate() {
                if let Poll::Ready(out) = f.as_mut().poll(cx) {
                    return Poll::Ready((k, Event::Settled(out)));
                }
            }
            Poll::Pending
        })
        .await;
        match &event {
            Event::Step(..) => drop(running.swap_remove(k)),
            Event::Settled(_) => drop(settling.swap_remove(k)),
        }
        let (i, result) = match event {
            Event::Step(i, result) => (i, result),
            Event::Settled(Ok(late)) => {
                report.unlisted.extend(late);
                continue;
            }
            Event::Settled(Err(e)) => {
                report.settle_errors.push(e.to_string());
                continue;
            }
        };
        let n = &nodes[i];
        let elapsed = t0.remove(&i).map(|t| t.elapsed()).unwrap_or_default();
        match result {
            Ok(detail) => {
                reporter.finished(i, &n.label, Ok(&detail), elapsed);
                report.done.push(n.label.clone());
                for &j in &dependents[i] {
                    waiting[j] -= 1;
                    if waiting[j] == 0 && blocked[j].is_none() {
                        ready.insert(key(j));
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
                        ready.remove(&key(j));
                        stack.extend(&dependents[j]);
                        settling.extend(close(j, &mut open).and_then(start_settle));
                    }
                }
            }
        }
        settling.extend(close(i, &mut open).and_then(start_settle));
    }
    // Interrupted: the groups whose creates did not all end were never
    // settled; what they made is unlisted as far as this run knows.
    if !open.is_empty() {
        let ids = exec.ids.lock().unwrap_or_else(|p| p.into_inner());
        for (n, g) in nodes.iter().zip(&group_of) {
            if g.as_ref().is_some_and(|g| open.contains_key(g)) && ids.contains_key(&n.change.address) {
                report.unlisted.push(n.change.address.clone());
            }
        }
    }
    // One line per change: later steps of a change that did not start
    // (its subnet associations, say) are not listed again.
    let mut listed = std::collections::HashSet::new();
    for (i, n) in nodes.iter().enumerate() {
        if started[i] || !listed.insert((n.change_index, n.label.as_str())) {
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

/// What every step of one run shares: the cloud, the options, the run's
/// id (mixed into client tokens), the ids created so far, and one lock per
/// endpoint for ModifyVpcEndpoint.
pub struct Ctx<'a> {
    pub cloud: &'a dyn Cloud,
    pub opts: &'a ExecOptions,
    /// Random per run ([`create::run_id`]).
    pub run_id: String,
    /// Ids of resources this run created, by address.
    ids: Mutex<HashMap<Address, String>>,
    /// One ModifyVpcEndpoint in flight per endpoint (EC2 answers
    /// OperationInProgress otherwise).
    modify_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Ctx<'_> {
    pub fn policy(&self) -> &RetryPolicy {
        &self.opts.policy
    }

    /// Resolves a reference; `fresh` says whether this run created it (so
    /// NotFound on it is eventual consistency, worth retrying).
    pub fn resolve(&self, r: &IdRef) -> Result<(String, bool), StepError> {
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

    pub fn resolve_all(&self, refs: &[IdRef]) -> Result<(Vec<String>, bool), StepError> {
        let mut out = Vec::new();
        let mut fresh = false;
        for r in refs {
            let (id, f) = self.resolve(r)?;
            fresh |= f;
            out.push(id);
        }
        Ok((out, fresh))
    }

    /// Records the id of a resource this run created.
    pub fn created(&self, address: &Address, id: &str) {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address.clone(), id.to_string());
    }

    /// ModifyVpcEndpoint on `id`, one at a time per endpoint, with
    /// transient conflicts retried.
    pub async fn modify_endpoint(
        &self,
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
        self.policy()
            .conflict(fresh, || c.modify_endpoint(region, id, m))
            .await
    }

    /// Runs one operation through its resource's module; returns a short
    /// detail for progress output.
    async fn run(&self, address: &Address, op: &Op, status: Status<'_>) -> Result<String, StepError> {
        let done = |id: &str| Ok(id.to_string());
        match op {
            Op::CreateVpc {
                region,
                cidr,
                ipv6,
                tags,
            } => vpc::create(self, address, region, *cidr, *ipv6, tags).await,
            Op::EnableDnsHostnames { region, vpc } => {
                vpc::enable_dns_hostnames(self, region, vpc, status).await
            }
            Op::DeleteVpc { region, id } => {
                vpc::delete(self, region, id).await?;
                done(id)
            }
            Op::CreateSubnet {
                region,
                vpc,
                az,
                cidr,
                ipv6_index,
                tags,
            } => subnet::create(self, address, region, vpc, az, *cidr, *ipv6_index, tags, status).await,
            Op::DeleteSubnet { region, id } => {
                subnet::delete(self, region, id).await?;
                done(id)
            }
            Op::CreateRouteTable { region, vpc, tags } => {
                route_table::create(self, address, region, vpc, tags).await
            }
            Op::Associate {
                region,
                route_table,
                subnet,
            } => route_table::associate(self, region, route_table, subnet).await,
            Op::Disassociate {
                region,
                association_id,
            } => {
                route_table::disassociate(self, region, association_id).await?;
                done(association_id)
            }
            Op::DeleteRouteTable {
                region,
                id,
                associations,
            } => {
                route_table::delete(self, region, id, associations).await?;
                done(id)
            }
            Op::CreateSecurityGroup {
                region,
                vpc,
                name,
                description,
                tags,
            } => security_group::create(self, address, region, vpc, name, description, tags).await,
            Op::DeleteSecurityGroup { region, id } => {
                security_group::delete(self, region, id).await?;
                done(id)
            }
            Op::AuthorizeIngress {
                region,
                group,
                peer,
                tags,
            } => security_group::authorize(self, region, group, peer, tags).await,
            Op::RevokeIngress { region, group, peer } => {
                security_group::revoke(self, region, group, peer).await?;
                done(group)
            }
            Op::AuthorizeEgress {
                region,
                group,
                peer,
                tags,
            } => security_group::authorize_egress(self, region, group, peer, tags).await,
            Op::RevokeEgress {
                region,
                group,
                rule_id,
                ..
            } => {
                security_group::revoke_egress(self, region, group, rule_id).await?;
                done(rule_id)
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
                ip_address_type,
                dns_record_ip_type,
                tags,
                service_region,
            } => {
                let spec = endpoint::Spec {
                    vpc,
                    service,
                    endpoint_type: *endpoint_type,
                    route_tables,
                    subnets,
                    security_groups,
                    private_dns: *private_dns,
                    policy,
                    ip_address_type: *ip_address_type,
                    dns_record_ip_type: *dns_record_ip_type,
                    tags,
                    service_region,
                };
                endpoint::create(self, address, region, spec, status).await
            }
            Op::ModifyEndpoint {
                region,
                id,
                edit,
                prefix_list,
            } => endpoint::modify(self, region, id, edit, prefix_list.as_deref(), status).await,
            Op::DeleteEndpoint { region, id, .. } => {
                endpoint::delete(self, region, id, status).await?;
                done(id)
            }
            Op::CreatePeering {
                region,
                requester,
                accepter,
                accepter_region,
                tags,
            } => {
                peering::create(
                    self,
                    address,
                    region,
                    requester,
                    accepter,
                    accepter_region,
                    tags,
                    status,
                )
                .await
            }
            Op::AcceptPeering {
                region,
                accepter_region,
                id,
            } => {
                peering::accept_and_wait(self, region, accepter_region, id, status).await?;
                done(id)
            }
            Op::DeletePeering { region, id } => {
                peering::delete(self, region, id).await?;
                done(id)
            }
            Op::CreateRoute {
                region,
                route_table,
                dest,
                target,
            } => route::create(self, region, route_table, dest, target).await,
            Op::DeleteRoute {
                region,
                route_table,
                dest,
            } => {
                route::delete(self, region, route_table, dest).await?;
                done(route_table)
            }
            Op::SetTags { region, id, tags } => {
                let c = self.cloud;
                self.policy()
                    .fresh(false, || c.set_tags(region, id, tags))
                    .await?;
                done(id)
            }
        }
    }
}
