//! The strict EC2 mode (scripts/strict_ec2.py): for each behaviour, the same
//! boto3 scenario runs against plain moto and against strict mode; strict mode
//! must do what EC2 does (cited in the script) and plain moto must not, so that
//! each test shows the behaviour is the strict mode's own.
//!
//! Run: `scripts/moto.sh install && S3EP_MOTO_SERVER=$PWD/.venv/bin/moto_server
//! S3EP_PYTHON=$PWD/.venv/bin/python cargo test --test strict_emulator`.

mod common;

use common::{Emulator, Moto};
use serde_json::Value;

/// Python helpers for the scenarios (after the harness's PRELUDE).
const HELPERS: &str = r#"
import time
S3 = "com.amazonaws.us-east-1.s3"
c = ec2("us-east-1")

def code(f):
    """The EC2 error code F raises, or "OK"."""
    try:
        f()
        return "OK"
    except Exception as e:
        return e.response["Error"]["Code"]

def err(f):
    """(code, message) of the error F raises, or ("OK", "")."""
    try:
        f()
        return ["OK", ""]
    except Exception as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]

def tagspec(kind, value):
    return [{"ResourceType": kind, "Tags": [{"Key": "t", "Value": value}]}]

def vpc(cidr, dns=True):
    v = c.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    if dns:
        c.modify_vpc_attribute(VpcId=v, EnableDnsHostnames={"Value": True})
    return v

def subnet(v, cidr, az="us-east-1a"):
    return c.create_subnet(VpcId=v, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]

def sg(v, name):
    return c.create_security_group(GroupName=name, Description=name, VpcId=v)["GroupId"]

def endpoint(eid):
    return c.describe_vpc_endpoints(VpcEndpointIds=[eid])["VpcEndpoints"][0]

def pl_routes(v, rt):
    """Gateway ids of the prefix-list routes of route table RT (looked up by vpc-id: no lag)."""
    tables = c.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [v]}])["RouteTables"]
    return [r.get("GatewayId") for t in tables if t["RouteTableId"] == rt
            for r in t["Routes"] if r.get("DestinationPrefixListId")]

def settle(t0, seconds):
    """Sleeps until SECONDS after monotonic time T0."""
    left = t0 + seconds - time.monotonic()
    if left > 0:
        time.sleep(left)

def ingress_count(g):
    rules = c.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [g]}])["SecurityGroupRules"]
    return sum(1 for r in rules if not r["IsEgress"])
"#;

/// Starts plain moto and strict mode (with the knobs ENV) side by side.
fn pair(env: &[(&'static str, &'static str)]) -> (Moto, Moto) {
    let env = env.to_vec();
    let strict = std::thread::spawn(move || Moto::start_with(Emulator::Strict, &env));
    let plain = Moto::start();
    let strict = strict
        .join()
        .unwrap_or_else(|_| panic!("strict emulator did not start"));
    assert_eq!(strict.emulator(), Emulator::Strict);
    (plain, strict)
}

/// Runs SCRIPT (which prints one JSON value) against M with HELPERS.
fn run(m: &Moto, script: &str) -> Value {
    m.py_json(&format!("{HELPERS}\n{}", common::dedent(script)))
}

/// Runs SCRIPT against plain moto and strict mode; (plain, strict).
fn both(script: &str) -> (Value, Value) {
    both_with(&[], script)
}

/// `both` with the strict mode's knobs ENV.
fn both_with(env: &[(&'static str, &'static str)], script: &str) -> (Value, Value) {
    let (plain, strict) = pair(env);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&plain, script));
        let b = run(&strict, script);
        (
            a.join()
                .unwrap_or_else(|_| panic!("plain moto scenario panicked")),
            b,
        )
    });
    (a, b)
}

