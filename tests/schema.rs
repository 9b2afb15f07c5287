//! `s3ep schema`: the checked-in docs/plan.schema.json is what the binary
//! prints, it is a valid draft 2020-12 schema, every plan the loader accepts
//! (plans/, tests/fixtures/, ../shared/plans, and plans here that use every
//! key) passes it, and plans with shape errors fail it as they fail the
//! loader. The validator is boon, an independent JSON Schema implementation.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The schema compiled by boon (which checks it against the 2020-12
/// metaschema first).
struct Checker {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Checker {
    fn new() -> Self {
        let schema = s3ep::plan::json_schema();
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        let mut compiler = boon::Compiler::new();
        let mut schemas = boon::Schemas::new();
        compiler
            .add_resource("urn:s3ep:plan.schema.json", schema)
            .expect("add schema");
        let index = compiler
            .compile("urn:s3ep:plan.schema.json", &mut schemas)
            .unwrap_or_else(|e| panic!("the schema does not compile as draft 2020-12: {e:#}"));
        Checker { schemas, index }
    }

    fn check(&self, plan: &Value) -> Result<(), String> {
        self.schemas
            .validate(plan, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

/// A plan's YAML as JSON (the document an editor's YAML language server
/// checks against the schema).
fn yaml_to_json(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|e| panic!("YAML: {e}"))
}

#[test]
fn checked_in_schema_is_current() {
    let path = root().join("docs/plan.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == s3ep::plan::json_schema_text(),
        "docs/plan.schema.json is stale (or missing): it must be exactly what `s3ep schema` prints. \
         Regenerate it with:\n\n    cargo run -q -- schema > docs/plan.schema.json\n"
    );
}

#[test]
fn binary_prints_the_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3ep"))
        .arg("schema")
        .output()
        .expect("run s3ep");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        s3ep::plan::json_schema_text()
    );
    // Never coloured, whatever --color says: it is JSON.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3ep"))
        .args(["--color", "always", "schema"])
        .output()
        .expect("run s3ep");
    assert!(!out.stdout.contains(&0x1b));
}

/// Every `.yaml` file under `dir` that the loader accepts as a plan.
fn plans_in(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            plans_in(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(&p).expect("read");
            // Policy files (tests/fixtures/plan/policy.yaml) are not plans.
            if text.lines().any(|l| l.starts_with("version: 1")) {
                out.push((p, text));
            }
        }
    }
}

#[test]
fn every_plan_file_passes_the_schema() {
    let checker = Checker::new();
    let mut plans = Vec::new();
    plans_in(&root().join("plans"), &mut plans);
    plans_in(&root().join("tests/fixtures"), &mut plans);
    // The contract's plans, where shared/ is checked out beside the project.
    plans_in(&root().join("../shared/plans"), &mut plans);
    assert!(plans.len() >= 4, "too few plans found: {plans:?}");
    for (path, text) in &plans {
        s3ep::plan::load_file(path)
            .unwrap_or_else(|e| panic!("{}: the loader refuses it: {e}", path.display()));
        if let Err(e) = checker.check(&yaml_to_json(text)) {
            panic!("{} is a valid plan but fails the schema:\n{e}", path.display());
        }
    }
}

