//! One conformance suite for both clouds (issue 7, item 2): every scenario
//! below is written once, as an async function over a [`Driver`], and runs
//! against
//!
//! * the in-memory EC2 (`s3ep::cloud::memory::MemoryCloud`: random ids, tag
//!   and id lags, `deleting` endpoints), and
//! * the strict EC2 emulator (scripts/strict_ec2.py) through the real
//!   `AwsCloud`, behind scripts/faultproxy.py (which loses chosen answers).
//!
//! The driver runs what `s3ep apply` / `plan` / `destroy` run (state::read,
//! diff::diff with `Emulator::Off`, exec::execute with `ExecOptions::settle`; see
//! src/commands/apply.rs) and records, after each step, an observation that
//! does not depend on ids: the plan's (address, action) list, the outcome of
//! a run, and the resources the plan owns per kind and region, with the
//! routes of owned route tables and the endpoints' states, by `s3ep:key`.
//! The two backends must give the same observations, line by line. Inherent
//! differences would be listed in [`INHERENT`] with their reason and in
//! docs/ec2-and-moto.md ("Conformance: memory vs strict"); there are none
//! today.
//!
//! Run: `scripts/moto.sh install; export S3EP_MOTO_SERVER=$PWD/.venv/bin/moto_server
//! S3EP_PYTHON=$PWD/.venv/bin/python; cargo test --test conformance`.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use common::{Emulator as TestEmulator, Moto, Proxy};
use s3ep::cloud::aws::{AwsCloud, AwsSettings};
use s3ep::cloud::memory::MemoryCloud;
use s3ep::cloud::rate::RateLimits;
use s3ep::cloud::{Cloud, Filter};
use s3ep::diff::{diff, Changes, Mode};
use s3ep::emulator::Emulator;
use s3ep::exec::settle::Settle;
use s3ep::exec::{execute, ExecOptions, Report, RetryPolicy, Silent};
use s3ep::model::{owned_by, Desired, RouteDest, Tags, TAG_KEY};
use serde_json::json;

/// The regions every scenario uses (those of plans/cross-region-lab.yaml).
const REGIONS: [&str; 2] = ["ap-northeast-2", "us-east-1"];

/// Differences between the backends that are inherent, not bugs: (scenario,
/// observation prefix, reason). A line of a listed scenario starting with
/// the prefix may differ. Keep in step with docs/ec2-and-moto.md,
/// "Conformance: memory vs strict".
const INHERENT: &[(&str, &str, &str)] = &[];

/// Where the strict emulator is still more lenient than EC2 (a gap to close
/// in scripts/strict_ec2.py, not an inherent difference): (memory line,
/// strict line, reason). Exact lines, in every scenario: once the emulator
/// is fixed the strict line changes and this entry must go.
const STRICT_GAPS: &[(&str, &str, &str)] = &[(
    "peerings listed by the plan's tag in their accepter's region: 0",
    "peerings listed by the plan's tag in their accepter's region: 1",
    "a cross-region peering's tags live in the region they were given in (the requester's); the \
     accepter's region sees the connection untagged (CloudFormation does not tag the peer side either: \
     aws-cloudformation/cloudformation-coverage-roadmap#340). The memory cloud keeps accepter_tags apart; \
     strict_ec2.py (moto) shares one tag set across both regions.",
)];

static ENV: Once = Once::new();

/// Test credentials and no AWS config files for the SDK's default chain.
fn test_env() {
    ENV.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_ENDPOINT_URL");
        std::env::remove_var("AWS_ENDPOINT_URL_EC2");
    });
}

// ---------------------------------------------------------------------------
// Backends

enum Faults {
    Memory(MemoryCloud),
    /// The strict server and the proxy in front of it (kept alive).
    Strict(Moto, Proxy),
}

/// One cloud: the handle the code under test uses, and a second handle for
/// out-of-band actions (never hit by injected faults).
struct Backend {
    name: &'static str,
    cloud: Arc<dyn Cloud>,
    oob: Arc<dyn Cloud>,
    faults: Faults,
}

