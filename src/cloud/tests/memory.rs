//! Unit tests of `cloud::memory`.
use super::*;
use crate::model::TAG_KEY;

const R: &str = "us-east-1";
const R2: &str = "eu-west-1";

/// S3's gateway service in `region`.
fn s3(region: &str) -> String {
    crate::model::service_name(region, "s3", crate::model::EndpointType::Gateway)
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn tags(plan: &str, key: &str) -> Tags {
    Tags::from([
        (TAG_PLAN.to_string(), plan.to_string()),
        (TAG_KEY.to_string(), key.to_string()),
    ])
}

fn code<T: std::fmt::Debug>(r: CloudResult<T>) -> String {
    r.unwrap_err().code.unwrap_or_default()
}

fn pl() -> RouteDest {
    RouteDest::PrefixList(s3_prefix_list_id(R))
}

fn gateway(vpc: &str, rtbs: &[&str], token: Option<&str>) -> EndpointCreate {
    EndpointCreate {
        vpc_id: vpc.to_string(),
        service: s3_service(R),
        endpoint_type: EndpointType::Gateway,
        route_table_ids: rtbs.iter().map(|s| s.to_string()).collect(),
        subnet_ids: vec![],
        security_group_ids: vec![],
        private_dns: None,
        service_region: None,
        ip_address_type: None,
        dns_record_ip_type: None,
        policy: None,
        tags: tags("p", "endpoint.gw"),
        client_token: token.map(str::to_string),
    }
}

fn interface(vpc: &str, subnets: &[&str], sgs: &[&str]) -> EndpointCreate {
    EndpointCreate {
        vpc_id: vpc.to_string(),
        service: s3_service(R),
        endpoint_type: EndpointType::Interface,
        route_table_ids: vec![],
        subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
        security_group_ids: sgs.iter().map(|s| s.to_string()).collect(),
        private_dns: Some(crate::model::PrivateDns::Off),
        service_region: None,
        ip_address_type: None,
        dns_record_ip_type: None,
        policy: None,
        tags: tags("p", "endpoint.if"),
        client_token: None,
    }
}

/// `<prefix>-` and 17 lower-case hex digits (8 for AWS-managed prefix lists).
fn is_id(id: &str, prefix: &str) -> bool {
    let len = if prefix == "pl" { 8 } else { 17 };
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            hex.len() == len
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

async fn table(c: &MemoryCloud, rtb: &str) -> LRouteTable {
    c.oob()
        .describe_route_tables(R, &Filter::Ids(vec![rtb.to_string()]))
        .await
        .unwrap()
        .remove(0)
}

async fn endpoint_state(c: &MemoryCloud, id: &str) -> String {
    c.describe_endpoints(R, &Filter::Ids(vec![id.to_string()]))
        .await
        .unwrap()
        .remove(0)
        .state
}

#[tokio::test]
async fn ids_are_random_like_ec2_and_the_prefix_list_is_fixed_per_region() {
    let c = MemoryCloud::new();
    let vpc = c
        .create_vpc(R, net("10.0.0.0/16"), &tags("p", "vpc.a"))
        .await
        .unwrap();
    let other = MemoryCloud::new()
        .create_vpc(R, net("10.0.0.0/16"), &Tags::new())
        .await
        .unwrap();
    assert_ne!(vpc, other, "two clouds draw different ids");
    let subnet = c
        .create_subnet(R, &vpc, "us-east-1a", net("10.0.1.0/24"), &Tags::new())
        .await
        .unwrap();
    let rtb = c.create_route_table(R, &vpc, &Tags::new(), None).await.unwrap();
    let assoc = c.associate_route_table(R, &rtb, &subnet).await.unwrap();
    let sg = c
        .create_security_group(R, &vpc, "x", "d", &Tags::new())
        .await
        .unwrap();
    let ep = c.create_endpoint(R, &gateway(&vpc, &[&rtb], None)).await.unwrap();
    let vpc2 = c.create_vpc(R2, net("10.1.0.0/16"), &Tags::new()).await.unwrap();
    let pcx = c.create_peering(R, &vpc, &vpc2, R2, &Tags::new()).await.unwrap();
    for (id, prefix) in [
        (&vpc, "vpc"),
        (&subnet, "subnet"),
        (&rtb, "rtb"),
        (&assoc, "rtbassoc"),
        (&sg, "sg"),
        (&ep.id, "vpce"),
        (&pcx, "pcx"),
    ] {
        assert!(is_id(id, prefix), "{id}");
    }
    let p1 = c.prefix_list(R, &s3(R)).await.unwrap().unwrap();
    let p2 = c.prefix_list(R2, &s3(R2)).await.unwrap().unwrap();
    assert!(is_id(&p1, "pl") && is_id(&p2, "pl") && p1 != p2);
    assert_eq!(Some(p1), MemoryCloud::new().prefix_list(R, &s3(R)).await.unwrap());
    assert_eq!(c.call_count("DescribeManagedPrefixLists"), 2);
}

#[tokio::test]
async fn ids_carry_no_creation_order() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    let mut made = Vec::new();
    for i in 0..24 {
        let cidr = net(&format!("10.0.{i}.0/24"));
        made.push(
            c.create_subnet(R, &vpc, "us-east-1a", cidr, &Tags::new())
                .await
                .unwrap(),
        );
    }
    assert!(made.iter().all(|id| is_id(id, "subnet")));
    let mut sorted = made.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), made.len(), "ids are unique");
    // 24 random ids come out in creation order once in 24! tries.
    assert_ne!(sorted, made, "ids sort in creation order: not random");
}

#[tokio::test]
async fn new_vpc_has_main_table_and_default_group() {
    let c = MemoryCloud::new();
    let vpc = c
        .create_vpc(R, net("10.0.0.0/16"), &tags("p", "vpc.a"))
        .await
        .unwrap();
    let vpcs = Filter::Vpcs(vec![vpc.clone()]);
    let tables = c.describe_route_tables(R, &vpcs).await.unwrap();
    assert_eq!(tables.len(), 1);
    let main = &tables[0];
    assert!(main.tags.is_empty());
    assert_eq!(main.associations.len(), 1);
    assert!(main.associations[0].main && main.associations[0].subnet_id.is_none());
    assert_eq!(main.routes.len(), 1);
    assert_eq!(main.routes[0].dest, RouteDest::Cidr(net("10.0.0.0/16")));
    assert_eq!(main.routes[0].gateway_id.as_deref(), Some("local"));
    let groups = c.describe_security_groups(R, &vpcs).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "default");
    assert!(groups[0].tags.is_empty());
    let plan = Filter::Plan("p".into());
    assert!(c.describe_route_tables(R, &plan).await.unwrap().is_empty());
    assert!(c.describe_security_groups(R, &plan).await.unwrap().is_empty());
    let v = c.describe_vpcs(R, &plan).await.unwrap();
    assert_eq!((v.len(), v[0].state.as_str()), (1, "available"));
    assert_eq!(c.count("vpc", R), 1);
    assert_eq!(c.count("route_table", R), 0);
    assert_eq!(c.count("security_group", R), 0);
    // Regions are independent.
    assert!(c.describe_vpcs(R2, &plan).await.unwrap().is_empty());
    assert_eq!(code(c.delete_vpc(R2, &vpc).await), "InvalidVpcID.NotFound");
}

