//! Client-side request-rate buckets, per region, shaped like EC2's own API
//! throttling buckets so that a large run paces itself instead of being
//! throttled into failure.
//!
//! EC2 keeps a token bucket per account, region and API action ("Request
//! throttling for the Amazon EC2 API", EC2 Developer Guide: "each API is
//! evaluated individually, and you are throttled on the number of requests
//! you make on a per-API basis"): a bucket holds up to `burst` tokens, every
//! call takes one, and tokens come back at `refill` per second. The sizes
//! depend on the action's group; the defaults here are EC2's published
//! sizes:
//!
//! | group                                                       | burst | refill/s |
//! |-------------------------------------------------------------|------:|---------:|
//! | CreateVpcEndpoint, ModifyVpcEndpoint, DeleteVpcEndpoints    |     4 |      0.3 |
//! | other mutating calls                                        |    50 |        5 |
//! | Describe calls                                              |   100 |       20 |
//!
//! s3ep keeps one bucket per region and action, like EC2, with its group's
//! size: CreateVpcEndpoint calls never wait for CreateRoute calls. A call
//! that finds its bucket empty waits (in order of arrival, and
//! only until Ctrl-C) for its token rather than failing. The SDK's own
//! retries of a call are not charged again: they are rare, and EC2's bucket
//! is what finally counts.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::stop::Stop;

/// The bucket an EC2 operation draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// CreateVpcEndpoint, ModifyVpcEndpoint, DeleteVpcEndpoints.
    Endpoint,
    /// Every other call that changes something.
    Mutating,
    /// Describe* calls.
    Describe,
}

impl Group {
    /// The group of an EC2 operation name.
    pub fn of(op: &str) -> Group {
        match op {
            "CreateVpcEndpoint" | "ModifyVpcEndpoint" | "DeleteVpcEndpoints" => Group::Endpoint,
            // EC2 puts Get* with Describe* among the non-mutating actions
            // ("Request throttling for the Amazon EC2 API", EC2 Developer Guide).
            _ if op.starts_with("Describe") || op.starts_with("Get") => Group::Describe,
            _ => Group::Mutating,
        }
    }
}

/// One bucket's size and refill rate; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(Option<(f64, f64)>);

impl Rate {
    pub const UNLIMITED: Rate = Rate(None);

    /// `burst` tokens, `refill` tokens per second (both > 0).
    pub fn new(burst: f64, refill: f64) -> Rate {
        Rate(Some((burst, refill)))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("off"),
            Some((b, r)) => write!(f, "{b}/{r}"),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `BURST/REFILL_PER_SECOND` (e.g. `4/0.3`), or `off`.
    fn from_str(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Rate::UNLIMITED);
        }
        let bad = || format!("`{s}` is not BURST/REFILL_PER_SECOND (e.g. 4/0.3) or `off`");
        let (b, r) = s.split_once('/').ok_or_else(bad)?;
        let burst: f64 = b.trim().parse().map_err(|_| bad())?;
        let refill: f64 = r.trim().parse().map_err(|_| bad())?;
        if !((1.0..=1e9).contains(&burst) && (0.001..=1e9).contains(&refill)) {
            return Err(format!(
                "`{s}`: the burst must be 1 to 1e9 and the refill rate 0.001 to 1e9 per second"
            ));
        }
        Ok(Rate::new(burst, refill))
    }
}

/// The three buckets' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub endpoint: Rate,
    pub mutating: Rate,
    pub describe: Rate,
}

impl Default for RateLimits {
    /// EC2's documented bucket sizes and refill rates.
    fn default() -> Self {
        RateLimits {
            endpoint: Rate::new(4.0, 0.3),
            mutating: Rate::new(50.0, 5.0),
            describe: Rate::new(100.0, 20.0),
        }
    }
}

impl RateLimits {
    /// No client-side pacing at all.
    pub fn unlimited() -> Self {
        RateLimits {
            endpoint: Rate::UNLIMITED,
            mutating: Rate::UNLIMITED,
            describe: Rate::UNLIMITED,
        }
    }

