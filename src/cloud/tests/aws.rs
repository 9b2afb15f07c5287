//! Unit tests of `cloud::aws`.
use super::*;
use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsError;
use aws_smithy_types::body::SdkBody;
use serde_json::json;

#[test]
fn states_are_lower_cased() {
    assert_eq!(normalize_state("Available"), "available");
    assert_eq!(normalize_state("available"), "available");
    assert_eq!(normalize_state("pendingAcceptance"), "pendingacceptance");
    assert_eq!(normalize_state("pending-acceptance"), "pending-acceptance");
    let st = ec2::State::from("PendingAcceptance");
    assert_eq!(normalize_state(st.as_str()), "pendingacceptance");
}

#[test]
fn protocols_are_normalised() {
    assert_eq!(normalize_protocol("TCP"), "tcp");
    assert_eq!(normalize_protocol("-1"), "-1");
    assert_eq!(normalize_protocol("6"), "tcp");
}

#[test]
fn policies_parse_plain_or_percent_encoded() {
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]});
    assert_eq!(parse_policy(&doc.to_string()), Some(doc.clone()));
    let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%22Allow%22%7D%5D%7D";
    assert_eq!(parse_policy(encoded), Some(doc));
    assert_eq!(parse_policy("not json %zz"), None);
    assert_eq!(parse_policy(""), None);
    assert_eq!(percent_decode("a%2"), None);
    assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
}

#[test]
fn service_errors_keep_code_and_message() {
    let e: SdkError<DescribeVpcsError> = SdkError::service_error(
        DescribeVpcsError::generic(
            ErrorMetadata::builder()
                .code("InvalidVpcID.NotFound")
                .message("The vpc ID 'vpc-1' does not exist")
                .build(),
        ),
        aws_sdk_ec2::config::http::HttpResponse::new(400u16.try_into().expect("status"), SdkBody::empty()),
    );
    let ce = sdk_error("DescribeVpcs", "us-east-1", &e);
    assert_eq!(ce.code.as_deref(), Some("InvalidVpcID.NotFound"));
    assert_eq!(ce.message, "The vpc ID 'vpc-1' does not exist");
    assert_eq!(ce.region, "us-east-1");
    assert!(ce.is_not_found());
}

#[test]
fn service_errors_without_code_keep_status() {
    let e: SdkError<DescribeVpcsError> = SdkError::service_error(
        DescribeVpcsError::generic(ErrorMetadata::builder().build()),
        aws_sdk_ec2::config::http::HttpResponse::new(
            500u16.try_into().expect("status"),
            SdkBody::from("<html>"),
        ),
    );
    let ce = sdk_error("DescribeVpcEndpoints", "us-east-1", &e);
    assert_eq!(ce.code, None);
    assert!(ce.message.starts_with("HTTP 500"), "{}", ce.message);
}

#[test]
fn non_service_errors_have_no_code() {
    let e: SdkError<DescribeVpcsError> = SdkError::timeout_error("took too long");
    let ce = sdk_error("DescribeVpcs", "eu-west-1", &e);
    assert_eq!(ce.code, None);
    assert!(ce.message.contains("took too long"), "{}", ce.message);
}

#[test]
fn empty_id_lists_select_nothing() {
    assert_eq!(selection(&Filter::Ids(vec![])), Selection::Nothing);
    assert_eq!(selection(&Filter::Vpcs(vec![])), Selection::Nothing);
    assert_eq!(
        selection(&Filter::Ids(vec!["vpc-1".into()])),
        Selection::Ids(vec!["vpc-1".into()])
    );
    let Selection::Filters(f) = selection(&Filter::Plan("lab".into())) else {
        panic!("plan is a filter");
    };
    assert_eq!(f[0].name(), Some("tag:s3ep:plan"));
    assert_eq!(f[0].values(), ["lab".to_string()]);
    let Selection::Filters(f) = selection(&Filter::Vpcs(vec!["vpc-1".into()])) else {
        panic!("vpcs is a filter");
    };
    assert_eq!(f[0].name(), Some("vpc-id"));
}