#[tokio::test]
async fn describe_honours_filters_and_sorts() {
    let c = MemoryCloud::new();
    let a = c
        .create_vpc(R, net("10.0.0.0/16"), &tags("p", "vpc.a"))
        .await
        .unwrap();
    let b = c
        .create_vpc(R, net("10.1.0.0/16"), &tags("q", "vpc.b"))
        .await
        .unwrap();
    let foreign = c.oob_create_vpc(R, net("10.2.0.0/16"), &Tags::new());
    let ids = |v: Vec<LVpc>| v.into_iter().map(|v| v.id).collect::<Vec<_>>();
    let plan = c.describe_vpcs(R, &Filter::Plan("p".into())).await.unwrap();
    assert_eq!(ids(plan), vec![a.clone()]);
    let by_id = c
        .describe_vpcs(R, &Filter::Ids(vec![foreign.clone(), a.clone()]))
        .await
        .unwrap();
    let mut want = vec![a.clone(), foreign.clone()];
    want.sort();
    assert_eq!(ids(by_id), want);
    let in_vpcs = c.describe_vpcs(R, &Filter::Vpcs(vec![b.clone()])).await.unwrap();
    assert_eq!(ids(in_vpcs), vec![b.clone()]);
    let missing = |s: &str| Filter::Ids(vec![s.to_string()]);
    assert_eq!(
        code(c.describe_vpcs(R, &missing("vpc-0000000000000abcd")).await),
        "InvalidVpcID.NotFound"
    );
    assert_eq!(
        code(c.describe_subnets(R, &missing("subnet-00000000000000099")).await),
        "InvalidSubnetID.NotFound"
    );
    assert_eq!(
        code(
            c.describe_route_tables(R, &missing("rtb-00000000000000099"))
                .await
        ),
        "InvalidRouteTableID.NotFound"
    );
    assert_eq!(
        code(
            c.describe_security_groups(R, &missing("sg-00000000000000099"))
                .await
        ),
        "InvalidGroup.NotFound"
    );
    assert_eq!(
        code(c.describe_endpoints(R, &missing("vpce-00000000000000099")).await),
        "InvalidVpcEndpointId.NotFound"
    );
    assert_eq!(
        code(c.describe_peerings(R, &missing("pcx-00000000000000099")).await),
        "InvalidVpcPeeringConnectionID.NotFound"
    );
    let all = c
        .describe_route_tables(R, &Filter::Vpcs(vec![a, b, foreign]))
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|t| t.id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!((ids.len(), ids), (3, sorted));
}

#[tokio::test]
async fn delete_vpc_waits_for_dependencies() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    let subnet = c
        .create_subnet(R, &vpc, "us-east-1a", net("10.0.1.0/24"), &Tags::new())
        .await
        .unwrap();
    let rtb = c.create_route_table(R, &vpc, &Tags::new(), None).await.unwrap();
    let sg = c
        .create_security_group(R, &vpc, "ep", "d", &Tags::new())
        .await
        .unwrap();
    let ep = c.create_endpoint(R, &gateway(&vpc, &[], None)).await.unwrap();
    let dv = "DependencyViolation";
    assert_eq!(code(c.delete_vpc(R, &vpc).await), dv);
    c.delete_subnet(R, &subnet).await.unwrap();
    assert_eq!(code(c.delete_vpc(R, &vpc).await), dv);
    c.delete_route_table(R, &rtb).await.unwrap();
    assert_eq!(code(c.delete_vpc(R, &vpc).await), dv);
    c.delete_security_group(R, &sg).await.unwrap();
    assert_eq!(code(c.delete_vpc(R, &vpc).await), dv);
    c.delete_endpoint(R, &ep.id).await.unwrap();
    c.delete_vpc(R, &vpc).await.unwrap();
    let in_vpc = Filter::Vpcs(vec![vpc.clone()]);
    assert!(c.describe_route_tables(R, &in_vpc).await.unwrap().is_empty());
    assert!(c.describe_security_groups(R, &in_vpc).await.unwrap().is_empty());
    assert_eq!(c.count("vpc", R), 0);
    assert_eq!(code(c.delete_vpc(R, &vpc).await), "InvalidVpcID.NotFound");
}

#[tokio::test]
async fn subnet_checks() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    let t = Tags::new();
    let sub = |az: &'static str, cidr: &'static str| {
        let (c, vpc, t) = (c.clone(), vpc.clone(), t.clone());
        async move { c.create_subnet(R, &vpc, az, net(cidr), &t).await }
    };
    assert_eq!(
        code(sub("eu-west-1a", "10.0.1.0/24").await),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(sub("us-east-1", "10.0.1.0/24").await),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(sub("us-east-1a", "10.9.1.0/24").await),
        "InvalidSubnet.Range"
    );
    sub("us-east-1a", "10.0.0.0/20").await.unwrap();
    assert_eq!(
        code(sub("us-east-1b", "10.0.1.0/24").await),
        "InvalidSubnet.Conflict"
    );
    sub("us-east-1b", "10.0.16.0/24").await.unwrap();
    assert_eq!(
        code(
            c.create_subnet(R, "vpc-00000000000000099", "us-east-1a", net("10.0.1.0/24"), &t)
                .await
        ),
        "InvalidVpcID.NotFound"
    );
    assert_eq!(
        code(c.create_vpc(R, net("10.0.0.0/8"), &t).await),
        "InvalidVpc.Range"
    );
    assert_eq!(c.count("subnet", R), 2);
}