    fn rate(&self, g: Group) -> Rate {
        match g {
            Group::Endpoint => self.endpoint,
            Group::Mutating => self.mutating,
            Group::Describe => self.describe,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: each waiting caller has reserved a future token.
    tokens: f64,
    last: Instant,
}

/// Token buckets per region and action, shared by every call of a run.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long a call of `op` in `region` must wait for its token; the
    /// token is reserved at once, so callers are served in arrival order.
    pub fn reserve(&self, region: &str, op: &str) -> Duration {
        let group = Group::of(op);
        let Rate(Some((burst, refill))) = self.limits.rate(group) else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let b = map.entry((region.to_string(), op.to_string())).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * refill).min(burst);
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(-b.tokens / refill).unwrap_or(Duration::MAX)
        }
    }

    /// Waits until a call of `op` in `region` may be sent; `false` when
    /// `stop` ended (or, already fired, refused) a wait: the call must not be
    /// sent. A call whose token is there goes ahead even after Ctrl-C, so a
    /// step in flight can finish what it started.
    pub async fn acquire(&self, region: &str, op: &str, stop: &Stop) -> bool {
        let wait = self.reserve(region, op);
        if wait.is_zero() {
            return true;
        }
        tracing::debug!(
            op,
            region,
            wait_ms = wait.as_millis() as u64,
            "pacing for the EC2 rate bucket"
        );
        stop.sleep(wait).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_fall_in_their_groups() {
        assert_eq!(Group::of("CreateVpcEndpoint"), Group::Endpoint);
        assert_eq!(Group::of("ModifyVpcEndpoint"), Group::Endpoint);
        assert_eq!(Group::of("DeleteVpcEndpoints"), Group::Endpoint);
        assert_eq!(Group::of("DescribeVpcEndpoints"), Group::Describe);
        assert_eq!(Group::of("CreateVpc"), Group::Mutating);
        assert_eq!(Group::of("AcceptVpcPeeringConnection"), Group::Mutating);
    }

    #[test]
    fn rates_parse_and_reject_nonsense() {
        assert_eq!("4/0.3".parse::<Rate>(), Ok(Rate::new(4.0, 0.3)));
        assert_eq!(" off ".parse::<Rate>(), Ok(Rate::UNLIMITED));
        for bad in ["4", "a/b", "0/1", "4/0", "4/-1", "inf/1", "4/1e-30", "NaN/1", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad} parsed");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_endpoint_bucket_allows_a_burst_of_four_then_one_every_3_3_seconds() {
        let l = RateLimiter::new(RateLimits::default());
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..6 {
            l.acquire("us-east-1", "CreateVpcEndpoint", &Stop::new()).await;
            at.push(start.elapsed().as_secs_f64());
        }
        assert_eq!(&at[..4], &[0.0; 4]);
        assert!((at[4] - 1.0 / 0.3).abs() < 0.01, "{at:?}");
        assert!((at[5] - 2.0 / 0.3).abs() < 0.01, "{at:?}");
        // Other actions (of the same group too) and other regions have
        // their own buckets, as in EC2.
        let t = Instant::now();
        l.acquire("us-east-1", "CreateVpc", &Stop::new()).await;
        l.acquire("us-east-1", "DeleteVpcEndpoints", &Stop::new()).await;
        l.acquire("eu-west-1", "CreateVpcEndpoint", &Stop::new()).await;
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn each_action_has_its_own_bucket_of_its_groups_size() {
        let l = RateLimiter::new(RateLimits::default());
        let start = Instant::now();
        for _ in 0..50 {
            l.acquire("r", "CreateRoute", &Stop::new()).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "a burst of 50");
        l.acquire("r", "CreateSubnet", &Stop::new()).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "another action: its own bucket");
        l.acquire("r", "CreateRoute", &Stop::new()).await;
        assert!(
            (start.elapsed().as_secs_f64() - 0.2).abs() < 0.01,
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_are_spaced_by_the_refill_rate() {
        let l = std::sync::Arc::new(RateLimiter::new(RateLimits {
            describe: Rate::new(2.0, 10.0),
            ..RateLimits::default()
        }));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                l.acquire("r", "DescribeVpcs", &Stop::new()).await;
                start.elapsed()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let want = [0.0, 0.0, 0.1, 0.2, 0.3, 0.4];
        for (t, w) in times.iter().zip(want) {
            assert!((t - w).abs() < 0.005, "{times:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ctrl_c_ends_the_wait_for_a_token() {
        let l = std::sync::Arc::new(RateLimiter::new(RateLimits::default()));
        let stop = Stop::new();
        for _ in 0..4 {
            assert!(l.acquire("r", "CreateVpcEndpoint", &stop).await);
        }
        let (l2, s2) = (l.clone(), stop.clone());
        let t = Instant::now();
        let waiting = tokio::spawn(async move { l2.acquire("r", "CreateVpcEndpoint", &s2).await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.fire();
        assert!(!waiting.await.unwrap(), "interrupted, not sent");
        assert!(t.elapsed() < Duration::from_secs(2));
        // A token that is there is still handed out after Ctrl-C.
        assert!(l.acquire("r", "DescribeVpcs", &stop).await);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let l = RateLimiter::new(RateLimits::unlimited());
        let t = Instant::now();
        for _ in 0..1000 {
            l.acquire("r", "CreateVpcEndpoint", &Stop::new()).await;
        }
        assert_eq!(t.elapsed(), Duration::ZERO);
    }
}
