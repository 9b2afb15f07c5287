//! End-to-end tests: the built `s3ep` binary against a private moto server per
//! test, checked with boto3. Run them with `scripts/test.sh` (it installs moto).
//! Written against the contract in PLAN-FORMAT.md.

mod common;

use common::*;
use serde_json::Value;

const LAB_REGIONS: &[&str] = &["ap-northeast-2", "us-east-1"];
const US: &[&str] = &["us-east-1"];

/// The 11 resources the cross-region lab creates (children excluded).
const LAB_ADDRESSES: &[&str] = &[
    "vpc.seoul",
    "vpc.virginia",
    "subnet.seoul.app-a",
    "subnet.virginia.ep-a",
    "subnet.virginia.ep-b",
    "route_table.seoul.private",
    "route_table.virginia.private",
    "endpoint.seoul-s3",
    "endpoint.virginia-s3",
    "security_group.virginia-s3",
    "peering.seoul-virginia",
];

fn plan_json(moto: &Moto, plan: &str) -> Value {
    json_ok(&moto.s3ep(&["plan", plan, "--json"]), "plan --json")
}

fn assert_no_changes(moto: &Moto, plan: &str, what: &str) {
    let out = moto.s3ep(&["plan", plan, "--detailed-exitcode"]);
    assert_exit(
        &out,
        0,
        &format!("{what}: plan --detailed-exitcode (no changes expected)"),
    );
    let doc = plan_json(moto, plan);
    assert!(
        changes(&doc).is_empty(),
        "{what}: plan --json should have no changes:\n{doc:#}"
    );
}

#[track_caller]
fn assert_keys_eq(got: &[String], want: &[&str], what: &str) {
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want.as_slice(), "{what}");
}

/// A one-VPC plan in us-east-1: subnet, route table, gateway endpoint with a
/// bucket policy, interface endpoint with its own security group.
fn small_plan(name: &str, second_octet: u8) -> String {
    format!(
        r#"
        version: 1
        name: {name}
        tags: {{ env: e2e }}
        vpcs:
          main:
            region: us-east-1
            cidr: 10.{o}.0.0/16
            subnets:
              app-a: {{ az: us-east-1a, cidr: 10.{o}.1.0/24 }}
            route_tables:
              private: {{ subnets: [app-a] }}
        endpoints:
          gw:
            vpc: main
            type: gateway
            route_tables: [private]
            policy:
              allow_buckets: [{name}-bucket]
          ifc:
            vpc: main
            type: interface
            subnets: [app-a]
            security_group:
              allow_https_from: [main]
            policy:
              allow_buckets: [{name}-bucket]
        "#,
        o = second_octet
    )
}

const SMALL_ADDRESSES: &[&str] = &[
    "vpc.main",
    "subnet.main.app-a",
    "route_table.main.private",
    "endpoint.gw",
    "endpoint.ifc",
    "security_group.ifc",
];

// ---------------------------------------------------------------------------

