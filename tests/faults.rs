//! Fault-injection tests: the built `s3ep` binary against a private moto server
//! behind scripts/faultproxy.py (throttles, 5xx, lost responses, latency), and
//! killed or interrupted mid-apply. Whatever happened, the run (or the next
//! one or two) must leave exactly one of every resource of the plan, and
//! `destroy` must leave nothing.
//!
//! Run them with `cargo test --test faults` after scripts/test.sh installed
//! moto (or with S3EP_MOTO_SERVER and S3EP_PYTHON set).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const LAB: &str = "cross-region-lab.yaml";
const SEOUL: &str = "ap-northeast-2";
const VIRGINIA: &str = "us-east-1";
const LAB_REGIONS: &[&str] = &[SEOUL, VIRGINIA];

/// The 11 resources of the cross-region lab (children excluded), with the
/// region each lives in (the peering is requested from Seoul).
const LAB_RESOURCES: &[(&str, &str, &str)] = &[
    ("vpc", "vpc.seoul", SEOUL),
    ("vpc", "vpc.virginia", VIRGINIA),
    ("subnet", "subnet.seoul.app-a", SEOUL),
    ("subnet", "subnet.virginia.ep-a", VIRGINIA),
    ("subnet", "subnet.virginia.ep-b", VIRGINIA),
    ("route_table", "route_table.seoul.private", SEOUL),
    ("route_table", "route_table.virginia.private", VIRGINIA),
    ("endpoint", "endpoint.seoul-s3", SEOUL),
    ("endpoint", "endpoint.virginia-s3", VIRGINIA),
    ("security_group", "security_group.virginia-s3", VIRGINIA),
    ("peering", "peering.seoul-virginia", SEOUL),
];

/// Rate buckets off: the proxy is the only thing slowing calls down.
const NO_RATES: &[&str] = &[
    "--rate-endpoint",
    "off",
    "--rate-mutating",
    "off",
    "--rate-describe",
    "off",
];

/// The proxy seeds: DEFAULT, or S3EP_FAULT_SEED (comma-separated) to explore
/// other fault sequences (`S3EP_FAULT_SEED=7,8 cargo test --test faults`).
fn seeds(default: &[u64]) -> Vec<u64> {
    match std::env::var("S3EP_FAULT_SEED") {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("S3EP_FAULT_SEED {v:?}: {e}"))
            })
            .collect(),
        _ => default.to_vec(),
    }
}

fn args<'a>(pre: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = pre.to_vec();
    v.extend_from_slice(rest);
    v
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// A one-line summary of proxy stats for messages: faults and forwarded calls.
fn brief(stats: &Value) -> String {
    format!(
        "injected {} | forwarded {} | mutating forwarded {} | received {}",
        stats["injected"], stats["forwarded"], stats["mutating_forwarded"], stats["total_received"]
    )
}

/// Everything owned by PLAN in the lab's regions (deduplicated by id), with
/// `dns_hostnames` added to the VPCs.
fn owned_with_dns(moto: &Moto, name: &str) -> Vec<Value> {
    let v = moto.py_json(&format!(
        r#"
        res = owned_all({name:?}, {regions:?})
        for r in res:
            if r["kind"] == "vpc":
                a = ec2(r["region"]).describe_vpc_attribute(VpcId=r["id"], Attribute="enableDnsHostnames")
                r["dns_hostnames"] = a["EnableDnsHostnames"]["Value"]
        print(json.dumps(res))
        "#,
        regions = LAB_REGIONS.to_vec()
    ));
    v.as_array().cloned().unwrap_or_default()
}

