//! After an apply: wait until what it created shows in the tag-filtered
//! reads the next `plan` makes.
//!
//! EC2's Describe results are eventually consistent: a resource just created
//! can be missing from a `tag:` filtered Describe for a while ("Eventual
//! consistency in the Amazon EC2 API", EC2 API reference). s3ep finds what
//! it owns by its tags (there is no state file), so a `plan` run right after
//! an `apply` could otherwise offer to create again what the apply made.
//! One Describe per kind and region with something new, repeated with
//! backoff until every new id is listed or the timeout has passed; a
//! timeout is a warning, not a failure (everything was created).
//!
//! The executor starts this wait per (region, kind) as soon as the last
//! create of that kind in that region has ended ([`Settle`] in
//! `ExecOptions`), so it runs alongside the rest of the apply instead of
//! after it; [`settle`] waits for everything at once (after Ctrl-C).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use crate::cloud::{Cloud, CloudError, Filter};
use crate::diff::{Changes, Op};
use crate::model::Address;

use super::retry::RetryPolicy;

/// How long `apply` waits for EC2's tag-filtered Describe results to list
/// what it created.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The executor's settle: after the last create of a kind in a region,
/// wait (side by side with the rest of the run) until plan `plan`'s tag
/// filter lists what it made, for at most `timeout`.
#[derive(Debug, Clone)]
pub struct Settle {
    pub plan: String,
    pub timeout: Duration,
}

/// (region, kind) -> the (id, address) pairs still to see.
pub type Groups = BTreeMap<(String, String), BTreeSet<(String, Address)>>;

/// The creates whose resources `plan` finds by a tag-filtered Describe,
/// and so that settle waits for: those that make an id (routes, rules and
/// associations are read through their table or group).
pub fn is_settled_create(op: &Op) -> bool {
    super::graph::makes_id(op)
}

/// The created ids of `changes` to wait for, grouped by region and kind.
pub fn groups(changes: &Changes, created: &HashMap<Address, String>) -> Groups {
    let mut pending = Groups::new();
    for c in &changes.changes {
        let Some(id) = created.get(&c.address) else {
            continue;
        };
        if c.steps.iter().any(|s| is_settled_create(&s.op)) {
            pending
                .entry((c.region.clone(), c.address.kind().to_string()))
                .or_default()
                .insert((id.clone(), c.address.clone()));
        }
    }
    pending
}

/// Waits until every id in `created` is listed by its kind's tag-filtered
/// Describe in its region. Returns the addresses still not listed when
/// `timeout` ran out (empty when all showed).
pub async fn settle(
    cloud: &dyn Cloud,
    plan: &str,
    changes: &Changes,
    created: &HashMap<Address, String>,
    policy: &RetryPolicy,
    timeout: Duration,
) -> Result<Vec<Address>, CloudError> {
    wait_listed(cloud, plan, groups(changes, created), policy, timeout).await
}

/// Waits until every id of `pending` is listed; returns the addresses
/// still not listed when `timeout` ran out or the policy's stop fired (also
/// when it cut a Describe short).
pub async fn wait_listed(
    cloud: &dyn Cloud,
    plan: &str,
    mut pending: Groups,
    policy: &RetryPolicy,
    timeout: Duration,
) -> Result<Vec<Address>, CloudError> {
    let start = tokio::time::Instant::now();
    let mut pauses = 0;
    loop {
        let reads = pending
            .keys()
            .map(|(region, kind)| listed(cloud, plan, region, kind));
        let seen = crate::state::join_all(reads.collect()).await;
        let keys: Vec<(String, String)> = pending.keys().cloned().collect();
        for (key, ids) in keys.into_iter().zip(seen) {
            let ids = match ids {
                Ok(ids) => ids,
                // Ctrl-C cut the Describe short (a wait for its rate token):
                // not listed, as far as this run knows.
                Err(e) if e.interrupted => {
                    return Ok(pending.into_values().flatten().map(|(_, a)| a).collect())
                }
                Err(e) => return Err(e),
            };
            if let Some(set) = pending.get_mut(&key) {
                set.retain(|(id, _)| !ids.contains(id));
                if set.is_empty() {
                    pending.remove(&key);
                }
            }
        }
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Ok(pending.into_values().flatten().map(|(_, a)| a).collect());
        }
        pauses += 1;
        let pause = policy.backoff(pauses).min(timeout - waited);
        if !policy.pause(pause).await {
            return Ok(pending.into_values().flatten().map(|(_, a)| a).collect());
        }
    }
}

/// The ids of `kind` that plan `plan`'s tag filter lists in `region`.
async fn listed(cloud: &dyn Cloud, plan: &str, region: &str, kind: &str) -> Result<Vec<String>, CloudError> {
    let filter = Filter::Plan(plan.to_string());
    fn ids<T>(v: Vec<T>, id: impl Fn(T) -> String) -> Vec<String> {
        v.into_iter().map(id).collect()
    }
    Ok(match kind {
        "vpc" => ids(cloud.describe_vpcs(region, &filter).await?, |x| x.id),
        "subnet" => ids(cloud.describe_subnets(region, &filter).await?, |x| x.id),
        "route_table" => ids(cloud.describe_route_tables(region, &filter).await?, |x| x.id),
        "security_group" => ids(cloud.describe_security_groups(region, &filter).await?, |x| x.id),
        "endpoint" => ids(cloud.describe_endpoints(region, &filter).await?, |x| x.id),
        _ => ids(cloud.describe_peerings(region, &filter).await?, |x| x.id),
    })
}
