//! Saved plans end to end (`s3ep plan PLAN --out FILE`, `s3ep apply FILE`)
//! against the emulator (strict mode by default, see scripts/test.sh): a saved
//! plan applies exactly; a stale one is refused with exit 1 before any
//! mutating call (counted by the fault proxy, which sees every request); a
//! tampered file, one from another s3ep version and foreign files are refused.

mod common;

use common::*;
use serde_json::Value;

const US: &[&str] = &["us-east-1"];

/// Mutating calls (any action but Describe*) the proxy has received.
fn mutating(proxy: &Proxy) -> i64 {
    proxy.stats()["mutating_received"].as_i64().unwrap_or(-1)
}

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON ({e}):\n{text}"))
}

fn endpoint_policy(moto: &Moto, name: &str) -> String {
    let ep = moto
        .owned(name, US)
        .into_iter()
        .find(|r| r["key"] == "endpoint.s3")
        .unwrap_or_else(|| panic!("endpoint.s3 of {name} not found"));
    let id = ep["id"].as_str().unwrap_or_default().to_string();
    moto.py(&format!(
        r#"
        e = ec2("us-east-1").describe_vpc_endpoints(VpcEndpointIds=[{id:?}])["VpcEndpoints"][0]
        print(e.get("PolicyDocument", ""))
        "#
    ))
    .trim()
    .to_string()
}

/// `plan --out` writes the file the contract describes; `apply FILE` applies
/// exactly those changes without asking (stdin is not a terminal here, where
/// a YAML plan would be refused without --yes); applying the same file again
/// is refused as stale (live state is no longer what it was computed from)
/// and sends no mutating call.
#[test]
fn saved_plan_applies_exactly_once() {
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &[]);
    let plans = Plans::new();
    let name = "e2e-saved";
    let plan = plans.shipped("gateway-only.yaml", name);
    let file = plans.path().join("gateway.s3ep-plan").display().to_string();

    let out = proxy.s3ep(&["plan", &plan, "--out", &file]);
    assert_exit(&out, 0, "plan --out");
    assert!(stdout(&out).contains("s3ep apply "), "{}", show(&out));
    assert_eq!(mutating(&proxy), 0, "plan --out made a mutating call");
    let doc = read_json(&file);
    assert_eq!(doc["format"], "s3ep-saved-plan");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["s3ep_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["plan"], name);
    assert!(doc["plan_content"]
        .as_str()
        .unwrap_or("")
        .contains(&format!("name: {name}")));
    for key in ["live_digest", "changes_digest", "integrity"] {
        assert!(
            doc[key].as_str().unwrap_or("").starts_with("sha256:"),
            "{key}: {doc:#}"
        );
    }
    let saved_addresses: Vec<String> = changes(&doc["changes"])
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap_or(""),
                c["address"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        saved_addresses,
        [
            "create vpc.main",
            "create subnet.main.app-a",
            "create route_table.main.private",
            "create endpoint.s3",
        ],
        "{doc:#}"
    );
    assert!(moto.owned(name, US).is_empty(), "plan --out created something");

    // The plan file changes after saving: apply FILE applies what was saved.
    std::fs::write(&plan, "this is not a plan any more\n").expect("overwrite plan");
    let out = proxy.s3ep(&["apply", &file]);
    assert_exit(&out, 0, "apply FILE");
    assert!(
        stdout(&out).contains("Apply complete: 4 created"),
        "{}",
        show(&out)
    );
    assert_eq!(
        moto.owned_keys(name, US),
        [
            "endpoint.s3",
            "route_table.main.private",
            "subnet.main.app-a",
            "vpc.main"
        ],
        "what apply FILE made"
    );

    // The same file again: live state changed (by that apply), so it is stale.
    proxy.reset();
    let out = proxy.s3ep(&["apply", &file]);
    assert_exit(&out, 1, "apply FILE a second time");
    let err = stderr(&out);
    assert!(err.contains("stale plan"), "{}", show(&out));
    assert!(err.contains("nothing was changed"), "{}", show(&out));
    assert_eq!(mutating(&proxy), 0, "a stale apply FILE made a mutating call");
    assert_eq!(moto.owned(name, US).len(), 4);
}

