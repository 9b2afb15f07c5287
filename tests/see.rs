//! Cost in the preview, `policy bucket` and `graph` on the in-memory EC2:
//! the figures for the lab, the live ids the policy and the graph name, and
//! what happens when an endpoint does not exist yet.

use std::path::Path;

use s3ep::cloud::memory::MemoryCloud;
use s3ep::cost::{self, Side};
use s3ep::diff::{diff, Changes, Mode};
use s3ep::exec::{execute, ExecOptions, Silent};
use s3ep::graph::{self, Format};
use s3ep::model::{Desired, Live};
use serde_json::json;

fn lab() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
        .expect("plans/cross-region-lab.yaml")
}

fn load(yaml: &str) -> Desired {
    s3ep::plan::load_str(yaml, "lab.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

async fn read(cloud: &MemoryCloud, d: &Desired) -> Live {
    s3ep::state::read(cloud, d).await.expect("read")
}

async fn plan(cloud: &MemoryCloud, d: &Desired, mode: Mode) -> Changes {
    diff(d, &read(cloud, d).await, mode, s3ep::emulator::Emulator::Off).expect("diff")
}

async fn apply(cloud: &MemoryCloud, d: &Desired) {
    let c = plan(cloud, d, Mode::Apply).await;
    let opts = ExecOptions {
        parallelism: 1,
        ..ExecOptions::default()
    };
    assert!(execute(cloud, &c, &Silent, &opts).await.ok());
}

/// The lab's interface endpoint has 2 subnets in us-east-1:
/// 2 × 730 h × $0.01 = $14.60 a month; the gateway endpoint is free.
#[tokio::test]
async fn lab_cost_from_nothing() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    let live = read(&cloud, &d).await;
    let c = cost::estimate(&d, &live, Mode::Apply, 0);
    assert_eq!(c.total(Side::Before), cost::Amount::Micro(0));
    assert_eq!(c.total(Side::After), cost::Amount::Micro(14_600_000));
    let j = c.json();
    assert_eq!(j["monthly_usd_before"], json!(0.0));
    assert_eq!(j["monthly_usd_after"], json!(14.6));
    assert_eq!(j["currency"], "USD");
    assert_eq!(j["price_date"], cost::price("us-east-1").unwrap().date);
    let text = c.human();
    assert!(
        text.contains("endpoint.virginia-s3  [us-east-1]  none -> 2 AZ: $0.00 -> $14.60 (+$14.60"),
        "{text}"
    );
    assert!(
        text.contains("endpoint.seoul-s3: gateway endpoint, free"),
        "{text}"
    );
    assert!(text.contains("Total: $0.00 -> $14.60 (+$14.60)"), "{text}");
}

/// Data at 100 GB/month: 100 × $0.01 = $1.00 more.
#[tokio::test]
async fn lab_cost_with_data() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    let live = read(&cloud, &d).await;
    let c = cost::estimate(&d, &live, Mode::Apply, 100);
    assert_eq!(c.total(Side::After), cost::Amount::Micro(15_600_000));
    assert_eq!(c.json()["monthly_usd_after"], json!(15.6));
    assert!(
        c.human()
            .contains("data processed  [us-east-1]: $0.00 -> $1.00 (+$1.00"),
        "{}",
        c.human()
    );
}

/// After apply, before and after are equal; destroy shows the drop to 0.
#[tokio::test]
async fn lab_cost_after_apply_and_destroy() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let live = read(&cloud, &d).await;
    let same = cost::estimate(&d, &live, Mode::Apply, 0);
    assert_eq!(same.total(Side::Before), cost::Amount::Micro(14_600_000));
    assert_eq!(same.total(Side::After), cost::Amount::Micro(14_600_000));
    assert!(
        same.human().contains("Total: $14.60 -> $14.60 ($0.00)"),
        "{}",
        same.human()
    );
    let gone = cost::estimate(&d, &live, Mode::Destroy, 0);
    assert_eq!(gone.total(Side::Before), cost::Amount::Micro(14_600_000));
    assert_eq!(gone.total(Side::After), cost::Amount::Micro(0));
    assert!(
        gone.human().contains("Total: $14.60 -> $0.00 (-$14.60)"),
        "{}",
        gone.human()
    );
    // The rendered destroy preview carries the cost block before the summary.
    let changes = plan(&cloud, &d, Mode::Destroy).await;
    let text = s3ep::render::human::plan_with(&d.name, &changes, &[], Some(&gone), false);
    let cost_at = text.find("Monthly cost").expect("cost block");
    let summary_at = text.find("Plan: ").expect("summary");
    assert!(cost_at < summary_at, "{text}");
}