impl Backend {
    /// The in-memory EC2 with EC2-like lags: every new resource is missing
    /// from one tag-filtered and one by-id Describe, and interface endpoints
    /// stay `deleting` for two Describes.
    fn memory() -> Backend {
        let mem = MemoryCloud::new();
        mem.set_tag_lag(1);
        mem.set_id_lag(1);
        mem.set_endpoint_deleting_polls(2);
        Backend {
            name: "memory",
            cloud: Arc::new(mem.clone()),
            oob: Arc::new(mem.oob()),
            faults: Faults::Memory(mem),
        }
    }

    /// The strict emulator with its default lags (scripts/strict_ec2.py),
    /// s3ep's `AwsCloud` talking to it through the fault proxy, and a second
    /// `AwsCloud` talking to it directly for out-of-band actions.
    async fn strict() -> Backend {
        test_env();
        let moto = Moto::start_with(TestEmulator::Strict, &[]);
        let proxy = Proxy::start(&moto, &[]);
        let regions: Vec<String> = REGIONS.iter().map(|r| r.to_string()).collect();
        let aws = |url: String| {
            let regions = regions.clone();
            async move {
                let settings = AwsSettings {
                    endpoint_url: Some(url),
                    rates: RateLimits::unlimited(),
                    ..AwsSettings::default()
                };
                AwsCloud::new(&settings, &regions).await
            }
        };
        let cloud = aws(proxy.url()).await;
        let oob = aws(moto.url()).await;
        Backend {
            name: "strict",
            cloud: Arc::new(cloud),
            oob: Arc::new(oob),
            faults: Faults::Strict(moto, proxy),
        }
    }

    /// The next answer to the `Cloud` call for `op` (e.g. `CreateVpc`) is
    /// lost once: the call takes effect, the caller sees no answer. On the
    /// strict side that is every attempt the SDK makes: one for the creates
    /// `AwsCloud` sends once (no client token), `max_attempts` (3) for the
    /// others, which the SDK resends by itself (same ClientToken).
    fn lose_next(&self, op: &str) {
        match &self.faults {
            Faults::Memory(m) => m.lose_response_next(op),
            Faults::Strict(_, proxy) => {
                let sent_once = [
                    "CreateVpc",
                    "CreateSubnet",
                    "CreateSecurityGroup",
                    "CreateVpcPeeringConnection",
                ];
                let attempts = if sent_once.contains(&op) {
                    1
                } else {
                    AwsSettings::default().max_attempts
                };
                proxy.config(json!({ "drop_next": { op: attempts } }));
            }
        }
    }