#[tokio::test]
async fn route_table_client_token_is_idempotent() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    let other = c.create_vpc(R, net("10.1.0.0/16"), &Tags::new()).await.unwrap();
    let t = tags("p", "route_table.a.x");
    let first = c.create_route_table(R, &vpc, &t, Some("tok")).await.unwrap();
    let again = c.create_route_table(R, &vpc, &t, Some("tok")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(c.count("route_table", R), 1);
    assert_eq!(
        code(c.create_route_table(R, &other, &t, Some("tok")).await),
        "IdempotentParameterMismatch"
    );
    let local = &table(&c, &first).await.routes[0];
    assert_eq!(local.gateway_id.as_deref(), Some("local"));
    // Without a token every call creates a table.
    c.create_route_table(R, &vpc, &t, None).await.unwrap();
    c.create_route_table(R, &vpc, &t, None).await.unwrap();
    assert_eq!(c.count("route_table", R), 3);
}

#[tokio::test]
async fn associations() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let other = c.create_vpc(R, net("10.1.0.0/16"), &t).await.unwrap();
    let subnet = c
        .create_subnet(R, &vpc, "us-east-1a", net("10.0.1.0/24"), &t)
        .await
        .unwrap();
    let rtb = c.create_route_table(R, &vpc, &t, None).await.unwrap();
    let rtb2 = c.create_route_table(R, &vpc, &t, None).await.unwrap();
    let foreign = c.create_route_table(R, &other, &t, None).await.unwrap();
    assert_eq!(
        code(c.associate_route_table(R, &foreign, &subnet).await),
        "InvalidParameterValue"
    );
    let assoc = c.associate_route_table(R, &rtb, &subnet).await.unwrap();
    assert_eq!(
        code(c.associate_route_table(R, &rtb2, &subnet).await),
        "Resource.AlreadyAssociated"
    );
    let a = &table(&c, &rtb).await.associations;
    assert_eq!(
        (a[0].id.as_str(), a[0].subnet_id.as_deref(), a[0].main),
        (assoc.as_str(), Some(subnet.as_str()), false)
    );
    assert_eq!(code(c.delete_route_table(R, &rtb).await), "DependencyViolation");
    c.disassociate_route_table(R, &assoc).await.unwrap();
    assert_eq!(
        code(c.disassociate_route_table(R, &assoc).await),
        "InvalidAssociationID.NotFound"
    );
    c.delete_route_table(R, &rtb).await.unwrap();
    assert_eq!(
        code(c.delete_route_table(R, &rtb).await),
        "InvalidRouteTableID.NotFound"
    );
    // Deleting a subnet drops its association.
    c.associate_route_table(R, &rtb2, &subnet).await.unwrap();
    c.delete_subnet(R, &subnet).await.unwrap();
    c.delete_route_table(R, &rtb2).await.unwrap();
    assert_eq!(
        code(
            c.associate_route_table(R, &foreign, "subnet-00000000000000099")
                .await
        ),
        "InvalidSubnetID.NotFound"
    );
}

#[tokio::test]
async fn routes() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let rtb = c.create_route_table(R, &vpc, &t, None).await.unwrap();
    let dest = RouteDest::Cidr(net("10.9.0.0/16"));
    assert_eq!(
        code(c.delete_route(R, &rtb, &dest).await),
        "InvalidRoute.NotFound"
    );
    let local = RouteDest::Cidr(net("10.0.0.0/16"));
    assert_eq!(
        code(c.delete_route(R, &rtb, &local).await),
        "InvalidParameterValue"
    );
    c.oob_add_route(R, &rtb, &dest, "igw-1").unwrap();
    c.delete_route(R, &rtb, &dest).await.unwrap();
    assert_eq!(table(&c, &rtb).await.routes.len(), 1);
    assert_eq!(
        code(c.delete_route(R, "rtb-00000000000000099", &dest).await),
        "InvalidRouteTableID.NotFound"
    );
}

#[tokio::test]
async fn gateway_endpoint_owns_its_routes() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let a = c.create_route_table(R, &vpc, &t, None).await.unwrap();
    let b = c.create_route_table(R, &vpc, &t, None).await.unwrap();
    let ep = c.create_endpoint(R, &gateway(&vpc, &[&a], None)).await.unwrap();
    assert_eq!(ep.state, "available");
    assert_eq!(ep.policy, Some(default_endpoint_policy()));
    assert!(ep.dns_entries.is_empty());
    let has_route = |t: &LRouteTable| {
        t.routes
            .iter()
            .any(|r| r.dest == pl() && r.gateway_id.as_deref() == Some(ep.id.as_str()))
    };
    assert!(has_route(&table(&c, &a).await));
    assert!(!has_route(&table(&c, &b).await));
    // A second gateway endpoint cannot take the same table.
    assert_eq!(
        code(c.create_endpoint(R, &gateway(&vpc, &[&a], None)).await),
        "RouteAlreadyExists"
    );

    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": []});
    let change = EndpointModify {
        add_route_table_ids: vec![b.clone()],
        remove_route_table_ids: vec![a.clone()],
        policy: Some(Some(policy.clone())),
        ..Default::default()
    };
    c.modify_endpoint(R, &ep.id, &change).await.unwrap();
    assert!(!has_route(&table(&c, &a).await));
    assert!(has_route(&table(&c, &b).await));
    let now = c.describe_endpoints(R, &Filter::Plan("p".into())).await.unwrap();
    assert_eq!(now[0].route_table_ids, vec![b.clone()]);
    assert_eq!(now[0].policy, Some(policy));
    let reset = EndpointModify {
        policy: Some(None),
        ..Default::default()
    };
    c.modify_endpoint(R, &ep.id, &reset).await.unwrap();
    let now = c
        .describe_endpoints(R, &Filter::Vpcs(vec![vpc.clone()]))
        .await
        .unwrap();
    assert_eq!(now[0].policy, Some(default_endpoint_policy()));
    let bad = EndpointModify {
        add_subnet_ids: vec!["subnet-1".into()],
        ..Default::default()
    };
    assert_eq!(code(c.modify_endpoint(R, &ep.id, &bad).await), "InvalidParameter");

    // Drift: the route goes missing and is restored.
    c.oob_delete_route(R, &b, &pl()).unwrap();
    assert!(!has_route(&table(&c, &b).await));
    assert_eq!(
        code(c.create_endpoint_route(R, &a, &pl(), &ep.id).await),
        "InvalidParameterValue"
    );
    c.create_endpoint_route(R, &b, &pl(), &ep.id).await.unwrap();
    assert!(has_route(&table(&c, &b).await));
    assert_eq!(
        code(c.create_endpoint_route(R, &b, &pl(), &ep.id).await),
        "RouteAlreadyExists"
    );

    c.delete_endpoint(R, &ep.id).await.unwrap();
    assert!(!has_route(&table(&c, &b).await));
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleted");
    assert_eq!(c.count("endpoint", R), 0);
    assert_eq!(
        code(c.modify_endpoint(R, &ep.id, &reset).await),
        "InvalidVpcEndpointId.NotFound"
    );
    // EC2 reports an already deleted endpoint as an Unsuccessful item
    // coded InvalidVpcEndpoint.NotFound (not InvalidVpcEndpointId...).
    assert_eq!(
        code(c.delete_endpoint(R, &ep.id).await),
        "InvalidVpcEndpoint.NotFound"
    );
    c.forget_deleted();
    assert!(c
        .describe_endpoints(R, &Filter::Plan("p".into()))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(c.delete_endpoint(R, &ep.id).await),
        "InvalidVpcEndpoint.NotFound"
    );
}