// 1. Client tokens: same token + parameters -> same resource, also after delete;
// other parameters -> IdempotentParameterMismatch.
#[test]
fn client_tokens_return_the_same_resource_even_after_delete() {
    let script = r#"
        v = vpc("10.1.0.0/16")
        rt = c.create_route_table(VpcId=v)["RouteTable"]["RouteTableId"]
        args = dict(VpcId=v, ServiceName=S3, VpcEndpointType="Gateway", RouteTableIds=[rt], ClientToken="tok-e")
        e1 = c.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
        e2 = c.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
        mismatch = code(lambda: c.create_vpc_endpoint(**dict(args, PolicyDocument='{"Version":"2012-10-17","Statement":[]}')))
        c.delete_vpc_endpoints(VpcEndpointIds=[e1])
        after = c.create_vpc_endpoint(**args)["VpcEndpoint"]
        t1 = c.create_route_table(VpcId=v, ClientToken="tok-r")["RouteTable"]["RouteTableId"]
        t2 = c.create_route_table(VpcId=v, ClientToken="tok-r")["RouteTable"]["RouteTableId"]
        rt_mismatch = code(lambda: c.create_route_table(VpcId=v, ClientToken="tok-r",
                                                         TagSpecifications=tagspec("route-table", "x")))
        c.delete_route_table(RouteTableId=t1)
        t3 = c.create_route_table(VpcId=v, ClientToken="tok-r")["RouteTable"]["RouteTableId"]
        time.sleep(0.6)  # past the id lag: NotFound below is "gone", not "not yet"
        t3_describe = code(lambda: c.describe_route_tables(RouteTableIds=[t3]))
        print(json.dumps({"same_endpoint": e1 == e2, "mismatch": mismatch,
                          "after_delete_same": after["VpcEndpointId"] == e1, "after_delete_state": after["State"],
                          "same_table": t1 == t2, "rt_mismatch": rt_mismatch,
                          "table_after_delete_same": t3 == t1, "table_after_delete_describe": t3_describe}))
    "#;
    let (plain, strict) = both(script);
    assert_eq!(strict["same_endpoint"], true, "{strict}");
    assert_eq!(strict["mismatch"], "IdempotentParameterMismatch", "{strict}");
    assert_eq!(strict["after_delete_same"], true, "{strict}");
    assert_eq!(strict["after_delete_state"], "deleted", "{strict}");
    assert_eq!(strict["same_table"], true, "{strict}");
    assert_eq!(strict["rt_mismatch"], "IdempotentParameterMismatch", "{strict}");
    // The route table's token answers the deleted table (its id); Describe says it is gone.
    assert_eq!(strict["table_after_delete_same"], true, "{strict}");
    assert_eq!(
        strict["table_after_delete_describe"], "InvalidRouteTableID.NotFound",
        "{strict}"
    );
    // Plain moto ignores ClientToken: a new resource per call, never a mismatch.
    assert_eq!(plain["same_endpoint"], false, "{plain}");
    assert_eq!(plain["mismatch"], "OK", "{plain}");
    assert_eq!(plain["after_delete_same"], false, "{plain}");
    assert_eq!(plain["same_table"], false, "{plain}");
    assert_eq!(plain["rt_mismatch"], "OK", "{plain}");
}

