//! What s3ep SENDS to EC2, asserted through the recording layer
//! (`s3ep::cloud::record`). moto ignores ClientToken, DnsOptions and
//! ServiceRegion, so only the request itself can show them.
//!
//! Each test starts a plain moto server, builds an `AwsCloud` pointed at it
//! with a `Recorder`, calls `Cloud` methods (or applies the lab plan) and
//! checks the recorded form parameters.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

use common::Moto;
use s3ep::cloud::aws::{AwsCloud, AwsSettings};
use s3ep::cloud::rate::RateLimits;
use s3ep::cloud::record::{Recorded, Recorder};
use s3ep::cloud::{Cloud, EndpointCreate, EndpointModify};
use s3ep::model::{Address, Desired, EndpointType, PrivateDns, RulePeer, Tags, TAG_KEY, TAG_PLAN};
use serde_json::json;

static ENV: Once = Once::new();

/// Test credentials and no AWS config files for the SDK's default chain,
/// set once before any test builds a client (every test calls this first).
fn test_env() {
    ENV.call_once(|| {
        // SAFETY (edition 2021: safe fn): set once, before any client of this
        // process reads the environment.
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_ENDPOINT_URL");
        std::env::remove_var("AWS_ENDPOINT_URL_EC2");
    });
}

async fn cloud(moto: &Moto, regions: &[&str]) -> (AwsCloud, Recorder) {
    test_env();
    let recorder = Recorder::new();
    let settings = AwsSettings {
        endpoint_url: Some(moto.url()),
        rates: RateLimits::unlimited(),
        recorder: Some(recorder.clone()),
        ..AwsSettings::default()
    };
    let regions: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
    (AwsCloud::new(&settings, &regions).await, recorder)
}

fn tags(plan: &str, address: &str) -> Tags {
    let mut t = Tags::new();
    t.insert(TAG_PLAN.into(), plan.into());
    t.insert(TAG_KEY.into(), address.into());
    t.insert("Name".into(), format!("{plan}-{address}"));
    t
}

/// The single TagSpecification of `r`, checked to be for `resource_type`.
fn tag_spec(r: &Recorded, resource_type: &str) -> BTreeMap<String, String> {
    let specs = r.tag_specifications();
    assert_eq!(specs.len(), 1, "one TagSpecification in {r:?}");
    assert_eq!(specs[0].0, resource_type, "ResourceType in {r:?}");
    specs[0].1.clone()
}

fn one(rec: &Recorder, action: &str) -> Recorded {
    let all = rec.requests(action);
    assert_eq!(
        all.len(),
        1,
        "exactly one {action} sent; sent: {:?}",
        rec.actions()
    );
    all.into_iter().next().expect("one")
}

struct Net {
    vpc: String,
    subnet: String,
    rtb: String,
    sg: String,
}

