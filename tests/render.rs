//! Snapshot tests of the rendered plan (human and JSON) and of outputs, on
//! the in-memory EC2. Its ids are random like EC2's, so every snapshot goes
//! through [`Ids::redact`] first.

use std::collections::HashMap;
use std::path::Path;

use s3ep::cloud::memory::MemoryCloud;
use s3ep::diff::{diff, Changes, Mode};
use s3ep::emulator::Emulator;
use s3ep::exec::{execute, ExecOptions, Silent};
use s3ep::model::Desired;
use s3ep::render;
use s3ep::warnings;

/// Replaces each in-memory EC2 id (`vpc-` and 17 hex digits, and so on) by
/// a placeholder numbered per prefix in order of first appearance
/// (`vpc-[1]`, `vpc-[2]`, …), one numbering per test: snapshots stay stable
/// and still show which mentions are the same resource. AWS-managed
/// prefix-list ids (`pl-` and 8 digits) are fixed per region and stay.
#[derive(Default)]
struct Ids {
    seen: HashMap<String, String>,
    per_prefix: HashMap<String, usize>,
}

const ID_PREFIXES: [&str; 8] = ["vpc", "subnet", "rtbassoc", "rtb", "sgr", "sg", "vpce", "pcx"];
const ID_DIGITS: usize = 17;

impl Ids {
    fn redact(&mut self, text: &str) -> String {
        let bytes = text.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        'scan: while i < bytes.len() {
            if i == 0 || !word(bytes[i - 1]) {
                for prefix in ID_PREFIXES {
                    let start = i + prefix.len() + 1;
                    let end = start + ID_DIGITS;
                    let is_id = text[i..].starts_with(prefix)
                        && bytes.get(start - 1) == Some(&b'-')
                        && end <= bytes.len()
                        && bytes[start..end]
                            .iter()
                            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                        && !bytes.get(end).copied().is_some_and(word);
                    if is_id {
                        let id = &text[i..end];
                        let placeholder = match self.seen.get(id) {
                            Some(p) => p.clone(),
                            None => {
                                let k = self.per_prefix.entry(prefix.to_string()).or_default();
                                *k += 1;
                                let p = format!("{prefix}-[{k}]");
                                self.seen.insert(id.to_string(), p.clone());
                                p
                            }
                        };
                        out.push_str(&placeholder);
                        i = end;
                        continue 'scan;
                    }
                }
            }
            let ch = text[i..].chars().next().unwrap_or_default();
            out.push(ch);
            i += ch.len_utf8();
        }
        out
    }

    /// [`redact`](Self::redact) on every string of a JSON document.
    fn redact_json(&mut self, v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(self.redact(&s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.redact_json(x)).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, x)| (self.redact(&k), self.redact_json(x)))
                    .collect(),
            ),
            other => other,
        }
    }
}

#[test]
fn redaction_numbers_ids_per_prefix_and_leaves_the_rest() {
    let mut ids = Ids::default();
    let text = "vpc-0123456789abcdef0 rtb-00000000000000003 vpc-fedcba98765432100 \
                *.vpce-0a1b2c3d4e5f60718-abcd1234.s3 vpc-0123456789abcdef0 pl-63a5400a \
                vpc-0123456789abcdef (16) xvpc-0123456789abcdef0 vpc-0123456789abcdef01";
    assert_eq!(
        ids.redact(text),
        "vpc-[1] rtb-[1] vpc-[2] \
                *.vpce-[1]-abcd1234.s3 vpc-[1] pl-63a5400a \
                vpc-0123456789abcdef (16) xvpc-0123456789abcdef0 vpc-0123456789abcdef01"
    );
}

fn lab() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
        .expect("plans/cross-region-lab.yaml")
}

