//! Executor tests on the in-memory EC2 with paused tokio time: dependency
//! order, retry schedules for NotFound and conflicts, waits and their
//! timeouts, and a failed step stopping the run.

use std::path::Path;
use std::time::Duration;

use s3ep::cloud::memory::MemoryCloud;
use s3ep::diff::{diff, Changes, Mode};
use s3ep::emulator::Emulator;
use s3ep::exec::settle::Settle;
use s3ep::exec::{execute, ExecOptions, Failure, Report, RetryPolicy, Silent};
use s3ep::model::Desired;

/// plans/gateway-only.yaml: one gateway endpoint in us-east-1.
fn gateway_only() -> Desired {
    let y = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/gateway-only.yaml"))
        .unwrap();
    s3ep::plan::load_str(&y, "gateway-only.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn lab() -> Desired {
    let y =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
            .unwrap();
    s3ep::plan::load_str(&y, "lab.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

async fn plan(cloud: &MemoryCloud, d: &Desired, mode: Mode) -> Changes {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    diff(d, &live, mode, Emulator::Off).expect("diff")
}

async fn run(cloud: &MemoryCloud, d: &Desired, mode: Mode, opts: &ExecOptions) -> Report {
    let c = plan(cloud, d, mode).await;
    execute(cloud, &c, &Silent, opts).await
}

/// What EC2 needs done before what, among the creates of one VPC (one
/// region, in the lab): an operation waits only for the ids it uses.
/// Pairs whose operations a region does not see are skipped.
const CREATE_NEEDS: [(&str, &str); 10] = [
    ("CreateVpc", "CreateSubnet"),
    ("CreateVpc", "CreateRouteTable"),
    ("CreateVpc", "CreateSecurityGroup"),
    ("CreateVpc", "CreateVpcPeeringConnection"),
    ("CreateSubnet", "AssociateRouteTable"),
    ("CreateRouteTable", "AssociateRouteTable"),
    ("CreateSecurityGroup", "AuthorizeSecurityGroupIngress"),
    ("CreateSecurityGroup", "CreateVpcEndpoint"),
    ("CreateRouteTable", "CreateRoute"),
    ("CreateVpcPeeringConnection", "CreateRoute"),
];

/// In every region, for each pair of [`CREATE_NEEDS`] (or `needs`), every
/// call of the first ends before the first call of the second.
fn assert_needs(calls: &[(String, String)], needs: &[(&str, &str)]) {
    let regions: std::collections::BTreeSet<&str> = calls.iter().map(|(_, r)| r.as_str()).collect();
    for r in regions {
        let mine: Vec<(String, String)> = calls.iter().filter(|(_, x)| x == r).cloned().collect();
        let has = |op: &str| mine.iter().any(|(o, _)| o == op);
        for (a, b) in needs {
            if has(a) && has(b) {
                assert!(
                    last(&mine, a) < first(&mine, b),
                    "{a} must finish before {b} in {r}: {mine:?}"
                );
            }
        }
    }
}

/// The one failed step of a run that must fail.
fn one_failure(report: &Report, why: &str) -> Failure {
    assert_eq!(report.failed.len(), 1, "{why}: {:?}", report.failed);
    report.failed[0].clone()
}

/// The position of the first call of `op` in the log.
fn first(calls: &[(String, String)], op: &str) -> usize {
    calls
        .iter()
        .position(|(o, _)| o == op)
        .unwrap_or_else(|| panic!("no {op} in {calls:?}"))
}

fn last(calls: &[(String, String)], op: &str) -> usize {
    calls
        .iter()
        .rposition(|(o, _)| o == op)
        .unwrap_or_else(|| panic!("no {op} in {calls:?}"))
}

/// In every region, every call of each operation ends before the first call
/// of the next (operations a region does not see are skipped). Regions are
/// independent and run side by side.
fn assert_order(calls: &[(String, String)], order: &[&str]) {
    let regions: std::collections::BTreeSet<&str> = calls.iter().map(|(_, r)| r.as_str()).collect();
    for r in regions {
        let mine: Vec<(String, String)> = calls.iter().filter(|(_, x)| x == r).cloned().collect();
        let present: Vec<&str> = order
            .iter()
            .copied()
            .filter(|op| mine.iter().any(|(o, _)| o == op))
            .collect();
        assert_order_in(&mine, &present);
    }
}

fn assert_order_in(calls: &[(String, String)], order: &[&str]) {
    for w in order.windows(2) {
        assert!(
            last(calls, w[0]) < first(calls, w[1]),
            "{} must finish before {}: {calls:?}",
            w[0],
            w[1]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn apply_walks_dependency_order() {
    let cloud = MemoryCloud::new();
    let d = lab();
    let c = plan(&cloud, &d, Mode::Apply).await;
    cloud.reset_calls();
    assert!(execute(&cloud, &c, &Silent, &ExecOptions::default()).await.ok());
    let calls = cloud.calls();
    assert_needs(&calls, &CREATE_NEEDS);
    // The gateway endpoint (Seoul) uses the route table; the interface
    // endpoint (Virginia) its subnets and group.
    let seoul: Vec<_> = calls
        .iter()
        .filter(|(_, r)| r == "ap-northeast-2")
        .cloned()
        .collect();
    assert_needs(&seoul, &[("CreateRouteTable", "CreateVpcEndpoint")]);
    let virginia: Vec<_> = calls.iter().filter(|(_, r)| r == "us-east-1").cloned().collect();
    assert_needs(&virginia, &[("CreateSubnet", "CreateVpcEndpoint")]);
    // The peering is accepted in the accepter's region.
    let accept = &calls[first(&calls, "AcceptVpcPeeringConnection")];
    assert_eq!(accept.1, "us-east-1");
    let request = &calls[first(&calls, "CreateVpcPeeringConnection")];
    assert_eq!(request.1, "ap-northeast-2");
}

#[tokio::test(start_paused = true)]
async fn destroy_walks_reverse_order() {
    let cloud = MemoryCloud::new();
    let d = lab();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    cloud.reset_calls();
    assert!(run(&cloud, &d, Mode::Destroy, &ExecOptions::default()).await.ok());
    let calls = cloud.calls();
    let order = [
        "DeleteRoute",
        "DeleteVpcPeeringConnection",
        "DeleteVpcEndpoints",
        "DeleteSecurityGroup",
        "DeleteRouteTable",
        "DeleteSubnet",
        "DeleteVpc",
    ];
    assert_order(&calls, &order);
}

#[tokio::test(start_paused = true)]
async fn endpoint_deletion_is_waited_for_before_its_group_and_subnets() {
    let cloud = MemoryCloud::new();
    let d = lab();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    cloud.set_endpoint_pending_polls(3);
    cloud.reset_calls();
    let report = run(&cloud, &d, Mode::Destroy, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    let calls = cloud.calls();
    // Polls after the delete, before the group goes.
    let polls = calls[last(&calls, "DeleteVpcEndpoints")..first(&calls, "DeleteSecurityGroup")]
        .iter()
        .filter(|(o, _)| o == "DescribeVpcEndpoints")
        .count();
    assert!(
        polls >= 4,
        "expected the deletion to be polled, got {polls}: {calls:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn not_found_right_after_create_is_retried() {
    let cloud = MemoryCloud::new();
    let d = lab();
    cloud.fail_next("CreateSubnet", "InvalidVpcID.NotFound", 3);
    let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    // 3 subnets + 3 refused attempts.
    assert_eq!(cloud.call_count("CreateSubnet"), 6);
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn not_found_on_an_existing_resource_is_not_retried() {
    let cloud = MemoryCloud::new();
    let d = lab();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    let changed = {
        let y = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"),
        )
        .unwrap()
        .replace(
            "allow_https_from: [seoul, virginia]",
            "allow_https_from: [seoul, virginia, 10.99.0.0/16]",
        );
        s3ep::plan::load_str(&y, "lab.yaml", Path::new(".")).unwrap()
    };
    cloud.reset_calls();
    cloud.fail_next("AuthorizeSecurityGroupIngress", "InvalidGroup.NotFound", 5);
    let report = run(&cloud, &changed, Mode::Apply, &ExecOptions::default()).await;
    let f = one_failure(&report, "must fail");
    assert!(f.message.contains("InvalidGroup.NotFound"), "{}", f.message);
    assert_eq!(cloud.call_count("AuthorizeSecurityGroupIngress"), 1);
}

#[tokio::test(start_paused = true)]
async fn conflicts_during_delete_are_retried_then_give_up() {
    let cloud = MemoryCloud::new();
    let d = lab();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    cloud.reset_calls();
    cloud.fail_next("DeleteSecurityGroup", "DependencyViolation", 2);
    let report = run(&cloud, &d, Mode::Destroy, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert_eq!(cloud.call_count("DeleteSecurityGroup"), 3);

    // A conflict that never clears gives up after the bounded time.
    let cloud = MemoryCloud::new();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    cloud.reset_calls();
    cloud.fail_next("DeleteSecurityGroup", "DependencyViolation", 10_000);
    let opts = ExecOptions {
        policy: RetryPolicy {
            conflict_timeout: Duration::from_secs(60),
            ..RetryPolicy::default()
        },
        ..ExecOptions::default()
    };
    let start = tokio::time::Instant::now();
    let report = run(&cloud, &d, Mode::Destroy, &opts).await;
    let f = one_failure(&report, "gives up");
    assert!(f.message.contains("DependencyViolation"), "{}", f.message);
    assert!(
        start.elapsed() <= Duration::from_secs(70),
        "bounded: {:?}",
        start.elapsed()
    );
    let attempts = cloud.call_count("DeleteSecurityGroup");
    assert!(
        (5..=200).contains(&attempts),
        "backoff, not a busy loop: {attempts}"
    );
    assert!(
        !report.not_attempted.is_empty(),
        "route tables, subnets and VPCs not attempted"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_timeout_names_the_resource_and_its_last_state() {
    let cloud = MemoryCloud::new();
    let d = lab();
    cloud.set_endpoint_pending_polls(1_000_000);
    let opts = ExecOptions {
        policy: RetryPolicy {
            wait_timeout: Duration::from_secs(30),
            ..RetryPolicy::default()
        },
        ..ExecOptions::default()
    };
    let report = run(&cloud, &d, Mode::Apply, &opts).await;
    // Both endpoints wait side by side, and both time out.
    assert_eq!(report.failed.len(), 2, "{:?}", report.failed);
    for f in &report.failed {
        assert!(f.address.as_str().starts_with("endpoint."), "{:?}", f.address);
        assert!(f.message.contains("vpce-"), "names the endpoint: {}", f.message);
        assert!(
            f.message.contains("pending"),
            "gives the last state: {}",
            f.message
        );
        assert!(f.message.contains("available"), "{}", f.message);
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_skips_only_its_dependents_and_a_rerun_converges() {
    let cloud = MemoryCloud::new();
    let d = lab();
    cloud.fail_next("CreateSecurityGroup", "InvalidParameterValue", 1);
    let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    let f = one_failure(&report, "fails");
    assert_eq!(f.address.as_str(), "security_group.virginia-s3");
    assert!(report
        .not_attempted
        .iter()
        .any(|n| n.label.contains("endpoint.virginia-s3")
            && n.reason.contains("depends on create security_group.virginia-s3")));
    // Only what depends on the failed group is skipped: the Seoul gateway
    // endpoint is created.
    assert_eq!(cloud.call_count("CreateVpcEndpoint"), 1);
    // The re-run picks up where it stopped.
    let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
    assert_eq!(cloud.count("vpc", "us-east-1"), 1);
}

#[tokio::test(start_paused = true)]
async fn peering_is_waited_for_until_active() {
    let cloud = MemoryCloud::new();
    let d = lab();
    cloud.set_peering_active_polls(3);
    let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    let calls = cloud.calls();
    let polls = calls[first(&calls, "AcceptVpcPeeringConnection")..first(&calls, "CreateRoute")]
        .iter()
        .filter(|(o, _)| o == "DescribeVpcPeeringConnections")
        .count();
    assert!(polls >= 4, "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn a_peering_left_pending_is_accepted_by_the_next_run() {
    let cloud = MemoryCloud::new();
    let d = lab();
    cloud.fail_next("AcceptVpcPeeringConnection", "InvalidParameterValue", 1);
    let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    assert_eq!(
        one_failure(&report, "accept fails").address.as_str(),
        "peering.seoul-virginia"
    );
    let c = plan(&cloud, &d, Mode::Apply).await;
    let p = c
        .changes
        .iter()
        .find(|c| c.address.as_str() == "peering.seoul-virginia")
        .expect("peering change");
    assert_eq!(p.action, s3ep::diff::Action::Update);
    assert!(p.reason.contains("pending-acceptance"), "{}", p.reason);
    let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
    assert_eq!(cloud.count("peering", "ap-northeast-2"), 1);
}

/// Only a NotFound for the resource being deleted means "gone". Moto's
/// DeleteVpcEndpoints answers InvalidRoute.NotFound when the prefix-list
/// route was already removed (by a duplicate's deletion, or by hand): with
/// the moto switch on, s3ep detaches the route tables and deletes again; if
/// that fails too, or without the switch (real EC2 has no such failure), the
/// step fails at once rather than waiting for a deletion that never happens.
#[tokio::test(start_paused = true)]
async fn a_missing_gateway_route_does_not_block_the_endpoints_deletion_on_moto() {
    let moto = |n| ExecOptions {
        emulator: Emulator::Moto,
        ..with_parallelism(n)
    };
    let cloud = MemoryCloud::new();
    let d = gateway_only();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    cloud.reset_calls();
    cloud.fail_next("DeleteVpcEndpoints", "InvalidRoute.NotFound", 1);
    let report = run(&cloud, &d, Mode::Destroy, &moto(1)).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert_eq!(cloud.call_count("ModifyVpcEndpoint"), 1, "tables detached once");
    assert_eq!(cloud.count("endpoint", "us-east-1"), 0);

    for (opts, times, what) in [
        (moto(1), 2, "twice on moto"),
        (with_parallelism(1), 1, "once on EC2"),
    ] {
        let cloud = MemoryCloud::new();
        assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
        cloud.reset_calls();
        cloud.fail_next("DeleteVpcEndpoints", "InvalidRoute.NotFound", times);
        let start = tokio::time::Instant::now();
        let report = run(&cloud, &d, Mode::Destroy, &opts).await;
        let f = one_failure(&report, what);
        assert!(
            f.message.contains("InvalidRoute.NotFound"),
            "{what}: {}",
            f.message
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: {:?}",
            start.elapsed()
        );
        if opts.emulator == Emulator::Off {
            assert_eq!(
                cloud.call_count("ModifyVpcEndpoint"),
                0,
                "no emulator workaround on EC2"
            );
        }
    }
}

/// EC2 reports an endpoint that is already gone as an `Unsuccessful` item
/// coded `InvalidVpcEndpoint.NotFound` (not `InvalidVpcEndpointId…`): a
/// destroy racing another (here: everything it planned to delete was deleted
/// by someone else in between) takes that as done.
#[tokio::test(start_paused = true)]
async fn a_destroy_racing_another_takes_gone_endpoints_as_done() {
    let cloud = MemoryCloud::new();
    let d = lab();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    let first = plan(&cloud, &d, Mode::Destroy).await;
    let second = plan(&cloud, &d, Mode::Destroy).await;
    let opts = ExecOptions::default();
    let (a, b) = tokio::join!(
        execute(&cloud, &first, &Silent, &opts),
        execute(&cloud, &second, &Silent, &opts)
    );
    assert!(a.ok(), "{:?}", a.failed);
    assert!(b.ok(), "{:?}", b.failed);
    assert!(plan(&cloud, &d, Mode::Destroy).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_vpc_left_without_dns_hostnames_is_repaired() {
    let cloud = MemoryCloud::new();
    let d = lab();
    // The run dies between CreateVpc and the DNS step (here: it fails).
    cloud.fail_next("ModifyVpcAttribute", "InternalError", 1);
    let report = run(&cloud, &d, Mode::Apply, &with_parallelism(1)).await;
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    let c = plan(&cloud, &d, Mode::Apply).await;
    let fix = c
        .changes
        .iter()
        .find(|c| c.reason.contains("DNS hostnames"))
        .expect("a change turning DNS hostnames on");
    assert_eq!(fix.action, s3ep::diff::Action::Update);
    cloud.reset_calls();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    // The other region went ahead in the first run: only the repair is left.
    assert_eq!(cloud.call_count("ModifyVpcAttribute"), 1);
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
    assert_one_of_each(&cloud);
}

/// Every resource of the lab exactly once.
fn assert_one_of_each(cloud: &MemoryCloud) {
    for (kind, region, n) in [
        ("vpc", "ap-northeast-2", 1),
        ("vpc", "us-east-1", 1),
        ("subnet", "ap-northeast-2", 1),
        ("subnet", "us-east-1", 2),
        ("route_table", "ap-northeast-2", 1),
        ("route_table", "us-east-1", 1),
        ("security_group", "us-east-1", 1),
        ("endpoint", "ap-northeast-2", 1),
        ("endpoint", "us-east-1", 1),
        ("peering", "ap-northeast-2", 1),
    ] {
        assert_eq!(cloud.count(kind, region), n, "{kind} in {region}");
    }
}

fn with_parallelism(n: usize) -> ExecOptions {
    ExecOptions {
        parallelism: n,
        ..ExecOptions::default()
    }
}

#[tokio::test(start_paused = true)]
async fn parallelism_bounds_the_calls_in_flight_and_regions_run_side_by_side() {
    let d = lab();
    let mut took = Vec::new();
    for n in [1, 2, 16] {
        let cloud = MemoryCloud::new();
        cloud.set_latency(Duration::from_millis(100));
        let c = plan(&cloud, &d, Mode::Apply).await;
        cloud.reset_calls();
        let t = tokio::time::Instant::now();
        let report = execute(&cloud, &c, &Silent, &with_parallelism(n)).await;
        assert!(report.ok(), "{:?}", report.failed);
        took.push(t.elapsed());
        let most = cloud.max_in_flight();
        assert!(most <= n, "parallelism {n}: {most} calls in flight");
        if n > 1 {
            assert!(most >= 2, "parallelism {n}: never more than one call in flight");
        }
        assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
        assert_one_of_each(&cloud);
    }
    assert!(took[2] < took[0], "parallel is faster: {took:?}");
    // The two regions' VPCs are created at the same time.
    let cloud = MemoryCloud::new();
    cloud.set_latency(Duration::from_millis(100));
    let c = plan(&cloud, &d, Mode::Apply).await;
    cloud.reset_calls();
    let opts = with_parallelism(16);
    let exec = execute(&cloud, &c, &Silent, &opts);
    let probe = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cloud.max_in_flight()
    };
    let (report, at_start) = tokio::join!(exec, probe);
    assert!(report.ok());
    assert!(at_start >= 2, "both VPCs in flight at once: {at_start}");
}

#[tokio::test(start_paused = true)]
async fn dependency_order_holds_when_steps_overlap() {
    let cloud = MemoryCloud::new();
    cloud.set_latency(Duration::from_millis(100));
    cloud.set_endpoint_pending_polls(2);
    cloud.set_peering_active_polls(2);
    let d = lab();
    let c = plan(&cloud, &d, Mode::Apply).await;
    cloud.reset_calls();
    assert!(execute(&cloud, &c, &Silent, &with_parallelism(16)).await.ok());
    let calls = cloud.calls();
    assert_needs(&calls, &CREATE_NEEDS);
    // Routes through the peering come after it is active, in both regions.
    assert!(first(&calls, "CreateRoute") > last(&calls, "AcceptVpcPeeringConnection"));
}

#[tokio::test(start_paused = true)]
async fn a_failure_in_one_region_does_not_stop_the_other() {
    let cloud = MemoryCloud::new();
    let d = lab();
    // The first subnet created fails (which one depends on the walk's
    // priorities): only what uses it waits for it — its table's
    // association, and in Virginia the interface endpoint in it. The other
    // region goes ahead, and so does everything in its own region that does
    // not use the subnet.
    cloud.fail_next("CreateSubnet", "InvalidParameterValue", 1);
    let c = plan(&cloud, &d, Mode::Apply).await;
    let report = execute(&cloud, &c, &Silent, &with_parallelism(1)).await;
    let f = one_failure(&report, "subnet fails");
    let failed = f.address.as_str().to_string();
    let vpc = failed.split('.').nth(1).unwrap_or_default().to_string();
    let other = if vpc == "seoul" { "virginia" } else { "seoul" };
    for n in &report.not_attempted {
        assert_eq!(
            n.reason,
            format!("depends on create {failed}, which failed"),
            "{n:?}"
        );
        assert!(n.label.contains(&vpc), "only {vpc}'s steps wait: {n:?}");
    }
    let skipped: Vec<&str> = report.not_attempted.iter().map(|n| n.label.as_str()).collect();
    let table = format!("create route_table.{vpc}.private");
    assert!(skipped.contains(&table.as_str()), "{skipped:?}");
    let mut went_ahead = vec![
        format!("create endpoint.{other}-s3"),
        "create peering.seoul-virginia".to_string(),
        "create route.seoul.private.10.20.0.0/16".to_string(),
        "create route.virginia.private.10.10.0.0/16".to_string(),
    ];
    if vpc == "seoul" {
        // The gateway endpoint uses the table, not the subnet.
        went_ahead.push("create endpoint.seoul-s3".to_string());
    } else {
        assert!(skipped.contains(&"create endpoint.virginia-s3"), "{skipped:?}");
    }
    for step in &went_ahead {
        assert!(!skipped.contains(&step.as_str()), "{step}: {skipped:?}");
        assert!(report.done.iter().any(|d| d == step), "{step}: {:?}", report.done);
    }
    // Each skipped step is listed once.
    let mut unique = skipped.clone();
    unique.dedup();
    assert_eq!(unique.len(), skipped.len());
    // And a re-run converges.
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
    assert_one_of_each(&cloud);
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_to_a_tokenless_create_is_found_by_its_tags_not_sent_again() {
    for op in [
        "CreateVpc",
        "CreateSubnet",
        "CreateSecurityGroup",
        "CreateVpcPeeringConnection",
    ] {
        let cloud = MemoryCloud::new();
        let d = lab();
        cloud.lose_response_next(op);
        let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
        assert!(report.ok(), "{op}: {:?}", report.failed);
        assert_one_of_each(&cloud);
        assert!(plan(&cloud, &d, Mode::Apply).await.is_empty(), "{op}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_to_a_create_with_a_client_token_returns_the_same_resource() {
    for op in ["CreateVpcEndpoint", "CreateRouteTable"] {
        let cloud = MemoryCloud::new();
        let d = lab();
        // The answer is lost (the in-memory cloud has no SDK retry): s3ep
        // sends the create again with the same token and gets the same
        // resource back, in the same apply.
        cloud.lose_response_next(op);
        cloud.reset_calls();
        let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
        assert!(report.ok(), "{op}: {:?}", report.failed);
        assert!(plan(&cloud, &d, Mode::Apply).await.is_empty(), "{op}");
        assert_one_of_each(&cloud);
        // The lab has two of each: one lost answer, its resend, the other.
        assert_eq!(cloud.call_count(op), 3, "{op}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_tokened_create_whose_every_attempt_was_lost_is_found_by_its_tags() {
    for op in ["CreateVpcEndpoint", "CreateRouteTable"] {
        let cloud = MemoryCloud::new();
        let d = lab();
        // More lost answers than attempts: no resend gets an answer, and
        // the step looks for what the first attempt made by its tags
        // (lagging one Describe behind) instead of failing.
        cloud.set_tag_lag(1);
        let opts = ExecOptions {
            policy: RetryPolicy {
                attempts: 2,
                ..RetryPolicy::default()
            },
            ..ExecOptions::default()
        };
        for _ in 0..opts.policy.attempts {
            cloud.lose_response_next(op);
        }
        // What `apply` does: wait until the tags list what it made (the
        // found resource included).
        let opts = ExecOptions {
            settle: Some(settle_for(&d)),
            ..opts
        };
        let report = run(&cloud, &d, Mode::Apply, &opts).await;
        assert!(report.ok(), "{op}: {:?}", report.failed);
        assert!(report.unlisted.is_empty(), "{op}: {:?}", report.unlisted);
        assert!(plan(&cloud, &d, Mode::Apply).await.is_empty(), "{op}");
        assert_one_of_each(&cloud);
    }
}

#[tokio::test(start_paused = true)]
async fn throttling_of_a_tokenless_create_is_retried_with_backoff() {
    let cloud = MemoryCloud::new();
    let d = lab();
    cloud.fail_next("CreateVpc", "RequestLimitExceeded", 3);
    let start = tokio::time::Instant::now();
    let report = run(&cloud, &d, Mode::Apply, &with_parallelism(1)).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert_eq!(cloud.call_count("CreateVpc"), 5, "3 refused + 2 VPCs");
    // Jittered exponential pauses: 0.25–0.5 s, 0.5–1 s, 1–2 s.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1750) && waited <= Duration::from_millis(3600),
        "{waited:?}"
    );
    // Throttling means nothing was created: no look-up by tags.
    assert_one_of_each(&cloud);

    // It gives up after the configured attempts, with EC2's code.
    let cloud = MemoryCloud::new();
    cloud.fail_next("CreateVpc", "RequestLimitExceeded", 100);
    let opts = ExecOptions {
        policy: RetryPolicy {
            attempts: 4,
            ..RetryPolicy::default()
        },
        ..with_parallelism(1)
    };
    let report = run(&cloud, &d, Mode::Apply, &opts).await;
    assert!(!report.failed.is_empty());
    assert!(
        report.failed[0].message.contains("RequestLimitExceeded"),
        "{:?}",
        report.failed
    );
    assert_eq!(
        cloud.call_count("CreateVpc"),
        4 * 2,
        "4 attempts for each of 2 VPCs"
    );
}

#[tokio::test(start_paused = true)]
async fn apply_after_destroy_never_meets_an_earlier_runs_client_token() {
    // An adopted VPC and table: the second apply's endpoint and route table
    // specs are the same as the first's. EC2 answers a repeated token with
    // the deleted endpoint (or a purged one); the tokens of each run are its
    // own, so the second apply sends each create once.
    let cloud = MemoryCloud::new();
    let oob = cloud.oob();
    let vpc = oob.oob_create_vpc("us-east-1", "10.0.0.0/16".parse().unwrap(), &Default::default());
    let rtb = oob
        .oob_create_route_table("us-east-1", &vpc, &Default::default())
        .unwrap();
    let y = format!(
        "version: 1\nname: again\nvpcs:\n  v: {{ region: us-east-1, id: {vpc}, route_tables: {{ t: {{ id: {rtb} }}, n: {{ subnets: [] }} }} }}\n\
         endpoints:\n  gw: {{ vpc: v, type: gateway, route_tables: [t] }}\n"
    );
    let d = s3ep::plan::load_str(&y, "again.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    assert!(run(&cloud, &d, Mode::Destroy, &ExecOptions::default()).await.ok());
    assert_eq!(cloud.count("endpoint", "us-east-1"), 0);
    cloud.reset_calls();
    let report = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert_eq!(cloud.call_count("CreateVpcEndpoint"), 1);
    assert_eq!(cloud.call_count("CreateRouteTable"), 1);
    assert_eq!(cloud.count("endpoint", "us-east-1"), 1);
    assert_eq!(
        cloud.count("route_table", "us-east-1"),
        2,
        "the adopted table and the new one"
    );
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_starts_nothing_new_cuts_waits_short_and_reports() {
    let cloud = MemoryCloud::new();
    cloud.set_latency(Duration::from_millis(100));
    cloud.set_endpoint_pending_polls(1_000_000);
    cloud.set_peering_active_polls(30);
    let d = lab();
    let c = plan(&cloud, &d, Mode::Apply).await;
    let opts = ExecOptions::default();
    let stop = opts.policy.stop.clone();
    let start = tokio::time::Instant::now();
    let exec = execute(&cloud, &c, &Silent, &opts);
    let interrupt = async {
        // Both endpoints are waiting for `available` by then, and the
        // peering for `active`.
        tokio::time::sleep(Duration::from_secs(20)).await;
        stop.fire();
    };
    let (report, ()) = tokio::join!(exec, interrupt);
    assert!(report.stopped);
    assert!(!report.ok());
    assert!(start.elapsed() < Duration::from_secs(22), "{:?}", start.elapsed());
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.interrupted.len(), 3, "{:?}", report.interrupted);
    for f in &report.interrupted {
        assert!(f.message.contains("interrupted while waiting"), "{}", f.message);
    }
    assert!(report
        .not_attempted
        .iter()
        .any(|n| n.label == "create route.seoul.private.10.20.0.0/16"));
    assert_eq!(cloud.call_count("CreateRoute"), 0);
    // A re-run converges from there.
    cloud.set_endpoint_pending_polls(0);
    cloud.set_peering_active_polls(0);
    cloud.set_latency(Duration::ZERO);
    let again = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
    assert!(again.ok(), "{:?} {:?}", again.failed, again.not_attempted);
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
    assert_one_of_each(&cloud);
}

/// A step waits only for steps whose ids it uses, its own change's earlier
/// steps, and the orders EC2 imposes: in the lab, the security group does
/// not wait for the subnets, the ingress rules not for the route tables,
/// and the longest chain of dependent steps is the peering's.
#[tokio::test(start_paused = true)]
async fn dependencies_come_from_real_references() {
    use s3ep::exec::graph::{build, Why};
    let cloud = MemoryCloud::new();
    let d = lab();
    let c = plan(&cloud, &d, Mode::Apply).await;
    let nodes = build(&c);
    let find = |label: &str| {
        nodes.iter().position(|n| n.label == label).unwrap_or_else(|| {
            panic!(
                "no step {label}: {:?}",
                nodes.iter().map(|n| &n.label).collect::<Vec<_>>()
            )
        })
    };
    let waits = |a: &str, b: &str| nodes[find(a)].deps.contains(&find(b));
    assert!(!waits(
        "create security_group.virginia-s3",
        "create subnet.virginia.ep-a"
    ));
    assert!(waits("create security_group.virginia-s3", "create vpc.virginia"));
    assert!(waits(
        "create endpoint.virginia-s3",
        "create subnet.virginia.ep-b"
    ));
    assert!(waits(
        "create endpoint.virginia-s3",
        "create security_group.virginia-s3"
    ));
    assert!(!waits(
        "create endpoint.virginia-s3",
        "create route_table.virginia.private"
    ));
    assert!(waits(
        "create endpoint.seoul-s3",
        "create route_table.seoul.private"
    ));
    assert!(!waits("create endpoint.seoul-s3", "create subnet.seoul.app-a"));
    assert!(!waits("create endpoint.seoul-s3", "create subnet.seoul.app-a"));
    // Every wait between creates of different changes uses an id, or is
    // an endpoint's wait for its VPC's DNS hostnames.
    for n in &nodes {
        for (d, w) in n.deps.iter().zip(&n.why) {
            if nodes[*d].change_index != n.change_index {
                assert!(
                    matches!(w, Why::UsesId | Why::DnsHostnames),
                    "{} waits for {}: {w:?}",
                    n.label,
                    nodes[*d].label
                );
            }
        }
    }
    // Chains of dependent steps: VPC → route table → peering route, and
    // VPC → peering (request, accept, active) → route: three steps; a
    // gateway endpoint: VPC → table (or DNS hostnames) → endpoint.
    let mut depth = vec![0usize; nodes.len()];
    for i in 0..nodes.len() {
        depth[i] = 1 + nodes[i].deps.iter().map(|&d| depth[d]).max().unwrap_or(0);
    }
    assert_eq!(depth[find("create route.seoul.private.10.20.0.0/16")], 3);
    assert_eq!(depth[find("create endpoint.seoul-s3")], 3);
    assert_eq!(depth[find("create endpoint.virginia-s3")], 3);
}

/// Ready steps start by the longest remaining path, endpoint creates (paced
/// by EC2's 4/0.3 s bucket) weighing most: with many VPCs, the first
/// endpoint is created as soon as its VPC, DNS hostnames and table exist,
/// not after every subnet and association of every VPC.
#[tokio::test(start_paused = true)]
async fn endpoint_creates_start_before_unrelated_work() {
    let mut y = String::from("version: 1\nname: many\nvpcs:\n");
    for i in 1..=6 {
        y.push_str(&format!(
            "  v{i}:\n    region: us-east-1\n    cidr: 10.{i}.0.0/16\n    subnets:\n      a: {{ az: us-east-1a, cidr: 10.{i}.1.0/24 }}\n      b: {{ az: us-east-1b, cidr: 10.{i}.2.0/24 }}\n    route_tables:\n      ta: {{ subnets: [a] }}\n      tb: {{ subnets: [b] }}\n"
        ));
    }
    y.push_str("endpoints:\n");
    for i in 1..=6 {
        y.push_str(&format!(
            "  e{i}: {{ vpc: v{i}, type: gateway, route_tables: [ta, tb] }}\n"
        ));
    }
    let d = s3ep::plan::load_str(&y, "many.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let cloud = MemoryCloud::new();
    cloud.set_latency(Duration::from_millis(50));
    let c = plan(&cloud, &d, Mode::Apply).await;
    cloud.reset_calls();
    let report = execute(&cloud, &c, &Silent, &with_parallelism(4)).await;
    assert!(report.ok(), "{:?}", report.failed);
    let calls = cloud.calls();
    assert!(
        first(&calls, "CreateVpcEndpoint") < last(&calls, "CreateSubnet"),
        "endpoints wait for every subnet: {calls:?}"
    );
    assert!(
        first(&calls, "CreateVpcEndpoint") < last(&calls, "AssociateRouteTable"),
        "endpoints wait for every association: {calls:?}"
    );
}

/// `s3ep apply`'s settle: each kind and region waits, once its creates have
/// ended, until the tags list what the run created (src/commands/apply.rs).
fn settle_for(d: &Desired) -> Settle {
    Settle {
        plan: d.name.clone(),
        timeout: Duration::from_secs(60),
    }
}

/// `s3ep apply`: execute with its settle.
async fn apply_and_settle(cloud: &MemoryCloud, d: &Desired) -> Report {
    let opts = ExecOptions {
        settle: Some(settle_for(d)),
        ..ExecOptions::default()
    };
    run(cloud, d, Mode::Apply, &opts).await
}

#[tokio::test(start_paused = true)]
async fn a_pending_peering_the_tags_do_not_list_yet_is_gone_after_two_reapplies() {
    for lag in [1, 2, 3, 4] {
        let cloud = MemoryCloud::new();
        let d = lab();
        // A run that ends with its peering pending acceptance (as one killed
        // after CreateVpcPeeringConnection), its peering not yet listed by
        // the tag filter when the re-apply reads state.
        cloud.set_tag_lag(lag);
        cloud.fail_next("AcceptVpcPeeringConnection", "UnauthorizedOperation", 1);
        // No settle: a killed run does not wait for the tags.
        let first = run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await;
        assert_eq!(first.failed.len(), 1, "{:?}", first.failed);
        for attempt in 1..=2 {
            let r = apply_and_settle(&cloud, &d).await;
            eprintln!("lag {lag}, re-apply {attempt}: {:?}", r.failed);
        }
        assert!(plan(&cloud, &d, Mode::Apply).await.is_empty(), "lag {lag}");
        assert_one_of_each(&cloud);
    }
}

/// One VPC with an S3 gateway endpoint and an interface endpoint whose
/// private DNS is `dns` (the gateway is left out when `gateway` is false).
/// The interface endpoint's name sorts before the gateway's, so address
/// order alone would put it first.
fn inbound_plan(dns: &str, gateway: bool) -> Desired {
    let mut y = format!(
        "version: 1
name: dns
vpcs:
  hub:
    region: us-east-1
    cidr: 10.40.0.0/16
    subnets:
      ep-a: {{az: us-east-1a, cidr: 10.40.1.0/24}}
    route_tables:
      private: {{subnets: [ep-a]}}
endpoints:
  aa-inbound:
    vpc: hub
    type: interface
    subnets: [ep-a]
    private_dns: {dns}
    policy: {{allow_buckets: [b-1]}}
"
    );
    if gateway {
        y.push_str(
            "  zz-gateway:
    vpc: hub
    type: gateway
    route_tables: [private]
    policy: {allow_buckets: [b-1]}
",
        );
    }
    s3ep::plan::load_str(&y, "dns.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether step `a` waits for step `b` because of inbound-only private DNS.
fn waits_for_gateway(c: &Changes, a: &str, b: &str) -> bool {
    use s3ep::exec::graph::{build, Why};
    let nodes = build(c);
    let labels: Vec<&String> = nodes.iter().map(|n| &n.label).collect();
    let find = |l: &str| {
        nodes
            .iter()
            .position(|n| n.label == l)
            .unwrap_or_else(|| panic!("no step {l}: {labels:?}"))
    };
    let (ia, ib) = (find(a), find(b));
    nodes[ia]
        .deps
        .iter()
        .zip(&nodes[ia].why)
        .any(|(d, w)| *d == ib && *w == Why::InboundOnlyGateway)
}

/// The live private DNS mode of `endpoint.<name>`.
async fn live_dns(cloud: &MemoryCloud, d: &Desired, name: &str) -> Option<s3ep::model::PrivateDns> {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    live.endpoints
        .iter()
        .find(|e| e.tags.get("s3ep:key").map(String::as_str) == Some(&format!("endpoint.{name}")))
        .map(|e| e.private_dns_mode())
}

/// In one apply the gateway endpoint is created (and available) before the
/// inbound-only interface endpoint; on destroy the interface endpoint goes
/// first. The in-memory EC2 refuses both the other way round (like EC2),
/// so the runs succeeding is the proof; the graph names the reason.
#[tokio::test(start_paused = true)]
async fn inbound_only_is_created_after_its_gateway_and_deleted_before_it() {
    let cloud = MemoryCloud::new();
    cloud.set_endpoint_pending_polls(2);
    cloud.set_endpoint_deleting_polls(2);
    let d = inbound_plan("inbound-only", true);
    let c = plan(&cloud, &d, Mode::Apply).await;
    assert!(waits_for_gateway(
        &c,
        "create endpoint.aa-inbound",
        "create endpoint.zz-gateway"
    ));
    let report = execute(&cloud, &c, &Silent, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
    assert_eq!(
        live_dns(&cloud, &d, "aa-inbound").await,
        Some(s3ep::model::PrivateDns::InboundOnly)
    );

    let c = plan(&cloud, &d, Mode::Destroy).await;
    assert!(waits_for_gateway(
        &c,
        "delete endpoint.zz-gateway",
        "delete endpoint.aa-inbound"
    ));
    let report = execute(&cloud, &c, &Silent, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(plan(&cloud, &d, Mode::Destroy).await.is_empty());
}

/// Without the ordering EC2 would refuse: creating the inbound-only
/// interface endpoint with no gateway fails in the in-memory EC2 (so the
/// test above cannot pass by accident).
#[tokio::test(start_paused = true)]
async fn the_memory_cloud_refuses_inbound_only_without_a_gateway() {
    use s3ep::cloud::{Cloud, EndpointCreate};
    let cloud = MemoryCloud::new();
    let vpc = cloud.oob_create_vpc("us-east-1", "10.0.0.0/16".parse().unwrap(), &Default::default());
    let subnet = cloud
        .oob_create_subnet(
            "us-east-1",
            &vpc,
            "us-east-1a",
            "10.0.1.0/24".parse().unwrap(),
            &Default::default(),
        )
        .unwrap();
    let spec = |t, dns| EndpointCreate {
        vpc_id: vpc.clone(),
        service: "com.amazonaws.us-east-1.s3".into(),
        endpoint_type: t,
        route_table_ids: vec![],
        subnet_ids: if t == s3ep::model::EndpointType::Interface {
            vec![subnet.clone()]
        } else {
            vec![]
        },
        security_group_ids: vec![],
        private_dns: dns,
        service_region: None,
        ip_address_type: None,
        dns_record_ip_type: None,
        policy: None,
        tags: Default::default(),
        client_token: None,
    };
    use s3ep::model::{EndpointType, PrivateDns};
    let e = cloud
        .create_endpoint(
            "us-east-1",
            &spec(EndpointType::Interface, Some(PrivateDns::InboundOnly)),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("must have a Gateway endpoint"), "{e}");
    let gw = cloud
        .create_endpoint("us-east-1", &spec(EndpointType::Gateway, None))
        .await
        .unwrap();
    let ifc = cloud
        .create_endpoint(
            "us-east-1",
            &spec(EndpointType::Interface, Some(PrivateDns::InboundOnly)),
        )
        .await
        .unwrap();
    let e = cloud.delete_endpoint("us-east-1", &gw.id).await.unwrap_err();
    assert!(e.message.contains(&ifc.id), "{e}");
}

/// The gateway leaves the plan while the interface endpoint switches from
/// inbound-only to true: the switch runs first (in the delete phase), then
/// the gateway is deleted, in one apply.
#[tokio::test(start_paused = true)]
async fn a_gateway_leaving_the_plan_waits_for_the_switch_off_inbound_only() {
    let cloud = MemoryCloud::new();
    cloud.set_endpoint_deleting_polls(2);
    let before = inbound_plan("inbound-only", true);
    assert!(run(&cloud, &before, Mode::Apply, &ExecOptions::default())
        .await
        .ok());
    let after = inbound_plan("true", false);
    let c = plan(&cloud, &after, Mode::Apply).await;
    assert!(waits_for_gateway(
        &c,
        "delete endpoint.zz-gateway",
        "update endpoint.aa-inbound"
    ));
    let report = execute(&cloud, &c, &Silent, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(plan(&cloud, &after, Mode::Apply).await.is_empty());
    assert_eq!(
        live_dns(&cloud, &after, "aa-inbound").await,
        Some(s3ep::model::PrivateDns::On)
    );
}

/// A gateway added in the same apply that switches an interface endpoint
/// to inbound-only: the gateway is available first.
#[tokio::test(start_paused = true)]
async fn switching_to_inbound_only_waits_for_a_new_gateway() {
    let cloud = MemoryCloud::new();
    cloud.set_endpoint_pending_polls(2);
    let before = inbound_plan("false", false);
    assert!(run(&cloud, &before, Mode::Apply, &ExecOptions::default())
        .await
        .ok());
    let after = inbound_plan("inbound-only", true);
    let c = plan(&cloud, &after, Mode::Apply).await;
    assert!(waits_for_gateway(
        &c,
        "update endpoint.aa-inbound",
        "create endpoint.zz-gateway"
    ));
    let report = execute(&cloud, &c, &Silent, &ExecOptions::default()).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(plan(&cloud, &after, Mode::Apply).await.is_empty());
    assert_eq!(
        live_dns(&cloud, &after, "aa-inbound").await,
        Some(s3ep::model::PrivateDns::InboundOnly)
    );
}

/// `client_groups`: the rule to the endpoint's group is authorized after
/// that group is created (it uses its id), and on removal it is revoked
/// before the group is deleted even when the two changes are scoped to
/// different VPCs (a client group in a peered VPC): EC2 refuses to delete a
/// group another group's rule references. Hand-built changes, so that only
/// the explicit order can put them in sequence.
#[tokio::test(start_paused = true)]
async fn egress_rule_goes_before_the_group_it_references() {
    use s3ep::diff::{Action, Change, IdRef, Op, Step};
    use s3ep::exec::graph::{build, Why};
    use s3ep::model::Address;
    let change = |address: &str, action: Action, scope: &str, step: Step| Change {
        address: Address(address.to_string()),
        action,
        reason: String::new(),
        region: "us-east-1".into(),
        id: None,
        attrs: Vec::new(),
        steps: vec![step],
        scope: vec![scope.to_string()],
    };
    let changes = Changes {
        changes: vec![
            change(
                "egress.e.sg-0000000000000000c",
                Action::Delete,
                "client-vpc",
                Step::delete(
                    s3ep::diff::rank::EGRESS,
                    Op::RevokeEgress {
                        region: "us-east-1".into(),
                        group: "sg-0000000000000000c".into(),
                        rule_id: "sgr-0000000000000000a".into(),
                        peer: "sg-0000000000000000e".into(),
                    },
                ),
            ),
            change(
                "security_group.e",
                Action::Delete,
                "endpoint-vpc",
                Step::delete(
                    s3ep::diff::rank::SECURITY_GROUP,
                    Op::DeleteSecurityGroup {
                        region: "us-east-1".into(),
                        id: "sg-0000000000000000e".into(),
                    },
                ),
            ),
            change(
                "security_group.f",
                Action::Create,
                "endpoint-vpc",
                Step::create(
                    s3ep::diff::rank::SECURITY_GROUP,
                    Op::CreateSecurityGroup {
                        region: "us-east-1".into(),
                        vpc: IdRef::Id("vpc-0000000000000000e".into()),
                        name: "f".into(),
                        description: "f".into(),
                        tags: Default::default(),
                    },
                ),
            ),
            change(
                "egress.f.sg-0000000000000000c",
                Action::Create,
                "client-vpc",
                Step::create(
                    s3ep::diff::rank::EGRESS,
                    Op::AuthorizeEgress {
                        region: "us-east-1".into(),
                        group: "sg-0000000000000000c".into(),
                        peer: IdRef::Addr(Address::security_group("f")),
                        tags: Default::default(),
                    },
                ),
            ),
        ],
        notes: Vec::new(),
    };
    let nodes = build(&changes);
    let find = |label: &str| nodes.iter().position(|n| n.label == label).unwrap();
    let delete_sg = &nodes[find("delete security_group.e")];
    let revoke = find("delete egress.e.sg-0000000000000000c");
    let at = delete_sg
        .deps
        .iter()
        .position(|d| *d == revoke)
        .expect("waits for the revoke");
    assert_eq!(delete_sg.why[at], Why::DeleteInsideOut);
    let authorize = &nodes[find("create egress.f.sg-0000000000000000c")];
    let create_sg = find("create security_group.f");
    let at = authorize
        .deps
        .iter()
        .position(|d| *d == create_sg)
        .expect("waits for the group");
    assert_eq!(authorize.why[at], Why::UsesId);
}

/// `apply`'s settle runs alongside the walk: a kind's tag-filtered Describe
/// goes out in each region once that kind's creates there have ended, not
/// after the last step of the run, and one Describe per kind and region
/// does when the tags list everything at once.
#[tokio::test(start_paused = true)]
async fn the_settle_of_a_kind_starts_when_its_creates_have_ended() {
    let cloud = MemoryCloud::new();
    cloud.set_latency(Duration::from_millis(50));
    cloud.set_peering_active_polls(2);
    let d = lab();
    let c = plan(&cloud, &d, Mode::Apply).await;
    cloud.reset_calls();
    let opts = ExecOptions {
        settle: Some(settle_for(&d)),
        ..ExecOptions::default()
    };
    let report = execute(&cloud, &c, &Silent, &opts).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(report.unlisted.is_empty(), "{:?}", report.unlisted);
    let calls = cloud.calls();
    // Nothing else in a lab apply lists VPCs, subnets or route tables.
    for op in ["DescribeVpcs", "DescribeSubnets", "DescribeRouteTables"] {
        assert_eq!(cloud.call_count(op), 2, "{op}: one per region: {calls:?}");
        assert!(
            last(&calls, op) < last(&calls, "CreateRoute"),
            "{op} waited for the end of the run: {calls:?}"
        );
    }
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());
    // Without a settle, execute lists nothing.
    let cloud = MemoryCloud::new();
    let c = plan(&cloud, &d, Mode::Apply).await;
    cloud.reset_calls();
    assert!(execute(&cloud, &c, &Silent, &ExecOptions::default()).await.ok());
    assert_eq!(cloud.call_count("DescribeVpcs"), 0);
}

/// Tag filters that lag keep a kind's settle polling (with backoff) until
/// they list what the run made; a lag longer than the settle's timeout
/// leaves those resources in `unlisted` (apply's warning), and the run
/// still succeeds.
#[tokio::test(start_paused = true)]
async fn a_settle_polls_lagging_tags_and_reports_what_stays_unlisted() {
    let d = lab();
    let cloud = MemoryCloud::new();
    cloud.set_tag_lag(3);
    let opts = ExecOptions {
        settle: Some(settle_for(&d)),
        ..ExecOptions::default()
    };
    let report = run(&cloud, &d, Mode::Apply, &opts).await;
    assert!(report.ok() && report.unlisted.is_empty(), "{:?}", report.unlisted);
    assert!(cloud.call_count("DescribeVpcs") >= 2 * 4, "polled past the lag");
    assert!(plan(&cloud, &d, Mode::Apply).await.is_empty());

    let cloud = MemoryCloud::new();
    cloud.set_tag_lag(1_000_000);
    let opts = ExecOptions {
        settle: Some(Settle {
            timeout: Duration::from_secs(5),
            ..settle_for(&d)
        }),
        ..ExecOptions::default()
    };
    let start = tokio::time::Instant::now();
    let report = run(&cloud, &d, Mode::Apply, &opts).await;
    assert!(report.ok(), "{:?}", report.failed);
    assert!(start.elapsed() < Duration::from_secs(15), "{:?}", start.elapsed());
    let (unlisted, created) = unlisted_and_created(&report);
    assert_eq!(unlisted, created);
}

/// Ctrl-C while the endpoints wait for `available` and the tag filters lag:
/// the settles in progress stop with the run (no 60 s wait), and everything
/// the run created is `unlisted`, for apply's short settle after the
/// interrupt.
#[tokio::test(start_paused = true)]
async fn an_interrupted_run_stops_its_settles_and_reports_them_unlisted() {
    let cloud = MemoryCloud::new();
    cloud.set_latency(Duration::from_millis(100));
    cloud.set_endpoint_pending_polls(1_000_000);
    cloud.set_tag_lag(1_000_000);
    let d = lab();
    let c = plan(&cloud, &d, Mode::Apply).await;
    let opts = ExecOptions {
        settle: Some(settle_for(&d)),
        ..ExecOptions::default()
    };
    let stop = opts.policy.stop.clone();
    let start = tokio::time::Instant::now();
    let exec = execute(&cloud, &c, &Silent, &opts);
    let interrupt = async {
        tokio::time::sleep(Duration::from_secs(20)).await;
        stop.fire();
    };
    let (report, ()) = tokio::join!(exec, interrupt);
    assert!(report.stopped);
    assert!(start.elapsed() < Duration::from_secs(22), "{:?}", start.elapsed());
    let (unlisted, created) = unlisted_and_created(&report);
    assert!(
        created.contains(&"endpoint.virginia-s3".to_string()),
        "{created:?}"
    );
    assert_eq!(unlisted, created);
}

/// A report's `unlisted` addresses and the addresses it created (routes
/// have no tag-filtered read, so no settle), each sorted.
fn unlisted_and_created(report: &Report) -> (Vec<String>, Vec<String>) {
    let mut unlisted: Vec<String> = report.unlisted.iter().map(|a| a.to_string()).collect();
    unlisted.sort();
    let mut created: Vec<String> = report
        .created
        .keys()
        .map(|a| a.to_string())
        .filter(|a| !a.starts_with("route."))
        .collect();
    created.sort();
    (unlisted, created)
}
