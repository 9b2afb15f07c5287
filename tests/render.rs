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

fn human(d: &Desired, c: &Changes) -> String {
    render::human::plan(&d.name, c, &warnings::for_apply(d, c))
}

#[tokio::test]
async fn lab_from_nothing() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    let c = plan(&cloud, &d, Mode::Apply).await;
    insta::assert_snapshot!("lab_create_human", human(&d, &c));
    let json = render::json::plan(&d.name, &c, &warnings::for_apply(&d, &c));
    insta::assert_json_snapshot!("lab_create_json", json);
}

#[tokio::test]
async fn lab_no_changes() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let c = plan(&cloud, &d, Mode::Apply).await;
    insta::assert_snapshot!("lab_no_changes_human", human(&d, &c));
    let json = render::json::plan(&d.name, &c, &warnings::for_apply(&d, &c));
    insta::assert_json_snapshot!("lab_no_changes_json", json);
}

#[tokio::test]
async fn lab_updates_and_replaces() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let edited = edited_lab();
    let d2 = load(&edited);
    let c = plan(&cloud, &d2, Mode::Apply).await;
    insta::assert_snapshot!("lab_update_human", human(&d2, &c));
}

#[tokio::test]
async fn lab_destroy() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    let c = plan(&cloud, &d, Mode::Destroy).await;
    insta::assert_snapshot!("lab_destroy_human", render::human::plan(&d.name, &c, &[]));
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
    let plain = render::human::plan_colored(&d2.name, &c, &warns, false);
    assert_eq!(plain, human(&d2, &c));
    assert!(!plain.contains('\x1b'));
    let coloured = render::human::plan_colored(&d2.name, &c, &warns, true);
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