/// The harness itself: moto starts, boto3 talks to it, the helpers work.
#[test]
fn harness_starts_moto() {
    let moto = Moto::start_default();
    let vpcs = moto.py_json(r#"print(json.dumps(ec2("us-east-1").describe_vpcs()["Vpcs"]))"#);
    assert!(vpcs.is_array(), "describe_vpcs: {vpcs}");
    // Ownership helper: a tagged VPC is found, an untagged one is not.
    moto.py(r#"
        ec2("ap-northeast-2").create_vpc(CidrBlock="10.99.0.0/16", TagSpecifications=[{
            "ResourceType": "vpc",
            "Tags": [{"Key": "s3ep:plan", "Value": "harness"}, {"Key": "s3ep:key", "Value": "vpc.x"}]}])
        ec2("ap-northeast-2").create_vpc(CidrBlock="10.98.0.0/16")
        "#);
    assert_eq!(moto.owned_keys("harness", LAB_REGIONS), vec!["vpc.x".to_string()]);
    assert!(moto.owned("other", LAB_REGIONS).is_empty());
    // A second server is a separate world.
    let other = Moto::start_default();
    assert_ne!(other.url(), moto.url());
    assert!(other.owned("harness", LAB_REGIONS).is_empty());
}

/// 1. The cross-region lab: plan, apply, converge, drift repair, outputs, destroy.
#[test]
fn lab_end_to_end() {
    let moto = Moto::start_default();
    let plans = Plans::new();
    let name = "e2e-lab";
    let plan = plans.shipped("cross-region-lab.yaml", name);

    // Plan against an empty cloud.
    let out = moto.s3ep(&["plan", &plan, "--detailed-exitcode"]);
    assert_exit(&out, 2, "first plan --detailed-exitcode");
    let doc = plan_json(&moto, &plan);
    assert_eq!(doc["format_version"], 1, "{doc:#}");
    assert_eq!(doc["plan"], name, "{doc:#}");
    for addr in LAB_ADDRESSES {
        assert_eq!(
            action_of(&doc, addr).as_deref(),
            Some("create"),
            "first plan should create {addr}:\n{doc:#}"
        );
    }
    for c in changes(&doc) {
        assert_eq!(c["action"], "create", "only creates expected:\n{doc:#}");
        assert!(c["reason"].is_string(), "change without reason:\n{doc:#}");
    }
    let n_creates = changes(&doc).len() as u64;
    assert_eq!(doc["summary"]["create"], n_creates, "summary.create:\n{doc:#}");
    for k in ["update", "replace", "delete"] {
        assert_eq!(doc["summary"][k], 0, "summary.{k}:\n{doc:#}");
    }
    let warnings = doc["warnings"].as_array().expect("warnings array").clone();
    let has_warning =
        |code: &str, addr: &str| warnings.iter().any(|w| w["code"] == code && w["address"] == addr);
    assert!(
        has_warning("gateway-route-switch", "endpoint.seoul-s3"),
        "gateway-route-switch warning for endpoint.seoul-s3:\n{doc:#}"
    );
    let grs = warnings
        .iter()
        .find(|w| w["code"] == "gateway-route-switch")
        .unwrap();
    assert!(
        grs["message"].as_str().unwrap_or("").contains("private"),
        "gateway-route-switch should name the route table:\n{doc:#}"
    );
    assert!(
        has_warning("default-policy", "endpoint.virginia-s3"),
        "default-policy warning for endpoint.virginia-s3:\n{doc:#}"
    );
    assert!(
        !has_warning("default-policy", "endpoint.seoul-s3"),
        "seoul-s3 has a policy, no default-policy warning:\n{doc:#}"
    );
    // plan made no mutating call.
    assert!(moto.owned(name, LAB_REGIONS).is_empty(), "plan created resources");

    // Apply, then converged.
    let out = moto.s3ep(&["apply", &plan, "--yes"]);
    assert_exit(&out, 0, "apply --yes");
    assert_no_changes(&moto, &plan, "after apply");

    // Every created resource is there, once, with the tags.
    let owned = moto.owned(name, LAB_REGIONS);
    let mut keys: Vec<String> = owned
        .iter()
        .map(|r| r["key"].as_str().unwrap_or("").to_string())
        .collect();
    keys.sort();
    assert_keys_eq(&keys, LAB_ADDRESSES, "resources tagged s3ep:plan after apply");
    for r in &owned {
        let key = r["key"].as_str().unwrap();
        let tags = &r["tags"];
        assert_eq!(tags["s3ep:plan"], name, "{r}");
        assert_eq!(tags["Name"], format!("{name}-{key}"), "Name tag: {r}");
        assert_eq!(tags["env"], "dev", "plan tag env: {r}");
    }
    let region_of = |key: &str| {
        owned.iter().find(|r| r["key"] == key).unwrap()["region"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(region_of("vpc.seoul"), "ap-northeast-2");
    assert_eq!(region_of("vpc.virginia"), "us-east-1");

    // Routes, security group, peering, as seen by boto3.
    let facts = moto.py_json(&format!(
        r#"
        plan = {name:?}
        seoul = "ap-northeast-2"
        rt = find("route_table", seoul, "route_table.seoul.private", plan)
        gw = find("endpoint", seoul, "endpoint.seoul-s3", plan)
        vrt = find("route_table", "us-east-1", "route_table.virginia.private", plan)
        sg = find("security_group", "us-east-1", "security_group.virginia-s3", plan)
        ifc = find("endpoint", "us-east-1", "endpoint.virginia-s3", plan)
        pcx = find("peering", seoul, "peering.seoul-virginia", plan)
        routes = ec2(seoul).describe_route_tables(RouteTableIds=[rt["id"]])["RouteTables"][0]["Routes"]
        vroutes = ec2("us-east-1").describe_route_tables(RouteTableIds=[vrt["id"]])["RouteTables"][0]["Routes"]
        perms = ec2("us-east-1").describe_security_groups(GroupIds=[sg["id"]])["SecurityGroups"][0]["IpPermissions"]
        https_from = sorted(r["CidrIp"] for p in perms
                            if p.get("IpProtocol") == "tcp" and p.get("FromPort") == 443 and p.get("ToPort") == 443
                            for r in p.get("IpRanges", []))
        p = ec2(seoul).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx["id"]])["VpcPeeringConnections"][0]
        e = ec2("us-east-1").describe_vpc_endpoints(VpcEndpointIds=[ifc["id"]])["VpcEndpoints"][0]
        g = ec2(seoul).describe_vpc_endpoints(VpcEndpointIds=[gw["id"]])["VpcEndpoints"][0]
        print(json.dumps({{
            "pcx": pcx["id"], "gw": gw["id"], "sg": sg["id"],
            "seoul_peer_route": [r.get("VpcPeeringConnectionId") for r in routes if r.get("DestinationCidrBlock") == "10.20.0.0/16"],
            "seoul_pl_route": [r.get("GatewayId") for r in routes if r.get("DestinationPrefixListId", "").startswith("pl-")],
            "virginia_peer_route": [r.get("VpcPeeringConnectionId") for r in vroutes if r.get("DestinationCidrBlock") == "10.10.0.0/16"],
            "https_from": https_from,
            "peering_status": p["Status"]["Code"],
            "ifc_type": e["VpcEndpointType"], "ifc_subnets": len(e.get("SubnetIds", [])),
            "ifc_sgs": e.get("Groups", []),
            "gw_type": g["VpcEndpointType"], "gw_service": g["ServiceName"],
            "gw_policy": g.get("PolicyDocument", ""),
        }}))
        "#
    ));
    let pcx = facts["pcx"].as_str().unwrap();
    assert!(pcx.starts_with("pcx-"), "{facts:#}");
    assert_eq!(
        facts["seoul_peer_route"],
        serde_json::json!([pcx]),
        "seoul route to 10.20.0.0/16 via the peering: {facts:#}"
    );
    assert_eq!(
        facts["virginia_peer_route"],
        serde_json::json!([pcx]),
        "virginia route to 10.10.0.0/16 via the peering: {facts:#}"
    );
    assert_eq!(
        facts["seoul_pl_route"],
        serde_json::json!([facts["gw"]]),
        "seoul prefix-list route via the gateway endpoint: {facts:#}"
    );
    assert_eq!(
        facts["https_from"],
        serde_json::json!(["10.10.0.0/16", "10.20.0.0/16"]),
        "virginia SG 443 sources: {facts:#}"
    );
    assert_eq!(facts["peering_status"], "active", "{facts:#}");
    assert_eq!(facts["ifc_type"], "Interface", "{facts:#}");
    assert_eq!(facts["ifc_subnets"], 2, "{facts:#}");
    assert!(
        facts["ifc_sgs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["GroupId"] == facts["sg"]),
        "interface endpoint uses the s3ep security group: {facts:#}"
    );
    assert_eq!(facts["gw_type"], "Gateway", "{facts:#}");
    assert_eq!(
        facts["gw_service"], "com.amazonaws.ap-northeast-2.s3",
        "{facts:#}"
    );
    assert!(
        facts["gw_policy"].as_str().unwrap_or("").contains("oky-dev-test"),
        "gateway policy allows the bucket: {facts:#}"
    );

    // Drift: delete the seoul peering route out of band; plan sees exactly it.
    moto.py(&format!(
        r#"
        rt = find("route_table", "ap-northeast-2", "route_table.seoul.private", {name:?})
        ec2("ap-northeast-2").delete_route(RouteTableId=rt["id"], DestinationCidrBlock="10.20.0.0/16")
        "#
    ));
    let out = moto.s3ep(&["plan", &plan, "--detailed-exitcode"]);
    assert_exit(&out, 2, "plan after deleting the peering route");
    let doc = plan_json(&moto, &plan);
    let ch = changes(&doc);
    assert_eq!(ch.len(), 1, "exactly one change after drift:\n{doc:#}");
    assert_eq!(ch[0]["address"], "route.seoul.private.10.20.0.0/16", "{doc:#}");
    assert_eq!(ch[0]["action"], "create", "{doc:#}");
    let out = moto.s3ep(&["apply", &plan, "--yes"]);
    assert_exit(&out, 0, "apply --yes (repair drift)");
    let back = moto.py_json(&format!(
        r#"
        rt = find("route_table", "ap-northeast-2", "route_table.seoul.private", {name:?})
        routes = ec2("ap-northeast-2").describe_route_tables(RouteTableIds=[rt["id"]])["RouteTables"][0]["Routes"]
        print(json.dumps([r.get("VpcPeeringConnectionId") for r in routes if r.get("DestinationCidrBlock") == "10.20.0.0/16"]))
        "#
    ));
    assert_eq!(back, serde_json::json!([pcx]), "peering route restored");
    assert_no_changes(&moto, &plan, "after drift repair");

    // Outputs.
    let outputs = json_ok(&moto.s3ep(&["outputs", &plan, "--json"]), "outputs --json");
    assert_eq!(outputs["plan"], name, "{outputs:#}");
    let eps = outputs["endpoints"].as_array().expect("endpoints array");
    assert_eq!(eps.len(), 2, "{outputs:#}");
    let ep = |n: &str| {
        eps.iter()
            .find(|e| e["name"] == n)
            .unwrap_or_else(|| panic!("no endpoint {n} in outputs:\n{outputs:#}"))
    };
    let (gw, ifc) = (ep("seoul-s3"), ep("virginia-s3"));
    assert_eq!(gw["address"], "endpoint.seoul-s3", "{outputs:#}");
    assert_eq!(gw["type"], "gateway", "{outputs:#}");
    assert_eq!(gw["region"], "ap-northeast-2", "{outputs:#}");
    assert_eq!(gw["id"], facts["gw"], "{outputs:#}");
    assert!(
        gw["vpc_id"].as_str().unwrap_or("").starts_with("vpc-"),
        "{outputs:#}"
    );
    assert_eq!(ifc["address"], "endpoint.virginia-s3", "{outputs:#}");
    assert_eq!(ifc["type"], "interface", "{outputs:#}");
    assert_eq!(ifc["region"], "us-east-1", "{outputs:#}");
    assert!(
        ifc["id"].as_str().unwrap_or("").starts_with("vpce-"),
        "{outputs:#}"
    );
    assert!(ifc["state"].is_string(), "{outputs:#}");
    assert!(ifc["dns_names"].is_array(), "{outputs:#}");
    let s3_url = ifc["s3_url"].as_str().unwrap_or("");
    assert!(
        s3_url.starts_with("https://bucket.vpce-") && s3_url.contains(".s3.us-east-1.vpce.amazonaws.com"),
        "interface s3_url: {outputs:#}"
    );
    let cli = ifc["cli"].as_str().unwrap_or("");
    assert!(
        cli.starts_with("aws s3 ls s3://") && cli.contains(s3_url) && cli.contains("--region us-east-1"),
        "interface cli: {outputs:#}"
    );
    let out = moto.s3ep(&["outputs", &plan]);
    assert_exit(&out, 0, "outputs (text)");
    assert!(
        stdout(&out).contains(ifc["id"].as_str().unwrap()),
        "text outputs name the endpoint id\n{}",
        show(&out)
    );

    // Destroy: nothing of the plan remains; a second destroy is a no-op.
    let out = moto.s3ep(&["destroy", &plan, "--yes"]);
    assert_exit(&out, 0, "destroy --yes");
    let left = moto.owned(name, LAB_REGIONS);
    assert!(left.is_empty(), "resources left after destroy: {left:#?}");
    let out = moto.s3ep(&["destroy", &plan, "--yes"]);
    assert_exit(&out, 0, "second destroy --yes");
    assert!(moto.owned(name, LAB_REGIONS).is_empty());
    // And the plan wants to create everything again.
    let out = moto.s3ep(&["plan", &plan, "--detailed-exitcode"]);
    assert_exit(&out, 2, "plan after destroy");

    // Apply again after destroy: the same plan, the same addresses (on EC2,
    // a client token reused from the first apply would answer with the
    // deleted endpoint); converged in one apply.
    let out = moto.s3ep(&["apply", &plan, "--yes"]);
    assert_exit(&out, 0, "apply again after destroy");
    assert_no_changes(&moto, &plan, "after the second apply");
    assert_keys_eq(
        &moto.owned_keys(name, LAB_REGIONS),
        LAB_ADDRESSES,
        "resources after the second apply",
    );

    // Two destroys at once: each finds the other's deletions done (EC2's
    // Unsuccessful InvalidVpcEndpoint.NotFound, NotFound on deletes, the
    // interface endpoint's `deleting` holding its subnets and group).
    let url = moto.url();
    let destroy = |_: u8| {
        common::Running::spawn(common::s3ep_command(&common::endpoint_args(
            &url,
            moto.emulator(),
            &["destroy", &plan, "--yes"],
        )))
    };
    let mut both = [destroy(1), destroy(2)];
    for (i, d) in both.iter_mut().enumerate() {
        let status = d.wait_timeout(std::time::Duration::from_secs(300));
        assert!(
            status.is_some_and(|s| s.success()),
            "destroy {} of two at once: {status:?}\n{}",
            i + 1,
            d.show()
        );
    }
    let left = moto.owned(name, LAB_REGIONS);
    assert!(
        left.is_empty(),
        "resources left after two destroys at once: {left:#?}"
    );
}

/// 2. Adoption: adopted VPC/subnet/route table and foreign resources survive destroy.
#[test]
fn adoption_leaves_foreign_resources_alone() {
    let moto = Moto::start_default();
    let name = "e2e-adopt";
    let ids = moto.py_json(
        r#"
        c = ec2("us-east-1")
        vpc = c.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
        c.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        c.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = c.create_subnet(VpcId=vpc, CidrBlock="10.50.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        rtb = c.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        c.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
        sg = c.create_security_group(GroupName="foreign", Description="not s3ep's", VpcId=vpc)["GroupId"]
        vpce = c.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3",
                                     VpcEndpointType="Gateway")["VpcEndpoint"]["VpcEndpointId"]
        print(json.dumps({"vpc": vpc, "subnet": subnet, "rtb": rtb, "sg": sg, "vpce": vpce}))
        "#,
    );
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let plans = Plans::new();
    let plan = plans.write(
        "adopt.yaml",
        &format!(
            r#"
            version: 1
            name: {name}
            vpcs:
              main:
                region: us-east-1
                id: {vpc}
                subnets:
                  app: {{ id: {subnet} }}
                route_tables:
                  private: {{ id: {rtb} }}
            endpoints:
              s3-gw:
                vpc: main
                type: gateway
                route_tables: [private]
                policy:
                  allow_buckets: [adopt-bucket]
              s3-if:
                vpc: main
                type: interface
                subnets: [app]
                security_group:
                  allow_https_from: [10.60.0.0/16]
            "#,
            vpc = id("vpc"),
            subnet = id("subnet"),
            rtb = id("rtb")
        ),
    );

    let doc = plan_json(&moto, &plan);
    for addr in ["endpoint.s3-gw", "endpoint.s3-if", "security_group.s3-if"] {
        assert_eq!(
            action_of(&doc, addr).as_deref(),
            Some("create"),
            "{addr}:\n{doc:#}"
        );
    }
    for c in changes(&doc) {
        assert_ne!(
            c["action"], "delete",
            "adoption plan must delete nothing:\n{doc:#}"
        );
        let a = c["address"].as_str().unwrap_or("");
        assert!(
            !(a.starts_with("vpc.") || a.starts_with("subnet.") || a.starts_with("route_table.")),
            "adopted resources are not changed:\n{doc:#}"
        );
    }

    let out = moto.s3ep(&["apply", &plan, "--yes"]);
    assert_exit(&out, 0, "apply --yes (adoption)");
    assert_no_changes(&moto, &plan, "after adoption apply");
    let keys = moto.owned_keys(name, US);
    assert_keys_eq(
        &keys,
        &["endpoint.s3-gw", "endpoint.s3-if", "security_group.s3-if"],
        "owned after apply",
    );

    let after = moto.py_json(&format!(
        r#"
        c = ec2("us-east-1")
        gw = find("endpoint", "us-east-1", "endpoint.s3-gw", {name:?})
        sg = find("security_group", "us-east-1", "security_group.s3-if", {name:?})
        routes = c.describe_route_tables(RouteTableIds=[{rtb:?}])["RouteTables"][0]["Routes"]
        perms = c.describe_security_groups(GroupIds=[sg["id"]])["SecurityGroups"][0]["IpPermissions"]
        print(json.dumps({{
            "gw": gw["id"],
            "pl_targets": [r.get("GatewayId") for r in routes if r.get("DestinationPrefixListId", "").startswith("pl-")],
            "https_from": sorted(r["CidrIp"] for p in perms if p.get("FromPort") == 443 for r in p.get("IpRanges", [])),
            "adopted_tags": [tags(c.describe_vpcs(VpcIds=[{vpc:?}])["Vpcs"][0]),
                             tags(c.describe_subnets(SubnetIds=[{subnet:?}])["Subnets"][0]),
                             tags(c.describe_route_tables(RouteTableIds=[{rtb:?}])["RouteTables"][0])],
        }}))
        "#,
        rtb = id("rtb"),
        vpc = id("vpc"),
        subnet = id("subnet")
    ));
    assert_eq!(
        after["pl_targets"],
        serde_json::json!([after["gw"]]),
        "prefix-list route via the new gateway endpoint, not the foreign one: {after:#}"
    );
    assert_eq!(
        after["https_from"],
        serde_json::json!(["10.60.0.0/16"]),
        "{after:#}"
    );
    for t in after["adopted_tags"].as_array().unwrap() {
        assert!(
            t.as_object().unwrap().keys().all(|k| !k.starts_with("s3ep:")),
            "adopted resources are never tagged: {after:#}"
        );
    }

    let out = moto.s3ep(&["destroy", &plan, "--yes"]);
    assert_exit(&out, 0, "destroy --yes (adoption)");
    let left = moto.owned(name, US);
    assert!(left.is_empty(), "s3ep resources left after destroy: {left:#?}");
    let survived = moto.py_json(&format!(
        r#"
        c = ec2("us-east-1")
        vpcs = [v["VpcId"] for v in c.describe_vpcs()["Vpcs"]]
        subnets = [s["SubnetId"] for s in c.describe_subnets()["Subnets"]]
        rtbs = [r["RouteTableId"] for r in c.describe_route_tables()["RouteTables"]]
        sgs = [g["GroupId"] for g in c.describe_security_groups()["SecurityGroups"]]
        eps = {{e["VpcEndpointId"]: e["State"] for e in c.describe_vpc_endpoints()["VpcEndpoints"]}}
        routes = c.describe_route_tables(RouteTableIds=[{rtb:?}])["RouteTables"][0]["Routes"]
        print(json.dumps({{
            "vpc": {vpc:?} in vpcs, "subnet": {subnet:?} in subnets, "rtb": {rtb:?} in rtbs,
            "sg": {sg:?} in sgs, "vpce_state": eps.get({vpce:?}),
            "gw_state": eps.get({gw:?}),
            "gw_routes": [r for r in routes if r.get("GatewayId") == {gw:?}],
        }}))
        "#,
        vpc = id("vpc"),
        subnet = id("subnet"),
        rtb = id("rtb"),
        sg = id("sg"),
        vpce = id("vpce"),
        gw = after["gw"].as_str().unwrap()
    ));
    for k in ["vpc", "subnet", "rtb", "sg"] {
        assert_eq!(
            survived[k], true,
            "adopted/foreign {k} must survive destroy: {survived:#}"
        );
    }
    let vs = survived["vpce_state"]
        .as_str()
        .unwrap_or("missing")
        .to_lowercase();
    assert!(
        vs != "missing" && vs != "deleted",
        "foreign endpoint must survive destroy: {survived:#}"
    );
    let gs = survived["gw_state"].as_str().unwrap_or("deleted").to_lowercase();
    assert_eq!(
        gs, "deleted",
        "s3ep's gateway endpoint must be deleted: {survived:#}"
    );
    assert_eq!(
        survived["gw_routes"],
        serde_json::json!([]),
        "routes to s3ep's endpoint removed: {survived:#}"
    );
}

/// 3. Two plans on one server: destroying one leaves the other untouched.
#[test]
fn plans_are_isolated() {
    let moto = Moto::start_default();
    let plans = Plans::new();
    let a = plans.write("a.yaml", &small_plan("e2e-iso-a", 31));
    let b = plans.write("b.yaml", &small_plan("e2e-iso-b", 32));
    assert_exit(&moto.s3ep(&["apply", &a, "--yes"]), 0, "apply A");
    assert_exit(&moto.s3ep(&["apply", &b, "--yes"]), 0, "apply B");
    assert_no_changes(&moto, &a, "A after applying both");
    assert_no_changes(&moto, &b, "B after applying both");
    let b_before = moto.owned("e2e-iso-b", US);
    let mut b_ids: Vec<String> = b_before
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    b_ids.sort();
    assert_keys_eq(
        &moto.owned_keys("e2e-iso-a", US),
        SMALL_ADDRESSES,
        "A's resources",
    );
    assert_keys_eq(
        &moto.owned_keys("e2e-iso-b", US),
        SMALL_ADDRESSES,
        "B's resources",
    );

    assert_exit(&moto.s3ep(&["destroy", &a, "--yes"]), 0, "destroy A");
    assert!(moto.owned("e2e-iso-a", US).is_empty(), "A fully destroyed");
    assert_no_changes(&moto, &b, "B after destroying A");
    let mut b_after: Vec<String> = moto
        .owned("e2e-iso-b", US)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    b_after.sort();
    assert_eq!(b_after, b_ids, "B's resources unchanged by destroying A");
    // B's gateway route is still in place.
    let routes = moto.py_json(
        r#"
        rt = find("route_table", "us-east-1", "route_table.main.private", "e2e-iso-b")
        gw = find("endpoint", "us-east-1", "endpoint.gw", "e2e-iso-b")
        routes = ec2().describe_route_tables(RouteTableIds=[rt["id"]])["RouteTables"][0]["Routes"]
        print(json.dumps([r.get("GatewayId") == gw["id"] for r in routes if r.get("DestinationPrefixListId")]))
        "#,
    );
    assert_eq!(routes, serde_json::json!([true]), "B's prefix-list route");
}

/// 4. Without --yes and without a terminal, apply and destroy refuse and change nothing.
#[test]
fn no_tty_refuses_without_yes() {
    let moto = Moto::start_default();
    let plans = Plans::new();
    let name = "e2e-notty";
    let plan = plans.shipped("cross-region-lab.yaml", name);

    let out = moto.s3ep(&["apply", &plan]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "apply without --yes must fail\n{}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("--yes"),
        "stderr should mention --yes\n{}",
        show(&out)
    );
    assert!(
        moto.owned(name, LAB_REGIONS).is_empty(),
        "apply without --yes created resources"
    );

    assert_exit(&moto.s3ep(&["apply", &plan, "--yes"]), 0, "apply --yes");
    let before = moto.owned_keys(name, LAB_REGIONS);
    assert_keys_eq(&before, LAB_ADDRESSES, "after apply");

    let out = moto.s3ep(&["destroy", &plan]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "destroy without --yes must fail\n{}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("--yes"),
        "stderr should mention --yes\n{}",
        show(&out)
    );
    assert_eq!(
        moto.owned_keys(name, LAB_REGIONS),
        before,
        "destroy without --yes deleted resources"
    );
    assert_no_changes(&moto, &plan, "after refused destroy");
}

/// 5. --dry-run makes no mutating call.
#[test]
fn dry_run_changes_nothing() {
    let moto = Moto::start_default();
    let plans = Plans::new();
    let name = "e2e-dry";
    let plan = plans.shipped("gateway-only.yaml", name);

    let out = moto.s3ep(&["apply", &plan, "--dry-run"]);
    assert_exit(&out, 0, "apply --dry-run");
    assert!(
        moto.owned(name, US).is_empty(),
        "apply --dry-run created resources"
    );
    let out = moto.s3ep(&["plan", &plan, "--detailed-exitcode"]);
    assert_exit(&out, 2, "plan after dry-run still has changes");

    // The shipped gateway-only plan applies; destroy --dry-run deletes nothing.
    assert_exit(&moto.s3ep(&["apply", &plan, "--yes"]), 0, "apply --yes");
    let keys = moto.owned_keys(name, US);
    assert_keys_eq(
        &keys,
        &[
            "endpoint.s3",
            "route_table.main.private",
            "subnet.main.app-a",
            "vpc.main",
        ],
        "gateway-only resources",
    );
    let out = moto.s3ep(&["destroy", &plan, "--dry-run"]);
    assert_exit(&out, 0, "destroy --dry-run");
    assert_eq!(
        moto.owned_keys(name, US),
        keys,
        "destroy --dry-run deleted resources"
    );
    assert_no_changes(&moto, &plan, "after destroy --dry-run");
}

/// 6. validate: unknown keys are errors with file:line:column; shipped plans are valid.
#[test]
fn validate_reports_unknown_keys_with_location() {
    let plans = Plans::new();
    let top = plans.write(
        "plan.yaml",
        r#"
        version: 1
        name: e2e-validate
        tags: { env: dev }
        colour: blue
        vpcs:
          main:
            region: us-east-1
            cidr: 10.0.0.0/16
        "#,
    );
    let out = s3ep(&["validate", &top]);
    assert_exit(&out, 1, "validate with an unknown top-level key");
    let err = stderr(&out);
    assert!(
        err.contains("plan.yaml:4:"),
        "error should give plan.yaml:4:<col>\n{}",
        show(&out)
    );
    assert!(
        err.contains("colour"),
        "error should name the key\n{}",
        show(&out)
    );

    let nested = plans.write(
        "nested.yaml",
        r#"
        version: 1
        name: e2e-validate
        vpcs:
          main:
            region: us-east-1
            cidr: 10.0.0.0/16
            enable_nat: true
        "#,
    );
    let out = s3ep(&["validate", &nested]);
    assert_exit(&out, 1, "validate with an unknown nested key");
    let err = stderr(&out);
    assert!(
        err.contains("nested.yaml:7:"),
        "error should give nested.yaml:7:<col>\n{}",
        show(&out)
    );
    assert!(
        err.contains("enable_nat"),
        "error should name the key\n{}",
        show(&out)
    );

    // Every plan shipped in plans/ (the examples of the README).
    let mut shipped: Vec<String> = std::fs::read_dir(repo_root().join("plans"))
        .expect("plans/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    shipped.sort();
    assert!(shipped.len() >= 5, "{shipped:?}");
    for shipped in shipped {
        let path = repo_root().join("plans").join(&shipped);
        let out = s3ep(&["validate", path.to_str().unwrap()]);
        assert_exit(&out, 0, &format!("validate plans/{shipped}"));
    }
}

/// Case 4: an interface subnet in an AZ where the S3 interface service is not
/// offered (the strict emulator leaves us-east-1e out, as EC2 does for some
/// services) is refused by `plan` and by `apply` before any change: no VPC,
/// subnet or group is left half-built.
#[test]
fn an_unsupported_az_is_refused_before_anything_is_built() {
    let moto = Moto::start_default();
    if moto.emulator() != Emulator::Strict {
        eprintln!("plain moto offers every AZ: nothing to show");
        return;
    }
    let name = "e2e-az";
    let plans = Plans::new();
    let path = plans.shipped("cross-region-lab.yaml", name);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("ep-b: { az: us-east-1b,", "ep-b: { az: us-east-1e,");
    assert!(text.contains("us-east-1e"), "lab plan changed shape");
    std::fs::write(&path, text).unwrap();
    for cmd in [vec!["plan", path.as_str()], vec!["apply", path.as_str(), "--yes"]] {
        let out = moto.s3ep(&cmd);
        assert_exit(&out, 1, &format!("{cmd:?} with a subnet in us-east-1e"));
        let err = stderr(&out);
        assert!(err.contains("ep-b") && err.contains("us-east-1e"), "{err}");
        assert!(err.contains("us-east-1a"), "names the supported AZs: {err}");
    }
    assert!(moto.owned(name, LAB_REGIONS).is_empty(), "something was created");
}

/// Case 5, plans/private-dns-inbound-only.yaml against strict EC2 (which refuses
/// inbound-only without an S3 gateway endpoint in the VPC, and refuses to
/// delete that gateway while the interface endpoint relies on it): one
/// apply makes both, with both DNS values on the interface endpoint; the
/// gateway leaving the plan while the interface endpoint switches to
/// `true` is one apply, with the `private-dns-switch` warning; destroy
/// removes everything in one run.
#[test]
fn inbound_only_next_to_a_gateway_in_one_apply_and_one_destroy() {
    let moto = Moto::start_default();
    if moto.emulator() != Emulator::Strict {
        eprintln!("plain moto ignores DnsOptions: nothing to show");
        return;
    }
    let name = "e2e-dns";
    let plans = Plans::new();
    let path = plans.shipped("private-dns-inbound-only.yaml", name);
    let out = moto.s3ep(&["apply", path.as_str(), "--yes"]);
    assert_exit(&out, 0, "apply inbound-only next to a gateway");
    let dns = |key: &str| {
        moto.py_json(&format!(
            r#"
            ep = find("endpoint", "us-east-1", {key:?}, {name:?})
            e = ec2("us-east-1").describe_vpc_endpoints(VpcEndpointIds=[ep["id"]])["VpcEndpoints"][0]
            print(json.dumps([e.get("PrivateDnsEnabled"), (e.get("DnsOptions") or {{}}).get("PrivateDnsOnlyForInboundResolverEndpoint"), e["VpcEndpointType"]]))
            "#
        ))
    };
    assert_eq!(
        dns("endpoint.s3-inbound"),
        serde_json::json!([true, true, "Interface"])
    );
    assert_eq!(dns("endpoint.s3-gateway")[2], "Gateway");
    assert_no_changes(&moto, &path, "after apply");

    // The gateway leaves the plan; the interface endpoint switches to true.
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("  s3-gateway:\n").expect("gateway in plan");
    let end = text.find("  s3-inbound:\n").expect("interface in plan");
    let text = format!("{}{}", &text[..start], &text[end..])
        .replace("private_dns: inbound-only", "private_dns: true");
    let switched = plans.write("switched.yaml", &text);
    let doc = plan_json(&moto, &switched);
    let codes: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"private-dns-switch"), "{doc:#}");
    let out = moto.s3ep(&["apply", switched.as_str(), "--yes"]);
    assert_exit(&out, 0, "apply: gateway out, interface to private_dns true");
    assert_eq!(
        dns("endpoint.s3-inbound"),
        serde_json::json!([true, false, "Interface"])
    );
    assert_no_changes(&moto, &switched, "after the switch");

    // Back to inbound-only with the gateway: one apply again, then destroy.
    let out = moto.s3ep(&["apply", path.as_str(), "--yes"]);
    assert_exit(&out, 0, "apply: gateway back, interface to inbound-only");
    assert_eq!(
        dns("endpoint.s3-inbound"),
        serde_json::json!([true, true, "Interface"])
    );
    let out = moto.s3ep(&["destroy", path.as_str(), "--yes"]);
    assert_exit(&out, 0, "destroy inbound-only next to a gateway");
    assert!(
        moto.owned(name, US).is_empty(),
        "left behind: {:?}",
        moto.owned(name, US)
    );
}

/// `security_group.client_groups` against the emulator: a client group made
/// out of band without an outbound rule for 443 gets s3ep's tagged rule to
/// the endpoint's group on apply and loses only that rule on destroy (its
/// SSH rule stays); a group whose default all-traffic rule already allows
/// it gets nothing, and the plan says which rule allows it.
#[test]
fn client_groups_get_an_owned_egress_rule_and_lose_only_it() {
    let moto = Moto::start_default();
    let name = "e2e-egress";
    let ids = moto.py_json(
        r#"
        c = ec2("us-east-1")
        vpc = c.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
        subnet = c.create_subnet(VpcId=vpc, CidrBlock="10.80.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        a = c.create_security_group(GroupName="clients-a", Description="clients", VpcId=vpc)["GroupId"]
        b = c.create_security_group(GroupName="clients-b", Description="clients", VpcId=vpc)["GroupId"]
        # a: no all-traffic rule, only SSH out; b keeps its default rule.
        c.revoke_security_group_egress(GroupId=a, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        c.authorize_security_group_egress(GroupId=a, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        default_b = [r["SecurityGroupRuleId"] for r in c.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [b]}])["SecurityGroupRules"] if r["IsEgress"]]
        print(json.dumps({"vpc": vpc, "subnet": subnet, "a": a, "b": b, "default_b": default_b}))
        "#,
    );
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let (a, b) = (id("a"), id("b"));
    let plans = Plans::new();
    let plan = plans.write(
        "egress.yaml",
        &format!(
            r#"
            version: 1
            name: {name}
            vpcs:
              main:
                region: us-east-1
                id: {vpc}
                subnets:
                  app: {{ id: {subnet} }}
            endpoints:
              s3-if:
                vpc: main
                type: interface
                subnets: [app]
                security_group:
                  allow_https_from: [10.80.0.0/16]
                  client_groups: [{a}, {b}]
            "#,
            vpc = id("vpc"),
            subnet = id("subnet"),
        ),
    );
    let egress = |group: &str| -> Vec<Value> {
        moto.py_json(&format!(
            r#"
            rules = ec2("us-east-1").describe_security_group_rules(Filters=[{{"Name": "group-id", "Values": ["{group}"]}}])["SecurityGroupRules"]
            print(json.dumps([r for r in rules if r["IsEgress"]], default=str))
            "#
        ))
        .as_array()
        .cloned()
        .unwrap_or_default()
    };

    let doc = plan_json(&moto, &plan);
    assert_eq!(
        action_of(&doc, &format!("egress.s3-if.{a}")).as_deref(),
        Some("create"),
        "{doc:#}"
    );
    assert_eq!(action_of(&doc, &format!("egress.s3-if.{b}")), None, "{doc:#}");
    let default_b = ids["default_b"][0].as_str().unwrap();
    let notes: Vec<&Value> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "client-egress-exists")
        .collect();
    assert_eq!(notes.len(), 1, "{doc:#}");
    assert_eq!(notes[0]["address"], format!("egress.s3-if.{b}"));
    assert!(
        notes[0]["message"].as_str().unwrap().contains(default_b),
        "{doc:#}"
    );
    let text = stdout(&moto.s3ep(&["plan", &plan]));
    assert!(text.contains(default_b), "the preview names the rule:\n{text}");

    let out = moto.s3ep(&["apply", &plan, "--yes"]);
    assert_exit(&out, 0, "apply");
    let sg = moto.owned(name, US);
    let endpoint_sg = sg
        .iter()
        .find(|r| r["key"] == "security_group.s3-if")
        .and_then(|r| r["id"].as_str())
        .expect("endpoint group")
        .to_string();
    let rules = egress(&a);
    assert_eq!(rules.len(), 2, "{rules:#?}");
    let ours = rules
        .iter()
        .find(|r| r["FromPort"] == 443)
        .unwrap_or_else(|| panic!("{rules:#?}"));
    assert_eq!(ours["IpProtocol"], "tcp");
    assert_eq!(ours["ToPort"], 443);
    assert_eq!(ours["ReferencedGroupInfo"]["GroupId"], endpoint_sg.as_str());
    let tag = |k: &str| {
        ours["Tags"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["Key"] == k))
            .map(|t| t["Value"].clone())
    };
    assert_eq!(tag("s3ep:plan"), Some(Value::from(name)));
    assert_eq!(tag("s3ep:key"), Some(Value::from(format!("egress.s3-if.{a}"))));
    assert_eq!(egress(&b).len(), 1, "nothing added to b");
    assert_no_changes(&moto, &plan, "after apply");

    let out = moto.s3ep(&["destroy", &plan, "--yes"]);
    assert_exit(&out, 0, "destroy");
    let left = egress(&a);
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["FromPort"], 22, "the SSH rule stays");
    assert_eq!(egress(&b).len(), 1);
    let groups = moto.py_json(&format!(
        r#"print(json.dumps([g["GroupId"] for g in ec2("us-east-1").describe_security_groups(GroupIds=["{a}", "{b}"])["SecurityGroups"]]))"#
    ));
    assert_eq!(groups.as_array().map(Vec::len), Some(2), "the client groups stay");
    assert!(moto.owned(name, US).is_empty(), "{:#?}", moto.owned(name, US));
}