/// Plans that together use every key of the format, each accepted by the
/// loader and by the schema.
const VALID: &[&str] = &[
    // Created VPC, subnets, tables; interface endpoint with every key.
    r#"
version: 1
name: every-key
tags: { env: dev, cost-center: 1234, billable: true }
vpcs:
  a:
    region: eu-west-1
    cidr: 10.0.0.0/16
    subnets:
      s1: { az: eu-west-1a, cidr: 10.0.1.0/24 }
      s2: { az: eu-west-1b, cidr: 10.0.2.0/28 }
    route_tables:
      rt: { subnets: [s1, s2] }
      empty: { subnets: [] }
  b:
    region: us-east-1
    id: vpc-0123456789abcdef0
    subnets:
      adopted: { id: subnet-0123456789abcdef0 }
    route_tables:
      main: { id: rtb-0123456789abcdef0 }
endpoints:
  gw:
    vpc: a
    type: gateway
    service: s3
    route_tables: [rt, rtb-0fedcba9876543210]
    policy: { allow_buckets: [my-bucket, logs.example-1] }
  ifc:
    vpc: b
    type: interface
    service: com.amazonaws.us-east-1.s3
    subnets: [adopted, subnet-0aaaaaaaaaaaaaaaa]
    private_dns: true
    security_group:
      allow_https_from: [a, 192.168.0.0/16, 10.9.8.7/32, sg-0123456789abcdef0]
    security_groups: [sg-0fedcba9876543210]
    policy:
      document:
        Version: "2012-10-17"
        Statement: [{ Effect: Allow, Principal: "*", Action: "s3:*", Resource: "*" }]
  ifc2:
    vpc: b
    type: interface
    subnets: [adopted]
    policy:
      document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}'
peerings:
  a-b:
    requester: a
    accepter: b
    routes:
      a: [rt]
      b: [main, rtb-0fedcba9876543210]
"#,
    // Null where the decoder takes null as empty; no optional key at all.
    r#"
version: 1
name: bare
tags:
vpcs:
  only:
    region: ap-northeast-2
    cidr: 172.16.0.0/16
    subnets:
    route_tables:
endpoints:
peerings:
"#,
];

#[test]
fn plans_using_every_key_pass_the_schema() {
    let checker = Checker::new();
    for (i, text) in VALID.iter().enumerate() {
        s3ep::plan::load_str(text, "valid.yaml", &root())
            .unwrap_or_else(|e| panic!("VALID[{i}]: the loader refuses it: {e}"));
        if let Err(e) = checker.check(&yaml_to_json(text)) {
            panic!("VALID[{i}] fails the schema:\n{e}");
        }
    }
}

const HEAD: &str = "version: 1\nname: lab\n";
const VPC: &str = "vpcs:\n  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s1: {az: us-east-1a, cidr: 10.0.1.0/24}\n    route_tables:\n      rt: {subnets: [s1]}\n";

