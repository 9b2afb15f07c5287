//! The built binary for `graph`, `policy lint` and `policy bucket` where no
//! EC2 is needed: `--offline`, files, and arguments refused before any call.
//! "No AWS call" is proven with an endpoint URL where nothing listens: the
//! same command without `--offline` fails on it.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{assert_exit, repo_root, s3ep, stderr, stdout};

fn lab() -> String {
    repo_root()
        .join("plans/cross-region-lab.yaml")
        .display()
        .to_string()
}

/// A loopback URL with nothing listening (the port was free a moment ago).
fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p: PathBuf = dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

#[test]
fn graph_offline_makes_no_call() {
    let url = dead_url();
    let t = Instant::now();
    let out = s3ep(&[
        "--endpoint-url",
        &url,
        "--max-attempts",
        "1",
        "graph",
        &lab(),
        "--offline",
    ]);
    assert_exit(&out, 0, "graph --offline");
    assert!(t.elapsed() < Duration::from_secs(20));
    let m = stdout(&out);
    assert!(m.starts_with("flowchart LR\n"), "{m}");
    assert!(
        m.contains("subgraph region_ap_2d_northeast_2d_2 [\"region ap-northeast-2\"]"),
        "{m}"
    );
    assert!(m.contains("interface endpoint virginia-s3"), "{m}");
    assert!(m.contains("peering seoul-virginia"), "{m}");
    assert!(
        !m.contains("vpc-") && !m.contains("vpce-"),
        "no live ids offline:\n{m}"
    );
    // The same command reading live state does call, and fails on that URL.
    let live = s3ep(&["--endpoint-url", &url, "--max-attempts", "1", "graph", &lab()]);
    assert_exit(&live, 1, "graph without --offline against a dead endpoint");
}

#[test]
fn graph_dot_offline() {
    let out = s3ep(&["graph", &lab(), "--offline", "--format", "dot"]);
    assert_exit(&out, 0, "graph --format dot");
    let d = stdout(&out);
    assert!(d.starts_with("digraph \"s3ep oky-dev-lab\" {"), "{d}");
    assert!(d.contains("subgraph \"cluster_region_us_2d_east_2d_1\""), "{d}");
    assert!(d.trim_end().ends_with('}'), "{d}");
    let bad = s3ep(&["graph", &lab(), "--offline", "--format", "png"]);
    assert_exit(&bad, 1, "unknown format");
}

#[test]
fn graph_of_an_invalid_plan_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "bad.yaml", "version: 2\n");
    let out = s3ep(&["graph", &p, "--offline"]);
    assert_exit(&out, 1, "invalid plan");
    assert!(stderr(&out).contains("invalid plan"), "{}", stderr(&out));
}

#[test]
fn readme_shows_the_labs_graph() {
    let out = s3ep(&["graph", &lab(), "--offline"]);
    assert_exit(&out, 0, "graph");
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let block = format!("```mermaid\n{}```", stdout(&out));
    assert!(
        readme.contains(&block),
        "README.md does not show the current `s3ep graph plans/cross-region-lab.yaml --offline` output as a ```mermaid block"
    );
}

#[test]
fn policy_lint_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write(
        &dir,
        "clean.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",
            "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
            "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"},
                         "ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/Admin"}}}]}"#,
    );
    let out = s3ep(&["policy", "lint", &clean]);
    assert_exit(&out, 0, "clean policy");
    assert!(stdout(&out).contains("no findings"));

    let ip = write(
        &dir,
        "ip.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Office","Effect":"Allow","Principal":"*","Action":"s3:*",
            "Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#,
    );
    let out = s3ep(&["policy", "lint", &ip]);
    assert_exit(&out, 3, "aws:SourceIp");
    assert!(
        stdout(&out).contains("Statement[0] (Office) [source-ip-condition]"),
        "{}",
        stdout(&out)
    );

    let deny = write(
        &dir,
        "deny.json",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}}"#,
    );
    let out = s3ep(&["policy", "lint", &deny]);
    assert_exit(&out, 3, "deny without exemption");
    assert!(
        stdout(&out).contains("[deny-without-exemption]"),
        "{}",
        stdout(&out)
    );

    let broken = write(
        &dir,
        "broken.json",
        "{\"Version\": \"2012-10-17\", \"Statement\": [\n",
    );
    let out = s3ep(&["policy", "lint", &broken]);
    assert_exit(&out, 3, "invalid JSON");
    assert!(
        stdout(&out).contains("[invalid-json] not valid JSON at line 2"),
        "{}",
        stdout(&out)
    );

    // Errors: exit 1 with one clear line.
    let missing = dir.path().join("nope.json").display().to_string();
    let yaml_plan = lab();
    let binary = write(&dir, "bin.json", "");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x7b]).unwrap();
    let not_policy = write(&dir, "np.json", r#"{"Version":"2012-10-17"}"#);
    for (f, says) in [
        (&missing, "cannot read"),
        (&yaml_plan, "is not a policy"),
        (&binary, "not UTF-8"),
        (&not_policy, "has no Statement"),
    ] {
        let out = s3ep(&["policy", "lint", f]);
        assert_exit(&out, 1, f);
        let e = stderr(&out);
        assert!(e.starts_with("error: ") && e.contains(says), "{f}: {e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    }
}

#[test]
fn policy_bucket_refuses_bad_input_without_a_call() {
    let url = dead_url();
    for (args, says) in [
        (
            vec!["--bucket", "Not_A_Bucket"],
            "--bucket: invalid bucket name `Not_A_Bucket`",
        ),
        (vec!["--bucket", "a..b"], "two adjacent periods"),
        (
            vec!["--bucket", "oky-dev-test", "--allow-principal", "admin"],
            "invalid --allow-principal \"admin\"",
        ),
    ] {
        let mut full = vec!["--endpoint-url", &url, "--max-attempts", "1", "policy", "bucket"];
        let plan = lab();
        full.push(&plan);
        full.extend(args.iter().copied());
        let t = Instant::now();
        let out = s3ep(&full);
        assert_exit(&out, 1, says);
        let e = stderr(&out);
        assert!(e.contains(says), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
        assert!(t.elapsed() < Duration::from_secs(20));
        assert!(stdout(&out).is_empty());
    }
}
