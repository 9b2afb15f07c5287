//! `s3ep check` end to end: the binary against the emulator (strict EC2 mode
//! by default). The lab is applied, rules are broken out of band with boto3,
//! `check` exits 3 naming them, `apply` repairs what the plan owns and
//! `check` exits 0 again. A network ACL entry s3ep does not own is named
//! too (DescribeNetworkAcls through the SDK), and `check` writes nothing.

mod common;

use common::*;
use serde_json::Value;

fn check_json(moto: &Moto, plan: &str, code: i32) -> Value {
    let out = moto.s3ep(&["check", plan, "--json"]);
    assert_exit(&out, code, "check --json");
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("check --json is not JSON ({e}):\n{}", show(&out)))
}

/// The path `from` -> `to` of a check report.
fn path<'a>(doc: &'a Value, from: &str, to: &str) -> &'a Value {
    doc["paths"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["from"] == from && p["to"] == to))
        .unwrap_or_else(|| panic!("no path {from} -> {to} in {doc:#}"))
}

fn blocked_by<'a>(p: &'a Value, kind: &str) -> Vec<&'a Value> {
    p["blocked_by"]
        .as_array()
        .map(|bs| bs.iter().filter(|b| b["kind"] == kind).collect())
        .unwrap_or_default()
}

#[test]
fn check_names_what_breaks_and_apply_repairs_it() {
    let moto = Moto::start_default();
    let plans = Plans::new();
    let name = "e2e-check";
    let plan = plans.shipped("cross-region-lab.yaml", name);
    assert_exit(&moto.s3ep(&["apply", &plan, "--yes"]), 0, "apply");

    let doc = check_json(&moto, &plan, 0);
    assert_eq!(doc["format_version"], 1, "{doc:#}");
    assert_eq!(doc["plan"], name);
    assert_eq!(doc["paths"].as_array().map(Vec::len), Some(3), "{doc:#}");
    for p in doc["paths"].as_array().into_iter().flatten() {
        assert_eq!(p["ok"], true, "{doc:#}");
        assert_eq!(p["blocked_by"], serde_json::json!([]), "{doc:#}");
    }

    // Out of band: the endpoint group's rule for Seoul, and Virginia's route
    // back to Seoul through the peering.
    let ids = moto.py_json(
        r#"
        c = ec2("us-east-1")
        def by_key(items, key):
            return [x for x in items if {"Key": "s3ep:key", "Value": key} in x.get("Tags", [])][0]
        sg = by_key(c.describe_security_groups()["SecurityGroups"], "security_group.virginia-s3")["GroupId"]
        rtb = by_key(c.describe_route_tables()["RouteTables"], "route_table.virginia.private")["RouteTableId"]
        c.revoke_security_group_ingress(GroupId=sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.10.0.0/16"}]}])
        c.delete_route(RouteTableId=rtb, DestinationCidrBlock="10.10.0.0/16")
        print(json.dumps({"sg": sg, "rtb": rtb}))
        "#,
    );
    let sg = ids["sg"].as_str().unwrap_or_default();
    let rtb = ids["rtb"].as_str().unwrap_or_default();

    let doc = check_json(&moto, &plan, 3);
    let seoul = path(&doc, "vpc.seoul", "endpoint.virginia-s3");
    assert_eq!(seoul["ok"], false, "{doc:#}");
    let ingress = blocked_by(seoul, "security-group-ingress");
    assert!(
        ingress
            .iter()
            .any(|b| b["id"] == sg && b["detail"].as_str().unwrap_or("").contains("10.10.1.0/24")),
        "{doc:#}"
    );
    let route = blocked_by(seoul, "route");
    assert!(
        route
            .iter()
            .any(|b| b["id"] == rtb && b["detail"].as_str().unwrap_or("").contains("10.10.1.0/24")),
        "{doc:#}"
    );
    assert_eq!(
        path(&doc, "vpc.virginia", "endpoint.virginia-s3")["ok"],
        true,
        "{doc:#}"
    );
    assert_eq!(
        path(&doc, "route_table.seoul.private", "endpoint.seoul-s3")["ok"],
        true,
        "{doc:#}"
    );

    // Human text: the same verdicts, exit 3.
    let out = moto.s3ep(&["check", &plan]);
    assert_exit(&out, 3, "check (text)");
    let text = stdout(&out);
    assert!(text.contains("✗ vpc.seoul -> endpoint.virginia-s3"), "{text}");
    assert!(text.contains(&format!("security-group-ingress {sg}:")), "{text}");
    assert!(text.contains("✓ vpc.virginia -> endpoint.virginia-s3"), "{text}");

    // `check` wrote nothing: still broken. `apply` repairs both.
    assert_exit(&moto.s3ep(&["check", &plan]), 3, "check again");
    assert_exit(&moto.s3ep(&["apply", &plan, "--yes"]), 0, "apply repairs");
    check_json(&moto, &plan, 0);

    // A network ACL entry s3ep does not own, on the endpoint subnets' ACL.
    let acl = moto.py_json(
        r#"
        c = ec2("us-east-1")
        def by_key(items, key):
            return [x for x in items if {"Key": "s3ep:key", "Value": key} in x.get("Tags", [])][0]
        vpc = by_key(c.describe_vpcs()["Vpcs"], "vpc.virginia")["VpcId"]
        acl = c.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                               {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]["NetworkAclId"]
        c.create_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Protocol="6", RuleAction="deny",
                                   Egress=False, CidrBlock="10.10.0.0/16", PortRange={"From": 443, "To": 443})
        print(json.dumps(acl))
        "#,
    );
    let acl = acl.as_str().unwrap_or_default();
    let doc = check_json(&moto, &plan, 3);
    let seoul = path(&doc, "vpc.seoul", "endpoint.virginia-s3");
    assert!(
        blocked_by(seoul, "network-acl").iter().any(|b| b["id"] == acl
            && b["detail"]
                .as_str()
                .unwrap_or("")
                .contains("inbound rule 50 denies TCP 443")),
        "{doc:#}"
    );
    assert_eq!(
        path(&doc, "vpc.virginia", "endpoint.virginia-s3")["ok"],
        true,
        "{doc:#}"
    );
    // The plan does not own ACLs: apply does not touch it; removing it does.
    moto.py(&format!(
        r#"ec2("us-east-1").delete_network_acl_entry(NetworkAclId="{acl}", RuleNumber=50, Egress=False)"#
    ));
    check_json(&moto, &plan, 0);
}

#[test]
fn check_of_a_bad_plan_is_exit_1() {
    let moto = Moto::start_default();
    let plans = Plans::new();
    let bad = plans.write("bad.yaml", "version: 1\nname: x\nvpcs: 3\n");
    let out = moto.s3ep(&["check", &bad]);
    assert_exit(&out, 1, "check of an invalid plan");
}