/// Plans with an error the schema can see; each is refused by both.
fn invalid() -> Vec<(&'static str, String)> {
    let ep = |body: &str| format!("{HEAD}{VPC}endpoints:\n  e:\n{body}");
    vec![
        ("missing version", format!("name: lab\n{VPC}")),
        ("version 2", format!("version: 2\nname: lab\n{VPC}")),
        ("bad plan name", format!("version: 1\nname: Lab_1\n{VPC}")),
        ("unknown top key", format!("{HEAD}{VPC}vcps: {{}}\n")),
        ("no vpcs", HEAD.to_string()),
        ("reserved tag key", format!("{HEAD}tags: {{aws:owner: me}}\n{VPC}")),
        ("vpc with cidr and id", format!("{HEAD}vpcs:\n  a: {{region: us-east-1, cidr: 10.0.0.0/16, id: vpc-0123456789abcdef0}}\n")),
        ("vpc without cidr or id", format!("{HEAD}vpcs:\n  a: {{region: us-east-1}}\n")),
        ("vpc prefix /8", format!("{HEAD}vpcs:\n  a: {{region: us-east-1, cidr: 10.0.0.0/8}}\n")),
        ("bad vpc id", format!("{HEAD}vpcs:\n  a: {{region: us-east-1, id: vpc-XYZ}}\n")),
        ("bad region", format!("{HEAD}vpcs:\n  a: {{region: useast1, cidr: 10.0.0.0/16}}\n")),
        ("subnet mixes id and cidr", format!("{HEAD}vpcs:\n  a:\n    region: us-east-1\n    id: vpc-0123456789abcdef0\n    subnets:\n      s: {{id: subnet-0123456789abcdef0, cidr: 10.0.1.0/24}}\n")),
        ("subnet unknown key", format!("{HEAD}vpcs:\n  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {{az: us-east-1a, cidr: 10.0.1.0/24, zone: x}}\n")),
        ("endpoint type", ep("    vpc: a\n    type: gatewy\n")),
        ("endpoint without type", ep("    vpc: a\n")),
        ("gateway with subnets", ep("    vpc: a\n    type: gateway\n    subnets: [s1]\n")),
        ("gateway with private_dns", ep("    vpc: a\n    type: gateway\n    private_dns: true\n")),
        ("interface with route_tables", ep("    vpc: a\n    type: interface\n    subnets: [s1]\n    route_tables: [rt]\n")),
        ("interface without subnets", ep("    vpc: a\n    type: interface\n")),
        ("private_dns not a boolean", ep("    vpc: a\n    type: interface\n    subnets: [s1]\n    private_dns: \"yes\"\n")),
        ("security group id", ep("    vpc: a\n    type: interface\n    subnets: [s1]\n    security_groups: [sg-nothex]\n")),
        ("https source", ep("    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_https_from: [10.0.0.0/33]}\n")),
        ("two policy kinds", ep("    vpc: a\n    type: gateway\n    policy: {allow_buckets: [b-1], file: p.json}\n")),
        ("bucket name", ep("    vpc: a\n    type: gateway\n    policy: {allow_buckets: [My_Bucket]}\n")),
        ("bucket twice", ep("    vpc: a\n    type: gateway\n    policy: {allow_buckets: [b-1, b-1]}\n")),
        ("peering without accepter", format!("{HEAD}{VPC}peerings:\n  p: {{requester: a}}\n")),
    ]
}

#[test]
fn plans_with_shape_errors_fail_the_schema_and_the_loader() {
    let checker = Checker::new();
    for (name, text) in invalid() {
        assert!(
            s3ep::plan::load_str(&text, "bad.yaml", &root()).is_err(),
            "{name}: the loader accepts it:\n{text}"
        );
        assert!(
            checker.check(&yaml_to_json(&text)).is_err(),
            "{name}: the schema accepts it:\n{text}"
        );
    }
}

/// The schema states what the contract says: enums, id patterns, CIDR
/// patterns, closed objects, required keys, descriptions.
#[test]
fn schema_states_types_enums_patterns_and_required_keys() {
    let s = s3ep::plan::json_schema();
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["required"], serde_json::json!(["version", "name", "vpcs"]));
    let ep = &s["$defs"]["endpoint"];
    assert_eq!(
        ep["properties"]["type"]["enum"],
        serde_json::json!(["gateway", "interface"])
    );
    assert_eq!(ep["additionalProperties"], false);
    for (def, key, prefix) in [
        ("vpc", "id", "vpc-"),
        ("subnet", "id", "subnet-"),
        ("route_table", "id", "rtb-"),
    ] {
        let pattern = s["$defs"][def]["properties"][key]["pattern"]
            .as_str()
            .unwrap_or_default();
        assert!(pattern.contains(prefix), "{def}.{key}: {pattern}");
    }
    let sg = s["$defs"]["endpoint"]["properties"]["security_groups"]["items"]["pattern"].as_str();
    assert!(sg.is_some_and(|p| p.contains("sg-")));
    let cidr = s["$defs"]["vpc"]["properties"]["cidr"]["pattern"]
        .as_str()
        .unwrap_or_default();
    assert!(cidr.contains("(1[6-9]|2[0-8])"), "{cidr}");
    for (name, def) in s["$defs"].as_object().into_iter().flatten() {
        assert_eq!(def["additionalProperties"], false, "{name}");
        for (key, prop) in def["properties"].as_object().into_iter().flatten() {
            assert!(
                prop["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{name}.{key}"
            );
        }
    }
}