#[tokio::test]
async fn endpoint_client_token_and_lost_response() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let a = c.create_route_table(R, &vpc, &t, None).await.unwrap();
    let b = c.create_route_table(R, &vpc, &t, None).await.unwrap();
    c.lose_response_next("CreateVpcEndpoint");
    let lost = c
        .create_endpoint(R, &gateway(&vpc, &[&a], Some("tok")))
        .await
        .unwrap_err();
    assert_eq!((lost.code, lost.message.as_str()), (None, "connection reset"));
    assert_eq!(c.count("endpoint", R), 1);
    let retry = c
        .create_endpoint(R, &gateway(&vpc, &[&a], Some("tok")))
        .await
        .unwrap();
    assert_eq!(c.count("endpoint", R), 1);
    let listed = c.describe_endpoints(R, &Filter::Plan("p".into())).await.unwrap();
    assert_eq!(listed[0].id, retry.id);
    assert_eq!(
        code(c.create_endpoint(R, &gateway(&vpc, &[&b], Some("tok"))).await),
        "IdempotentParameterMismatch"
    );
    assert_eq!(c.call_count("CreateVpcEndpoint"), 3);
}

#[tokio::test]
async fn interface_endpoint_rules() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let s1 = c
        .create_subnet(R, &vpc, "us-east-1a", net("10.0.1.0/24"), &t)
        .await
        .unwrap();
    let s2 = c
        .create_subnet(R, &vpc, "us-east-1a", net("10.0.2.0/24"), &t)
        .await
        .unwrap();
    let s3 = c
        .create_subnet(R, &vpc, "us-east-1b", net("10.0.3.0/24"), &t)
        .await
        .unwrap();
    assert_eq!(
        code(c.create_endpoint(R, &interface(&vpc, &[&s1, &s2], &[])).await),
        "DuplicateSubnetsInSameZone"
    );
    let mut wrong = interface(&vpc, &[&s1], &[]);
    wrong.service = "com.amazonaws.eu-west-1.s3".into();
    assert_eq!(code(c.create_endpoint(R, &wrong).await), "InvalidServiceName");
    let ep = c
        .create_endpoint(R, &interface(&vpc, &[&s1, &s3], &[]))
        .await
        .unwrap();
    let default_sg = c
        .describe_security_groups(R, &Filter::Vpcs(vec![vpc.clone()]))
        .await
        .unwrap();
    assert_eq!(ep.security_group_ids, vec![default_sg[0].id.clone()]);
    let names: Vec<_> = ep.dns_entries.iter().map(|d| d.dns_name.clone()).collect();
    assert_eq!(
        names,
        vec![
            format!("*.{}-abcd1234.s3.us-east-1.vpce.amazonaws.com", ep.id),
            format!("{}-abcd1234.s3.us-east-1.vpce.amazonaws.com", ep.id),
        ]
    );
    let swap = EndpointModify {
        add_subnet_ids: vec![s2.clone()],
        ..Default::default()
    };
    assert_eq!(
        code(c.modify_endpoint(R, &ep.id, &swap).await),
        "DuplicateSubnetsInSameZone"
    );
    let swap = EndpointModify {
        add_subnet_ids: vec![s2.clone()],
        remove_subnet_ids: vec![s1.clone()],
        private_dns: Some(crate::model::PrivateDns::On),
        ..Default::default()
    };
    // Private DNS needs DNS hostnames, off in a new VPC.
    assert_eq!(
        code(c.modify_endpoint(R, &ep.id, &swap).await),
        "InvalidParameter"
    );
    c.enable_dns_hostnames(R, &vpc).await.unwrap();
    c.modify_endpoint(R, &ep.id, &swap).await.unwrap();
    let now = c
        .describe_endpoints(R, &Filter::Ids(vec![ep.id.clone()]))
        .await
        .unwrap();
    assert_eq!(now[0].subnet_ids, vec![s3.clone(), s2.clone()]);
    assert!(now[0].private_dns);
    c.delete_subnet(R, &s1).await.unwrap();
    assert_eq!(code(c.delete_subnet(R, &s2).await), "DependencyViolation");

    // Deleting takes two describes; the subnet stays busy until `deleted`.
    c.set_endpoint_pending_polls(2);
    c.delete_endpoint(R, &ep.id).await.unwrap();
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleting");
    assert_eq!(code(c.delete_subnet(R, &s2).await), "DependencyViolation");
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleting");
    assert_eq!(
        code(c.modify_endpoint(R, &ep.id, &EndpointModify::default()).await),
        "IncorrectState"
    );
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleted");
    c.delete_subnet(R, &s2).await.unwrap();
}

#[tokio::test]
async fn endpoint_pending_polls() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    c.set_endpoint_pending_polls(2);
    let ep = c.create_endpoint(R, &gateway(&vpc, &[], None)).await.unwrap();
    assert_eq!(ep.state, "pending");
    // Out-of-band reads do not advance the countdown.
    let peek = c
        .oob()
        .describe_endpoints(R, &Filter::Plan("p".into()))
        .await
        .unwrap();
    assert_eq!(peek[0].state, "pending");
    assert_eq!(endpoint_state(&c, &ep.id).await, "pending");
    assert_eq!(endpoint_state(&c, &ep.id).await, "pending");
    assert_eq!(endpoint_state(&c, &ep.id).await, "available");
    assert_eq!(endpoint_state(&c, &ep.id).await, "available");
}