/// One subnet fewer in the plan: the difference is one AZ-month, $7.30.
#[tokio::test]
async fn removing_a_subnet_lowers_the_cost() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let d2 = load(&lab().replace("subnets: [ep-a, ep-b]", "subnets: [ep-a]"));
    let live = read(&cloud, &d2).await;
    let c = cost::estimate(&d2, &live, Mode::Apply, 0);
    assert_eq!(c.total(Side::Before), cost::Amount::Micro(14_600_000));
    assert_eq!(c.total(Side::After), cost::Amount::Micro(7_300_000));
    assert!(
        c.human().contains("2 AZ -> 1 AZ: $14.60 -> $7.30 (-$7.30"),
        "{}",
        c.human()
    );
}

/// A region without a sourced price prints "price unknown", never a number,
/// and JSON gives null with the region named.
#[tokio::test]
async fn unknown_region_is_price_unknown() {
    let yaml = lab()
        .replace("region: us-east-1", "region: eu-west-3")
        .replace("us-east-1a", "eu-west-3a")
        .replace("us-east-1b", "eu-west-3b");
    assert!(
        cost::price("eu-west-3").is_none(),
        "the test needs a region without a price"
    );
    let cloud = MemoryCloud::new();
    let d = load(&yaml);
    let live = read(&cloud, &d).await;
    let c = cost::estimate(&d, &live, Mode::Apply, 0);
    assert!(matches!(c.total(Side::After), cost::Amount::Unknown(_)));
    let j = c.json();
    assert_eq!(j["monthly_usd_after"], serde_json::Value::Null);
    assert_eq!(j["monthly_usd_before"], json!(0.0));
    assert_eq!(j["unknown_regions"], json!(["eu-west-3"]));
    let text = c.human();
    assert!(
        text.contains("[eu-west-3]  none -> 2 AZ: $0.00 -> price unknown (price unknown; price unknown)"),
        "{text}"
    );
    assert!(
        text.contains("Total: $0.00 -> price unknown (price unknown)"),
        "{text}"
    );
    assert!(!text.contains("$14.60"), "{text}");
}

/// Seoul is priced at $0.013 per AZ-hour: one subnet is $9.49 a month.
#[tokio::test]
async fn seoul_interface_endpoint() {
    let yaml = lab().replace(
        "    type: gateway\n    route_tables: [private]\n",
        "    type: interface\n    subnets: [app-a]\n",
    );
    let cloud = MemoryCloud::new();
    let d = load(&yaml);
    let live = read(&cloud, &d).await;
    let c = cost::estimate(&d, &live, Mode::Apply, 0);
    assert_eq!(c.total(Side::After), cost::Amount::Micro(14_600_000 + 9_490_000));
    assert!(
        c.human().contains("$0.00 -> $9.49 (+$9.49; $0.013 per AZ-hour)"),
        "{}",
        c.human()
    );
}

#[tokio::test]
async fn bucket_policy_names_the_live_endpoint_ids() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let live = read(&cloud, &d).await;
    let ids: Vec<String> = s3ep::render::outputs::collect(&d, &live)
        .into_iter()
        .map(|o| o.id.expect("applied"))
        .collect();
    assert_eq!(ids.len(), 2);
    let admin = vec!["arn:aws:iam::123456789012:role/Admin".to_string()];
    let (doc, warning) = s3ep::policy::bucket_policy_for(&d, &live, "oky-dev-test", &admin).expect("policy");
    let st = &doc["Statement"][0];
    assert_eq!(st["Effect"], "Deny");
    assert_eq!(
        st["Resource"],
        json!(["arn:aws:s3:::oky-dev-test", "arn:aws:s3:::oky-dev-test/*"])
    );
    assert_eq!(st["Condition"]["StringNotEquals"]["aws:SourceVpce"], json!(ids));
    assert_eq!(st["Condition"]["ArnNotLike"]["aws:PrincipalArn"], json!(admin));
    assert!(warning.contains("lock administrators out"), "{warning}");
    // What it generates passes its own lint.
    assert_eq!(s3ep::policy::lint(&doc).unwrap(), vec![]);
    // Without a principal: no exemption, and both the warning and lint say so.
    let (bare, warning) = s3ep::policy::bucket_policy_for(&d, &live, "oky-dev-test", &[]).unwrap();
    assert!(bare["Statement"][0]["Condition"].get("ArnNotLike").is_none());
    assert!(
        warning.contains("Deny without an exemption can lock administrators"),
        "{warning}"
    );
    assert_eq!(
        s3ep::policy::lint(&bare).unwrap()[0].code,
        s3ep::policy::DENY_WITHOUT_EXEMPTION
    );
}

