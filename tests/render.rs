//! Snapshot tests of the rendered plan (human and JSON) and of outputs, on
//! the in-memory EC2 whose ids are deterministic.

use std::path::Path;

use s3ep::cloud::memory::MemoryCloud;
use s3ep::diff::{diff, Changes, Mode};
use s3ep::exec::{execute, ExecOptions, Silent};
use s3ep::model::Desired;
use s3ep::render;
use s3ep::warnings;

fn lab() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
        .expect("plans/cross-region-lab.yaml")
}

fn load(yaml: &str) -> Desired {
    s3ep::plan::load_str(yaml, "lab.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

async fn plan(cloud: &MemoryCloud, d: &Desired, mode: Mode) -> Changes {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    diff(d, &live, mode).expect("diff")
}

/// Applies one step at a time: the in-memory ids then follow the schedule,
/// whatever the timing, so snapshots that show ids are stable.
async fn apply(cloud: &MemoryCloud, d: &Desired) {
    let c = plan(cloud, d, Mode::Apply).await;
    let opts = ExecOptions {
        parallelism: 1,
        ..ExecOptions::default()
    };
    assert!(execute(cloud, &c, &Silent, &opts).await.ok());
}

/// The cost block as `plan`, `apply` and `destroy` show it (0 GB/month).
async fn estimate(cloud: &MemoryCloud, d: &Desired, mode: Mode) -> s3ep::cost::CostReport {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    s3ep::cost::estimate(d, &live, mode, 0)
}

async fn human(cloud: &MemoryCloud, d: &Desired, c: &Changes) -> String {
    let cost = estimate(cloud, d, Mode::Apply).await;
    render::human::plan_with_cost(&d.name, c, &warnings::for_apply(d, c), Some(&cost))
}

/// `plan --json`, with its `cost` object.
async fn json(cloud: &MemoryCloud, d: &Desired, c: &Changes) -> serde_json::Value {
    let mut doc = render::json::plan(&d.name, c, &warnings::for_apply(d, c));
    doc["cost"] = estimate(cloud, d, Mode::Apply).await.json();
    doc
}

#[tokio::test]
async fn lab_from_nothing() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    let c = plan(&cloud, &d, Mode::Apply).await;
    insta::assert_snapshot!("lab_create_human", human(&cloud, &d, &c).await);
    insta::assert_json_snapshot!("lab_create_json", json(&cloud, &d, &c).await);
}

#[tokio::test]
async fn lab_no_changes() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let c = plan(&cloud, &d, Mode::Apply).await;
    insta::assert_snapshot!("lab_no_changes_human", human(&cloud, &d, &c).await);
    insta::assert_json_snapshot!("lab_no_changes_json", json(&cloud, &d, &c).await);
}

#[tokio::test]
async fn lab_updates_and_replaces() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let edited = lab()
        .replace(
            "allow_buckets: [oky-dev-test]",
            "allow_buckets: [oky-dev-test, oky-dev-logs]",
        )
        .replace(
            "allow_https_from: [seoul, virginia]",
            "allow_https_from: [seoul, 192.168.0.0/16]",
        )
        .replace(
            "ep-b: { az: us-east-1b, cidr: 10.20.2.0/24 }",
            "ep-b: { az: us-east-1b, cidr: 10.20.3.0/24 }",
        );
    let d2 = load(&edited);
    let c = plan(&cloud, &d2, Mode::Apply).await;
    insta::assert_snapshot!("lab_update_human", human(&cloud, &d2, &c).await);
}

#[tokio::test]
async fn lab_destroy() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let c = plan(&cloud, &d, Mode::Destroy).await;
    let cost = estimate(&cloud, &d, Mode::Destroy).await;
    insta::assert_snapshot!(
        "lab_destroy_human",
        render::human::plan_with_cost(&d.name, &c, &[], Some(&cost))
    );
}

#[tokio::test]
async fn lab_outputs() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let live = s3ep::state::read(&cloud, &d).await.unwrap();
    let out = render::outputs::collect(&d, &live);
    insta::assert_snapshot!("lab_outputs_human", render::outputs::human(&d.name, &out));
    insta::assert_json_snapshot!("lab_outputs_json", render::outputs::json(&d.name, &out));
}