/// With the buckets on, CreateVpcEndpoint draws from its region's bucket
/// of burst 4 and refill 0.3/s (EC2's size, src/cloud/rate.rs): the 5th call
/// in one region waits 1/0.3 s for its token, then its latency; another
/// region and another action have their own buckets. Off (the default),
/// only the latency counts.
#[tokio::test(start_paused = true)]
async fn rate_buckets_pace_the_fifth_create_vpc_endpoint() {
    use crate::cloud::rate::RateLimits;
    let latency = Duration::from_millis(50);
    for on in [true, false] {
        let c = MemoryCloud::new();
        c.set_latency(latency);
        if on {
            c.set_rate_limits(Some(RateLimits::default()));
        }
        let mut vpcs = Vec::new();
        for i in 0..6 {
            vpcs.push(c.oob_create_vpc(R, net(&format!("10.{i}.0.0/16")), &Tags::new()));
        }
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        for v in &vpcs[..5] {
            c.create_endpoint(R, &gateway(v, &[], None)).await.unwrap();
            at.push(start.elapsed().as_secs_f64());
        }
        for (i, t) in at[..4].iter().enumerate() {
            assert!((t - 0.05 * (i + 1) as f64).abs() < 0.001, "on={on}: {at:?}");
        }
        let fifth = 0.25 + if on { 1.0 / 0.3 - 0.2 } else { 0.0 };
        // On: the 5th token is due 1/0.3 s after the bucket was first used
        // (at 0), less the 4 × 50 ms already spent; off: right away.
        assert!((at[4] - fifth).abs() < 0.001, "on={on}: {at:?}");
        // Another action and another region do not wait.
        let t = tokio::time::Instant::now();
        c.create_vpc(R, net("10.99.0.0/16"), &Tags::new()).await.unwrap();
        let other = c.oob_create_vpc(R2, net("10.7.0.0/16"), &Tags::new());
        let mut spec = gateway(&other, &[], None);
        spec.service = s3_service(R2);
        c.create_endpoint(R2, &spec).await.unwrap();
        assert!((t.elapsed().as_secs_f64() - 0.1).abs() < 0.001, "on={on}");
    }
}

#[tokio::test]
async fn security_groups() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let other = c.create_vpc(R, net("10.1.0.0/16"), &t).await.unwrap();
    let sg = c.create_security_group(R, &vpc, "ep", "d", &t).await.unwrap();
    assert_eq!(
        code(c.create_security_group(R, &vpc, "ep", "d", &t).await),
        "InvalidGroup.Duplicate"
    );
    assert_eq!(
        code(c.create_security_group(R, &vpc, "default", "d", &t).await),
        "InvalidGroup.Duplicate"
    );
    c.create_security_group(R, &other, "ep", "d", &t).await.unwrap();
    let peer = RulePeer::Cidr(net("10.0.0.0/16"));
    c.authorize_https_ingress(R, &sg, &peer, &t).await.unwrap();
    assert_eq!(
        code(c.authorize_https_ingress(R, &sg, &peer, &t).await),
        "InvalidPermission.Duplicate"
    );
    let g = c
        .describe_security_groups(R, &Filter::Ids(vec![sg.clone()]))
        .await
        .unwrap();
    assert!(g[0].ingress.len() == 1 && g[0].ingress[0].is_https());
    c.revoke_https_ingress(R, &sg, &peer).await.unwrap();
    assert_eq!(
        code(c.revoke_https_ingress(R, &sg, &peer).await),
        "InvalidPermission.NotFound"
    );
    let subnet = c
        .create_subnet(R, &vpc, "us-east-1a", net("10.0.1.0/24"), &t)
        .await
        .unwrap();
    let ep = c
        .create_endpoint(R, &interface(&vpc, &[&subnet], &[&sg]))
        .await
        .unwrap();
    assert_eq!(code(c.delete_security_group(R, &sg).await), "DependencyViolation");
    c.delete_endpoint(R, &ep.id).await.unwrap();
    c.delete_security_group(R, &sg).await.unwrap();
    assert_eq!(
        code(c.delete_security_group(R, &sg).await),
        "InvalidGroup.NotFound"
    );
    let default = c
        .describe_security_groups(R, &Filter::Vpcs(vec![vpc]))
        .await
        .unwrap();
    assert_eq!(
        code(c.delete_security_group(R, &default[0].id).await),
        "CannotDelete"
    );
}

#[tokio::test]
async fn peering_lifecycle() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let a = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let b = c.create_vpc(R2, net("10.1.0.0/16"), &t).await.unwrap();
    let rtb = c.create_route_table(R, &a, &t, None).await.unwrap();
    let pcx = c
        .create_peering(R, &a, &b, R2, &tags("p", "peering.x"))
        .await
        .unwrap();
    let from_r = c.describe_peerings(R, &Filter::Plan("p".into())).await.unwrap();
    assert_eq!(
        (from_r[0].id.as_str(), from_r[0].status.as_str()),
        (pcx.as_str(), "pending-acceptance")
    );
    let from_r2 = c
        .describe_peerings(R2, &Filter::Vpcs(vec![b.clone()]))
        .await
        .unwrap();
    assert_eq!(
        (from_r2[0].id.as_str(), from_r2[0].region.as_str()),
        (pcx.as_str(), R2)
    );
    // Tags are not copied to the accepter's region.
    assert!(from_r2[0].tags.is_empty());
    assert!(c
        .describe_peerings("ap-south-1", &Filter::Plan("p".into()))
        .await
        .unwrap()
        .is_empty());

    let dest = RouteDest::Cidr(net("10.1.0.0/16"));
    assert_eq!(
        code(c.create_peering_route(R, &rtb, &dest, &pcx).await),
        "InvalidParameterValue"
    );
    assert_eq!(code(c.accept_peering(R, &pcx).await), "OperationNotPermitted");
    c.accept_peering(R2, &pcx).await.unwrap();
    let now = c
        .describe_peerings(R, &Filter::Ids(vec![pcx.clone()]))
        .await
        .unwrap();
    assert_eq!(now[0].status, "active");
    c.create_peering_route(R, &rtb, &dest, &pcx).await.unwrap();
    assert_eq!(
        code(c.create_peering_route(R, &rtb, &dest, &pcx).await),
        "RouteAlreadyExists"
    );
    assert_eq!(
        code(
            c.create_peering_route(R, &rtb, &dest, "pcx-00000000000000099")
                .await
        ),
        "InvalidVpcPeeringConnectionID.NotFound"
    );
    let route = |t: LRouteTable| t.routes.into_iter().find(|r| r.dest == dest).unwrap();
    assert_eq!(route(table(&c, &rtb).await).state.as_deref(), Some("active"));

    c.delete_peering(R2, &pcx).await.unwrap();
    let now = c
        .describe_peerings(R, &Filter::Ids(vec![pcx.clone()]))
        .await
        .unwrap();
    assert_eq!(now[0].status, "deleted");
    let r = route(table(&c, &rtb).await);
    assert_eq!(
        (r.peering_id.as_deref(), r.state.as_deref()),
        (Some(pcx.as_str()), Some("blackhole"))
    );
    assert_eq!(c.count("peering", R), 0);

    // Overlapping CIDRs fail.
    let c2 = c.create_vpc(R2, net("10.0.128.0/17"), &t).await.unwrap();
    let failed = c.create_peering(R, &a, &c2, R2, &t).await.unwrap();
    let now = c.describe_peerings(R2, &Filter::Ids(vec![failed])).await.unwrap();
    assert_eq!(now[0].status, "failed");
}

