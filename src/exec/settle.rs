//! After an apply: wait until what it created shows in the tag-filtered
//! reads the next `plan` makes.
//!
//! EC2's Describe results are eventually consistent: a resource just created
//! can be missing from a `tag:` filtered Describe for a while ("Eventual
//! consistency in the Amazon EC2 API", EC2 API reference). s3ep finds what
//! it owns by its tags (there is no state file), so a `plan` run right after
//! an `apply` could otherwise offer to create again what the apply made.
//! One Describe per kind and region with something new, repeated with
//! backoff until every new id is listed or `settle_timeout` has passed; a
//! timeout is a warning, not a failure (everything was created).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::cloud::{Cloud, CloudError, Filter};
use crate::diff::Changes;
use crate::model::Address;

use super::retry::RetryPolicy;

/// How long `apply` waits for EC2's tag-filtered Describe results to list
/// what it created.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until every id in `created` is listed by its kind's tag-filtered
/// Describe in its region. Returns the addresses still not listed when
/// `timeout` ran out (empty when all showed).
pub async fn settle(
    cloud: &dyn Cloud,
    plan: &str,
    changes: &Changes,
    created: &std::collections::HashMap<Address, String>,
    policy: &RetryPolicy,
    timeout: Duration,
) -> Result<Vec<Address>, CloudError> {
    // (region, kind) -> ids still to see
    let mut pending: BTreeMap<(String, String), BTreeSet<(String, Address)>> = BTreeMap::new();
    for c in &changes.changes {
        if let Some(id) = created.get(&c.address) {
            let kind = c.address.kind().to_string();
            if matches!(
                kind.as_str(),
                "vpc" | "subnet" | "route_table" | "security_group" | "endpoint" | "peering"
            ) {
                pending
                    .entry((c.region.clone(), kind))
                    .or_default()
                    .insert((id.clone(), c.address.clone()));
            }
        }
    }
    let start = tokio::time::Instant::now();
    let mut pauses = 0;
    loop {
        let reads = pending.iter().map(|((region, kind), _)| async move {
            let filter = Filter::Plan(plan.to_string());
            let ids: Vec<String> = match kind.as_str() {
                "vpc" => cloud
                    .describe_vpcs(region, &filter)
                    .await?
                    .into_iter()
                    .map(|x| x.id)
                    .collect(),
                "subnet" => cloud
                    .describe_subnets(region, &filter)
                    .await?
                    .into_iter()
                    .map(|x| x.id)
                    .collect(),
                "route_table" => cloud
                    .describe_route_tables(region, &filter)
                    .await?
                    .into_iter()
                    .map(|x| x.id)
                    .collect(),
                "security_group" => cloud
                    .describe_security_groups(region, &filter)
                    .await?
                    .into_iter()
                    .map(|x| x.id)
                    .collect(),
                "endpoint" => cloud
                    .describe_endpoints(region, &filter)
                    .await?
                    .into_iter()
                    .map(|x| x.id)
                    .collect(),
                _ => cloud
                    .describe_peerings(region, &filter)
                    .await?
                    .into_iter()
                    .map(|x| x.id)
                    .collect(),
            };
            Ok::<_, CloudError>(ids)
        });
        let seen = crate::state::join_all(reads.collect()).await;
        let keys: Vec<(String, String)> = pending.keys().cloned().collect();
        for (key, ids) in keys.into_iter().zip(seen) {
            let ids = ids?;
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