fn load(yaml: &str) -> Desired {
    s3ep::plan::load_str(yaml, "lab.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

async fn plan(cloud: &MemoryCloud, d: &Desired, mode: Mode) -> Changes {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    diff(d, &live, mode, Emulator::Off).expect("diff")
}

/// Applies the plan. Snapshots show ids only through [`Ids::redact`], so
/// neither the random ids nor the order steps ran in change them.
async fn apply(cloud: &MemoryCloud, d: &Desired) {
    let c = plan(cloud, d, Mode::Apply).await;
    assert!(execute(cloud, &c, &Silent, &ExecOptions::default()).await.ok());
}

/// The cost block as `plan`, `apply` and `destroy` show it (0 GB/month).
async fn estimate(cloud: &MemoryCloud, d: &Desired, mode: Mode) -> s3ep::cost::CostReport {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    s3ep::cost::estimate(d, &live, mode, 0)
}

async fn human(cloud: &MemoryCloud, d: &Desired, c: &Changes) -> String {
    let cost = estimate(cloud, d, Mode::Apply).await;
    render::human::plan_with(&d.name, c, &warnings::for_apply(d, c), Some(&cost), false)
}

/// `plan --json`, with its `cost` object.
async fn json(cloud: &MemoryCloud, d: &Desired, c: &Changes) -> serde_json::Value {
    let mut doc = render::json::plan(&d.name, c, &warnings::for_apply(d, c));
    doc["cost"] = estimate(cloud, d, Mode::Apply).await.json();
    doc
}

/// The lab with a policy, an ingress rule and a subnet CIDR changed: once
/// the lab is applied, a plan with every action.
fn edited_lab() -> String {
    lab()
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
        )
}

#[tokio::test]
async fn lab_from_nothing() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    let c = plan(&cloud, &d, Mode::Apply).await;
    let mut ids = Ids::default();
    insta::assert_snapshot!("lab_create_human", ids.redact(&human(&cloud, &d, &c).await));
    insta::assert_json_snapshot!("lab_create_json", ids.redact_json(json(&cloud, &d, &c).await));
}

#[tokio::test]
async fn lab_no_changes() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let c = plan(&cloud, &d, Mode::Apply).await;
    let mut ids = Ids::default();
    insta::assert_snapshot!("lab_no_changes_human", ids.redact(&human(&cloud, &d, &c).await));
    insta::assert_json_snapshot!("lab_no_changes_json", ids.redact_json(json(&cloud, &d, &c).await));
}

#[tokio::test]
async fn lab_updates_and_replaces() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let edited = edited_lab();
    let d2 = load(&edited);
    let c = plan(&cloud, &d2, Mode::Apply).await;
    insta::assert_snapshot!(
        "lab_update_human",
        Ids::default().redact(&human(&cloud, &d2, &c).await)
    );
}

#[tokio::test]
async fn lab_destroy() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let c = plan(&cloud, &d, Mode::Destroy).await;
    let cost = estimate(&cloud, &d, Mode::Destroy).await;
    // `destroy` shows warnings too: the gateway endpoint's routes go.
    let live = s3ep::state::read(&cloud, &d).await.unwrap();
    let warns = warnings::for_run(&d, &live, &c, Mode::Destroy);
    assert!(
        warns.iter().any(|w| w.code == warnings::GATEWAY_ROUTE_SWITCH),
        "{warns:?}"
    );
    let text = render::human::plan_with(&d.name, &c, &warns, Some(&cost), false);
    insta::assert_snapshot!("lab_destroy_human", Ids::default().redact(&text));
}

#[tokio::test]
async fn lab_outputs() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let live = s3ep::state::read(&cloud, &d).await.unwrap();
    let cidrs = render::outputs::prefix_cidrs(&cloud, &d, &live).await.unwrap();
    let out = render::outputs::collect_with(&d, &live, &cidrs);
    let mut ids = Ids::default();
    insta::assert_snapshot!(
        "lab_outputs_human",
        ids.redact(&render::outputs::human(&d.name, &out))
    );
    insta::assert_json_snapshot!(
        "lab_outputs_json",
        ids.redact_json(render::outputs::json(&d.name, &out))
    );
}