#[tokio::test]
async fn peering_active_polls() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let a = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let b = c.create_vpc(R, net("10.1.0.0/16"), &t).await.unwrap();
    c.set_peering_active_polls(1);
    let pcx = c.create_peering(R, &a, &b, R, &t).await.unwrap();
    c.accept_peering(R, &pcx).await.unwrap();
    let status = || async {
        c.describe_peerings(R, &Filter::Ids(vec![pcx.clone()]))
            .await
            .unwrap()[0]
            .status
            .clone()
    };
    assert_eq!(status().await, "provisioning");
    assert_eq!(status().await, "active");
    assert_eq!(c.count("peering", R), 1);
}

#[tokio::test]
async fn fail_next_fails_before_effect() {
    let c = MemoryCloud::new();
    c.fail_next("CreateVpc", "RequestLimitExceeded", 2);
    for _ in 0..2 {
        let e = c
            .create_vpc(R, net("10.0.0.0/16"), &Tags::new())
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
        assert_eq!(e.op, "CreateVpc");
    }
    assert_eq!(c.count("vpc", R), 0);
    c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    assert_eq!(c.count("vpc", R), 1);
    assert_eq!(c.call_count("CreateVpc"), 3);
    // Other operations are untouched.
    c.fail_next("DeleteVpc", "DependencyViolation", 1);
    assert_eq!(
        c.describe_vpcs(R, &Filter::Plan("p".into())).await.unwrap().len(),
        0
    );
}

#[tokio::test]
async fn lost_response_takes_effect() {
    let c = MemoryCloud::new();
    c.lose_response_next("CreateVpc");
    let e = c
        .create_vpc(R, net("10.0.0.0/16"), &Tags::new())
        .await
        .unwrap_err();
    assert_eq!(e.code, None);
    assert_eq!(e.message, "connection reset");
    assert_eq!(c.count("vpc", R), 1);
    c.create_vpc(R, net("10.1.0.0/16"), &Tags::new()).await.unwrap();
    assert_eq!(c.count("vpc", R), 2);
}

#[tokio::test]
async fn set_tags_merges_and_oob_replaces() {
    let c = MemoryCloud::new();
    let vpc = c
        .create_vpc(R, net("10.0.0.0/16"), &tags("p", "vpc.a"))
        .await
        .unwrap();
    let extra = Tags::from([("Name".to_string(), "x".to_string())]);
    c.set_tags(R, &vpc, &extra).await.unwrap();
    let v = c.describe_vpcs(R, &Filter::Plan("p".into())).await.unwrap();
    assert_eq!(v[0].tags.len(), 3);
    c.oob_set_tags(R, &vpc, &Tags::new()).unwrap();
    assert!(c
        .describe_vpcs(R, &Filter::Plan("p".into()))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(c.set_tags(R, "subnet-00000000000000099", &extra).await),
        "InvalidSubnetID.NotFound"
    );
    assert_eq!(code(c.set_tags(R, "bogus", &extra).await), "InvalidID");
}

#[tokio::test]
async fn every_call_is_logged_once_and_oob_is_not() {
    let c = MemoryCloud::new();
    let t = Tags::new();
    let f = Filter::Plan("p".into());
    let o = c.oob();
    let vpc = o.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let peer = c.oob_create_vpc(R2, net("10.1.0.0/16"), &t);
    let subnet = c
        .oob_create_subnet(R, &vpc, "us-east-1a", net("10.0.1.0/24"), &t)
        .unwrap();
    let rtb = c.oob_create_route_table(R, &vpc, &t).unwrap();
    c.oob_associate_route_table(R, &rtb, &subnet).unwrap();
    let sg = c.oob_create_security_group(R, &vpc, "foreign", &t).unwrap();
    c.oob_create_endpoint(R, &gateway(&vpc, &[&rtb], None)).unwrap();
    assert!(c.calls().is_empty());

    c.fail_next("DescribeVpcs", "X", 1);
    let _ = o.describe_vpcs(R, &f).await.unwrap();
    let _ = c.describe_vpcs(R, &f).await;
    let _ = c.describe_subnets(R, &f).await;
    let _ = c.describe_route_tables(R, &f).await;
    let _ = c.describe_security_groups(R, &f).await;
    let _ = c.describe_endpoints(R, &f).await;
    let _ = c.describe_peerings(R, &f).await;
    let _ = c.prefix_list(R, &s3(R)).await;
    let _ = c.create_vpc(R, net("10.5.0.0/16"), &t).await;
    let _ = c.delete_vpc(R, "vpc-00000000000000099").await;
    let _ = c
        .create_subnet(R, &vpc, "us-east-1b", net("10.0.2.0/24"), &t)
        .await;
    let _ = c.delete_subnet(R, "subnet-00000000000000099").await;
    let _ = c.create_route_table(R, &vpc, &t, None).await;
    let _ = c.delete_route_table(R, "rtb-00000000000000099").await;
    let _ = c.associate_route_table(R, &rtb, &subnet).await;
    let _ = c.disassociate_route_table(R, "rtbassoc-1").await;
    let d = RouteDest::Cidr(net("10.1.0.0/16"));
    let _ = c.create_peering_route(R, &rtb, &d, "pcx-1").await;
    let _ = c.delete_route(R, &rtb, &d).await;
    let _ = c.create_endpoint_route(R, &rtb, &pl(), "vpce-1").await;
    let _ = c.set_tags(R, &vpc, &t).await;
    let _ = c.create_security_group(R, &vpc, "n", "d", &t).await;
    let _ = c.delete_security_group(R, &sg).await;
    let p = RulePeer::Group(sg.clone());
    let _ = c.authorize_https_ingress(R, &sg, &p, &t).await;
    let _ = c.revoke_https_ingress(R, &sg, &p).await;
    let _ = c.create_endpoint(R, &interface(&vpc, &[&subnet], &[])).await;
    let _ = c.modify_endpoint(R, "vpce-1", &EndpointModify::default()).await;
    let _ = c.delete_endpoint(R, "vpce-1").await;
    let _ = c.create_peering(R, &vpc, &peer, R2, &t).await;
    let _ = c.accept_peering(R2, "pcx-1").await;
    let _ = c.delete_peering(R, "pcx-1").await;
    let ops: Vec<String> = c.calls().into_iter().map(|(op, _)| op).collect();
    let expected = [
        "DescribeVpcs",
        "DescribeSubnets",
        "DescribeRouteTables",
        "DescribeSecurityGroups",
        "DescribeVpcEndpoints",
        "DescribeVpcPeeringConnections",
        "DescribeManagedPrefixLists",
        "CreateVpc",
        "DeleteVpc",
        "CreateSubnet",
        "DeleteSubnet",
        "CreateRouteTable",
        "DeleteRouteTable",
        "AssociateRouteTable",
        "DisassociateRouteTable",
        "CreateRoute",
        "DeleteRoute",
        "CreateRoute",
        "CreateTags",
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        "CreateVpcEndpoint",
        "ModifyVpcEndpoint",
        "DeleteVpcEndpoints",
        "CreateVpcPeeringConnection",
        "AcceptVpcPeeringConnection",
        "DeleteVpcPeeringConnection",
    ];
    assert_eq!(ops, expected);
    assert_eq!(c.calls().last().map(|(_, r)| r.as_str()), Some(R));
    c.reset_calls();
    assert!(c.calls().is_empty());
}