#[tokio::test]
async fn bucket_policy_refuses_an_endpoint_that_does_not_exist_yet() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    // A new endpoint in the plan, not applied.
    let yaml = lab().replace(
        "\npeerings:",
        "  extra-s3:\n    vpc: virginia\n    type: gateway\n    route_tables: [private]\n\npeerings:",
    );
    let d2 = load(&yaml);
    let live = read(&cloud, &d2).await;
    let e = s3ep::policy::bucket_policy_for(&d2, &live, "oky-dev-test", &[]).unwrap_err();
    assert!(e.0.contains("endpoint endpoint.extra-s3 (lab.yaml:"), "{e}");
    assert!(e.0.contains("does not exist yet"), "{e}");
    assert!(!e.0.contains("virginia-s3"), "{e}");
}

#[tokio::test]
async fn bucket_policy_checks_its_arguments() {
    let d = load(&lab());
    let live = Live::default();
    for bad in ["My_Bucket", "ab", "a..b", "192.168.5.4", "bucket-s3alias", "-abc"] {
        let e = s3ep::policy::bucket_policy_for(&d, &live, bad, &[]).unwrap_err();
        assert!(e.0.starts_with("--bucket: invalid bucket name"), "{bad}: {e}");
    }
    let e = s3ep::policy::bucket_policy_for(&d, &live, "ok-bucket", &["Admin".into()]).unwrap_err();
    assert!(e.0.contains("invalid --allow-principal \"Admin\""), "{e}");
}

#[tokio::test]
async fn graph_with_live_ids() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    let offline = graph::render(&d, None, Format::Mermaid);
    assert!(
        !offline.contains("vpce-") && !offline.contains("not created"),
        "{offline}"
    );
    // Live, nothing applied: every node says so.
    let before = graph::render(&d, Some(&read(&cloud, &d).await), Format::Mermaid);
    assert!(before.contains("not created"), "{before}");
    apply(&cloud, &d).await;
    let live = read(&cloud, &d).await;
    let text = graph::render(&d, Some(&live), Format::Mermaid);
    assert!(!text.contains("not created"), "{text}");
    for ep in &live.endpoints {
        assert!(text.contains(&ep.id), "{} missing:\n{text}", ep.id);
    }
    for p in &live.peerings {
        assert!(text.contains(&p.id), "{} missing:\n{text}", p.id);
    }
    for v in &live.vpcs {
        assert!(text.contains(&v.id), "{} missing:\n{text}", v.id);
    }
    let dot = graph::render(&d, Some(&live), Format::Dot);
    assert!(dot.starts_with("digraph"), "{dot}");
    for ep in &live.endpoints {
        assert!(dot.contains(&ep.id), "{dot}");
    }
}

#[test]
fn graph_of_the_lab_offline() {
    let d = load(&lab());
    let m = graph::render(&d, None, Format::Mermaid);
    insta::assert_snapshot!("lab_graph_mermaid", m);
    let dot = graph::render(&d, None, Format::Dot);
    insta::assert_snapshot!("lab_graph_dot", dot);
    // Regions are clusters, one per region.
    assert_eq!(m.matches("subgraph region_").count(), 2);
    assert_eq!(dot.matches("subgraph \"cluster_region_").count(), 2);
    // Balanced subgraphs and braces.
    assert_eq!(
        m.matches("subgraph ").count(),
        m.lines().filter(|l| l.trim() == "end").count()
    );
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
}
