// Scratch smoke test of AwsCloud against a local moto server (port 5055).
// Temporary: deleted before hand-off.
use s3ep::cloud::aws::{AwsCloud, AwsSettings};
use s3ep::cloud::{Cloud, EndpointCreate, EndpointModify, Filter};
use s3ep::model::{EndpointType, RouteDest, RulePeer, Tags};

fn tags(plan: &str, key: &str) -> Tags {
    let mut t = Tags::new();
    t.insert("s3ep:plan".into(), plan.into());
    t.insert("s3ep:key".into(), key.into());
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke() {
    if std::env::var("S3EP_SMOKE").is_err() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter("s3ep=debug")
        .with_test_writer()
        .try_init();
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let settings = AwsSettings {
        profile: None,
        endpoint_url: Some("http://127.0.0.1:5055".into()),
        max_attempts: 2,
    };
    let use1 = "us-east-1";
    let apn2 = "ap-northeast-2";
    let c = AwsCloud::new(&settings, &[use1.to_string()]).await;
    let plan = "smoke";

    let vpc = c.create_vpc(use1, "10.20.0.0/16".parse().unwrap(), &tags(plan, "vpc.v")).await.unwrap();
    let vpc2 = c.create_vpc(apn2, "10.10.0.0/16".parse().unwrap(), &tags(plan, "vpc.s")).await.unwrap();
    let sub = c.create_subnet(use1, &vpc, "us-east-1a", "10.20.1.0/24".parse().unwrap(), &tags(plan, "subnet.v.a")).await.unwrap();
    let sub_b = c.create_subnet(use1, &vpc, "us-east-1b", "10.20.2.0/24".parse().unwrap(), &tags(plan, "subnet.v.b")).await.unwrap();
    let rtb = c.create_route_table(use1, &vpc, &tags(plan, "route_table.v.p"), Some("tok-1")).await.unwrap();
    let rtb2 = c.create_route_table(apn2, &vpc2, &tags(plan, "route_table.s.p"), None).await.unwrap();
    let assoc = c.associate_route_table(use1, &rtb, &sub).await.unwrap();
    let sg = c.create_security_group(use1, &vpc, "s3ep-smoke", "smoke sg", &tags(plan, "security_group.e")).await.unwrap();
    c.authorize_https_ingress(use1, &sg, &RulePeer::Cidr("10.10.0.0/16".parse().unwrap()), &tags(plan, "ingress.e.s")).await.unwrap();
    c.authorize_https_ingress(use1, &sg, &RulePeer::Group(sg.clone()), &tags(plan, "ingress.e.g")).await.unwrap();
    let dup = c.authorize_https_ingress(use1, &sg, &RulePeer::Cidr("10.10.0.0/16".parse().unwrap()), &tags(plan, "ingress.e.s")).await.unwrap_err();
    println!("dup rule: {dup}");
    assert!(dup.is_duplicate());

    let pl = c.s3_prefix_list(use1).await.unwrap();
    println!("prefix list: {pl:?}");
    assert!(pl.is_some());

    let gw = c
        .create_endpoint(use1, &EndpointCreate {
            vpc_id: vpc.clone(),
            service: "com.amazonaws.us-east-1.s3".into(),
            endpoint_type: EndpointType::Gateway,
            route_table_ids: vec![rtb.clone()],
            subnet_ids: vec![],
            security_group_ids: vec![],
            private_dns: None,
            policy: Some(serde_json::json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]})),
            tags: tags(plan, "endpoint.gw"),
            client_token: Some("gw-token".into()),
        })
        .await
        .unwrap();
    println!("gw: {gw:#?}");
    let itf = c
        .create_endpoint(use1, &EndpointCreate {
            vpc_id: vpc.clone(),
            service: "com.amazonaws.us-east-1.s3".into(),
            endpoint_type: EndpointType::Interface,
            route_table_ids: vec![],
            subnet_ids: vec![sub.clone()],
            security_group_ids: vec![sg.clone()],
            private_dns: Some(false),
            policy: None,
            tags: tags(plan, "endpoint.itf"),
            client_token: None,
        })
        .await
        .unwrap();
    println!("itf: {itf:#?}");
    c.modify_endpoint(use1, &itf.id, &EndpointModify {
        add_subnet_ids: vec![sub_b.clone()],
        policy: Some(Some(serde_json::json!({"Statement":[]}))),
        ..Default::default()
    }).await.unwrap();
    c.modify_endpoint(use1, &itf.id, &EndpointModify { policy: Some(None), ..Default::default() }).await.unwrap();

    let pcx = c.create_peering(use1, &vpc, &vpc2, apn2, &tags(plan, "peering.p")).await.unwrap();
    c.accept_peering(apn2, &pcx).await.unwrap();
    c.create_peering_route(use1, &rtb, &RouteDest::Cidr("10.10.0.0/16".parse().unwrap()), &pcx).await.unwrap();
    c.create_peering_route(apn2, &rtb2, &RouteDest::Cidr("10.20.0.0/16".parse().unwrap()), &pcx).await.unwrap();
    let dupr = c.create_peering_route(use1, &rtb, &RouteDest::Cidr("10.10.0.0/16".parse().unwrap()), &pcx).await.unwrap_err();
    println!("dup route: {dupr}");
    assert!(dupr.is_duplicate());
    c.set_tags(use1, &vpc, &[("extra".to_string(), "x".to_string())].into()).await.unwrap();

    // Reads with every filter kind.
    for f in [Filter::Plan(plan.into()), Filter::Vpcs(vec![vpc.clone()]), Filter::Ids(vec![]), Filter::Vpcs(vec![])] {
        let vpcs = c.describe_vpcs(use1, &f).await.unwrap();
        let subnets = c.describe_subnets(use1, &f).await.unwrap();
        let rts = c.describe_route_tables(use1, &f).await.unwrap();
        let sgs = c.describe_security_groups(use1, &f).await.unwrap();
        let eps = c.describe_endpoints(use1, &f).await.unwrap();
        let pcs = c.describe_peerings(use1, &f).await.unwrap();
        println!("{f:?}: vpcs {} subnets {} rts {} sgs {} eps {} pcs {}", vpcs.len(), subnets.len(), rts.len(), sgs.len(), eps.len(), pcs.len());
    }
    assert_eq!(c.describe_vpcs(use1, &Filter::Ids(vec![vpc.clone()])).await.unwrap().len(), 1);
    assert_eq!(c.describe_subnets(use1, &Filter::Ids(vec![sub.clone(), sub_b.clone()])).await.unwrap().len(), 2);
    assert_eq!(c.describe_route_tables(use1, &Filter::Ids(vec![rtb.clone()])).await.unwrap().len(), 1);
    assert_eq!(c.describe_security_groups(use1, &Filter::Ids(vec![sg.clone()])).await.unwrap().len(), 1);
    assert_eq!(c.describe_endpoints(use1, &Filter::Ids(vec![gw.id.clone()])).await.unwrap().len(), 1);
    assert_eq!(c.describe_peerings(apn2, &Filter::Ids(vec![pcx.clone()])).await.unwrap().len(), 1);
    assert_eq!(c.describe_peerings(apn2, &Filter::Plan(plan.into())).await.unwrap().len(), 1);
    assert_eq!(c.describe_peerings(apn2, &Filter::Plan("nope".into())).await.unwrap().len(), 0);
    assert_eq!(c.describe_vpcs(use1, &Filter::Plan("nope".into())).await.unwrap().len(), 0);
    println!("vpcs: {:#?}", c.describe_vpcs(use1, &Filter::Plan(plan.into())).await.unwrap());
    println!("rts: {:#?}", c.describe_route_tables(use1, &Filter::Ids(vec![rtb.clone()])).await.unwrap());
    println!("sgs: {:#?}", c.describe_security_groups(use1, &Filter::Ids(vec![sg.clone()])).await.unwrap());
    println!("eps: {:#?}", c.describe_endpoints(use1, &Filter::Ids(vec![gw.id.clone(), itf.id.clone()])).await.unwrap());
    println!("pcs use1: {:#?}", c.describe_peerings(use1, &Filter::Ids(vec![pcx.clone()])).await.unwrap());
    println!("pcs apn2: {:#?}", c.describe_peerings(apn2, &Filter::Vpcs(vec![vpc2.clone()])).await.unwrap());
    println!("subnets by vpc: {:#?}", c.describe_subnets(use1, &Filter::Vpcs(vec![vpc.clone()])).await.unwrap());
    let nf = c.describe_vpcs(use1, &Filter::Ids(vec!["vpc-00000000".into()])).await.unwrap_err();
    println!("not found: {nf}");
    assert!(nf.is_not_found());

    let pl = pl.unwrap();
    c.delete_route(use1, &rtb, &RouteDest::PrefixList(pl.clone())).await.unwrap();
    c.create_endpoint_route(use1, &rtb, &RouteDest::PrefixList(pl.clone()), &gw.id).await.unwrap();
    let rts = c.describe_route_tables(use1, &Filter::Ids(vec![rtb.clone()])).await.unwrap();
    println!("restored: {:?}", rts[0].routes.iter().find(|r| r.dest == RouteDest::PrefixList(pl.clone())));
    let untagged = c.create_vpc(use1, "10.99.0.0/16".parse().unwrap(), &Tags::new()).await.unwrap();
    c.delete_vpc(use1, &untagged).await.unwrap();
    let bad = AwsCloud::new(&AwsSettings { profile: None, endpoint_url: Some("http://127.0.0.1:5999".into()), max_attempts: 1 }, &[]).await;
    let t = std::time::Instant::now();
    let e = bad.describe_vpcs(use1, &Filter::Plan(plan.into())).await.unwrap_err();
    println!("dispatch error after {:?}: {e}", t.elapsed());
    // Teardown.
    c.delete_route(use1, &rtb, &RouteDest::Cidr("10.10.0.0/16".parse().unwrap())).await.unwrap();
    c.delete_route(apn2, &rtb2, &RouteDest::Cidr("10.20.0.0/16".parse().unwrap())).await.unwrap();
    c.delete_peering(use1, &pcx).await.unwrap();
    c.delete_endpoint(use1, &itf.id).await.unwrap();
    c.delete_endpoint(use1, &gw.id).await.unwrap();
    let again = c.delete_endpoint(use1, "vpce-00000000000000000").await;
    println!("delete missing endpoint: {again:?}");
    c.revoke_https_ingress(use1, &sg, &RulePeer::Cidr("10.10.0.0/16".parse().unwrap())).await.unwrap();
    c.revoke_https_ingress(use1, &sg, &RulePeer::Group(sg.clone())).await.unwrap();
    let rv = c.revoke_https_ingress(use1, &sg, &RulePeer::Group(sg.clone())).await;
    println!("revoke missing: {rv:?}");
    c.delete_security_group(use1, &sg).await.unwrap();
    c.disassociate_route_table(use1, &assoc).await.unwrap();
    c.delete_route_table(use1, &rtb).await.unwrap();
    c.delete_route_table(apn2, &rtb2).await.unwrap();
    c.delete_subnet(use1, &sub).await.unwrap();
    c.delete_subnet(use1, &sub_b).await.unwrap();
    c.delete_vpc(use1, &vpc).await.unwrap();
    c.delete_vpc(apn2, &vpc2).await.unwrap();
    println!("after: eps {:#?}", c.describe_endpoints(use1, &Filter::Plan(plan.into())).await.unwrap().iter().map(|e| (&e.id, &e.state)).collect::<Vec<_>>());
    println!("after: pcs {:#?}", c.describe_peerings(use1, &Filter::Plan(plan.into())).await.unwrap().iter().map(|e| (&e.id, &e.status)).collect::<Vec<_>>());
    println!("after: vpcs {}", c.describe_vpcs(use1, &Filter::Plan(plan.into())).await.unwrap().len());
}