// --- EC2 behaviours the strict mode of issue 7 asks for -------------------

/// A VPC with two subnets in different AZs and a security group.
async fn interface_setup(c: &MemoryCloud) -> (String, String, String, String) {
    let t = Tags::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &t).await.unwrap();
    let s1 = c
        .create_subnet(R, &vpc, "us-east-1a", net("10.0.1.0/24"), &t)
        .await
        .unwrap();
    let s2 = c
        .create_subnet(R, &vpc, "us-east-1b", net("10.0.2.0/24"), &t)
        .await
        .unwrap();
    let sg = c.create_security_group(R, &vpc, "ep", "d", &t).await.unwrap();
    (vpc, s1, s2, sg)
}

fn ids_of(v: &[LEndpoint]) -> Vec<&str> {
    v.iter().map(|e| e.id.as_str()).collect()
}

#[tokio::test]
async fn delete_of_a_missing_or_deleted_endpoint_is_invalid_vpc_endpoint_not_found() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    // Never existed: DeleteVpcEndpoints' Unsuccessful code, not Describe's.
    assert_eq!(
        code(c.delete_endpoint(R, "vpce-0123456789abcdef0").await),
        "InvalidVpcEndpoint.NotFound"
    );
    assert_eq!(
        code(
            c.describe_endpoints(R, &Filter::Ids(vec!["vpce-0123456789abcdef0".into()]))
                .await
        ),
        "InvalidVpcEndpointId.NotFound"
    );
    // While `deleting`, a second delete is accepted; once `deleted`, not.
    c.set_endpoint_deleting_polls(1);
    let ep = c.create_endpoint(R, &gateway(&vpc, &[], None)).await.unwrap();
    c.delete_endpoint(R, &ep.id).await.unwrap();
    c.delete_endpoint(R, &ep.id).await.unwrap();
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleting");
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleted");
    assert_eq!(
        code(c.delete_endpoint(R, &ep.id).await),
        "InvalidVpcEndpoint.NotFound"
    );
}

#[tokio::test]
async fn endpoint_client_token_answers_after_deletion_and_after_purge() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    let rtb = c.create_route_table(R, &vpc, &Tags::new(), None).await.unwrap();
    let spec = gateway(&vpc, &[&rtb], Some("tok"));
    let first = c.create_endpoint(R, &spec).await.unwrap();
    c.delete_endpoint(R, &first.id).await.unwrap();
    // Same token and parameters after deletion: the same endpoint, deleted,
    // and nothing new (its route is not put back either).
    let again = c.create_endpoint(R, &spec).await.unwrap();
    assert_eq!(
        (again.id.as_str(), again.state.as_str()),
        (first.id.as_str(), "deleted")
    );
    assert_eq!(c.count("endpoint", R), 0);
    assert!(table(&c, &rtb).await.routes.iter().all(|r| r.dest != pl()));
    // Same token, other parameters.
    assert_eq!(
        code(c.create_endpoint(R, &gateway(&vpc, &[], Some("tok"))).await),
        "IdempotentParameterMismatch"
    );
    // Purged: no Describe lists it, by id it is unknown, the token still
    // answers with the old id.
    let listed = c.describe_endpoints(R, &Filter::Plan("p".into())).await.unwrap();
    assert_eq!(ids_of(&listed), vec![first.id.as_str()]);
    c.purge_deleted();
    assert!(c
        .describe_endpoints(R, &Filter::Plan("p".into()))
        .await
        .unwrap()
        .is_empty());
    assert!(c
        .describe_endpoints(R, &Filter::Vpcs(vec![vpc.clone()]))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(
            c.describe_endpoints(R, &Filter::Ids(vec![first.id.clone()]))
                .await
        ),
        "InvalidVpcEndpointId.NotFound"
    );
    let purged = c.create_endpoint(R, &spec).await.unwrap();
    assert_eq!(
        (purged.id.as_str(), purged.state.as_str()),
        (first.id.as_str(), "deleted")
    );
    assert_eq!(c.count("endpoint", R), 0);
    assert_eq!(
        code(c.create_endpoint(R, &gateway(&vpc, &[], Some("tok"))).await),
        "IdempotentParameterMismatch"
    );
    // A new token makes a new endpoint.
    let fresh = c
        .create_endpoint(R, &gateway(&vpc, &[&rtb], Some("tok2")))
        .await
        .unwrap();
    assert_ne!(fresh.id, first.id);
    assert_eq!((fresh.state.as_str(), c.count("endpoint", R)), ("available", 1));
}

#[tokio::test]
async fn purge_mode_drops_endpoints_that_reach_deleted_later() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    c.purge_deleted();
    c.set_endpoint_deleting_polls(1);
    let ep = c.create_endpoint(R, &gateway(&vpc, &[], None)).await.unwrap();
    c.delete_endpoint(R, &ep.id).await.unwrap();
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleting");
    // The describe that would show `deleted` shows nothing.
    assert!(c
        .describe_endpoints(R, &Filter::Plan("p".into()))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(c.describe_endpoints(R, &Filter::Ids(vec![ep.id.clone()])).await),
        "InvalidVpcEndpointId.NotFound"
    );
    assert_eq!(
        code(c.delete_endpoint(R, &ep.id).await),
        "InvalidVpcEndpoint.NotFound"
    );
}