#[test]
fn routes_convert_and_skip_ipv6() {
    let r = ec2::Route::builder()
        .destination_prefix_list_id("pl-1")
        .gateway_id("vpce-1")
        .state(ec2::RouteState::Active)
        .build();
    let lr = conv_route(&r).expect("route");
    assert_eq!(lr.dest, RouteDest::PrefixList("pl-1".into()));
    assert_eq!(lr.state.as_deref(), Some("active"));
    let r = ec2::Route::builder()
        .destination_cidr_block("10.0.0.0/16")
        .vpc_peering_connection_id("pcx-1")
        .build();
    let lr = conv_route(&r).expect("route");
    assert_eq!(lr.dest, RouteDest::Cidr("10.0.0.0/16".parse().expect("cidr")));
    assert_eq!(lr.peering_id.as_deref(), Some("pcx-1"));
    let r = ec2::Route::builder().destination_ipv6_cidr_block("::/0").build();
    assert_eq!(conv_route(&r), None);
}

#[test]
fn permissions_flatten_per_peer() {
    let p = ec2::IpPermission::builder()
        .ip_protocol("TCP")
        .from_port(443)
        .to_port(443)
        .ip_ranges(ec2::IpRange::builder().cidr_ip("10.0.0.0/16").build())
        .ip_ranges(ec2::IpRange::builder().cidr_ip("bogus").build())
        .user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id("sg-1").build())
        .build();
    let all = ec2::IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(ec2::IpRange::builder().cidr_ip("0.0.0.0/0").build());
    let rules = flatten_permissions(&[p, all.build()]);
    assert_eq!(rules.len(), 3);
    assert!(rules[0].is_https());
    assert_eq!(rules[1].peer, RulePeer::Group("sg-1".into()));
    assert_eq!(rules[2].protocol, "-1");
    assert_eq!(rules[2].from_port, None);
}

#[test]
fn endpoints_convert() {
    let e = ec2::VpcEndpoint::builder()
        .vpc_endpoint_id("vpce-1")
        .vpc_endpoint_type(ec2::VpcEndpointType::Interface)
        .vpc_id("vpc-1")
        .service_name("com.amazonaws.us-east-1.s3")
        .state(ec2::State::from("available"))
        .policy_document("%7B%7D")
        .subnet_ids("subnet-1")
        .groups(ec2::SecurityGroupIdentifier::builder().group_id("sg-1").build())
        .private_dns_enabled(true)
        .dns_options(
            ec2::DnsOptions::builder()
                .private_dns_only_for_inbound_resolver_endpoint(true)
                .build(),
        )
        .service_region("us-west-2")
        .dns_entries(ec2::DnsEntry::builder().dns_name("x.vpce.amazonaws.com").build())
        .last_error(ec2::LastError::builder().code("Boom").message("it broke").build())
        .tags(ec2::Tag::builder().key("s3ep:plan").value("lab").build())
        .build();
    let ep = conv_endpoint("X", "us-east-1", &e, None)
        .expect("ok")
        .expect("managed type");
    assert_eq!(ep.endpoint_type, EndpointType::Interface);
    assert_eq!(ep.state, "available");
    assert_eq!(ep.policy, Some(json!({})));
    assert_eq!(ep.security_group_ids, vec!["sg-1".to_string()]);
    // Both private DNS values and ServiceRegion are read back.
    assert!(ep.private_dns);
    assert_eq!(ep.private_dns_inbound_only, Some(true));
    assert_eq!(ep.private_dns_mode(), crate::model::PrivateDns::InboundOnly);
    assert_eq!(ep.service_region.as_deref(), Some("us-west-2"));
    assert_eq!(ep.last_error.as_deref(), Some("Boom: it broke"));
    assert_eq!(ep.tags.get("s3ep:plan").map(String::as_str), Some("lab"));
    assert_eq!(ep.dns_entries.len(), 1);

    let glb = ec2::VpcEndpoint::builder()
        .vpc_endpoint_id("vpce-2")
        .vpc_endpoint_type(ec2::VpcEndpointType::GatewayLoadBalancer)
        .build();
    assert_eq!(conv_endpoint("X", "r", &glb, None).expect("ok"), None);

    let no_vpc = ec2::VpcEndpoint::builder()
        .vpc_endpoint_id("vpce-3")
        .vpc_endpoint_type(ec2::VpcEndpointType::Gateway)
        .build();
    let err = conv_endpoint("X", "r", &no_vpc, None).expect_err("missing vpc");
    assert!(err.message.contains("VpcId"));
}