// 2. Eventual consistency: tag filters lag S3EP_STRICT_TAG_LAG, Describe by id
// answers EC2's exact NotFound codes for S3EP_STRICT_ID_LAG. The lags are set
// longer than their defaults here so that a loaded machine still looks within
// them; each "not yet" is asserted only when the client's own clock, started
// before the create call, proves the look came within the lag.
const ID_LAG: f64 = 1.5;
const TAG_LAG: f64 = 5.0;
const LAG_SCRIPT: &str = r#"
    out = {"by_id_now": {}, "by_id_elapsed": {}, "tag_now": {}, "tag_elapsed": {}, "by_id_later": {}, "tag_later": {}}
    born = {}
    def made(kind):
        born[kind] = time.monotonic()
    def by_id(kind, f):
        out["by_id_now"][kind] = code(f)
        out["by_id_elapsed"][kind] = time.monotonic() - born[kind]
    made("vpc")
    v = c.create_vpc(CidrBlock="10.2.0.0/16", TagSpecifications=tagspec("vpc", "lag"))["Vpc"]["VpcId"]
    by_id("vpc", lambda: c.describe_vpcs(VpcIds=[v]))
    out["id_filter_now"] = len(c.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [v]}])["Vpcs"])
    out["id_filter_elapsed"] = time.monotonic() - born["vpc"]
    made("subnet")
    s = c.create_subnet(VpcId=v, CidrBlock="10.2.1.0/24", AvailabilityZone="us-east-1a",
                        TagSpecifications=tagspec("subnet", "lag"))["Subnet"]["SubnetId"]
    by_id("subnet", lambda: c.describe_subnets(SubnetIds=[s]))
    made("route_table")
    r = c.create_route_table(VpcId=v, TagSpecifications=tagspec("route-table", "lag"))["RouteTable"]["RouteTableId"]
    by_id("route_table", lambda: c.describe_route_tables(RouteTableIds=[r]))
    made("security_group")
    g = c.create_security_group(GroupName="lag", Description="lag", VpcId=v,
                                TagSpecifications=tagspec("security-group", "lag"))["GroupId"]
    by_id("security_group", lambda: c.describe_security_groups(GroupIds=[g]))
    made("endpoint")
    e = c.create_vpc_endpoint(VpcId=v, ServiceName=S3, VpcEndpointType="Gateway",
                              TagSpecifications=tagspec("vpc-endpoint", "lag"))["VpcEndpoint"]["VpcEndpointId"]
    by_id("endpoint", lambda: c.describe_vpc_endpoints(VpcEndpointIds=[e]))
    v2 = c.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    made("peering")
    p = c.create_vpc_peering_connection(VpcId=v, PeerVpcId=v2,
            TagSpecifications=tagspec("vpc-peering-connection", "lag"))["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    by_id("peering", lambda: c.describe_vpc_peering_connections(VpcPeeringConnectionIds=[p]))
    t_last = time.monotonic()
    flt = [{"Name": "tag:t", "Values": ["lag"]}]
    listers = {
        "vpc": lambda: v in [x["VpcId"] for x in c.describe_vpcs(Filters=flt)["Vpcs"]],
        "subnet": lambda: s in [x["SubnetId"] for x in c.describe_subnets(Filters=flt)["Subnets"]],
        "route_table": lambda: r in [x["RouteTableId"] for x in c.describe_route_tables(Filters=flt)["RouteTables"]],
        "security_group": lambda: g in [x["GroupId"] for x in c.describe_security_groups(Filters=flt)["SecurityGroups"]],
        "endpoint": lambda: e in [x["VpcEndpointId"] for x in c.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]],
        "peering": lambda: p in [x["VpcPeeringConnectionId"] for x in
                                 c.describe_vpc_peering_connections(Filters=flt)["VpcPeeringConnections"]],
    }
    for kind, listed in listers.items():
        out["tag_now"][kind] = listed()
        out["tag_elapsed"][kind] = time.monotonic() - born[kind]
    settle(t_last, ID_LAG + 0.1)
    out["by_id_later"] = {
        "vpc": code(lambda: c.describe_vpcs(VpcIds=[v])),
        "subnet": code(lambda: c.describe_subnets(SubnetIds=[s])),
        "route_table": code(lambda: c.describe_route_tables(RouteTableIds=[r])),
        "security_group": code(lambda: c.describe_security_groups(GroupIds=[g])),
        "endpoint": code(lambda: c.describe_vpc_endpoints(VpcEndpointIds=[e])),
        "peering": code(lambda: c.describe_vpc_peering_connections(VpcPeeringConnectionIds=[p])),
    }
    settle(t_last, TAG_LAG + 0.1)
    for kind, listed in listers.items():
        out["tag_later"][kind] = listed()
    print(json.dumps(out))
"#;

fn lag_script(id_lag: f64, tag_lag: f64) -> String {
    format!(
        "ID_LAG = {id_lag}\nTAG_LAG = {tag_lag}\n{}",
        common::dedent(LAG_SCRIPT)
    )
}

