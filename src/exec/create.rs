//! Creates that never leave a second resource behind.
//!
//! * CreateVpcEndpoint and CreateRouteTable take a client token. s3ep
//!   derives it from the plan name, the address, the resolved spec and the
//!   run's own random id, so every retry of that create within the run (the
//!   SDK's, or s3ep's after a lost answer) gets the same resource back from
//!   EC2, and a later run never meets a token an earlier run used: EC2
//!   answers a reused token with the resource it made then, even when that
//!   one has been deleted or purged since ("Ensuring idempotency in Amazon
//!   EC2 API requests", EC2 API reference). A later run finds what an
//!   earlier one made by its tags instead.
//! * CreateVpc, CreateSubnet, CreateSecurityGroup and
//!   CreateVpcPeeringConnection take no token. They are tagged at creation
//!   (`s3ep:plan`, `s3ep:key`); the SDK sends them once, and when an attempt
//!   failed in a way that may have taken effect (no answer, a 5xx), s3ep
//!   looks for the resource by its tags before it sends the create again.

use std::future::Future;

use sha2::{Digest, Sha256};

use super::retry::RetryPolicy;
use super::StepError;
use crate::cloud::CloudError;
use crate::model::{Tags, TAG_KEY, TAG_PLAN};

/// A ClientToken (64 hex characters, EC2's maximum length) for a create of
/// `kind` with `tags` (which carry the plan name and the address) and the
/// resolved `spec`, in the run `run_id` ([`run_id`]).
pub fn client_token(kind: &str, tags: &Tags, spec: &serde_json::Value, run_id: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        "s3ep-client-token-v1",
        kind,
        tags.get(TAG_PLAN).map(String::as_str).unwrap_or(""),
        tags.get(TAG_KEY).map(String::as_str).unwrap_or(""),
        &spec.to_string(),
        run_id,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A random id for one run of the executor (128 bits, hex), mixed into its
/// client tokens.
pub fn run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let half = |i: u8| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u8(i);
        h.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

/// Whether `tags` mark a resource as the one at this create's address.
pub fn same_key(found: &Tags, wanted: &Tags) -> bool {
    let get = |t: &Tags, k: &str| t.get(k).cloned();
    get(wanted, TAG_KEY).is_some()
        && get(found, TAG_KEY) == get(wanted, TAG_KEY)
        && get(found, TAG_PLAN) == get(wanted, TAG_PLAN)
}

/// Runs a create that has no client token.
///
/// * Throttling, 5xx and lost answers are retried here (`attempts` in all)
///   with jittered backoff; the SDK does not retry these calls.
/// * After an attempt that may have taken effect, `find` looks for the
///   resource by its tags (for up to `lookup_window`, as a describe can lag
///   a create) before the create is sent again; if it is there, that id is
///   the result.
/// * NotFound on a resource this run just created (`fresh`) is retried for
///   `fresh_timeout` (eventual consistency).
pub async fn create_or_find<Fut, F, LFut, L>(
    p: &RetryPolicy,
    what: &str,
    fresh: bool,
    create: F,
    find: L,
) -> Result<String, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<String, CloudError>>,
    L: FnMut() -> LFut,
    LFut: Future<Output = Result<Option<String>, CloudError>>,
{
    send(p, what, fresh, Resend::AfterLookUp, create, find).await
}

/// Runs a create whose every attempt carries the same client token (`create`
/// sends one fixed token).
///
/// * Throttling, 5xx and lost answers are sent again at once (after a
///   jittered pause), `attempts` times in all: EC2 answers a retried token
///   with the resource the first attempt made ("Ensuring idempotency in
///   Amazon EC2 API requests", EC2 API reference: "If you retry the request
///   with the same client token and the same parameters, the retry succeeds
///   without performing any further actions"), so no look-up is needed
///   between attempts. The SDK resends such a call itself (`max_attempts`,
///   same token); this covers a connection lost on every one of those.
/// * If the last attempt still failed and one may have taken effect, `find`
///   looks for the resource by its tags (for up to `lookup_window`: tag
///   filters lag creates), so the step records what EC2 made and `apply`
///   waits until it is listed; a re-run then finds it instead of making a
///   second one.
/// * NotFound on a resource this run just created (`fresh`) is retried for
///   `fresh_timeout` (eventual consistency).
pub async fn create_with_token<T, Fut, F, LFut, L>(
    p: &RetryPolicy,
    what: &str,
    fresh: bool,
    create: F,
    find: L,
) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
    L: FnMut() -> LFut,
    LFut: Future<Output = Result<Option<T>, CloudError>>,
{
    send(p, what, fresh, Resend::SameToken, create, find).await
}

/// How a create that may have taken effect is sent again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// No client token: look for it by its tags first.
    AfterLookUp,
    /// Same client token: EC2 answers with what the first attempt made.
    SameToken,
}