/// A change out of band between `plan --out` and `apply FILE` (here the
/// endpoint's policy, set by another tool) makes the saved plan stale: exit
/// 1, "stale plan", no mutating call, the other tool's change left as it is.
/// Planning again and applying that file converges.
#[test]
fn out_of_band_change_makes_a_saved_plan_stale() {
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &[]);
    let plans = Plans::new();
    let name = "e2e-stale";
    let plan = plans.shipped("gateway-only.yaml", name);
    assert_exit(&proxy.s3ep(&["apply", &plan, "--yes"]), 0, "apply --yes");

    // A change to save: one more bucket in the endpoint policy.
    let text = std::fs::read_to_string(&plan).expect("read plan");
    let edited = text.replace("[my-app-bucket]", "[my-app-bucket, my-other-bucket]");
    assert_ne!(text, edited);
    std::fs::write(&plan, edited).expect("write plan");
    let file = plans.path().join("policy.s3ep-plan").display().to_string();
    assert_exit(&proxy.s3ep(&["plan", &plan, "--out", &file]), 0, "plan --out");
    let saved = read_json(&file);
    assert_eq!(changes(&saved["changes"]).len(), 1, "{saved:#}");

    // Someone else edits the policy of the same endpoint.
    let foreign = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
    let ep_id = moto
        .owned(name, US)
        .into_iter()
        .find(|r| r["key"] == "endpoint.s3")
        .and_then(|r| r["id"].as_str().map(str::to_string))
        .expect("endpoint.s3");
    moto.py(&format!(
        r#"ec2("us-east-1").modify_vpc_endpoint(VpcEndpointId={ep_id:?}, PolicyDocument={foreign:?})"#
    ));
    let before = endpoint_policy(&moto, name);

    proxy.reset();
    let out = proxy.s3ep(&["apply", &file]);
    assert_exit(&out, 1, "apply FILE after an out-of-band change");
    let err = stderr(&out);
    assert!(err.contains("stale plan"), "{}", show(&out));
    assert!(
        err.contains(&format!("--out {file}")),
        "says how to plan again: {}",
        show(&out)
    );
    assert!(!err.contains("{ "), "no Debug dump: {}", show(&out));
    assert_eq!(err.trim().lines().count(), 1, "one line: {}", show(&out));
    assert_eq!(mutating(&proxy), 0, "a stale apply FILE made a mutating call");
    assert_eq!(
        endpoint_policy(&moto, name),
        before,
        "the out-of-band policy was changed"
    );

    // --dry-run with a stale file: the same refusal.
    let out = proxy.s3ep(&["apply", &file, "--dry-run"]);
    assert_exit(&out, 1, "apply FILE --dry-run, stale");

    // Plan again, apply that: converges on the plan's policy.
    assert_exit(
        &proxy.s3ep(&["plan", &plan, "--out", &file]),
        0,
        "plan --out again",
    );
    assert_exit(&proxy.s3ep(&["apply", &file]), 0, "apply the fresh FILE");
    assert!(endpoint_policy(&moto, name).contains("my-other-bucket"));
    let out = proxy.s3ep(&["plan", &plan, "--detailed-exitcode"]);
    assert_exit(&out, 0, "no changes left");
}

/// Files `apply` refuses before any AWS call, with one clear error: a saved
/// plan edited by hand, one written by another s3ep version, a damaged one,
/// JSON that is something else, a binary file, a directory, a missing file.
#[test]
fn tampered_foreign_and_other_version_files_are_refused() {
    let moto = Moto::start_default();
    let proxy = Proxy::start(&moto, &[]);
    let plans = Plans::new();
    let plan = plans.shipped("gateway-only.yaml", "e2e-tamper");
    let file = plans.path().join("p.s3ep-plan").display().to_string();
    assert_exit(&proxy.s3ep(&["plan", &plan, "--out", &file]), 0, "plan --out");
    let text = std::fs::read_to_string(&file).expect("read saved plan");
    proxy.reset();

    let write = |name: &str, body: &[u8]| -> String {
        let p = plans.path().join(name);
        std::fs::write(&p, body).expect("write");
        p.display().to_string()
    };
    // A CIDR changed in the saved plan text: the integrity digest no longer matches.
    let tampered = write(
        "tampered.json",
        text.replace("10.30.1.0/24", "10.30.9.0/24").as_bytes(),
    );
    assert_ne!(std::fs::read_to_string(&tampered).ok(), Some(text.clone()));
    let old = write(
        "old.json",
        text.replace(
            &format!("\"s3ep_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
            "\"s3ep_version\": \"0.0.1\"",
        )
        .as_bytes(),
    );
    let damaged = write("damaged.json", &text.as_bytes()[..text.len() / 2]);
    let foreign = write("foreign.json", br#"{"format": "terraform-plan", "version": 4}"#);
    let binary = write("binary.bin", &[0x7f, b'E', b'L', b'F', 0xff, 0xfe, 0, 1, 2]);
    let missing = plans.path().join("nope.yaml").display().to_string();
    let dir = plans.path().display().to_string();

    for (path, want) in [
        (&tampered, "modified or damaged"),
        (&old, "written by s3ep 0.0.1"),
        (&damaged, "damaged saved plan"),
        (&foreign, "not an s3ep saved plan"),
        (&binary, "not valid UTF-8"),
        (&missing, "cannot read plan file"),
        (&dir, "is a directory"),
    ] {
        let out = proxy.s3ep(&["apply", path, "--yes"]);
        assert_exit(&out, 1, &format!("apply {path}"));
        let err = stderr(&out);
        assert!(err.contains(want), "apply {path}: want {want:?}:\n{}", show(&out));
        assert!(
            err.trim().lines().count() <= 2,
            "apply {path}: one clear error:\n{}",
            show(&out)
        );
        assert!(!err.contains("panicked"), "{}", show(&out));
    }
    assert_eq!(proxy.stats()["total_received"], 0, "a refused file reached EC2");
    assert!(moto.owned("e2e-tamper", US).is_empty());
}