/// plans/dualstack.yaml against the EC2 emulator: the VPC gets a /56, each
/// subnet the /64 at its index of it, both endpoints are stored dualstack
/// (the strict mode; plain moto does not store IpAddressType, so the test
/// needs the strict mode), a re-plan is
/// empty, `outputs --json` has the gateway's prefix list and its CIDRs and
/// the interface endpoint's private DNS mode, and destroy warns of the
/// gateway's routes before it removes everything.
#[test]
fn dualstack_plan_end_to_end() {
    let moto = Moto::start_default();
    if moto.emulator() != Emulator::Strict {
        // Plain moto stores no IpAddressType: every plan would show the
        // dualstack endpoints as drift (docs/ec2-and-moto.md).
        eprintln!("plain moto does not store IpAddressType: nothing to show");
        return;
    }
    let name = "e2e-dual";
    let plans = Plans::new();
    let path = plans.shipped("dualstack.yaml", name);
    let out = moto.s3ep(&["apply", path.as_str(), "--yes"]);
    assert_exit(&out, 0, "apply dualstack");
    assert_no_changes(&moto, &path, "after apply");
    let v = moto.py_json(&format!(
        r#"
        c = ec2("us-east-1")
        vpcs = c.describe_vpcs(Filters=[{{"Name": "tag:s3ep:plan", "Values": [{name:?}]}}])["Vpcs"]
        subs = c.describe_subnets(Filters=[{{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}}])["Subnets"]
        eps = c.describe_vpc_endpoints(Filters=[{{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}}])["VpcEndpoints"]
        print(json.dumps({{
            "vpc6": [a["Ipv6CidrBlock"] for a in vpcs[0].get("Ipv6CidrBlockAssociationSet", [])],
            "subnets": {{next(t["Value"] for t in s["Tags"] if t["Key"] == "s3ep:key"):
                [a["Ipv6CidrBlock"] for a in s.get("Ipv6CidrBlockAssociationSet", [])] for s in subs}},
            "eps": {{e["VpcEndpointType"]: [e.get("IpAddressType"), (e.get("DnsOptions") or {{}}).get("DnsRecordIpType")] for e in eps}},
        }}))
        "#
    ));
    let vpc6 = v["vpc6"].as_array().unwrap();
    assert_eq!(vpc6.len(), 1, "{v}");
    let block: ipnet::Ipv6Net = vpc6[0].as_str().unwrap().parse().unwrap();
    assert_eq!(block.prefix_len(), 56, "{v}");
    for (key, index) in [("subnet.app.app-a", 1u8), ("subnet.app.app-b", 2)] {
        let want = s3ep::model::ipv6_subnet(&block, index).unwrap().to_string();
        assert_eq!(v["subnets"][key], serde_json::json!([want]), "{key}: {v}");
    }
    if moto.emulator() == Emulator::Strict {
        assert_eq!(v["eps"]["Gateway"][0], "dualstack", "{v}");
        assert_eq!(
            v["eps"]["Interface"],
            serde_json::json!(["dualstack", "dualstack"]),
            "{v}"
        );
    }
    let o = json_ok(
        &moto.s3ep(&["outputs", path.as_str(), "--json"]),
        "outputs --json",
    );
    let eps = o["endpoints"].as_array().unwrap();
    let gw = eps.iter().find(|e| e["type"] == "gateway").unwrap();
    assert!(gw["prefix_list_id"].as_str().unwrap().starts_with("pl-"), "{o:#}");
    assert!(!gw["prefix_list_cidrs"].as_array().unwrap().is_empty(), "{o:#}");
    let itf = eps.iter().find(|e| e["type"] == "interface").unwrap();
    assert_eq!(itf["private_dns"], "false", "{o:#}");
    let out = moto.s3ep(&["destroy", path.as_str(), "--yes"]);
    assert_exit(&out, 0, "destroy dualstack");
    assert!(stdout(&out).contains("gateway-route-switch"), "{}", stdout(&out));
    assert!(moto.owned(name, US).is_empty(), "something was left");
}