async fn send<T, Fut, F, LFut, L>(
    p: &RetryPolicy,
    what: &str,
    fresh: bool,
    how: Resend,
    mut create: F,
    mut find: L,
) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
    L: FnMut() -> LFut,
    LFut: Future<Output = Result<Option<T>, CloudError>>,
{
    let start = tokio::time::Instant::now();
    let mut attempts = 0u32;
    let mut pauses = 0u32;
    let mut maybe_sent = false;
    loop {
        attempts += 1;
        let err = match create().await {
            Ok(id) => return Ok(id),
            Err(e) => e,
        };
        maybe_sent |= err.may_have_taken_effect();
        let again = (err.is_transient() && attempts < p.attempts.max(1))
            || (fresh && err.is_not_found() && start.elapsed() < p.fresh_timeout);
        if !again {
            // An earlier attempt may have worked even though this one
            // failed (say `InvalidGroup.Duplicate` after a lost answer).
            if maybe_sent {
                let found = match how {
                    Resend::AfterLookUp => find().await?,
                    // Not looked for yet: allow for the tag filter's lag.
                    Resend::SameToken => look(p, what, &mut find).await?,
                };
                if let Some(id) = found {
                    tracing::info!("{what}: created by an earlier attempt whose answer was lost");
                    return Ok(id);
                }
            }
            return Err(err.into());
        }
        pauses += 1;
        let pause = p.backoff(pauses);
        tracing::debug!(error = %err, delay_ms = pause.as_millis() as u64, "{what}: sending the create again");
        if !p.pause(pause).await {
            return Err(StepError::Interrupted(err));
        }
        if how == Resend::AfterLookUp && err.may_have_taken_effect() {
            // This attempt may have worked: look for it for a while (a
            // describe can lag a create) before sending another.
            if let Some(id) = look(p, what, &mut find).await? {
                return Ok(id);
            }
        }
    }
}

/// Looks for the resource by its tags until it shows or `lookup_window`
/// has passed.
async fn look<T, LFut, L>(p: &RetryPolicy, what: &str, find: &mut L) -> Result<Option<T>, StepError>
where
    L: FnMut() -> LFut,
    LFut: Future<Output = Result<Option<T>, CloudError>>,
{
    let start = tokio::time::Instant::now();
    let mut pauses = 0;
    loop {
        if let Some(id) = find().await? {
            tracing::info!("{what}: created by an earlier attempt whose answer was lost");
            return Ok(Some(id));
        }
        let waited = start.elapsed();
        if waited >= p.lookup_window {
            return Ok(None);
        }
        pauses += 1;
        let pause = p.backoff(pauses).min(p.lookup_window - waited);
        if !p.pause(pause).await {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(plan: &str, key: &str) -> Tags {
        [(TAG_PLAN, plan), (TAG_KEY, key)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tokens_are_stable_within_a_run_and_differ_by_plan_address_spec_and_run() {
        let spec = serde_json::json!({"vpc": "vpc-1"});
        let t = client_token("endpoint", &tags("p", "endpoint.a"), &spec, "r1");
        assert_eq!(t.len(), 64);
        assert_eq!(t, client_token("endpoint", &tags("p", "endpoint.a"), &spec, "r1"));
        for other in [
            client_token("endpoint", &tags("q", "endpoint.a"), &spec, "r1"),
            client_token("endpoint", &tags("p", "endpoint.b"), &spec, "r1"),
            client_token(
                "endpoint",
                &tags("p", "endpoint.a"),
                &serde_json::json!({"vpc": "vpc-2"}),
                "r1",
            ),
            client_token("endpoint", &tags("p", "endpoint.a"), &spec, "r2"),
            client_token("route_table", &tags("p", "endpoint.a"), &spec, "r1"),
        ] {
            assert_ne!(t, other);
        }
    }

    #[test]
    fn run_ids_differ() {
        let a = run_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, run_id());
    }

    #[test]
    fn same_key_needs_plan_and_key() {
        assert!(same_key(&tags("p", "vpc.a"), &tags("p", "vpc.a")));
        assert!(!same_key(&tags("q", "vpc.a"), &tags("p", "vpc.a")));
        assert!(!same_key(&tags("p", "vpc.b"), &tags("p", "vpc.a")));
        assert!(!same_key(&Tags::new(), &Tags::new()));
    }
}