/// A VPC with one subnet, a route table and a security group in `region`,
/// created through the Cloud methods.
async fn network(c: &AwsCloud, region: &str, plan: &str) -> Net {
    let vpc = c
        .create_vpc(
            region,
            "10.20.0.0/16".parse().expect("cidr"),
            &tags(plan, "vpc.a"),
        )
        .await
        .expect("CreateVpc");
    let subnet = c
        .create_subnet(
            region,
            &vpc,
            &format!("{region}a"),
            "10.20.1.0/24".parse().expect("cidr"),
            &tags(plan, "subnet.a.one"),
        )
        .await
        .expect("CreateSubnet");
    let rtb = c
        .create_route_table(
            region,
            &vpc,
            &tags(plan, "route_table.a.main"),
            Some("rtb-token-1"),
        )
        .await
        .expect("CreateRouteTable");
    let sg = c
        .create_security_group(
            region,
            &vpc,
            "s3ep-ep",
            "s3ep endpoint",
            &tags(plan, "security_group.ep"),
        )
        .await
        .expect("CreateSecurityGroup");
    Net { vpc, subnet, rtb, sg }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_send_tag_specifications_and_client_tokens() {
    let moto = Moto::start();
    let region = "us-east-1";
    let (c, rec) = cloud(&moto, &[region]).await;
    let net = network(&c, region, "req").await;

    let vpc = one(&rec, "CreateVpc");
    assert_eq!(vpc.region, region);
    assert_eq!(vpc.param("CidrBlock"), Some("10.20.0.0/16"));
    assert_eq!(tag_spec(&vpc, "vpc"), tags("req", "vpc.a"));

    let subnet = one(&rec, "CreateSubnet");
    assert_eq!(subnet.param("VpcId"), Some(net.vpc.as_str()));
    assert_eq!(subnet.param("AvailabilityZone"), Some("us-east-1a"));
    assert_eq!(tag_spec(&subnet, "subnet"), tags("req", "subnet.a.one"));

    let rtb = one(&rec, "CreateRouteTable");
    assert_eq!(rtb.param("ClientToken"), Some("rtb-token-1"));
    assert_eq!(tag_spec(&rtb, "route-table"), tags("req", "route_table.a.main"));

    let sg = one(&rec, "CreateSecurityGroup");
    assert_eq!(sg.param("GroupName"), Some("s3ep-ep"));
    assert_eq!(tag_spec(&sg, "security-group"), tags("req", "security_group.ep"));

    c.authorize_https_ingress(
        region,
        &net.sg,
        &RulePeer::Cidr("10.20.0.0/16".parse().expect("cidr")),
        &tags("req", "ingress.ep.vpc"),
    )
    .await
    .expect("AuthorizeSecurityGroupIngress");
    let ingress = one(&rec, "AuthorizeSecurityGroupIngress");
    assert_eq!(ingress.param("IpPermissions.1.IpProtocol"), Some("tcp"));
    assert_eq!(ingress.param("IpPermissions.1.FromPort"), Some("443"));
    assert_eq!(
        ingress.param("IpPermissions.1.IpRanges.1.CidrIp"),
        Some("10.20.0.0/16")
    );
    assert_eq!(
        tag_spec(&ingress, "security-group-rule"),
        tags("req", "ingress.ep.vpc")
    );

    // A second VPC to peer with, then the peering request.
    let other = c
        .create_vpc(
            region,
            "10.30.0.0/16".parse().expect("cidr"),
            &tags("req", "vpc.b"),
        )
        .await
        .expect("CreateVpc b");
    c.create_peering(region, &net.vpc, &other, region, &tags("req", "peering.ab"))
        .await
        .expect("CreateVpcPeeringConnection");
    let pcx = one(&rec, "CreateVpcPeeringConnection");
    assert_eq!(pcx.param("VpcId"), Some(net.vpc.as_str()));
    assert_eq!(pcx.param("PeerVpcId"), Some(other.as_str()));
    assert_eq!(pcx.param("PeerRegion"), Some(region));
    assert_eq!(
        tag_spec(&pcx, "vpc-peering-connection"),
        tags("req", "peering.ab")
    );

    // Nothing recorded carries credentials: only form parameters are kept.
    for r in rec.all() {
        for (k, v) in &r.params {
            assert!(
                !k.contains("Signature") && !k.contains("Credential"),
                "{k} in {r:?}"
            );
            assert_ne!(v, "testing", "{k} in {r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_creates_send_token_tags_dns_options_and_service_region() {
    let moto = Moto::start();
    let region = "us-east-1";
    let (c, rec) = cloud(&moto, &[region]).await;
    let net = network(&c, region, "req").await;

    // Gateway: token and tags; no DnsOptions, no PrivateDnsEnabled, no ServiceRegion.
    let gw = EndpointCreate {
        vpc_id: net.vpc.clone(),
        service: "com.amazonaws.us-east-1.s3".into(),
        endpoint_type: EndpointType::Gateway,
        route_table_ids: vec![net.rtb.clone()],
        subnet_ids: vec![],
        security_group_ids: vec![],
        private_dns: None,
        service_region: None,
        ip_address_type: None,
        dns_record_ip_type: None,
        policy: None,
        tags: tags("req", "endpoint.gw"),
        client_token: Some("gw-token".into()),
    };
    c.create_endpoint(region, &gw).await.expect("gateway");
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("VpcEndpointType"), Some("Gateway"));
    assert_eq!(sent.param("ServiceName"), Some("com.amazonaws.us-east-1.s3"));
    assert_eq!(sent.param("ClientToken"), Some("gw-token"));
    assert_eq!(sent.list("RouteTableId"), vec![net.rtb.as_str()]);
    assert_eq!(tag_spec(&sent, "vpc-endpoint"), tags("req", "endpoint.gw"));
    assert!(
        !sent.params.keys().any(|k| k.starts_with("DnsOptions")),
        "{sent:?}"
    );
    assert!(!sent.has("PrivateDnsEnabled"), "{sent:?}");
    assert!(!sent.has("ServiceRegion"), "{sent:?}");
    rec.clear();

    // Interface with private DNS on: PrivateDnsEnabled and
    // PrivateDnsOnlyForInboundResolverEndpoint=false both explicit.
    let mut itf = EndpointCreate {
        vpc_id: net.vpc.clone(),
        service: "com.amazonaws.us-east-1.s3".into(),
        endpoint_type: EndpointType::Interface,
        route_table_ids: vec![],
        subnet_ids: vec![net.subnet.clone()],
        security_group_ids: vec![net.sg.clone()],
        private_dns: Some(PrivateDns::On),
        service_region: None,
        ip_address_type: None,
        dns_record_ip_type: None,
        policy: Some(json!({"Version": "2012-10-17", "Statement": []})),
        tags: tags("req", "endpoint.itf"),
        client_token: Some("itf-token".into()),
    };
    c.create_endpoint(region, &itf).await.expect("interface");
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("VpcEndpointType"), Some("Interface"));
    assert_eq!(sent.param("ClientToken"), Some("itf-token"));
    assert_eq!(sent.param("PrivateDnsEnabled"), Some("true"));
    assert_eq!(
        sent.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint"),
        Some("false")
    );
    assert_eq!(sent.param("DnsOptions.DnsRecordIpType"), Some("ipv4"));
    assert_eq!(sent.list("SubnetId"), vec![net.subnet.as_str()]);
    assert_eq!(sent.list("SecurityGroupId"), vec![net.sg.as_str()]);
    let policy: serde_json::Value =
        serde_json::from_str(sent.param("PolicyDocument").expect("policy sent")).expect("policy JSON");
    assert_eq!(policy, json!({"Version": "2012-10-17", "Statement": []}));
    assert_eq!(tag_spec(&sent, "vpc-endpoint"), tags("req", "endpoint.itf"));
    assert!(!sent.has("ServiceRegion"), "same-region service: {sent:?}");
    rec.clear();

    // Interface with private DNS off: PrivateDnsEnabled=false and
    // PrivateDnsOnlyForInboundResolverEndpoint=false are still sent.
    itf.private_dns = Some(PrivateDns::Off);
    itf.client_token = Some("itf-token-2".into());
    itf.tags = tags("req", "endpoint.itf2");
    c.create_endpoint(region, &itf)
        .await
        .expect("interface, no private DNS");
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("PrivateDnsEnabled"), Some("false"));
    assert_eq!(
        sent.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint"),
        Some("false")
    );
    assert_eq!(sent.param("ClientToken"), Some("itf-token-2"));
    rec.clear();

    // Interface with inbound-only private DNS (the gateway above is in the
    // VPC): both values true.
    itf.private_dns = Some(PrivateDns::InboundOnly);
    itf.client_token = Some("itf-token-io".into());
    itf.tags = tags("req", "endpoint.inbound");
    c.create_endpoint(region, &itf)
        .await
        .expect("interface, inbound-only");
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("PrivateDnsEnabled"), Some("true"));
    assert_eq!(
        sent.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint"),
        Some("true")
    );
    rec.clear();
    itf.private_dns = Some(PrivateDns::Off);

    // The explicit service_region is sent as ServiceRegion.
    itf.service = "com.amazonaws.us-west-2.s3".into();
    itf.service_region = Some("us-west-2".into());
    itf.client_token = Some("itf-token-sr".into());
    itf.tags = tags("req", "endpoint.sr");
    // moto may refuse a service of another region; only the request matters here.
    let _ = c.create_endpoint(region, &itf).await;
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("ServiceRegion"), Some("us-west-2"));
    rec.clear();
    itf.service_region = None;

    // Interface to S3 of another region: ServiceRegion names it.
    itf.service = "com.amazonaws.eu-west-1.s3".into();
    itf.client_token = Some("itf-token-3".into());
    itf.tags = tags("req", "endpoint.far");
    // moto may refuse a service of another region; only the request matters here.
    let _ = c.create_endpoint(region, &itf).await;
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("ServiceName"), Some("com.amazonaws.eu-west-1.s3"));
    assert_eq!(sent.param("ServiceRegion"), Some("eu-west-1"));
    assert_eq!(sent.param("ClientToken"), Some("itf-token-3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_modify_sends_private_dns_and_reset_policy() {
    let moto = Moto::start();
    let region = "us-east-1";
    let (c, rec) = cloud(&moto, &[region]).await;
    let net = network(&c, region, "req").await;
    let ep = c
        .create_endpoint(
            region,
            &EndpointCreate {
                vpc_id: net.vpc.clone(),
                service: "com.amazonaws.us-east-1.s3".into(),
                endpoint_type: EndpointType::Interface,
                route_table_ids: vec![],
                subnet_ids: vec![net.subnet.clone()],
                security_group_ids: vec![net.sg.clone()],
                private_dns: Some(PrivateDns::Off),
                service_region: None,
                ip_address_type: None,
                dns_record_ip_type: None,
                policy: None,
                tags: tags("req", "endpoint.itf"),
                client_token: Some("t".into()),
            },
        )
        .await
        .expect("create");
    rec.clear();

    c.modify_endpoint(
        region,
        &ep.id,
        &EndpointModify {
            private_dns: Some(PrivateDns::On),
            policy: Some(None),
            ..EndpointModify::default()
        },
    )
    .await
    .expect("modify");
    let sent = one(&rec, "ModifyVpcEndpoint");
    assert_eq!(sent.param("VpcEndpointId"), Some(ep.id.as_str()));
    assert_eq!(sent.param("PrivateDnsEnabled"), Some("true"));
    assert_eq!(
        sent.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint"),
        Some("false")
    );
    assert_eq!(sent.param("ResetPolicy"), Some("true"));
    assert!(!sent.has("PolicyDocument"), "{sent:?}");
    rec.clear();

    c.modify_endpoint(
        region,
        &ep.id,
        &EndpointModify {
            private_dns: Some(PrivateDns::Off),
            policy: Some(Some(json!({"Statement": []}))),
            ..EndpointModify::default()
        },
    )
    .await
    .expect("modify back");
    let sent = one(&rec, "ModifyVpcEndpoint");
    assert_eq!(sent.param("PrivateDnsEnabled"), Some("false"));
    assert_eq!(
        sent.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint"),
        Some("false")
    );
    assert!(!sent.has("ResetPolicy"), "{sent:?}");
    assert_eq!(sent.param("PolicyDocument"), Some(r#"{"Statement":[]}"#));

    // To inbound-only (needs a gateway endpoint in the VPC): both true.
    c.create_endpoint(
        region,
        &EndpointCreate {
            vpc_id: net.vpc.clone(),
            service: "com.amazonaws.us-east-1.s3".into(),
            endpoint_type: EndpointType::Gateway,
            route_table_ids: vec![net.rtb.clone()],
            subnet_ids: vec![],
            security_group_ids: vec![],
            private_dns: None,
            service_region: None,
            ip_address_type: None,
            dns_record_ip_type: None,
            policy: None,
            tags: tags("req", "endpoint.gw"),
            client_token: Some("gw".into()),
        },
    )
    .await
    .expect("gateway");
    rec.clear();
    c.modify_endpoint(
        region,
        &ep.id,
        &EndpointModify {
            private_dns: Some(PrivateDns::InboundOnly),
            ..EndpointModify::default()
        },
    )
    .await
    .expect("modify to inbound-only");
    let sent = one(&rec, "ModifyVpcEndpoint");
    assert_eq!(sent.param("PrivateDnsEnabled"), Some("true"));
    assert_eq!(
        sent.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint"),
        Some("true")
    );

    // An empty change sends nothing at all.
    rec.clear();
    c.modify_endpoint(region, &ep.id, &EndpointModify::default())
        .await
        .expect("no-op");
    assert!(rec.all().is_empty(), "{:?}", rec.actions());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_prefix_list_is_selected_by_name_filter() {
    let moto = Moto::start();
    let (c, rec) = cloud(&moto, &["us-east-1", "cn-north-1"]).await;

    let id = c
        .prefix_list("us-east-1", "com.amazonaws.us-east-1.s3")
        .await
        .expect("describe");
    let sent = one(&rec, "DescribeManagedPrefixLists");
    assert_eq!(sent.region, "us-east-1");
    assert_eq!(
        sent.filters(),
        vec![(
            "prefix-list-name".to_string(),
            vec!["com.amazonaws.us-east-1.s3".to_string()]
        )]
    );
    // moto answers the filter with its S3 list only; its id is a `pl-`.
    let id = id.expect("moto has an S3 prefix list in us-east-1");
    assert!(id.starts_with("pl-"), "{id}");
    let truth = moto.py(r#"
        pls = ec2("us-east-1").describe_managed_prefix_lists()["PrefixLists"]
        print([p["PrefixListId"] for p in pls if p["PrefixListName"] == "com.amazonaws.us-east-1.s3"][0])
        "#);
    assert_eq!(id, truth.trim());
    rec.clear();

    // China: both spellings in the one filter.
    let _ = c
        .prefix_list("cn-north-1", "com.amazonaws.cn-north-1.s3")
        .await
        .expect("describe cn");
    let sent = one(&rec, "DescribeManagedPrefixLists");
    assert_eq!(sent.region, "cn-north-1");
    assert_eq!(
        sent.filters(),
        vec![(
            "prefix-list-name".to_string(),
            vec![
                "com.amazonaws.cn-north-1.s3".to_string(),
                "cn.com.amazonaws.cn-north-1.s3".to_string()
            ]
        )]
    );
    rec.clear();

    // S3 Express One Zone: its own list, by its own name.
    let _ = c
        .prefix_list("us-east-1", "com.amazonaws.us-east-1.s3express")
        .await
        .expect("describe s3express");
    assert_eq!(
        one(&rec, "DescribeManagedPrefixLists").filters(),
        vec![(
            "prefix-list-name".to_string(),
            vec!["com.amazonaws.us-east-1.s3express".to_string()]
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_endpoint_names_it_once() {
    let moto = Moto::start();
    let region = "us-east-1";
    let (c, rec) = cloud(&moto, &[region]).await;
    // moto 5.2.5 answers an unknown id with an empty Unsuccessful list (EC2
    // answers an item coded InvalidVpcEndpoint.NotFound; its conversion is
    // unit-tested in src/cloud/tests/aws.rs). Only the request is checked here.
    c.delete_endpoint(region, "vpce-0123456789abcdef0")
        .await
        .expect("moto reports no Unsuccessful item");
    let sent = one(&rec, "DeleteVpcEndpoints");
    assert_eq!(sent.list("VpcEndpointId"), vec!["vpce-0123456789abcdef0"]);
    assert_eq!(sent.params.len(), 2, "VpcEndpointId.1 and Version only: {sent:?}");
}

/// The lab plan applied by the real executor through AwsCloud: every create
/// the executor sends carries its tags, and every CreateVpcEndpoint and
/// CreateRouteTable a client token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_apply_sends_tags_and_tokens_on_every_create() {
    let moto = Moto::start();
    let y =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
            .expect("lab plan");
    let d: Desired = s3ep::plan::load_str(&y, "lab.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let regions = d.regions();
    let region_refs: Vec<&str> = regions.iter().map(String::as_str).collect();
    let (c, rec) = cloud(&moto, &region_refs).await;
    let live = s3ep::state::read(&c, &d).await.expect("read");
    let changes =
        s3ep::diff::diff(&d, &live, s3ep::diff::Mode::Apply, s3ep::emulator::Emulator::Off).expect("diff");
    let report = s3ep::exec::execute(
        &c,
        &changes,
        &s3ep::exec::Silent,
        &s3ep::exec::ExecOptions::default(),
    )
    .await;
    assert!(report.ok(), "{report:?}");

    let creates = [
        ("CreateVpc", "vpc"),
        ("CreateSubnet", "subnet"),
        ("CreateRouteTable", "route-table"),
        ("CreateSecurityGroup", "security-group"),
        ("CreateVpcEndpoint", "vpc-endpoint"),
        ("CreateVpcPeeringConnection", "vpc-peering-connection"),
    ];
    for (action, resource_type) in creates {
        let sent = rec.requests(action);
        assert!(!sent.is_empty(), "the lab sends {action}");
        for r in &sent {
            let t = tag_spec(r, resource_type);
            assert_eq!(t.get(TAG_PLAN), Some(&d.name), "{r:?}");
            let key = t.get(TAG_KEY).expect("s3ep:key");
            assert_eq!(t, d.tags_for(&Address(key.clone())), "{r:?}");
        }
    }
    for r in rec
        .requests("CreateVpcEndpoint")
        .iter()
        .chain(&rec.requests("CreateRouteTable"))
    {
        assert!(r.param("ClientToken").is_some_and(|t| !t.is_empty()), "{r:?}");
    }
    for r in rec.requests("CreateVpcEndpoint") {
        match r.param("VpcEndpointType") {
            Some("Interface") => {
                assert!(r.has("PrivateDnsEnabled"), "{r:?}");
                assert!(r.has("DnsOptions.DnsRecordIpType"), "{r:?}");
            }
            Some("Gateway") => assert!(!r.params.keys().any(|k| k.starts_with("DnsOptions")), "{r:?}"),
            other => panic!("unexpected type {other:?}"),
        }
    }
    // The prefix list is looked up by name in every region of the plan.
    for r in rec.requests("DescribeManagedPrefixLists") {
        let (name, values) = &r.filters()[0];
        assert_eq!(name, "prefix-list-name");
        assert_eq!(values[0], format!("com.amazonaws.{}.s3", r.region));
    }
}

/// `client_groups`: AuthorizeSecurityGroupEgress names the endpoint's group
/// in a UserIdGroupPair (TCP 443) and tags the rule; the rule is read back
/// by DescribeSecurityGroupRules with its id and tags (by the plan's tag
/// and by group id); RevokeSecurityGroupEgress names that rule id only, and
/// the group's other outbound rules stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_egress_sends_group_pair_tags_and_revokes_by_rule_id() {
    let moto = Moto::start();
    let region = "us-east-1";
    let (c, rec) = cloud(&moto, &[region]).await;
    let net = network(&c, region, "req").await;
    let client = c
        .create_security_group(region, &net.vpc, "clients", "clients", &Tags::new())
        .await
        .expect("CreateSecurityGroup clients");
    let address = Address::egress("ep", &client).to_string();
    let rule_id = c
        .authorize_https_egress(region, &client, &net.sg, &tags("req", &address))
        .await
        .expect("AuthorizeSecurityGroupEgress")
        .expect("EC2 answers with the new rule's id");
    let sent = one(&rec, "AuthorizeSecurityGroupEgress");
    assert_eq!(sent.param("GroupId"), Some(client.as_str()));
    assert_eq!(sent.param("IpPermissions.1.IpProtocol"), Some("tcp"));
    assert_eq!(sent.param("IpPermissions.1.FromPort"), Some("443"));
    assert_eq!(sent.param("IpPermissions.1.ToPort"), Some("443"));
    assert_eq!(
        sent.param("IpPermissions.1.Groups.1.GroupId"),
        Some(net.sg.as_str()),
        "{sent:?}"
    );
    assert_eq!(tag_spec(&sent, "security-group-rule"), tags("req", &address));

    let by_plan = c
        .describe_egress_rules(region, &s3ep::cloud::Filter::Plan("req".into()))
        .await
        .expect("DescribeSecurityGroupRules by tag");
    assert_eq!(by_plan.len(), 1, "{by_plan:?}");
    assert_eq!(by_plan[0].id, rule_id);
    assert_eq!(by_plan[0].group_id, client);
    assert_eq!(by_plan[0].peer, Some(RulePeer::Group(net.sg.clone())));
    assert_eq!(by_plan[0].tags.get(TAG_KEY), Some(&address));
    let filters = rec.last("DescribeSecurityGroupRules").expect("sent").filters();
    assert_eq!(
        filters,
        vec![(format!("tag:{TAG_PLAN}"), vec!["req".to_string()])]
    );
    let of_group = c
        .describe_egress_rules(region, &s3ep::cloud::Filter::Ids(vec![client.clone()]))
        .await
        .expect("DescribeSecurityGroupRules by group");
    // The new group's default all-traffic rule, and s3ep's.
    assert_eq!(of_group.len(), 2, "{of_group:?}");
    assert!(of_group.iter().any(|r| r.protocol == "-1" && r.tags.is_empty()));

    c.revoke_https_egress(region, &client, &rule_id)
        .await
        .expect("RevokeSecurityGroupEgress");
    let revoke = one(&rec, "RevokeSecurityGroupEgress");
    assert_eq!(revoke.param("GroupId"), Some(client.as_str()));
    // EC2's query form names the list members `SecurityGroupRuleId.N`.
    assert_eq!(
        revoke.list("SecurityGroupRuleId"),
        vec![rule_id.as_str()],
        "{revoke:?}"
    );
    assert!(!revoke.has("IpPermissions.1.IpProtocol"), "{revoke:?}");
    let left = c
        .describe_egress_rules(region, &s3ep::cloud::Filter::Ids(vec![client.clone()]))
        .await
        .expect("DescribeSecurityGroupRules after");
    assert_eq!(left.len(), 1, "only s3ep's rule went: {left:?}");
    assert_eq!(left[0].protocol, "-1");
}

/// IPv6: CreateVpc asks for the Amazon /56, which DescribeVpcs returns;
/// CreateSubnet sends the /64; CreateVpcEndpoint and ModifyVpcEndpoint send
/// IpAddressType and DnsOptions.DnsRecordIpType, which DescribeVpcEndpoints
/// returns (strict EC2 mode stores them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_requests_send_the_blocks_ip_address_type_and_dns_record_ip_type() {
    use s3ep::cloud::Filter;
    use s3ep::model::{ipv6_subnet, DnsRecordIpType, IpAddressType};
    // Strict mode without its read-after-create lags: this reads back at once.
    let moto = Moto::start_with(common::Emulator::Strict, &[("S3EP_STRICT_LAG", "0")]);
    let region = "us-east-1";
    let (c, rec) = cloud(&moto, &[region]).await;
    let vpc = c
        .create_vpc_ipv6(region, "10.60.0.0/16".parse().unwrap(), &tags("v6", "vpc.v"))
        .await
        .expect("CreateVpc");
    let sent = one(&rec, "CreateVpc");
    assert_eq!(sent.param("AmazonProvidedIpv6CidrBlock"), Some("true"));
    let live = c
        .describe_vpcs(region, &Filter::Ids(vec![vpc.clone()]))
        .await
        .unwrap();
    let block = live[0].ipv6_cidr.expect("moto stores the /56");
    assert_eq!(block.prefix_len(), 56);
    rec.clear();
    let v6 = ipv6_subnet(&block, 2).unwrap();
    let subnet = c
        .create_subnet_ipv6(
            region,
            &vpc,
            "us-east-1a",
            "10.60.1.0/24".parse().unwrap(),
            v6,
            &tags("v6", "subnet.v.a"),
        )
        .await
        .expect("CreateSubnet");
    let sent = one(&rec, "CreateSubnet");
    assert_eq!(sent.param("Ipv6CidrBlock"), Some(v6.to_string().as_str()));
    let live = c
        .describe_subnets(region, &Filter::Ids(vec![subnet.clone()]))
        .await
        .unwrap();
    assert_eq!(live[0].ipv6_cidr, Some(v6));
    let rtb = c
        .create_route_table(region, &vpc, &tags("v6", "route_table.v.rt"), Some("v6-rtb"))
        .await
        .unwrap();
    rec.clear();

    let gw = c
        .create_endpoint(
            region,
            &EndpointCreate {
                vpc_id: vpc.clone(),
                service: "com.amazonaws.us-east-1.s3".into(),
                endpoint_type: EndpointType::Gateway,
                route_table_ids: vec![rtb],
                subnet_ids: vec![],
                security_group_ids: vec![],
                private_dns: None,
                ip_address_type: Some(IpAddressType::Dualstack),
                dns_record_ip_type: None,
                service_region: None,
                policy: None,
                tags: tags("v6", "endpoint.gw"),
                client_token: Some("v6-gw".into()),
            },
        )
        .await
        .expect("gateway");
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("IpAddressType"), Some("dualstack"));
    assert!(
        !sent.params.keys().any(|k| k.starts_with("DnsOptions")),
        "{sent:?}"
    );
    rec.clear();

    let itf = c
        .create_endpoint(
            region,
            &EndpointCreate {
                vpc_id: vpc.clone(),
                service: "com.amazonaws.us-east-1.s3".into(),
                endpoint_type: EndpointType::Interface,
                route_table_ids: vec![],
                subnet_ids: vec![subnet.clone()],
                security_group_ids: vec![],
                private_dns: Some(PrivateDns::Off),
                ip_address_type: Some(IpAddressType::Dualstack),
                dns_record_ip_type: Some(DnsRecordIpType::ServiceDefined),
                service_region: None,
                policy: None,
                tags: tags("v6", "endpoint.itf"),
                client_token: Some("v6-itf".into()),
            },
        )
        .await
        .expect("interface");
    let sent = one(&rec, "CreateVpcEndpoint");
    assert_eq!(sent.param("IpAddressType"), Some("dualstack"));
    assert_eq!(sent.param("DnsOptions.DnsRecordIpType"), Some("service-defined"));
    rec.clear();

    // ModifyVpcEndpoint: back to ipv4 records, and the gateway to ipv4.
    c.modify_endpoint(
        region,
        &itf.id,
        &EndpointModify {
            dns_record_ip_type: Some(DnsRecordIpType::Ipv4),
            ..Default::default()
        },
    )
    .await
    .expect("modify interface");
    let sent = one(&rec, "ModifyVpcEndpoint");
    assert_eq!(sent.param("DnsOptions.DnsRecordIpType"), Some("ipv4"));
    assert!(!sent.has("IpAddressType"), "{sent:?}");
    rec.clear();
    c.modify_endpoint(
        region,
        &gw.id,
        &EndpointModify {
            ip_address_type: Some(IpAddressType::Ipv4),
            ..Default::default()
        },
    )
    .await
    .expect("modify gateway");
    let sent = one(&rec, "ModifyVpcEndpoint");
    assert_eq!(sent.param("IpAddressType"), Some("ipv4"));
    assert!(
        !sent.params.keys().any(|k| k.starts_with("DnsOptions")),
        "{sent:?}"
    );

    // Read back (the strict EC2 mode stores both; plain moto neither).
    {
        let eps = c
            .describe_endpoints(region, &Filter::Ids(vec![gw.id.clone(), itf.id.clone()]))
            .await
            .unwrap();
        let by = |id: &str| eps.iter().find(|e| e.id == id).unwrap();
        assert_eq!(by(&gw.id).ip_address_type.as_deref(), Some("ipv4"));
        assert_eq!(by(&itf.id).ip_address_type.as_deref(), Some("dualstack"));
        assert_eq!(by(&itf.id).dns_record_ip_type.as_deref(), Some("ipv4"));
    }
}

/// Issue 8: the AWS cloud reads AZ ids on both sides of the AZ check:
/// ServiceDetails.AvailabilityZoneIds next to AvailabilityZones, and the
/// subnet's AvailabilityZoneId. The strict emulator leaves use1-az3
/// (us-east-1e in moto) out of the S3 interface service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn az_ids_are_read_for_the_service_and_the_subnet() {
    // No read-after-write lag: one describe after the create.
    let moto = Moto::start_with(common::Emulator::Strict, &[("S3EP_STRICT_LAG", "0")]);
    let (c, _rec) = cloud(&moto, &["us-east-1"]).await;
    let z = c
        .endpoint_service_zones("us-east-1", "com.amazonaws.us-east-1.s3", None)
        .await
        .expect("describe services")
        .expect("S3 is listed");
    assert_eq!(z.names.len(), z.ids.len(), "{z:?}");
    assert!(z.ids.contains(&"use1-az6".to_string()), "{z:?}");
    assert!(!z.ids.contains(&"use1-az3".to_string()) && !z.names.contains(&"us-east-1e".to_string()));
    let vpc = c
        .create_vpc("us-east-1", "10.40.0.0/16".parse().unwrap(), &Tags::new())
        .await
        .expect("vpc");
    let subnet = c
        .create_subnet(
            "us-east-1",
            &vpc,
            "us-east-1e",
            "10.40.1.0/24".parse().unwrap(),
            &Tags::new(),
        )
        .await
        .expect("subnet");
    let s = c
        .describe_subnets("us-east-1", &s3ep::cloud::Filter::Ids(vec![subnet]))
        .await
        .expect("describe subnet");
    assert_eq!(s[0].az_id.as_deref(), Some("use1-az3"));
    assert!(!z.offers(&s[0].az, s[0].az_id.as_deref()));
}