#[test]
fn new_resources_lag_behind_in_tag_filters_and_describe_by_id() {
    let (id_lag, tag_lag) = (ID_LAG.to_string(), TAG_LAG.to_string());
    let knobs = [
        ("S3EP_STRICT_ID_LAG", id_lag.as_str()),
        ("S3EP_STRICT_TAG_LAG", tag_lag.as_str()),
    ];
    let script = lag_script(ID_LAG, TAG_LAG);
    let (plain, strict) = std::thread::scope(|s| {
        let p = s.spawn(|| run(&Moto::start(), &script));
        let st = run(&Moto::start_with(Emulator::Strict, &knobs), &script);
        (
            p.join()
                .unwrap_or_else(|_| panic!("plain moto scenario panicked")),
            st,
        )
    });
    let within = |v: &Value, key: &str, kind: &str, lag: f64| v[key][kind].as_f64().unwrap_or(f64::MAX) < lag;
    let codes = [
        ("vpc", "InvalidVpcID.NotFound"),
        ("subnet", "InvalidSubnetID.NotFound"),
        ("route_table", "InvalidRouteTableID.NotFound"),
        ("security_group", "InvalidGroup.NotFound"),
        ("endpoint", "InvalidVpcEndpointId.NotFound"),
        ("peering", "InvalidVpcPeeringConnectionID.NotFound"),
    ];
    let mut looked_within = 0;
    for (kind, code) in codes {
        if within(&strict, "by_id_elapsed", kind, ID_LAG) {
            looked_within += 1;
            assert_eq!(strict["by_id_now"][kind], code, "strict, {kind}: {strict:#}");
        }
        if within(&strict, "tag_elapsed", kind, TAG_LAG) {
            looked_within += 1;
            assert_eq!(strict["tag_now"][kind], false, "strict, {kind}: {strict:#}");
        }
        assert_eq!(strict["by_id_later"][kind], "OK", "strict, {kind}: {strict:#}");
        assert_eq!(strict["tag_later"][kind], true, "strict, {kind}: {strict:#}");
        assert_eq!(plain["by_id_now"][kind], "OK", "plain, {kind}: {plain:#}");
        assert_eq!(plain["tag_now"][kind], true, "plain, {kind}: {plain:#}");
    }
    // Far more than half the looks fall within the lags unless the machine is
    // overloaded; none at all would make this test prove nothing.
    assert!(
        looked_within >= 6,
        "too slow to look within the lags ({looked_within}/12): {strict:#}"
    );
    // The own-id filter does not list it yet either (a filter never says NotFound).
    if strict["id_filter_elapsed"].as_f64().unwrap_or(f64::MAX) < ID_LAG {
        assert_eq!(strict["id_filter_now"], 0, "{strict:#}");
    }
    assert_eq!(plain["id_filter_now"], 1, "{plain:#}");
}

#[test]
fn strict_lag_switch_turns_the_lags_off() {
    let m = Moto::start_with(Emulator::Strict, &[("S3EP_STRICT_LAG", "0")]);
    let out = run(&m, &lag_script(0.0, 0.0));
    for kind in [
        "vpc",
        "subnet",
        "route_table",
        "security_group",
        "endpoint",
        "peering",
    ] {
        assert_eq!(out["by_id_now"][kind], "OK", "{kind}: {out:#}");
        assert_eq!(out["tag_now"][kind], true, "{kind}: {out:#}");
    }
}