fn describe_owned(owned: &[Value]) -> String {
    let mut lines: Vec<String> = owned
        .iter()
        .map(|r| {
            format!(
                "  {:<15} {:<32} {:<24} {:<15} state={} {}",
                r["kind"].as_str().unwrap_or("?"),
                r["key"].as_str().unwrap_or("?"),
                r["id"].as_str().unwrap_or("?"),
                r["region"].as_str().unwrap_or("?"),
                r["state"],
                r.get("dns_hostnames")
                    .map(|d| format!("dns_hostnames={d}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

/// `plan --detailed-exitcode` straight against moto (no proxy) exits 0, and
/// moto holds exactly one live resource per lab address, in the right region,
/// nothing else with the plan tag, the peering active and DNS hostnames on in
/// both VPCs. Err lists every problem found.
fn check_lab_converged(moto: &Moto, plan: &str, name: &str, what: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    let out = moto.s3ep(&["plan", plan, "--detailed-exitcode"]);
    if out.status.code() != Some(0) {
        problems.push(format!(
            "plan --detailed-exitcode exits {:?}, expected 0 (no changes):\n{}",
            out.status.code(),
            indent(&format!("{}{}", stdout(&out), stderr(&out)))
        ));
    }

    let owned = owned_with_dns(moto, name);
    let listing = describe_owned(&owned);

    // Count by address: every address exactly once, nothing else.
    let mut by_key: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &owned {
        by_key
            .entry(r["key"].as_str().unwrap_or("<no s3ep:key>").to_string())
            .or_default()
            .push(r);
    }
    for (kind, key, region) in LAB_RESOURCES {
        match by_key.get(*key).map(|v| v.as_slice()) {
            None | Some([]) => problems.push(format!("{key}: missing")),
            Some([one]) => {
                if one["kind"] != *kind {
                    problems.push(format!("{key}: is a {}, expected a {kind}", one["kind"]));
                }
                if one["region"] != *region {
                    problems.push(format!("{key}: in {}, expected {region}", one["region"]));
                }
            }
            Some(many) => problems.push(format!(
                "{key}: {} live copies (duplicates): {:?}",
                many.len(),
                many.iter()
                    .map(|r| r["id"].as_str().unwrap_or("?"))
                    .collect::<Vec<_>>()
            )),
        }
    }
    for key in by_key.keys() {
        if !LAB_RESOURCES.iter().any(|(_, k, _)| k == key) {
            problems.push(format!("{key}: not an address of the plan"));
        }
    }
    // Count by kind and region.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &owned {
        let kind = r["kind"].as_str().unwrap_or("?");
        let label = if kind == "peering" {
            "peering".to_string()
        } else {
            format!("{kind}@{}", r["region"].as_str().unwrap_or("?"))
        };
        *counts.entry(label).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = [
        ("vpc@ap-northeast-2", 1),
        ("vpc@us-east-1", 1),
        ("subnet@ap-northeast-2", 1),
        ("subnet@us-east-1", 2),
        ("route_table@ap-northeast-2", 1),
        ("route_table@us-east-1", 1),
        ("security_group@us-east-1", 1),
        ("endpoint@ap-northeast-2", 1),
        ("endpoint@us-east-1", 1),
        ("peering", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if counts != want {
        problems.push(format!("counts by kind@region: got {counts:?}, want {want:?}"));
    }
    for r in &owned {
        if r["kind"] == "peering" && r["state"] != "active" {
            problems.push(format!(
                "{}: peering state {}, expected active",
                r["key"], r["state"]
            ));
        }
    }
    // docs/plan-format.md: "Created VPCs get DNS hostnames turned on".
    for r in &owned {
        if r["kind"] == "vpc" && r["dns_hostnames"] != true {
            problems.push(format!(
                "{} ({}): DNS hostnames are off (docs/plan-format.md: created VPCs get DNS hostnames turned on){}",
                r["key"].as_str().unwrap_or("?"),
                r["id"].as_str().unwrap_or("?"),
                if out.status.code() == Some(0) { "; plan shows no change for it" } else { "" }
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what}: not converged to exactly one of each (s3ep:plan={name}):\n  - {}\nlive:\n{listing}",
            problems.join("\n  - ")
        ))
    }
}

#[track_caller]
fn assert_lab_converged(moto: &Moto, plan: &str, name: &str, what: &str) {
    if let Err(e) = check_lab_converged(moto, plan, name, what) {
        panic!("{e}");
    }
}

/// `destroy --yes` (straight against moto) exits 0 and nothing tagged with the
/// plan is left live.
fn check_destroy(moto: &Moto, plan: &str, name: &str, what: &str) -> Result<(), String> {
    let out = moto.s3ep(&["destroy", plan, "--yes"]);
    let left = owned_with_dns(moto, name);
    if out.status.code() == Some(0) && left.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{what}: destroy --yes exits {:?} and leaves {} resource(s) tagged s3ep:plan={name}:\n{}\n{}",
        out.status.code(),
        left.len(),
        describe_owned(&left),
        show(&out)
    ))
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last N lines of S.
fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------

/// The proxy itself: it forwards, its control API works, and a 100% throttle
/// makes a read-only `plan` fail fast with a message naming
/// RequestLimitExceeded after `--max-attempts 2`, without anything reaching moto.
#[test]
fn proxy_throttling_everything_fails_plan_with_request_limit_exceeded() {
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &["--seed", "3"]);
    let plans = Plans::new();
    let plan = plans.shipped(LAB, "fault-proxy");

    // No faults: the proxy is transparent (everything to create on an empty moto).
    let out = proxy.s3ep(&["plan", &plan, "--detailed-exitcode"]);
    assert_exit(&out, 2, "plan through a fault-free proxy");
    let st = proxy.stats();
    assert!(n(&st["total_forwarded"]) > 0, "nothing forwarded: {st:#}");
    assert_eq!(
        n(&st["mutating_forwarded"]),
        0,
        "plan made a mutating call: {st:#}"
    );
    assert_eq!(Proxy::in_flight(&st), 0, "{st:#}");

    proxy.reset();
    assert_eq!(n(&proxy.stats()["total_received"]), 0);
    let cfg = proxy.config(json!({"throttle_rate": 1.0, "faults_on": "all"}));
    assert_eq!(cfg["throttle_rate"], 1.0, "{cfg}");

    let t = Instant::now();
    let out = proxy.s3ep(&["--max-attempts", "2", "plan", &plan]);
    let took = t.elapsed();
    let st = proxy.stats();
    assert_exit(
        &out,
        1,
        &format!("plan with every call throttled\nproxy: {}", brief(&st)),
    );
    let err = stderr(&out);
    assert!(
        err.contains("RequestLimitExceeded"),
        "the error should name RequestLimitExceeded:\n{}",
        show(&out)
    );
    assert_eq!(
        n(&st["total_forwarded"]),
        0,
        "a throttled call reached moto: {st:#}"
    );
    assert!(n(&st["injected"]["throttle"]) >= 2, "{st:#}");
    assert_eq!(
        n(&st["injected"]["throttle"]),
        n(&st["total_received"]),
        "every received call is throttled: {st:#}"
    );
    // --max-attempts 2: no read is tried more than twice in each region.
    for (op, count) in st["received"].as_object().unwrap() {
        assert!(
            n(count) <= 2 * LAB_REGIONS.len() as i64,
            "{op} received {count} times with --max-attempts 2: {st:#}"
        );
    }
    assert!(took < Duration::from_secs(30), "plan took {took:?} to give up");
}

/// 10% throttles and 10% 500s on every call (reads too): one apply converges.
#[test]
fn throttles_and_server_errors_converge_in_one_apply() {
    let t0 = Instant::now();
    let moto = Moto::start_default();
    let seed = seeds(&[20240601])[0].to_string();
    let proxy = Proxy::start(
        &moto,
        &[
            "--throttle-rate",
            "0.1",
            "--error-rate",
            "0.1",
            "--seed",
            &seed,
            "--faults-on",
            "all",
        ],
    );
    let name = "fault-5xx";
    let plans = Plans::new();
    let plan = plans.shipped(LAB, name);

    let out = proxy.s3ep(&["apply", &plan, "--yes"]);
    let st = proxy.stats();
    assert_exit(
        &out,
        0,
        &format!(
            "one apply through 10% throttles + 10% InternalError\nproxy: {}",
            brief(&st)
        ),
    );
    assert!(
        n(&st["injected"]["throttle"]) > 0 && n(&st["injected"]["error"]) > 0,
        "the proxy injected no throttle or no error, the test proves nothing: {st:#}"
    );
    eprintln!("apply through throttles and errors: {}", brief(&st));

    // A plan through the same faults still reads everything and sees no change.
    let out = proxy.s3ep(&["plan", &plan, "--detailed-exitcode"]);
    assert_exit(&out, 0, "plan --detailed-exitcode through the faulty proxy");
    assert_lab_converged(&moto, &plan, name, "after one apply through throttles and 5xx");
    eprintln!(
        "throttles_and_server_errors_converge_in_one_apply: {:?}",
        t0.elapsed()
    );
}

/// A copy of the lab plan named NAME in PLANS' directory; returns its path.
fn lab_copy(plans: &Plans, name: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("plans").join(LAB)).expect("read the lab plan");
    let path = plans.path().join(format!("{name}.yaml"));
    std::fs::write(&path, set_plan_name(&text, name)).expect("write plan");
    path.to_str().expect("utf-8 temp path").to_string()
}

/// `changes` of `plan --json` as "action address (reason)" lines.
fn pending(moto: &Moto, plan: &str) -> Vec<String> {
    let out = moto.s3ep(&["plan", plan, "--json"]);
    match serde_json::from_slice::<Value>(&out.stdout) {
        Ok(doc) => changes(&doc)
            .iter()
            .map(|c| {
                format!(
                    "{} {} ({})",
                    c["action"].as_str().unwrap_or("?"),
                    c["address"].as_str().unwrap_or("?"),
                    c["reason"].as_str().unwrap_or("")
                )
            })
            .collect(),
        Err(_) => vec![format!("plan --json failed: {}", stderr(&out).trim())],
    }
}

/// Creates forwarded beyond the 11 of a fault-free lab apply, and VPCs whose
/// ModifyVpcAttribute (DNS hostnames) was never forwarded: the visible traces
/// of lost create answers.
fn lost_create_traces(stats: &Value) -> String {
    let f = &stats["forwarded"];
    let base = [
        ("CreateVpc", 2),
        ("CreateSubnet", 3),
        ("CreateRouteTable", 2),
        ("CreateSecurityGroup", 1),
        ("CreateVpcEndpoint", 2),
        ("CreateVpcPeeringConnection", 1),
    ];
    let mut out: Vec<String> = base
        .iter()
        .filter(|(op, b)| n(&f[*op]) > *b)
        .map(|(op, b)| format!("{op} sent {} times (fault-free: {b})", n(&f[*op])))
        .collect();
    if n(&f["ModifyVpcAttribute"]) < 2 {
        out.push(format!(
            "ModifyVpcAttribute sent {} time(s) for 2 VPCs",
            n(&f["ModifyVpcAttribute"])
        ));
    }
    if out.is_empty() {
        "no visible re-sent create".to_string()
    } else {
        out.join("; ")
    }
}

/// One round of `lost_responses_converge_within_two_more_applies` with SEED,
/// on its own plan name. Ok: a summary; Err: everything needed to debug.
fn lost_answer_round(moto: &Moto, proxy: &Proxy, plans: &Plans, seed: u64) -> Result<String, String> {
    let name = format!("fault-drop-{seed}");
    let plan = lab_copy(plans, &name);
    proxy.reset();
    proxy.config(json!({"drop_rate": 0.2, "faults_on": "mutating", "seed": seed, "latency_ms": 0}));

    let first = proxy.s3ep(&["apply", &plan, "--yes"]);
    let st = proxy.stats();
    proxy.config(json!({"drop_rate": 0.0}));
    let mut history = vec![
        format!(
            "seed {seed}: apply 1 (20% lost answers on mutating calls): exit {:?}",
            first.status.code()
        ),
        format!("  proxy: {}", brief(&st)),
        format!("  traces of lost creates: {}", lost_create_traces(&st)),
    ];
    if first.status.code() != Some(0) {
        history.push(indent(&tail_lines(&stderr(&first), 12)));
    }
    let fail = |history: &[String], msg: String| Err(format!("{}\n{msg}", history.join("\n")));
    if !matches!(first.status.code(), Some(0) | Some(1)) {
        return fail(
            &history,
            format!("first apply must exit 0 or 1\n{}", show(&first)),
        );
    }
    if n(&st["injected"]["drop"]) == 0 {
        return fail(
            &history,
            "no answer was lost: the round proves nothing".to_string(),
        );
    }

    let mut converged = false;
    for attempt in 2..=3 {
        history.push(format!(
            "  pending before apply {attempt}: {:?}",
            pending(moto, &plan)
        ));
        let out = proxy.s3ep(&["apply", &plan, "--yes"]);
        history.push(format!(
            "apply {attempt} (no faults): exit {:?}",
            out.status.code()
        ));
        if out.status.code() != Some(0) {
            history.push(indent(&tail_lines(&stderr(&out), 12)));
            continue;
        }
        let check = moto.s3ep(&["plan", &plan, "--detailed-exitcode"]);
        history.push(format!(
            "plan --detailed-exitcode after apply {attempt}: exit {:?}",
            check.status.code()
        ));
        if check.status.code() == Some(0) {
            converged = true;
            break;
        }
    }
    if !converged {
        history.push(format!("  still pending: {:?}", pending(moto, &plan)));
        return fail(
            &history,
            format!(
                "no convergence within two fault-free applies after lost answers\nlive:\n{}",
                describe_owned(&owned_with_dns(moto, &name))
            ),
        );
    }
    let what = format!("seed {seed}: after lost answers and up to two more applies");
    if let Err(e) = check_lab_converged(moto, &plan, &name, &what) {
        return fail(&history, e);
    }
    if let Err(e) = check_destroy(moto, &plan, &name, &format!("seed {seed}")) {
        return fail(&history, e);
    }
    history.push("converged; destroy left nothing".to_string());
    Ok(history.join("\n"))
}

/// 20% of mutating calls reach moto but their answer is lost. The first apply
/// may fail or leave duplicates (moto ignores client tokens); at most two more
/// fault-free applies converge to exactly one of each; destroy removes all.
/// Several seeds, each on its own plan name on one moto; S3EP_FAULT_SEED=a,b,…
/// runs others. The draws go to mutating calls in arrival order, so which
/// call loses its answer varies with the parallel schedule, except for the
/// first two (the two CreateVpc): seed 2 always loses one CreateVpc answer.
/// Seeds 5 and 12 usually lose CreateVpcEndpoint and CreateRouteTable answers
/// (duplicates, since moto ignores client tokens).
#[test]
fn lost_responses_converge_within_two_more_applies() {
    let t0 = Instant::now();
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &[]);
    let plans = Plans::new();

    let mut failures = Vec::new();
    for seed in seeds(&[5, 12, 2]) {
        let t = Instant::now();
        match lost_answer_round(&moto, &proxy, &plans, seed) {
            Ok(summary) => eprintln!("{summary}\n({:?})\n", t.elapsed()),
            Err(e) => {
                eprintln!("{e}\n({:?})\n", t.elapsed());
                failures.push(e);
            }
        }
    }
    eprintln!(
        "lost_responses_converge_within_two_more_applies: {:?}",
        t0.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of the seeds did not converge cleanly:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// SIGKILL an apply after k mutating calls went through (150 ms latency per
/// call, so more are in flight), for several k; each time a re-apply converges
/// and destroy removes everything. Every cut point runs; the failures of all
/// are reported together.
#[test]
fn kill_9_at_several_points_then_reapply_converges() {
    let t0 = Instant::now();
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &[]);
    let name = "fault-kill";
    let plans = Plans::new();
    let plan = plans.shipped(LAB, name);

    let mut failures = Vec::new();
    for k in [2i64, 5, 9, 14] {
        let what = format!("kill -9 after {k} mutating calls");
        proxy.reset();
        proxy.config(json!({"latency_ms": 150}));
        let mut run = proxy.spawn_s3ep(&args(NO_RATES, &["apply", &plan, "--yes"]));
        let reached = proxy.wait_stats(Duration::from_secs(90), |s| n(&s["mutating_forwarded"]) >= k);
        let killed = run.kill9();
        let at_kill = match reached {
            Some(s) => s,
            None => panic!(
                "{what}: fewer than {k} mutating calls within 90 s\n{}",
                run.show()
            ),
        };
        assert!(
            killed,
            "{what}: apply ended before it could be killed (cut point too late?)\n{}",
            run.show()
        );
        // Calls the dead process had sent still reach moto: let them land.
        proxy.wait_idle(Duration::from_secs(20));
        let after = proxy.stats();
        let log = format!(
            "{what}: forwarded at the kill {}\n  once idle {}",
            at_kill["forwarded"], after["forwarded"]
        );
        eprintln!("{log}");

        proxy.config(json!({"latency_ms": 0}));
        let before = pending(&moto, &plan);
        // Within two re-applies (issue 7): on EC2 (and the strict emulator) a
        // re-apply started at once may not see, through the tag filter, what
        // the killed run made, and make it again; the next one removes the
        // duplicates (README, "Duplicates"). A third was once needed (a
        // duplicated pending peering, not reproduced since); the likely
        // cause: a re-apply that failed did not wait for the tags to list
        // what it had made, so the next made it again. `apply` now settles
        // after a failed run too (src/commands/apply.rs).
        let mut result = Err(String::new());
        for attempt in 1..=2 {
            let out = proxy.s3ep(&["apply", &plan, "--yes"]);
            result = if out.status.code() != Some(0) {
                Err(format!(
                    "{what}: re-apply {attempt} exits {:?}\n{}",
                    out.status.code(),
                    show(&out)
                ))
            } else {
                check_lab_converged(&moto, &plan, name, &format!("{what}, then {attempt} re-apply(s)"))
            };
            if result.is_ok() {
                break;
            }
            eprintln!("{what}: not converged after re-apply {attempt}");
        }
        if let Err(e) = result {
            let f = format!("{log}\n  pending before the re-apply: {before:?}\n{e}");
            // Shown now too: a destroy that then hangs would hide it.
            eprintln!("{f}");
            failures.push(f);
        }
        if let Err(e) = check_destroy(&moto, &plan, name, &what) {
            failures.push(e);
            break; // the next cut point would not start from nothing
        }
    }
    eprintln!(
        "kill_9_at_several_points_then_reapply_converges: {:?}",
        t0.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} cut point(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// One SIGINT during a slow apply: s3ep starts nothing new, lets the calls in
/// flight finish, waits briefly for the tags to list what it made, prints a
/// summary and exits 130 within 10 s; one re-run converges.
#[test]
fn sigint_during_a_slow_apply_exits_130_with_a_summary() {
    let t0 = Instant::now();
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &["--latency-ms", "400", "--seed", "4"]);
    let name = "fault-sigint";
    let plans = Plans::new();
    let plan = plans.shipped(LAB, name);

    let mut run = proxy.spawn_s3ep(&args(NO_RATES, &["apply", &plan, "--yes"]));
    let before = proxy
        .wait_stats(Duration::from_secs(60), |s| n(&s["mutating_forwarded"]) >= 3)
        .unwrap_or_else(|| panic!("fewer than 3 mutating calls within 60 s\n{}", run.show()));
    assert!(run.signal("INT"), "apply ended before the SIGINT\n{}", run.show());
    let sent = Instant::now();
    let status = run.wait_timeout(Duration::from_secs(10));
    let took = sent.elapsed();
    let at_exit = proxy.stats();
    if status.is_none() {
        run.kill9();
        panic!(
            "apply still running 10 s after SIGINT\nproxy: {}\n{}",
            brief(&at_exit),
            run.show()
        );
    }
    eprintln!(
        "SIGINT after {} mutating calls; exit {:?} {:?} later; proxy at exit: {}",
        before["mutating_forwarded"],
        status.and_then(|s| s.code()),
        took,
        brief(&at_exit)
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "exit status after one SIGINT\n{}",
        run.show()
    );
    let err = run.stderr();
    assert!(
        err.contains("interrupted"),
        "stderr has no interruption summary\n{}",
        run.show()
    );
    assert!(
        err.contains("not attempted") || err.contains("done"),
        "the summary says neither what was done nor what was not attempted\n{}",
        run.show()
    );
    // Calls in flight were finished, not abandoned: none is still inside the
    // proxy once s3ep has exited.
    assert_eq!(
        Proxy::in_flight(&at_exit),
        0,
        "s3ep exited with calls still in flight (they will land after it reported)\nproxy: {at_exit:#}\n{}",
        run.show()
    );
    // It did stop early: not every mutating call of the lab (21) was sent.
    assert!(
        n(&at_exit["mutating_received"]) < 21,
        "every mutating call of the lab was sent despite the SIGINT: {at_exit:#}\n{}",
        run.show()
    );
    proxy.wait_idle(Duration::from_secs(20));

    proxy.config(json!({"latency_ms": 0}));
    // After Ctrl-C s3ep waits (briefly) until EC2's tag filters list what
    // it made, so one re-apply started at once sees it and converges
    // (without that wait, strict tag lag made it create duplicates that
    // only a second re-apply removed).
    assert!(
        err.contains("Waiting up to"),
        "no settle after the SIGINT\n{}",
        run.show()
    );
    let out = proxy.s3ep(&["apply", &plan, "--yes"]);
    assert_exit(&out, 0, "re-apply after SIGINT");
    assert_lab_converged(&moto, &plan, name, "after SIGINT and one re-apply");
    eprintln!(
        "sigint_during_a_slow_apply_exits_130_with_a_summary: {:?}",
        t0.elapsed()
    );
}

/// A second SIGINT exits 130 at once, without waiting for the calls in flight
/// (2 s of latency each here).
#[test]
fn second_sigint_exits_130_at_once() {
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &["--latency-ms", "2000"]);
    let plans = Plans::new();
    let plan = plans.shipped(LAB, "fault-sigint2");

    let mut run = proxy.spawn_s3ep(&args(NO_RATES, &["apply", &plan, "--yes"]));
    // Wait until a mutating call is in flight (inside its 2 s of latency).
    proxy
        .wait_stats(Duration::from_secs(60), |s| {
            s["received"]
                .as_object()
                .map(|m| m.keys().any(|op| !op.starts_with("Describe")))
                .unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("no mutating call within 60 s\n{}", run.show()));
    assert!(
        run.signal("INT"),
        "apply ended before the first SIGINT\n{}",
        run.show()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        run.try_wait().is_none(),
        "one SIGINT should wait for the calls in flight (2 s latency)\n{}",
        run.show()
    );
    assert!(
        run.signal("INT"),
        "apply ended before the second SIGINT\n{}",
        run.show()
    );
    let sent = Instant::now();
    let status = run.wait_timeout(Duration::from_secs(10));
    let took = sent.elapsed();
    if status.is_none() {
        run.kill9();
    }
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "exit status after a second SIGINT\n{}",
        run.show()
    );
    assert!(
        took < Duration::from_millis(1500),
        "a second SIGINT took {took:?} to exit (calls in flight have ~2 s of latency left)\n{}",
        run.show()
    );
    proxy.wait_idle(Duration::from_secs(20));
}