/// `--color always`: each change's heading is coloured by its action
/// (create green, delete red, update yellow, replace magenta) and nothing
/// else changes; without colour there is no escape code at all.
#[tokio::test]
async fn colour_marks_each_action() {
    use s3ep::diff::Action;
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let d2 = load(&edited_lab());
    let c = plan(&cloud, &d2, Mode::Apply).await;
    let n = c.summary();
    assert!(
        n.create > 0 && n.update > 0 && n.replace > 0 && n.delete > 0,
        "{n:?}"
    );
    let warns = warnings::for_apply(&d2, &c);
    let plain = render::human::plan_with(&d2.name, &c, &warns, None, false);
    assert_eq!(plain, render::human::plan(&d2.name, &c, &warns));
    assert!(!plain.contains('\x1b'));
    let coloured = render::human::plan_with(&d2.name, &c, &warns, None, true);
    for (action, code) in [
        (Action::Create, "\x1b[32m"),
        (Action::Delete, "\x1b[31m"),
        (Action::Update, "\x1b[33m"),
        (Action::Replace, "\x1b[35m"),
    ] {
        for change in c.changes.iter().filter(|x| x.action == action) {
            let head = format!("  {code}{} {}", action.symbol(), change.address);
            assert!(
                coloured
                    .lines()
                    .any(|l| l.starts_with(&head) && l.ends_with("\x1b[0m")),
                "{action:?} {}: no line starts with {head:?}:\n{coloured}",
                change.address
            );
        }
    }
    let escapes = coloured.matches("\x1b[0m").count();
    assert_eq!(escapes, c.changes.len(), "one coloured line per change");
    assert_eq!(strip_ansi(&coloured), plain);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        if ch == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// `--color auto` colours only a terminal without NO_COLOR (an empty
/// NO_COLOR counts as unset); `always` and `never` ignore both.
#[test]
fn colour_choice() {
    use s3ep::render::color::ColorChoice::{Always, Auto, Never};
    use std::ffi::OsStr;
    let set = Some(OsStr::new("1"));
    let empty = Some(OsStr::new(""));
    assert!(Auto.decide(None, true));
    assert!(Auto.decide(empty, true));
    assert!(!Auto.decide(set, true));
    assert!(!Auto.decide(None, false));
    assert!(Always.decide(set, false));
    assert!(!Never.decide(None, true));
}

/// The `quota` warning in the preview (61 rules in one group), and `outputs`
/// of an interface endpoint with private DNS on: its mode and the note that
/// the plain regional S3 name now resolves to the endpoint.
#[tokio::test]
async fn quota_warning_and_private_dns_outputs() {
    let cloud = MemoryCloud::new();
    let cidrs: Vec<String> = (0..61).map(|i| format!("10.99.{i}.0/24")).collect();
    let text = lab().replace("private_dns: false", "private_dns: true").replace(
        "allow_https_from: [seoul, virginia]",
        &format!("allow_https_from: [{}]", cidrs.join(", ")),
    );
    assert!(
        text.contains("private_dns: true") && text.contains("10.99.60.0/24"),
        "lab plan changed shape"
    );
    let d = load(&text);
    let c = plan(&cloud, &d, Mode::Apply).await;
    let live = s3ep::state::read(&cloud, &d).await.unwrap();
    let warns: Vec<_> = warnings::for_run(&d, &live, &c, Mode::Apply)
        .into_iter()
        .filter(|w| w.code == warnings::QUOTA)
        .collect();
    let shown = render::human::plan_with(&d.name, &Changes::default(), &warns, None, false);
    insta::assert_snapshot!("quota_warning_human", shown);
    // (EC2, and the in-memory cloud, refuse the 61st rule: outputs of the
    // plan with its usual rules.)
    let d = load(&lab().replace("private_dns: false", "private_dns: true"));
    apply(&cloud, &d).await;
    let live = s3ep::state::read(&cloud, &d).await.unwrap();
    let out: Vec<_> = render::outputs::collect(&d, &live)
        .into_iter()
        .filter(|o| o.endpoint_type == "interface")
        .collect();
    let mut ids = Ids::default();
    insta::assert_snapshot!(
        "private_dns_outputs_human",
        ids.redact(&render::outputs::human(&d.name, &out))
    );
    insta::assert_json_snapshot!(
        "private_dns_outputs_json",
        ids.redact_json(render::outputs::json(&d.name, &out))
    );
}

fn inbound_only_plan() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/private-dns-inbound-only.yaml"))
        .expect("plans/private-dns-inbound-only.yaml")
}