#[test]
fn peerings_filter_client_side() {
    let p = LPeering {
        id: "pcx-1".into(),
        region: "us-east-1".into(),
        requester_vpc_id: Some("vpc-a".into()),
        requester_region: Some("us-east-1".into()),
        accepter_vpc_id: Some("vpc-b".into()),
        accepter_region: Some("ap-northeast-2".into()),
        status: "active".into(),
        tags: [(TAG_PLAN.to_string(), "lab".to_string())].into(),
    };
    assert!(peering_matches(&p, &Filter::Plan("lab".into())));
    assert!(!peering_matches(&p, &Filter::Plan("other".into())));
    assert!(peering_matches(&p, &Filter::Vpcs(vec!["vpc-b".into()])));
    assert!(!peering_matches(&p, &Filter::Vpcs(vec!["vpc-c".into()])));
    assert!(peering_matches(&p, &Filter::Ids(vec!["pcx-1".into()])));
}

#[test]
fn https_permissions_are_tcp_443() {
    let p = https_permission(&RulePeer::Cidr("10.0.0.0/16".parse().expect("cidr")));
    assert_eq!(p.ip_protocol(), Some("tcp"));
    assert_eq!((p.from_port(), p.to_port()), (Some(443), Some(443)));
    assert_eq!(p.ip_ranges()[0].description(), Some(RULE_DESCRIPTION));
    let p = https_permission(&RulePeer::Group("sg-9".into()));
    assert_eq!(p.user_id_group_pairs()[0].group_id(), Some("sg-9"));
}

#[test]
fn unsuccessful_delete_items_keep_ec2s_code_exactly() {
    let gone = ec2::UnsuccessfulItem::builder()
        .resource_id("vpce-0abc")
        .error(
            ec2::UnsuccessfulItemError::builder()
                .code("InvalidVpcEndpoint.NotFound")
                .message("The VPC endpoint Id 'vpce-0abc' does not exist")
                .build(),
        )
        .build();
    let e = unsuccessful_error("DeleteVpcEndpoints", "eu-west-1", &[gone]).expect("an error");
    assert_eq!(e.code.as_deref(), Some("InvalidVpcEndpoint.NotFound"));
    assert_eq!(e.op, "DeleteVpcEndpoints");
    assert_eq!(e.region, "eu-west-1");
    assert!(e.message.contains("does not exist"), "{e}");

    // No code and no message: still an error, naming the endpoint.
    let bare = ec2::UnsuccessfulItem::builder().resource_id("vpce-0def").build();
    let e = unsuccessful_error("DeleteVpcEndpoints", "eu-west-1", &[bare]).expect("an error");
    assert_eq!(e.code, None);
    assert!(e.message.contains("vpce-0def"), "{e}");

    assert!(unsuccessful_error("DeleteVpcEndpoints", "eu-west-1", &[]).is_none());
}

#[test]
fn prefix_lists_are_picked_by_name_best_first() {
    let names = vec![
        "com.amazonaws.cn-north-1.s3".to_string(),
        "cn.com.amazonaws.cn-north-1.s3".to_string(),
    ];
    let found = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect()
    };
    assert_eq!(
        pick_prefix_list(
            &names,
            &found(&[
                ("cn.com.amazonaws.cn-north-1.s3", "pl-2"),
                ("com.amazonaws.cn-north-1.s3", "pl-1")
            ])
        ),
        Some("pl-1".to_string())
    );
    assert_eq!(
        pick_prefix_list(&names, &found(&[("cn.com.amazonaws.cn-north-1.s3", "pl-2")])),
        Some("pl-2".to_string())
    );
    // A server that ignores the filter answers other lists too: not taken.
    assert_eq!(
        pick_prefix_list(&names, &found(&[("com.amazonaws.cn-north-1.dynamodb", "pl-3")])),
        None
    );
}

#[test]
fn revokes_of_unknown_rules_are_not_found_naming_the_rule() {
    let unknown = [ec2::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .build()];
    let e = check_revoke(
        "RevokeSecurityGroupIngress",
        "us-east-1",
        &unknown,
        || "no inbound HTTPS rule from 10.0.0.0/16 in sg-1".to_string(),
        Some(true),
    )
    .expect_err("an unknown rule is an error");
    assert_eq!(e.code.as_deref(), Some("InvalidPermission.NotFound"));
    assert!(e.is_not_found(), "{e}");
    assert_eq!(e.message, "no inbound HTTPS rule from 10.0.0.0/16 in sg-1");
    assert!(check_revoke(
        "RevokeSecurityGroupEgress",
        "us-east-1",
        &[],
        String::new,
        Some(true)
    )
    .is_ok());
    assert!(check_revoke(
        "RevokeSecurityGroupEgress",
        "us-east-1",
        &[],
        String::new,
        Some(false)
    )
    .is_err());
}