// 3. DeleteVpcEndpoints partial failures: HTTP 200 with an Unsuccessful item
// coded InvalidVpcEndpoint.NotFound for a missing or already-deleted endpoint.
#[test]
fn delete_of_missing_or_deleted_endpoint_is_an_unsuccessful_item() {
    let script = r#"
        v = vpc("10.4.0.0/16")
        e = c.create_vpc_endpoint(VpcId=v, ServiceName=S3, VpcEndpointType="Gateway")["VpcEndpoint"]["VpcEndpointId"]
        first = c.delete_vpc_endpoints(VpcEndpointIds=[e])
        again = c.delete_vpc_endpoints(VpcEndpointIds=[e, "vpce-0123456789abcdef0"])
        print(json.dumps({"first": first["Unsuccessful"],
                          "status": again["ResponseMetadata"]["HTTPStatusCode"],
                          "again": again["Unsuccessful"]}))
    "#;
    let (plain, strict) = both(script);
    assert_eq!(strict["first"], serde_json::json!([]), "{strict:#}");
    assert_eq!(strict["status"], 200, "{strict:#}");
    let items = strict["again"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{strict:#}");
    for item in &items {
        assert_eq!(item["Error"]["Code"], "InvalidVpcEndpoint.NotFound", "{strict:#}");
    }
    assert_eq!(plain["status"], 200, "{plain:#}");
    assert_eq!(
        plain["again"],
        serde_json::json!([]),
        "plain moto reports nothing: {plain:#}"
    );
}

// 4. Interface endpoint deletion takes time; its subnets and groups are in use
// meanwhile. DeleteVpc with endpoints or non-default groups is refused.
#[test]
fn interface_endpoint_deleting_holds_its_subnets_and_groups() {
    // S3EP_STRICT_DELETE_SECONDS is 3 here (default 1.5) so that a loaded machine
    // still looks while the endpoint is `deleting`.
    let script = r#"
        v = vpc("10.5.0.0/16")
        s = subnet(v, "10.5.1.0/24")
        g = sg(v, "ep")
        e = c.create_vpc_endpoint(VpcId=v, ServiceName=S3, VpcEndpointType="Interface", SubnetIds=[s],
                                  SecurityGroupIds=[g], PrivateDnsEnabled=False)["VpcEndpoint"]["VpcEndpointId"]
        time.sleep(0.6)
        out = {"delete_vpc_with_endpoint": code(lambda: c.delete_vpc(VpcId=v))}
        c.delete_vpc_endpoints(VpcEndpointIds=[e])
        t0 = time.monotonic()
        out["state_now"] = endpoint(e)["State"]
        out["subnet_now"] = code(lambda: c.delete_subnet(SubnetId=s))
        out["group_now"] = code(lambda: c.delete_security_group(GroupId=g))
        settle(t0, 3.2)
        out["state_later"] = endpoint(e)["State"]
        out["subnet_later"] = code(lambda: c.delete_subnet(SubnetId=s))
        out["group_later"] = code(lambda: c.delete_security_group(GroupId=g))
        # A VPC with only a gateway endpoint and a non-default group: no subnets.
        v2 = vpc("10.6.0.0/16")
        gw = c.create_vpc_endpoint(VpcId=v2, ServiceName=S3, VpcEndpointType="Gateway")["VpcEndpoint"]["VpcEndpointId"]
        out["delete_vpc_with_gateway"] = code(lambda: c.delete_vpc(VpcId=v2))
        v3 = vpc("10.7.0.0/16")
        sg(v3, "left")
        out["delete_vpc_with_group"] = code(lambda: c.delete_vpc(VpcId=v3))
        print(json.dumps(out))
    "#;
    let (plain, strict) = both_with(&[("S3EP_STRICT_DELETE_SECONDS", "3")], script);
    assert_eq!(strict["state_now"], "deleting", "{strict:#}");
    assert_eq!(strict["subnet_now"], "DependencyViolation", "{strict:#}");
    assert_eq!(strict["group_now"], "DependencyViolation", "{strict:#}");
    assert_eq!(strict["state_later"], "deleted", "{strict:#}");
    assert_eq!(strict["subnet_later"], "OK", "{strict:#}");
    assert_eq!(strict["group_later"], "OK", "{strict:#}");
    assert_eq!(
        strict["delete_vpc_with_endpoint"], "DependencyViolation",
        "{strict:#}"
    );
    assert_eq!(
        strict["delete_vpc_with_gateway"], "DependencyViolation",
        "{strict:#}"
    );
    assert_eq!(
        strict["delete_vpc_with_group"], "DependencyViolation",
        "{strict:#}"
    );
    assert_eq!(plain["state_now"], "deleted", "{plain:#}");
    assert_eq!(plain["subnet_now"], "OK", "{plain:#}");
    assert_eq!(plain["group_now"], "OK", "{plain:#}");
    assert_eq!(plain["delete_vpc_with_gateway"], "OK", "{plain:#}");
    assert_eq!(plain["delete_vpc_with_group"], "OK", "{plain:#}");
}

// 5. Gateway prefix-list routes appear S3EP_STRICT_ROUTE_LAG after the call, and
// follow ModifyVpcEndpoint; DeleteVpcEndpoints does not trip over gone routes.
#[test]
fn gateway_routes_lag_and_follow_modify() {
    // S3EP_STRICT_ROUTE_LAG is 1.5 s here (default 0.5) so that a loaded machine
    // still looks before the routes change.
    let script = r#"
        v = vpc("10.8.0.0/16")
        a = c.create_route_table(VpcId=v)["RouteTable"]["RouteTableId"]
        b = c.create_route_table(VpcId=v)["RouteTable"]["RouteTableId"]
        e = c.create_vpc_endpoint(VpcId=v, ServiceName=S3, VpcEndpointType="Gateway",
                                  RouteTableIds=[a])["VpcEndpoint"]["VpcEndpointId"]
        out = {"a_now": pl_routes(v, a)}
        time.sleep(1.6)
        out["a_later"] = pl_routes(v, a)
        c.modify_vpc_endpoint(VpcEndpointId=e, AddRouteTableIds=[b], RemoveRouteTableIds=[a])
        out["after_modify_now"] = [pl_routes(v, a), pl_routes(v, b)]
        time.sleep(1.6)
        out["after_modify_later"] = [pl_routes(v, a), pl_routes(v, b)]
        out["delete"] = err(lambda: c.delete_vpc_endpoints(VpcEndpointIds=[e]))
        out["after_delete"] = [pl_routes(v, a), pl_routes(v, b)]
        out["e"] = e
        print(json.dumps(out))
    "#;
    let (plain, strict) = both_with(&[("S3EP_STRICT_ROUTE_LAG", "1.5")], script);
    let e = strict["e"].clone();
    assert_eq!(strict["a_now"], serde_json::json!([]), "{strict:#}");
    assert_eq!(strict["a_later"], serde_json::json!([e]), "{strict:#}");
    assert_eq!(
        strict["after_modify_now"],
        serde_json::json!([[e], []]),
        "{strict:#}"
    );
    assert_eq!(
        strict["after_modify_later"],
        serde_json::json!([[], [e]]),
        "{strict:#}"
    );
    assert_eq!(strict["delete"][0], "OK", "{strict:#}");
    assert_eq!(strict["after_delete"], serde_json::json!([[], []]), "{strict:#}");
    let pe = plain["e"].clone();
    assert_eq!(
        plain["a_now"],
        serde_json::json!([pe]),
        "moto adds the route at once: {plain:#}"
    );
    assert_eq!(
        plain["after_modify_later"],
        serde_json::json!([[pe], []]),
        "moto's Modify: {plain:#}"
    );
    assert_eq!(plain["delete"][0], "InvalidRoute.NotFound", "{plain:#}");
}

// 6. S3 private DNS rules.
#[test]
fn s3_private_dns_rules() {
    let script = r#"
        out = {}
        v = vpc("10.9.0.0/16", dns=False)
        s = subnet(v, "10.9.1.0/24")
        out["private_dns_without_hostnames"] = err(lambda: c.create_vpc_endpoint(
            VpcId=v, ServiceName=S3, VpcEndpointType="Interface", SubnetIds=[s], PrivateDnsEnabled=True,
            DnsOptions={"PrivateDnsOnlyForInboundResolverEndpoint": False}))
        c.modify_vpc_attribute(VpcId=v, EnableDnsHostnames={"Value": True})
        s2 = subnet(v, "10.9.2.0/24", "us-east-1b")
        out["inbound_only_without_gateway"] = err(lambda: c.create_vpc_endpoint(
            VpcId=v, ServiceName=S3, VpcEndpointType="Interface", SubnetIds=[s2], PrivateDnsEnabled=True,
            DnsOptions={"PrivateDnsOnlyForInboundResolverEndpoint": True}))
        w = vpc("10.10.0.0/16")
        ws = subnet(w, "10.10.1.0/24")
        gw = c.create_vpc_endpoint(VpcId=w, ServiceName=S3, VpcEndpointType="Gateway")["VpcEndpoint"]["VpcEndpointId"]
        ie = c.create_vpc_endpoint(VpcId=w, ServiceName=S3, VpcEndpointType="Interface", SubnetIds=[ws],
                                   PrivateDnsEnabled=True, IpAddressType="ipv4",
                                   DnsOptions={"DnsRecordIpType": "ipv4",
                                               "PrivateDnsOnlyForInboundResolverEndpoint": True})["VpcEndpoint"]["VpcEndpointId"]
        time.sleep(0.6)
        d = endpoint(ie)
        out["described"] = {k: d.get(k) for k in ("DnsOptions", "IpAddressType", "ServiceRegion", "PrivateDnsEnabled")}
        out["gateway_delete_blocked"] = c.delete_vpc_endpoints(VpcEndpointIds=[gw])["Unsuccessful"]
        c.modify_vpc_endpoint(VpcEndpointId=ie, PrivateDnsEnabled=False,
                              DnsOptions={"PrivateDnsOnlyForInboundResolverEndpoint": False},
                              PolicyDocument='{"Version":"2012-10-17","Statement":[]}')
        c.modify_vpc_endpoint(VpcEndpointId=ie, ResetPolicy=True)
        d = endpoint(ie)
        out["modified"] = {"PrivateDnsEnabled": d.get("PrivateDnsEnabled"), "DnsOptions": d.get("DnsOptions"),
                           "default_policy": '"Allow"' in d.get("PolicyDocument", "")}
        out["gateway_delete_after"] = c.delete_vpc_endpoints(VpcEndpointIds=[gw])["Unsuccessful"]
        print(json.dumps(out))
    "#;
    let (plain, strict) = both(script);
    let no_dns = &strict["private_dns_without_hostnames"];
    assert_eq!(no_dns[0], "InvalidParameter", "{strict:#}");
    assert!(
        no_dns[1].as_str().unwrap_or("").contains("enableDnsHostnames"),
        "{strict:#}"
    );
    let inbound = &strict["inbound_only_without_gateway"];
    assert_eq!(inbound[0], "InvalidParameter", "{strict:#}");
    assert!(
        inbound[1]
            .as_str()
            .unwrap_or("")
            .contains("must have a Gateway endpoint for the service"),
        "{strict:#}"
    );
    assert_eq!(
        strict["described"],
        serde_json::json!({
            "DnsOptions": {"DnsRecordIpType": "ipv4", "PrivateDnsOnlyForInboundResolverEndpoint": true},
            "IpAddressType": "ipv4", "ServiceRegion": "us-east-1", "PrivateDnsEnabled": true
        }),
        "{strict:#}"
    );
    let blocked = strict["gateway_delete_blocked"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(blocked.len(), 1, "{strict:#}");
    assert_eq!(blocked[0]["Error"]["Code"], "InvalidParameter", "{strict:#}");
    assert_eq!(
        strict["modified"],
        serde_json::json!({"PrivateDnsEnabled": false,
            "DnsOptions": {"DnsRecordIpType": "ipv4", "PrivateDnsOnlyForInboundResolverEndpoint": false},
            "default_policy": true}),
        "{strict:#}"
    );
    assert_eq!(
        strict["gateway_delete_after"],
        serde_json::json!([]),
        "{strict:#}"
    );

    assert_eq!(plain["private_dns_without_hostnames"][0], "OK", "{plain:#}");
    assert_eq!(plain["inbound_only_without_gateway"][0], "OK", "{plain:#}");
    assert!(
        plain["described"]["DnsOptions"].is_null(),
        "moto drops DnsOptions: {plain:#}"
    );
    assert_eq!(
        plain["gateway_delete_blocked"],
        serde_json::json!([]),
        "{plain:#}"
    );
    assert_eq!(
        plain["modified"]["PrivateDnsEnabled"], true,
        "moto ignores it on Modify: {plain:#}"
    );
    assert_eq!(
        plain["modified"]["default_policy"], false,
        "moto ignores ResetPolicy: {plain:#}"
    );
}

// 7. The S3 interface service is not offered in us-east-1e (use1-az3).
#[test]
fn s3_interface_service_is_not_offered_in_every_az() {
    let script = r#"
        out = {}
        details = c.describe_vpc_endpoint_services(ServiceNames=[S3])["ServiceDetails"]
        iface = [d for d in details if {"ServiceType": "Interface"} in d["ServiceType"]][0]
        gate = [d for d in details if {"ServiceType": "Gateway"} in d["ServiceType"]][0]
        out["interface_azs"] = iface["AvailabilityZones"]
        out["interface_az_ids"] = iface.get("AvailabilityZoneIds")
        out["gateway_azs"] = gate["AvailabilityZones"]
        v = vpc("10.11.0.0/16")
        ok = subnet(v, "10.11.1.0/24", "us-east-1a")
        bad = subnet(v, "10.11.2.0/24", "us-east-1e")
        out["create_in_e"] = err(lambda: c.create_vpc_endpoint(VpcId=v, ServiceName=S3, VpcEndpointType="Interface",
                                                               SubnetIds=[bad], PrivateDnsEnabled=False))
        e = c.create_vpc_endpoint(VpcId=v, ServiceName=S3, VpcEndpointType="Interface", SubnetIds=[ok],
                                  PrivateDnsEnabled=False)["VpcEndpoint"]["VpcEndpointId"]
        out["modify_add_e"] = err(lambda: c.modify_vpc_endpoint(VpcEndpointId=e, AddSubnetIds=[bad]))
        out["bad"] = bad
        print(json.dumps(out))
    "#;
    let (plain, strict) = both(script);
    let azs: Vec<&str> = [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
        "us-east-1d",
        "us-east-1f",
    ]
    .to_vec();
    assert_eq!(strict["interface_azs"], serde_json::json!(azs), "{strict:#}");
    assert_eq!(
        strict["interface_az_ids"],
        serde_json::json!(["use1-az6", "use1-az1", "use1-az2", "use1-az4", "use1-az5"]),
        "{strict:#}"
    );
    assert!(
        strict["gateway_azs"].as_array().map(|a| a.len()).unwrap_or(0) == 6,
        "the gateway service is not AZ-bound: {strict:#}"
    );
    for key in ["create_in_e", "modify_add_e"] {
        assert_eq!(strict[key][0], "InvalidParameter", "{key}: {strict:#}");
        let msg = strict[key][1].as_str().unwrap_or("");
        assert!(
            msg.contains("us-east-1e") && msg.contains(strict["bad"].as_str().unwrap_or("?")),
            "{msg}"
        );
    }
    assert!(
        plain["interface_azs"]
            .as_array()
            .map(|a| a.iter().any(|z| z == "us-east-1e"))
            .unwrap_or(false),
        "{plain:#}"
    );
    assert_eq!(plain["create_in_e"][0], "OK", "{plain:#}");
    assert_eq!(plain["modify_add_e"][0], "OK", "{plain:#}");
}

// 8. 60 inbound rules per group (per IP family), the whole request or nothing.
#[test]
fn security_group_rule_quota() {
    let script = r#"
        out = {}
        v = vpc("10.12.0.0/16")
        def perms(n, proto="tcp", v6=False):
            rng = {"Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]} if v6 else {"IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
            return [dict({"IpProtocol": proto, "FromPort": i + 1, "ToPort": i + 1}, **rng) for i in range(n)]
        g1 = sg(v, "atomic")
        out["65_in_one_call"] = code(lambda: c.authorize_security_group_ingress(GroupId=g1, IpPermissions=perms(65)))
        out["left_after_refusal"] = ingress_count(g1)
        g2 = sg(v, "families")
        out["40_v4_30_v6"] = code(lambda: c.authorize_security_group_ingress(
            GroupId=g2, IpPermissions=perms(40) + perms(30, v6=True)))
        g3 = sg(v, "prefix")
        c.authorize_security_group_ingress(GroupId=g3, IpPermissions=perms(60))
        pl = c.create_managed_prefix_list(PrefixListName="one", MaxEntries=1, AddressFamily="IPv4",
                                          Entries=[{"Cidr": "192.0.2.0/24"}])["PrefixList"]["PrefixListId"]
        out["61st_as_prefix_list"] = code(lambda: c.authorize_security_group_ingress(GroupId=g3, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": pl}]}]))
        out["g3_rules"] = ingress_count(g3)
        print(json.dumps(out))
    "#;
    let (plain, strict) = both(script);
    assert_eq!(
        strict["65_in_one_call"], "RulesPerSecurityGroupLimitExceeded",
        "{strict:#}"
    );
    assert_eq!(strict["left_after_refusal"], 0, "{strict:#}");
    assert_eq!(strict["40_v4_30_v6"], "OK", "{strict:#}");
    assert_eq!(
        strict["61st_as_prefix_list"], "RulesPerSecurityGroupLimitExceeded",
        "{strict:#}"
    );
    assert_eq!(strict["g3_rules"], 60, "{strict:#}");
    assert_eq!(
        plain["65_in_one_call"], "RulesPerSecurityGroupLimitExceeded",
        "{plain:#}"
    );
    assert_eq!(
        plain["left_after_refusal"], 60,
        "moto keeps half a refused call: {plain:#}"
    );
    assert_eq!(
        plain["40_v4_30_v6"], "RulesPerSecurityGroupLimitExceeded",
        "{plain:#}"
    );
    assert_eq!(plain["61st_as_prefix_list"], "OK", "{plain:#}");
    assert_eq!(plain["g3_rules"], 61, "{plain:#}");
}

/// `Moto::start_default()` follows S3EP_TEST_EMULATOR (plain moto unless set).
#[test]
fn default_emulator_follows_the_env_switch() {
    let expected = Emulator::from_env();
    let m = Moto::start_default();
    assert_eq!(m.emulator(), expected);
    let out = run(
        &m,
        r#"
        print(json.dumps(code(lambda: c.describe_vpc_peering_connections(VpcPeeringConnectionIds=["pcx-0123456789abcdef0"]))))
        "#,
    );
    let want = if expected == Emulator::Strict {
        "InvalidVpcPeeringConnectionID.NotFound"
    } else {
        "OK"
    };
    assert_eq!(out, want);
}