/// `outputs` of an interface endpoint with `private_dns: inbound-only`
/// (next to the plan's gateway endpoint): the mode as written, and the note
/// that the regional name resolves to it only through a Route 53 inbound
/// resolver. Then the switch to `true`: the preview warns
/// `private-dns-switch` (from inbound-only) and `interface-takes-s3-traffic`
/// (the gateway endpoint of the same VPC loses the in-VPC traffic).
#[tokio::test]
async fn inbound_only_outputs_and_private_dns_switch_warnings() {
    let cloud = MemoryCloud::new();
    let text = inbound_only_plan();
    assert!(text.contains("private_dns: inbound-only"), "plan changed shape");
    let d = load(&text);
    apply(&cloud, &d).await;
    let live = s3ep::state::read(&cloud, &d).await.unwrap();
    let out: Vec<_> = render::outputs::collect(&d, &live)
        .into_iter()
        .filter(|o| o.endpoint_type == "interface")
        .collect();
    assert_eq!(out[0].private_dns.as_deref(), Some("inbound-only"));
    let mut ids = Ids::default();
    insta::assert_snapshot!(
        "inbound_only_outputs_human",
        ids.redact(&render::outputs::human(&d.name, &out))
    );
    insta::assert_json_snapshot!(
        "inbound_only_outputs_json",
        ids.redact_json(render::outputs::json(&d.name, &out))
    );

    let d2 = load(&text.replace("private_dns: inbound-only", "private_dns: true"));
    let c = plan(&cloud, &d2, Mode::Apply).await;
    let warns = warnings::for_run(&d2, &live, &c, Mode::Apply);
    for code in [warnings::PRIVATE_DNS_SWITCH, warnings::INTERFACE_TAKES_S3_TRAFFIC] {
        assert!(warns.iter().any(|w| w.code == code), "{code}: {warns:?}");
    }
    let cost = estimate(&cloud, &d2, Mode::Apply).await;
    let shown = render::human::plan_with(&d2.name, &c, &warns, Some(&cost), false);
    insta::assert_snapshot!("private_dns_switch_human", Ids::default().redact(&shown));
}

/// A client group whose rules already let TCP 443 out (a new group's
/// default "all traffic to 0.0.0.0/0"): no egress rule in the preview, and
/// the warning `client-egress-exists` naming that rule.
#[tokio::test]
async fn client_egress_exists_warning() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let live = s3ep::state::read(&cloud, &d).await.unwrap();
    let vpc = live
        .vpcs
        .iter()
        .find(|v| v.tags.get(s3ep::model::TAG_KEY).map(String::as_str) == Some("vpc.virginia"))
        .map(|v| v.id.clone())
        .unwrap();
    let client = cloud
        .oob_create_security_group("us-east-1", &vpc, "clients", &Default::default())
        .unwrap();
    let d2 = load(&lab().replace(
        "allow_https_from: [seoul, virginia]",
        &format!("allow_https_from: [seoul, virginia]\n      client_groups: [{client}]"),
    ));
    let c = plan(&cloud, &d2, Mode::Apply).await;
    assert!(
        c.changes
            .iter()
            .all(|ch| !ch.address.as_str().starts_with("egress.")),
        "{c:?}"
    );
    let live = s3ep::state::read(&cloud, &d2).await.unwrap();
    let warns = warnings::for_run(&d2, &live, &c, Mode::Apply);
    assert!(
        warns.iter().any(|w| w.code == warnings::CLIENT_EGRESS_EXISTS),
        "{warns:?}"
    );
    let cost = estimate(&cloud, &d2, Mode::Apply).await;
    let shown = render::human::plan_with(&d2.name, &c, &warns, Some(&cost), false);
    insta::assert_snapshot!("client_egress_exists_human", Ids::default().redact(&shown));
}