#[tokio::test]
async fn route_table_client_token_answers_after_deletion() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    let t = tags("p", "route_table.a.x");
    let first = c.create_route_table(R, &vpc, &t, Some("tok")).await.unwrap();
    c.delete_route_table(R, &first).await.unwrap();
    let again = c.create_route_table(R, &vpc, &t, Some("tok")).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(c.count("route_table", R), 0);
    assert_eq!(
        code(
            c.describe_route_tables(R, &Filter::Ids(vec![first.clone()]))
                .await
        ),
        "InvalidRouteTableID.NotFound"
    );
    let other = tags("p", "route_table.a.y");
    assert_eq!(
        code(c.create_route_table(R, &vpc, &other, Some("tok")).await),
        "IdempotentParameterMismatch"
    );
}

#[tokio::test]
async fn interface_endpoint_deletion_holds_its_subnets_and_groups_until_deleted() {
    let c = MemoryCloud::new();
    let (_vpc, s1, s2, sg) = interface_setup(&c).await;
    c.set_endpoint_deleting_polls(2);
    let ep = c
        .create_endpoint(R, &interface(&_vpc, &[&s1, &s2], &[&sg]))
        .await
        .unwrap();
    assert_eq!(ep.state, "available", "deleting polls leave creation alone");
    c.delete_endpoint(R, &ep.id).await.unwrap();
    for _ in 0..2 {
        assert_eq!(code(c.delete_subnet(R, &s1).await), "DependencyViolation");
        assert_eq!(code(c.delete_security_group(R, &sg).await), "DependencyViolation");
        assert_eq!(endpoint_state(&c, &ep.id).await, "deleting");
    }
    assert_eq!(code(c.delete_subnet(R, &s2).await), "DependencyViolation");
    assert_eq!(endpoint_state(&c, &ep.id).await, "deleted");
    c.delete_subnet(R, &s1).await.unwrap();
    c.delete_subnet(R, &s2).await.unwrap();
    c.delete_security_group(R, &sg).await.unwrap();
}

#[tokio::test]
async fn tag_lag_hides_new_resources_from_plan_filters_only() {
    let c = MemoryCloud::new();
    let old = c
        .create_vpc(R, net("10.0.0.0/16"), &tags("p", "vpc.old"))
        .await
        .unwrap();
    c.set_tag_lag(2);
    let new = c
        .create_vpc(R, net("10.1.0.0/16"), &tags("p", "vpc.new"))
        .await
        .unwrap();
    let plan = Filter::Plan("p".into());
    let ids = |v: Vec<LVpc>| v.into_iter().map(|v| v.id).collect::<Vec<_>>();
    // Out-of-band reads see it and do not use the lag up.
    assert_eq!(c.oob().describe_vpcs(R, &plan).await.unwrap().len(), 2);
    // By id and by VPC it is visible at once.
    let by_id = c.describe_vpcs(R, &Filter::Ids(vec![new.clone()])).await.unwrap();
    assert_eq!(ids(by_id), vec![new.clone()]);
    assert_eq!(
        c.describe_vpcs(R, &Filter::Vpcs(vec![new.clone()]))
            .await
            .unwrap()
            .len(),
        1
    );
    // Two tag-filtered reads leave it out, the third lists it.
    assert_eq!(ids(c.describe_vpcs(R, &plan).await.unwrap()), vec![old.clone()]);
    assert_eq!(ids(c.describe_vpcs(R, &plan).await.unwrap()), vec![old.clone()]);
    let mut both = vec![old, new];
    both.sort();
    assert_eq!(ids(c.describe_vpcs(R, &plan).await.unwrap()), both);
    // Other kinds lag the same way; 0 turns it off for what comes next.
    let vpc = both[0].clone();
    let lagging = c
        .create_security_group(R, &vpc, "a", "d", &tags("p", "sg.a"))
        .await
        .unwrap();
    c.set_tag_lag(0);
    let prompt = c
        .create_security_group(R, &vpc, "b", "d", &tags("p", "sg.b"))
        .await
        .unwrap();
    let groups = c.describe_security_groups(R, &plan).await.unwrap();
    let got: Vec<_> = groups.iter().map(|g| g.id.clone()).collect();
    assert_eq!(got, vec![prompt], "{lagging} should still be hidden");
}

#[tokio::test]
async fn id_lag_answers_not_found_by_id_just_after_create() {
    let c = MemoryCloud::new();
    let (vpc, s1, s2, sg) = interface_setup(&c).await;
    c.set_id_lag(2);
    let ep = c
        .create_endpoint(R, &interface(&vpc, &[&s1, &s2], &[&sg]))
        .await
        .unwrap();
    let by_id = Filter::Ids(vec![ep.id.clone()]);
    // The tag filter lists it at once; out-of-band reads see it by id.
    assert_eq!(
        c.describe_endpoints(R, &Filter::Plan("p".into()))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(c.oob().describe_endpoints(R, &by_id).await.unwrap().len(), 1);
    for _ in 0..2 {
        assert_eq!(
            code(c.describe_endpoints(R, &by_id).await),
            "InvalidVpcEndpointId.NotFound"
        );
    }
    assert_eq!(
        ids_of(&c.describe_endpoints(R, &by_id).await.unwrap()),
        vec![ep.id.as_str()]
    );
    // A subnet made now lags too; one made before the hook does not.
    let s3 = c
        .create_subnet(R, &vpc, "us-east-1c", net("10.0.3.0/24"), &Tags::new())
        .await
        .unwrap();
    assert_eq!(
        code(c.describe_subnets(R, &Filter::Ids(vec![s1.clone(), s3])).await),
        "InvalidSubnetID.NotFound"
    );
    assert_eq!(
        c.describe_subnets(R, &Filter::Ids(vec![s1])).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn sixty_inbound_rules_per_security_group() {
    let c = MemoryCloud::new();
    let vpc = c.create_vpc(R, net("10.0.0.0/16"), &Tags::new()).await.unwrap();
    let sg = c
        .create_security_group(R, &vpc, "ep", "d", &Tags::new())
        .await
        .unwrap();
    let peer = |i: usize| RulePeer::Cidr(net(&format!("192.168.{i}.0/24")));
    for i in 0..60 {
        c.authorize_https_ingress(R, &sg, &peer(i), &Tags::new())
            .await
            .unwrap();
    }
    assert_eq!(
        code(c.authorize_https_ingress(R, &sg, &peer(60), &Tags::new()).await),
        "RulesPerSecurityGroupLimitExceeded"
    );
    c.revoke_https_ingress(R, &sg, &peer(0)).await.unwrap();
    c.authorize_https_ingress(R, &sg, &peer(60), &Tags::new())
        .await
        .unwrap();
    let g = c
        .describe_security_groups(R, &Filter::Ids(vec![sg]))
        .await
        .unwrap();
    assert_eq!(g[0].ingress.len(), 60);
}
