//! Executor tests on the in-memory EC2 with paused tokio time: dependency
//! order, retry schedules for NotFound and conflicts, waits and their
//! timeouts, and a failed step stopping the run.

use std::path::Path;
use std::time::Duration;

use s3ep::cloud::memory::MemoryCloud;
use s3ep::diff::{diff, Changes, Mode};
use s3ep::exec::{execute, ExecOptions, Failure, Report, RetryPolicy, Silent};
use s3ep::model::Desired;

fn lab() -> Desired {
    let y =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
            .unwrap();
    s3ep::plan::load_str(&y, "lab.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

async fn plan(cloud: &MemoryCloud, d: &Desired, mode: Mode) -> Changes {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    diff(d, &live, mode).expect("diff")
}

async fn run(cloud: &MemoryCloud, d: &Desired, mode: Mode, opts: &ExecOptions) -> Report {
    let c = plan(cloud, d, mode).await;
    execute(cloud, &c, &Silent, opts).await
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
    let order = [
        "CreateVpc",
        "CreateSubnet",
        "CreateRouteTable",
        "CreateSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "CreateVpcEndpoint",
        "CreateVpcPeeringConnection",
        "CreateRoute",
    ];
    assert_order(&calls, &order);
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
        assert!(f.message.contains("pending"), "gives the last state: {}", f.message);
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

/// Regression: only a NotFound for the resource being deleted means "gone";
/// DeleteVpcEndpoints answering InvalidRoute.NotFound is a failure, reported
/// at once rather than after a wait for a deletion that never happens.
#[tokio::test(start_paused = true)]
async fn a_not_found_about_something_else_fails_the_delete() {
    let cloud = MemoryCloud::new();
    let d = lab();
    assert!(run(&cloud, &d, Mode::Apply, &ExecOptions::default()).await.ok());
    cloud.fail_next("DeleteVpcEndpoints", "InvalidRoute.NotFound", 1);
    let start = tokio::time::Instant::now();
    let report = run(&cloud, &d, Mode::Destroy, &ExecOptions::default()).await;
    let f = one_failure(&report, "fails");
    assert!(f.message.contains("InvalidRoute.NotFound"), "{}", f.message);
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}
