//! Retry and wait policies for what the SDK's own retry does not cover:
//! NotFound right after this run created a resource (eventual consistency),
//! transient conflicts while deleting or modifying, and waiting for a state.
//! All back off exponentially with jitter, bounded in total time, and every
//! pause ends early when the run is interrupted ([`Stop`]).

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::StepError;
use crate::cloud::CloudError;
use crate::stop::Stop;

/// Bounds for retries and waits.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// How long NotFound on a resource this run just created is retried.
    pub fresh_timeout: Duration,
    /// How long IncorrectState / OperationInProgress / DependencyViolation
    /// are retried.
    pub conflict_timeout: Duration,
    /// How long a wait for `available`, `active` or `deleted` may take.
    pub wait_timeout: Duration,
    /// First and longest pause between attempts or polls.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Attempts of a create EC2 cannot make idempotent (no client token),
    /// which s3ep retries itself instead of the SDK (looking for the
    /// resource by its tags before sending it again).
    pub attempts: u32,
    /// How long a create that may have taken effect is looked for by its
    /// tags before it is sent again. EC2's tag filters lag behind creates
    /// ("Eventual consistency in the Amazon EC2 API"); terraform-provider-aws
    /// allows minutes for a new resource to be found.
    pub lookup_window: Duration,
    /// Ends every pause early once flipped (Ctrl-C).
    pub stop: Stop,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            fresh_timeout: Duration::from_secs(120),
            conflict_timeout: Duration::from_secs(300),
            wait_timeout: Duration::from_secs(600),
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
            attempts: 8,
            lookup_window: Duration::from_secs(60),
            stop: Stop::default(),
        }
    }
}

/// A wait that did not reach its state.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("timed out after {waited:?} waiting for {resource} to be {want} (last state: {last})")]
    Timeout {
        resource: String,
        want: &'static str,
        last: String,
        waited: Duration,
    },
    #[error("{resource} is {state}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Failed {
        resource: String,
        state: String,
        detail: Option<String>,
    },
    #[error("interrupted while waiting for {resource} to be {want} (last state: {last})")]
    Interrupted {
        resource: String,
        want: &'static str,
        last: String,
    },
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

/// `d` with "equal jitter": between half of it and all of it, so that
/// callers that failed together do not come back together.
pub fn jittered(d: Duration) -> Duration {
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let frac = (r % 1_000_000) as f64 / 1_000_000.0;
    d.mul_f64(0.5 + 0.5 * frac)
}

impl RetryPolicy {
    /// The pause after `attempt` failures (1-based): exponential from
    /// `min_delay`, capped at `max_delay`, jittered.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .min_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        jittered(exp.min(self.max_delay))
    }

    /// Sleeps `d` unless interrupted; `false` when interrupted.
    pub async fn pause(&self, d: Duration) -> bool {
        self.stop.sleep(d).await
    }

    /// Runs `f` until it succeeds, fails with an error `when` does not
    /// accept, or `total` has passed.
    async fn retry<T, Fut, F, W>(
        &self,
        total: Duration,
        what: &str,
        when: W,
        mut f: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
        W: Fn(&CloudError) -> bool,
    {
        let start = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            match f().await {
                Err(e) if when(&e) => {
                    let waited = start.elapsed();
                    if waited >= total {
                        return Err(e.into());
                    }
                    attempt += 1;
                    let pause = self.backoff(attempt).min(total - waited);
                    tracing::debug!(error = %e, delay_ms = pause.as_millis() as u64, "retrying after {what}");
                    if !self.pause(pause).await {
                        return Err(StepError::Interrupted(e));
                    }
                }
                r => return r.map_err(Into::into),
            }
        }
    }

    /// Runs `f`; when `fresh` (it refers to something this run created),
    /// NotFound is retried for `fresh_timeout`. Elsewhere NotFound stands.
    pub async fn fresh<T, Fut, F>(&self, fresh: bool, f: F) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        self.retry(self.fresh_timeout, "NotFound", |e| fresh && e.is_not_found(), f)
            .await
    }

    /// Runs a modify: transient conflicts retried, and NotFound too when
    /// `fresh`.
    pub async fn conflict<T, Fut, F>(&self, fresh: bool, f: F) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        self.retry(
            self.conflict_timeout,
            "a conflict",
            |e| e.is_retryable_conflict() || (fresh && e.is_not_found()),
            f,
        )
        .await
    }

    /// Runs a delete: transient conflicts retried. An error whose code is
    /// one of `gone` (the resource's own NotFound codes, compared ignoring
    /// case) means the thing is already gone, which is what a delete wants;
    /// any other NotFound (say `InvalidRoute.NotFound` from
    /// DeleteVpcEndpoints) is a failure.
    pub async fn delete<Fut, F>(&self, gone: &[&str], f: F) -> Result<(), StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), CloudError>>,
    {
        match self.conflict(false, f).await {
            Err(StepError::Cloud(e)) if e.is_code(gone) => Ok(()),
            r => r,
        }
    }
}

/// Polls with backoff until `probe` returns `Some(result)`; the probe
/// returns the last state it saw alongside. Times out after `wait_timeout`.
pub(crate) async fn poll<T, Fut, F>(
    p: &RetryPolicy,
    resource: &str,
    want: &'static str,
    status: &(dyn Fn(&str) + Sync),
    mut probe: F,
) -> Result<T, WaitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(Option<T>, String), WaitError>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = p.min_delay;
    loop {
        let (done, last) = probe().await?;
        if let Some(v) = done {
            return Ok(v);
        }
        let waited = start.elapsed();
        if waited >= p.wait_timeout {
            return Err(WaitError::Timeout {
                resource: resource.to_string(),
                want,
                last,
                waited,
            });
        }
        status(&format!(
            "waiting for {want} (state {last}, {}s)",
            waited.as_secs()
        ));
        let pause = jittered(delay)
            .min(p.wait_timeout.saturating_sub(waited))
            .max(Duration::from_millis(1));
        if !p.pause(pause).await {
            return Err(WaitError::Interrupted {
                resource: resource.to_string(),
                want,
                last,
            });
        }
        delay = (delay * 2).min(p.max_delay);
    }
}