    /// For failure messages: the emulator's log tail.
    fn log(&self) -> String {
        match &self.faults {
            Faults::Memory(_) => String::new(),
            Faults::Strict(moto, _) => {
                let l = moto.log();
                let lines: Vec<&str> = l.lines().collect();
                lines[lines.len().saturating_sub(30)..].join("\n")
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The driver: what the commands run, and the observations

struct Driver {
    be: Backend,
    obs: Mutex<Vec<String>>,
    /// Expectations that did not hold (checked after the comparison).
    unmet: Mutex<Vec<String>>,
}

fn load(yaml: &str) -> Desired {
    s3ep::plan::load_str(yaml, "conformance.yaml", Path::new("."))
        .unwrap_or_else(|e| panic!("plan: {e}\n{yaml}"))
}

fn opts() -> ExecOptions {
    ExecOptions {
        policy: RetryPolicy {
            wait_timeout: Duration::from_secs(120),
            ..RetryPolicy::default()
        },
        ..ExecOptions::default()
    }
}

fn outcome(r: &Report) -> String {
    if r.ok() {
        return "ok".to_string();
    }
    let mut failed: Vec<String> = r.failed.iter().map(|f| f.address.to_string()).collect();
    failed.sort();
    format!("failed {:?} ({} not attempted)", failed, r.not_attempted.len())
}

/// A run's failures in full, for the report (not compared: messages name ids).
fn detail(r: &Report) -> String {
    let f: Vec<String> = r
        .failed
        .iter()
        .map(|f| format!("{}: {}", f.label, f.message))
        .collect();
    f.join("\n")
}

impl Driver {
    /// An expectation of the scenario, on both backends: recorded (so the
    /// backends are compared on it too) and checked after the comparison.
    fn expect(&self, holds: bool, what: &str) {
        self.note(format!(
            "expect {what}: {}",
            if holds { "holds" } else { "FAILS" }
        ));
        if !holds {
            self.unmet
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(what.to_string());
        }
    }

    fn note(&self, line: String) {
        self.obs.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn cloud(&self) -> &dyn Cloud {
        self.be.cloud.as_ref()
    }

    fn oob(&self) -> &dyn Cloud {
        self.be.oob.as_ref()
    }

    async fn changes(&self, d: &Desired, mode: Mode) -> Changes {
        let live = match mode {
            Mode::Apply => s3ep::state::read(self.cloud(), d).await,
            Mode::Destroy => s3ep::state::read_lenient(self.cloud(), d).await,
        }
        .unwrap_or_else(|e| panic!("[{}] reading live state: {e}\n{}", self.be.name, self.be.log()));
        diff(d, &live, mode, Emulator::Off).unwrap_or_else(|e| panic!("[{}] diff: {e}", self.be.name))
    }

    fn actions(c: &Changes) -> Vec<String> {
        let mut v: Vec<String> = c
            .changes
            .iter()
            .map(|c| format!("{} {:?}", c.address, c.action).to_lowercase())
            .collect();
        v.sort();
        v
    }

    /// `s3ep plan`: records the (address, action) list.
    async fn plan(&self, yaml: &str) -> Vec<String> {
        let d = load(yaml);
        let a = Self::actions(&self.changes(&d, Mode::Apply).await);
        self.note(format!("plan: {a:?}"));
        a
    }

    /// `s3ep apply --yes`: records the plan, the outcome and the state.
    async fn apply(&self, yaml: &str) -> Report {
        self.run(yaml, Mode::Apply, "apply").await
    }

    /// `s3ep destroy --yes`: records the plan, the outcome and the state.
    async fn destroy(&self, yaml: &str) -> Report {
        self.run(yaml, Mode::Destroy, "destroy").await
    }

    async fn run(&self, yaml: &str, mode: Mode, verb: &str) -> Report {
        let r = self.run_quiet(yaml, mode).await;
        if !r.ok() {
            eprintln!("[{}] {verb} did not succeed:\n{}", self.be.name, detail(&r));
        }
        self.note(format!("{verb}: {}", outcome(&r)));
        self.observe(&load(yaml).name).await;
        r
    }

    /// One apply or destroy, nothing recorded but its plan.
    async fn run_quiet(&self, yaml: &str, mode: Mode) -> Report {
        let d = load(yaml);
        let changes = self.changes(&d, mode).await;
        self.note(format!("{mode:?} plan: {:?}", Self::actions(&changes)));
        // As `s3ep apply` (src/commands/apply.rs): each kind and region is
        // settled (listed by the tag filter) as soon as its creates have
        // ended, after a failed run too, so that the re-run finds what it
        // made.
        let o = ExecOptions {
            settle: (mode == Mode::Apply).then(|| Settle {
                plan: d.name.clone(),
                timeout: Duration::from_secs(60),
            }),
            ..opts()
        };
        let report = execute(self.cloud(), &changes, &Silent, &o).await;
        assert!(
            report.stopped || (report.unlisted.is_empty() && report.settle_errors.is_empty()),
            "[{}] not listed by tags after 60 s: {:?} {:?}",
            self.be.name,
            report.unlisted,
            report.settle_errors
        );
        report
    }

    /// What the plan owns, read through the out-of-band handle by the plan's
    /// tag (each result's own tags checked): counts per kind and region, the
    /// routes of each owned route table (prefix-list and peering routes),
    /// the state of each endpoint and peering by `s3ep:key`.
    async fn observe(&self, plan: &str) {
        for line in self.state(plan).await {
            self.note(line);
        }
    }

    async fn state(&self, plan: &str) -> Vec<String> {
        let f = Filter::Plan(plan.to_string());
        let c = self.oob();
        let key = |t: &Tags| t.get(TAG_KEY).cloned().unwrap_or_default();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut lines = Vec::new();
        let mut accepter_tagged = 0;
        for r in REGIONS {
            let mut n = |kind: &str, k: usize| {
                if k > 0 {
                    counts.insert(format!("{kind} {r}"), k);
                }
            };
            let v = c
                .describe_vpcs(r, &f)
                .await
                .unwrap_or_else(|e| panic!("[{}] observe: {e}", self.be.name));
            n("vpc", v.iter().filter(|x| owned_by(&x.tags, plan)).count());
            let s = c
                .describe_subnets(r, &f)
                .await
                .unwrap_or_else(|e| panic!("[{}] observe: {e}", self.be.name));
            n("subnet", s.iter().filter(|x| owned_by(&x.tags, plan)).count());
            let g = c
                .describe_security_groups(r, &f)
                .await
                .unwrap_or_else(|e| panic!("[{}] observe: {e}", self.be.name));
            n(
                "security_group",
                g.iter().filter(|x| owned_by(&x.tags, plan)).count(),
            );
            let t = c
                .describe_route_tables(r, &f)
                .await
                .unwrap_or_else(|e| panic!("[{}] observe: {e}", self.be.name));
            let t: Vec<_> = t.into_iter().filter(|x| owned_by(&x.tags, plan)).collect();
            n("route_table", t.len());
            for rt in &t {
                let pl = rt
                    .routes
                    .iter()
                    .filter(|x| matches!(x.dest, RouteDest::PrefixList(_)))
                    .count();
                let pcx = rt.routes.iter().filter(|x| x.peering_id.is_some()).count();
                lines.push(format!(
                    "routes {}: prefix-list {pl}, peering {pcx}, associations {}",
                    key(&rt.tags),
                    rt.associations.iter().filter(|a| !a.main).count()
                ));
            }
            let e = c
                .describe_endpoints(r, &f)
                .await
                .unwrap_or_else(|e| panic!("[{}] observe: {e}", self.be.name));
            let e: Vec<_> = e
                .into_iter()
                .filter(|x| owned_by(&x.tags, plan) && x.state != "deleted")
                .collect();
            n("endpoint", e.len());
            for ep in &e {
                lines.push(format!("endpoint {} {r}: {}", key(&ep.tags), ep.state));
            }
            let p = c
                .describe_peerings(r, &f)
                .await
                .unwrap_or_else(|e| panic!("[{}] observe: {e}", self.be.name));
            let p: Vec<_> = p
                .into_iter()
                .filter(|x| owned_by(&x.tags, plan) && !x.is_gone())
                .collect();
            // Counted where they were requested; the accepter's region is
            // observed on its own line (see STRICT_GAPS).
            let (req, acc): (Vec<_>, Vec<_>) =
                p.iter().partition(|x| x.requester_region.as_deref() == Some(r));
            n("peering", req.len());
            for pc in &req {
                lines.push(format!(
                    "peering {} seen from its requester's region {r}: {}",
                    key(&pc.tags),
                    pc.status
                ));
            }
            accepter_tagged += acc.len();
        }
        lines.push(format!(
            "peerings listed by the plan's tag in their accepter's region: {accepter_tagged}"
        ));
        lines.sort();
        let mut out = vec![format!("owned: {counts:?}")];
        out.extend(lines);
        out
    }
}

/// Runs SCENARIO against both backends and asserts the same observations.
async fn conform<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Arc<Driver>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut logs = Vec::new();
    for be in [Backend::memory(), Backend::strict().await] {
        let backend = be.name;
        let d = Arc::new(Driver {
            be,
            obs: Mutex::new(Vec::new()),
            unmet: Mutex::new(Vec::new()),
        });
        let t = Instant::now();
        scenario(Arc::clone(&d)).await;
        let obs = d.obs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        eprintln!(
            "[{name}/{backend}] {:.1} s\n  {}",
            t.elapsed().as_secs_f64(),
            obs.join("\n  ")
        );
        let unmet = d.unmet.lock().unwrap_or_else(|e| e.into_inner()).clone();
        logs.push((backend, obs, unmet));
    }
    let (m, s) = (&logs[0].1, &logs[1].1);
    let allowed = |a: &str, b: &str| {
        INHERENT
            .iter()
            .any(|(sc, prefix, _)| *sc == name && a.starts_with(prefix) && b.starts_with(prefix))
    };
    let n = m.len().max(s.len());
    let mut diffs = Vec::new();
    for i in 0..n {
        let a = m.get(i).map(String::as_str).unwrap_or("<none>");
        let b = s.get(i).map(String::as_str).unwrap_or("<none>");
        let gap = STRICT_GAPS.iter().any(|(mm, ss, _)| *mm == a && *ss == b);
        if gap {
            eprintln!("{name}: known strict-emulator gap at #{i}: {a} / {b}");
        }
        if a != b && !allowed(a, b) && !gap {
            diffs.push(format!("  #{i}\n    memory: {a}\n    strict: {b}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{name}: memory and strict observe differently:\n{}",
        diffs.join("\n")
    );
    for (backend, _, unmet) in &logs {
        assert!(
            unmet.is_empty(),
            "{name}/{backend}: expectations not met: {unmet:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Plans

/// What the lab owns once applied: exactly one of everything (the peering
/// counted in its requester's region).
const LAB_OWNED: &str = "owned: {\"endpoint ap-northeast-2\": 1, \"endpoint us-east-1\": 1, \
    \"peering ap-northeast-2\": 1, \"route_table ap-northeast-2\": 1, \"route_table us-east-1\": 1, \
    \"security_group us-east-1\": 1, \"subnet ap-northeast-2\": 1, \"subnet us-east-1\": 2, \
    \"vpc ap-northeast-2\": 1, \"vpc us-east-1\": 1}";

impl Driver {
    /// Expects the lab's resources, exactly one of each, or nothing.
    async fn expect_owned(&self, plan: &str, want: &str, what: &str) {
        let got = self.state(plan).await.remove(0);
        if got != want {
            eprintln!("[{}] {what}: {got}", self.be.name);
        }
        self.expect(got == want, what);
    }
}

fn lab() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
        .unwrap_or_else(|e| panic!("read lab plan: {e}"))
}

/// The lab with `from` replaced by `to` (exactly once).
fn lab_with(from: &str, to: &str) -> String {
    let l = lab();
    assert_eq!(
        l.matches(from).count(),
        1,
        "{from:?} must occur once in the lab plan"
    );
    l.replacen(from, to, 1)
}

/// A plan adopting an existing VPC, subnet and route table in us-east-1 by
/// id, with a gateway endpoint (and an interface endpoint when `interface`).
fn adopted_plan(name: &str, vpc: &str, subnet: &str, rtb: &str, interface: bool) -> String {
    let mut y = format!(
        "version: 1\nname: {name}\nvpcs:\n  existing:\n    region: us-east-1\n    id: {vpc}\n    subnets:\n      \
         app-a: {{ id: {subnet} }}\n    route_tables:\n      private: {{ id: {rtb} }}\nendpoints:\n  gw:\n    \
         vpc: existing\n    type: gateway\n    route_tables: [private]\n"
    );
    if interface {
        y.push_str(
            "  if:\n    vpc: existing\n    type: interface\n    subnets: [app-a]\n    private_dns: false\n    \
             security_group:\n      allow_https_from: [10.0.0.0/16]\n",
        );
    }
    y
}

/// Out of band: a VPC with one subnet and one route table in us-east-1,
/// untagged by s3ep, visible by id when this returns.
async fn existing_network(d: &Driver) -> (String, String, String) {
    let r = "us-east-1";
    let c = d.oob();
    let tags = Tags::from([("Name".to_string(), "hand-made".to_string())]);
    let vpc = c
        .create_vpc(r, "10.30.0.0/16".parse().expect("cidr"), &tags)
        .await
        .expect("oob CreateVpc");
    let subnet = c
        .create_subnet(
            r,
            &vpc,
            "us-east-1a",
            "10.30.1.0/24".parse().expect("cidr"),
            &tags,
        )
        .await
        .expect("oob CreateSubnet");
    let rtb = c
        .create_route_table(r, &vpc, &tags, None)
        .await
        .expect("oob CreateRouteTable");
    c.associate_route_table(r, &rtb, &subnet)
        .await
        .expect("oob AssociateRouteTable");
    // EC2 lists new resources by id a moment after they are created: a
    // person adopting them runs s3ep later than that.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = c.describe_vpcs(r, &Filter::Ids(vec![vpc.clone()])).await;
        let s = c.describe_subnets(r, &Filter::Ids(vec![subnet.clone()])).await;
        let t = c.describe_route_tables(r, &Filter::Ids(vec![rtb.clone()])).await;
        if matches!((&v, &s, &t), (Ok(v), Ok(s), Ok(t)) if !v.is_empty() && !s.is_empty() && !t.is_empty()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "hand-made network not visible by id after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (vpc, subnet, rtb)
}

/// Whether the adopted resources still exist, and the routes of the table
/// (ids left out).
async fn adopted_state(d: &Driver, vpc: &str, subnet: &str, rtb: &str) -> String {
    let r = "us-east-1";
    let c = d.oob();
    let v = c
        .describe_vpcs(r, &Filter::Ids(vec![vpc.to_string()]))
        .await
        .map(|v| v.len());
    let s = c
        .describe_subnets(r, &Filter::Ids(vec![subnet.to_string()]))
        .await
        .map(|v| v.len());
    let t = c
        .describe_route_tables(r, &Filter::Ids(vec![rtb.to_string()]))
        .await;
    let routes = match &t {
        Ok(t) => t
            .iter()
            .map(|t| {
                let pl = t
                    .routes
                    .iter()
                    .filter(|x| matches!(x.dest, RouteDest::PrefixList(_)))
                    .count();
                format!(
                    "tables 1, prefix-list routes {pl}, tags {:?}",
                    t.tags.keys().collect::<Vec<_>>()
                )
            })
            .collect::<Vec<_>>()
            .join(";"),
        Err(e) => format!("error {:?}", e.code),
    };
    format!(
        "adopted: vpc {:?}, subnet {:?}, {routes}",
        v.map_err(|e| e.code),
        s.map_err(|e| e.code)
    )
}

// ---------------------------------------------------------------------------
// Scenarios

/// create: the lab from nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create() {
    conform("create", |d| async move {
        d.plan(&lab()).await;
        d.apply(&lab()).await;
        d.expect_owned("oky-dev-lab", LAB_OWNED, "one of everything")
            .await;
    })
    .await;
}

/// no-op: right after an apply, the plan is empty (EC2's lags included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_op() {
    conform("no_op", |d| async move {
        d.apply(&lab()).await;
        let p = d.plan(&lab()).await;
        d.expect(p.is_empty(), "plan after apply is empty");
        d.apply(&lab()).await;
    })
    .await;
}

/// update: rule sources, the policy and a route table's subnets change in
/// place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update() {
    conform("update", |d| async move {
        d.apply(&lab()).await;
        let changed = lab()
            .replacen(
                "allow_https_from: [seoul, virginia]",
                "allow_https_from: [seoul]",
                1,
            )
            .replacen(
                "allow_buckets: [oky-dev-test]",
                "allow_buckets: [oky-dev-test, oky-dev-logs]",
                1,
            )
            .replacen(
                "private: { subnets: [ep-a, ep-b] }",
                "private: { subnets: [ep-a] }",
                1,
            );
        assert_ne!(changed, lab());
        d.plan(&changed).await;
        d.apply(&changed).await;
        let p = d.plan(&changed).await;
        d.expect(p.is_empty(), "plan after update is empty");
    })
    .await;
}

/// replace: a subnet's CIDR changes (forces replacement; the interface
/// endpoint in it is not involved: app-a is in the gateway's VPC).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace() {
    conform("replace", |d| async move {
        d.apply(&lab()).await;
        let changed = lab_with(
            "app-a: { az: ap-northeast-2a, cidr: 10.10.1.0/24 }",
            "app-a: { az: ap-northeast-2a, cidr: 10.10.3.0/24 }",
        );
        d.plan(&changed).await;
        d.apply(&changed).await;
        let p = d.plan(&changed).await;
        d.expect(p.is_empty(), "plan after replace is empty");
    })
    .await;
}

/// delete: the interface endpoint leaves the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete() {
    conform("delete", |d| async move {
        d.apply(&lab()).await;
        let l = lab();
        let start = l.find("  virginia-s3:").expect("virginia-s3 in lab");
        let end = l.find("\npeerings:").expect("peerings in lab");
        let changed = format!("{}{}", &l[..start], &l[end + 1..]);
        d.plan(&changed).await;
        d.apply(&changed).await;
        let p = d.plan(&changed).await;
        d.expect(p.is_empty(), "plan after delete is empty");
    })
    .await;
}

/// drift: the peering route of seoul's table is deleted out of band; the
/// plan shows it, apply restores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift() {
    conform("drift", |d| async move {
        d.apply(&lab()).await;
        let r = "ap-northeast-2";
        let f = Filter::Plan("oky-dev-lab".into());
        let tables = d.oob().describe_route_tables(r, &f).await.expect("oob describe");
        let t = tables
            .iter()
            .find(|t| t.tags.get(TAG_KEY).map(String::as_str) == Some("route_table.seoul.private"))
            .unwrap_or_else(|| panic!("[{}] seoul's table: {tables:?}", d.be.name));
        let dest = RouteDest::Cidr("10.20.0.0/16".parse().expect("cidr"));
        d.oob()
            .delete_route(r, &t.id, &dest)
            .await
            .expect("oob DeleteRoute");
        d.observe("oky-dev-lab").await;
        d.plan(&lab()).await;
        d.apply(&lab()).await;
        let p = d.plan(&lab()).await;
        d.expect(p.is_empty(), "plan after restore is empty");
    })
    .await;
}

/// adoption: a VPC, subnet and route table made by hand are adopted by id;
/// destroy leaves them as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption() {
    conform("adoption", |d| async move {
        let (vpc, subnet, rtb) = existing_network(&d).await;
        let y = adopted_plan("adopt", &vpc, &subnet, &rtb, true);
        d.plan(&y).await;
        d.apply(&y).await;
        d.note(adopted_state(&d, &vpc, &subnet, &rtb).await);
        let p = d.plan(&y).await;
        d.expect(p.is_empty(), "plan after adopt is empty");
        d.destroy(&y).await;
        d.note(adopted_state(&d, &vpc, &subnet, &rtb).await);
    })
    .await;
}

/// lost answers: the answers to CreateVpc, CreateRouteTable and
/// CreateVpcEndpoint are lost once each at the `Cloud` boundary (on the
/// strict side every attempt the SDK makes: see `Backend::lose_next`). One
/// apply converges with exactly one of everything: the tokenless CreateVpc
/// is looked up by its tags, the other two are sent again by s3ep with the
/// same ClientToken, which EC2 answers with what the first attempt made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers() {
    conform("lost_answers", |d| async move {
        d.be.lose_next("CreateVpc");
        d.be.lose_next("CreateRouteTable");
        d.be.lose_next("CreateVpcEndpoint");
        let r = d.apply(&lab()).await;
        d.expect(r.ok(), "apply succeeds");
        let p = d.plan(&lab()).await;
        d.expect(p.is_empty(), "plan after lost answers is empty");
        d.expect_owned("oky-dev-lab", LAB_OWNED, "one of everything after lost answers")
            .await;
    })
    .await;
}

/// lost answer to CreateVpc alone: the answer to CreateVpc (no
/// client token: looked up by its tags) is lost once; one apply converges
/// with exactly one of everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answer_create_vpc() {
    conform("lost_answer_create_vpc", |d| async move {
        d.be.lose_next("CreateVpc");
        let r = d.apply(&lab()).await;
        d.expect(r.ok(), "apply succeeds");
        let p = d.plan(&lab()).await;
        d.expect(p.is_empty(), "plan after lost answers is empty");
        d.expect_owned("oky-dev-lab", LAB_OWNED, "one of everything after lost answers")
            .await;
    })
    .await;
}

/// token reuse after destroy: apply, destroy, apply on an adopted VPC and
/// table, so the endpoint's create spec (and its client token) repeats: one
/// endpoint, and no long waits on the deleted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_reuse_after_destroy() {
    conform("token_reuse_after_destroy", |d| async move {
        let (vpc, subnet, rtb) = existing_network(&d).await;
        let y = adopted_plan("reuse", &vpc, &subnet, &rtb, false);
        for round in 0..2 {
            let a = d.apply(&y).await;
            let b = d.destroy(&y).await;
            d.expect(
                a.ok() && b.ok(),
                &format!("round {round}: apply and destroy succeed"),
            );
        }
        let t = Instant::now();
        let a = d.apply(&y).await;
        let took = t.elapsed();
        eprintln!("[{}] third apply: {took:?}", d.be.name);
        d.expect(a.ok(), "third apply succeeds");
        // No wait on the deleted endpoint a reused token answers with (the
        // executor's NotFound and wait timeouts are minutes).
        d.expect(took < Duration::from_secs(30), "third apply takes under 30 s");
        d.note(adopted_state(&d, &vpc, &subnet, &rtb).await);
        let p = d.plan(&y).await;
        d.expect(p.is_empty(), "plan after re-apply is empty");
    })
    .await;
}

/// concurrent destroy: two destroys of the lab at once both succeed and
/// leave nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_destroy() {
    conform("concurrent_destroy", |d| async move {
        d.apply(&lab()).await;
        let l = lab();
        let (a, b) = tokio::join!(d.run_quiet(&l, Mode::Destroy), d.run_quiet(&l, Mode::Destroy));
        for (n, r) in [("first", &a), ("second", &b)] {
            if !r.ok() {
                eprintln!("[{}] {n} destroy:\n{}", d.be.name, detail(r));
            }
        }
        // The two plans are logged in either order: keep the outcomes only.
        {
            let mut o = d.obs.lock().unwrap_or_else(|e| e.into_inner());
            o.retain(|l| !l.starts_with("Destroy plan"));
            o.push(format!("destroys: {} / {}", outcome(&a), outcome(&b)));
        }
        d.expect(a.ok() && b.ok(), "both destroys succeed");
        d.expect_owned("oky-dev-lab", "owned: {}", "nothing left").await;
        d.observe("oky-dev-lab").await;
        let p = d.plan(&lab()).await;
        d.expect(p.len() == 15, "the lab plans 15 creates again");
    })
    .await;
}
