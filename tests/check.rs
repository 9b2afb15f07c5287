//! `s3ep check`'s reachability rules on the in-memory EC2: the lab plan is
//! applied, one thing is broken behind s3ep's back, and exactly the path
//! it serves turns blocked, naming what blocks it. One test per blocking
//! kind; the reads are counted (one per kind per region, none per path).

use std::path::Path;

use ipnet::Ipv4Net;
use s3ep::check::{self, Report};
use s3ep::cloud::memory::MemoryCloud;
use s3ep::cloud::Cloud;
use s3ep::diff::{diff, Mode};
use s3ep::exec::{execute, ExecOptions, Silent};
use s3ep::model::{Desired, LAclEntry, LRule, Live, RouteDest, RulePeer, TAG_KEY};

const SEOUL: &str = "ap-northeast-2";
const VIRGINIA: &str = "us-east-1";
const FROM_SEOUL: (&str, &str) = ("vpc.seoul", "endpoint.virginia-s3");
const FROM_VIRGINIA: (&str, &str) = ("vpc.virginia", "endpoint.virginia-s3");
const GATEWAY: (&str, &str) = ("route_table.seoul.private", "endpoint.seoul-s3");

fn lab() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/cross-region-lab.yaml"))
        .expect("plans/cross-region-lab.yaml")
}

fn load(yaml: &str) -> Desired {
    s3ep::plan::load_str(yaml, "lab.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

async fn apply(cloud: &MemoryCloud, d: &Desired) {
    let live = s3ep::state::read(cloud, d).await.expect("read");
    let c = diff(d, &live, Mode::Apply, s3ep::emulator::Emulator::Off).expect("diff");
    let opts = ExecOptions {
        parallelism: 1,
        ..ExecOptions::default()
    };
    assert!(execute(cloud, &c, &Silent, &opts).await.ok());
}

async fn run_check(cloud: &MemoryCloud, d: &Desired) -> Report {
    let snap = check::read(cloud, d).await.expect("check read");
    check::check(d, &snap)
}

/// The lab, applied.
async fn applied() -> (MemoryCloud, Desired) {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    apply(&cloud, &d).await;
    (cloud, d)
}

async fn live(cloud: &MemoryCloud, d: &Desired) -> Live {
    s3ep::state::read(&cloud.oob(), d).await.expect("read")
}

/// The id of the owned resource at `address` among `items`.
fn id_of<'a, T>(
    items: &'a [T],
    address: &str,
    tags: impl Fn(&T) -> &s3ep::model::Tags,
    id: impl Fn(&'a T) -> &'a str,
) -> String {
    items
        .iter()
        .find(|x| tags(x).get(TAG_KEY).map(String::as_str) == Some(address))
        .map(|x| id(x).to_string())
        .unwrap_or_else(|| panic!("{address} not found"))
}

fn table(l: &Live, address: &str) -> String {
    id_of(&l.route_tables, address, |t| &t.tags, |t| &t.id)
}
fn subnet(l: &Live, address: &str) -> String {
    id_of(&l.subnets, address, |t| &t.tags, |t| &t.id)
}
fn endpoint(l: &Live, address: &str) -> String {
    id_of(&l.endpoints, address, |t| &t.tags, |t| &t.id)
}

/// Asserts that exactly the paths `blocked` are blocked, each with a block
/// of `kind` on `id` whose detail contains `detail`; the others are open.
fn assert_blocked(r: &Report, blocked: &[(&str, &str)], kind: &str, id: &str, detail: &str) {
    for p in &r.paths {
        let expect = blocked.contains(&(p.from.as_str(), p.to.as_str()));
        assert_eq!(!p.ok, expect, "path {} -> {}: {:#?}", p.from, p.to, r);
        if expect {
            assert!(
                p.blocked_by
                    .iter()
                    .any(|b| b.kind == kind && b.id.contains(id) && b.detail.contains(detail)),
                "path {} -> {} should be blocked by {kind} {id} ({detail}):\n{}",
                p.from,
                p.to,
                check::human(r)
            );
        }
    }
    assert_eq!(r.exit_code(), 3);
}

fn acl(egress: bool, rule: i32, ports: (i32, i32), cidr: &str) -> LAclEntry {
    LAclEntry {
        rule_number: rule,
        egress,
        protocol: "tcp".to_string(),
        allow: false,
        cidr: Some(cidr.parse().unwrap()),
        ports: Some(ports),
    }
}

#[tokio::test]
async fn applied_lab_is_open_with_one_read_per_kind_per_region() {
    let (cloud, d) = applied().await;
    cloud.reset_calls();
    let r = run_check(&cloud, &d).await;
    let paths: Vec<(&str, &str)> = r.paths.iter().map(|p| (p.from.as_str(), p.to.as_str())).collect();
    assert_eq!(paths, vec![GATEWAY, FROM_SEOUL, FROM_VIRGINIA]);
    assert!(r.ok(), "{}", check::human(&r));
    assert_eq!(r.exit_code(), 0);
    // One DescribeNetworkAcls per region, one prefix-list read for the one
    // gateway region, and no write at all.
    assert_eq!(cloud.call_count("DescribeNetworkAcls"), 2);
    assert_eq!(cloud.call_count("GetManagedPrefixListEntries"), 1);
    assert_eq!(
        cloud.call_count("DescribeVpcAttribute"),
        0,
        "no private DNS in the lab"
    );
    for (op, _) in cloud.calls() {
        assert!(
            op.starts_with("Describe") || op.starts_with("Get"),
            "{op} is not a read"
        );
    }
    // The VPC-wide reads: one per kind per region.
    let per_kind = cloud.call_count("DescribeSubnets");
    // state::read's tag-filtered read (2 regions) plus check's by VPC (2).
    assert_eq!(per_kind, 4);
    let j = check::json(&r);
    assert_eq!(j["format_version"], 1);
    assert_eq!(j["plan"], "oky-dev-lab");
    assert_eq!(j["paths"][1]["from"], "vpc.seoul");
    assert_eq!(j["paths"][1]["ok"], true);
    assert_eq!(j["paths"][1]["blocked_by"], serde_json::json!([]));
}

#[tokio::test]
async fn reads_do_not_grow_with_paths() {
    // The lab with three more sources: the same number of calls.
    let (cloud, d) = applied().await;
    cloud.reset_calls();
    run_check(&cloud, &d).await;
    let before = cloud.calls().len();
    let more = lab().replace(
        "allow_https_from: [seoul, virginia]",
        "allow_https_from: [seoul, virginia, 10.10.1.0/24, 10.20.0.0/16, 192.168.0.0/16]",
    );
    let d2 = load(&more);
    apply(&cloud, &d2).await;
    cloud.reset_calls();
    let r = run_check(&cloud, &d2).await;
    assert_eq!(r.paths.len(), 6);
    assert!(r.ok(), "{}", check::human(&r));
    assert_eq!(cloud.calls().len(), before);
}

#[tokio::test]
async fn not_applied_names_the_missing_endpoints() {
    let cloud = MemoryCloud::new();
    let d = load(&lab());
    let r = run_check(&cloud, &d).await;
    assert!(r.paths.iter().all(|p| !p.ok));
    assert!(r.paths.iter().all(|p| p
        .blocked_by
        .iter()
        .any(|b| b.kind == "endpoint" && b.id == p.to && b.detail.contains("s3ep apply"))));
    assert_eq!(r.exit_code(), 3);
}

#[tokio::test]
async fn route_missing_on_the_source_side() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let rtb = table(&l, "route_table.seoul.private");
    let dest = RouteDest::Cidr("10.20.0.0/16".parse().unwrap());
    cloud.oob_delete_route(SEOUL, &rtb, &dest).unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(&r, &[FROM_SEOUL], "route", &rtb, "no route to 10.20.1.0/24");
}

#[tokio::test]
async fn peering_route_missing_on_the_accepter_side() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let rtb = table(&l, "route_table.virginia.private");
    let dest = RouteDest::Cidr("10.10.0.0/16".parse().unwrap());
    cloud.oob_delete_route(VIRGINIA, &rtb, &dest).unwrap();
    let r = run_check(&cloud, &d).await;
    // The way back is gone: only the cross-VPC path is blocked.
    assert_blocked(&r, &[FROM_SEOUL], "route", &rtb, "no route to 10.10.1.0/24");
}

#[tokio::test]
async fn peering_not_active() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let pcx = l.peerings[0].id.clone();
    cloud.oob_set_peering_pending(SEOUL, &pcx).unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[FROM_SEOUL],
        "peering",
        &pcx,
        "pending-acceptance, not active",
    );
}

#[tokio::test]
async fn endpoint_security_group_inbound() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let sg = id_of(
        &l.security_groups,
        "security_group.virginia-s3",
        |g| &g.tags,
        |g| &g.id,
    );
    let seoul: Ipv4Net = "10.10.0.0/16".parse().unwrap();
    cloud
        .oob()
        .revoke_https_ingress(VIRGINIA, &sg, &RulePeer::Cidr(seoul))
        .await
        .unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[FROM_SEOUL],
        "security-group-ingress",
        &sg,
        "no inbound rule allows TCP 443 from 10.10.1.0/24",
    );
    // `apply` repairs it.
    apply(&cloud, &d).await;
    assert!(run_check(&cloud, &d).await.ok());
}

#[tokio::test]
async fn client_security_group_outbound() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let vpc = id_of(&l.vpcs, "vpc.virginia", |v| &v.tags, |v| &v.id);
    let client = cloud
        .oob_create_security_group(VIRGINIA, &vpc, "clients", &Default::default())
        .unwrap();
    let yaml = lab().replace(
        "allow_https_from: [seoul, virginia]",
        &format!("allow_https_from: [seoul, virginia, {client}]"),
    );
    let d = load(&yaml);
    apply(&cloud, &d).await;
    let r = run_check(&cloud, &d).await;
    assert!(r.ok(), "{}", check::human(&r));
    // Outbound only to 10.99.0.0/16: nothing reaches the endpoint.
    cloud
        .oob_set_egress(
            VIRGINIA,
            &client,
            vec![LRule {
                protocol: "tcp".into(),
                from_port: Some(443),
                to_port: Some(443),
                peer: RulePeer::Cidr("10.99.0.0/16".parse().unwrap()),
            }],
        )
        .unwrap();
    let r = run_check(&cloud, &d).await;
    let from_client = (client.as_str(), "endpoint.virginia-s3");
    assert_blocked(
        &r,
        &[from_client],
        "security-group-egress",
        &client,
        "no outbound rule lets TCP 443 out to 10.20.1.0/24",
    );
}

#[tokio::test]
async fn network_acl_inbound_at_the_endpoint() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let ep_a = subnet(&l, "subnet.virginia.ep-a");
    let acl_id = cloud
        .oob_add_nacl_entry(VIRGINIA, &ep_a, acl(false, 50, (443, 443), "10.10.0.0/16"))
        .unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[FROM_SEOUL],
        "network-acl",
        &acl_id,
        &format!("inbound rule 50 denies TCP 443 from 10.10.1.0/24 for subnet {ep_a}"),
    );
}

#[tokio::test]
async fn network_acl_outbound_ephemeral_at_the_endpoint() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let ep_b = subnet(&l, "subnet.virginia.ep-b");
    // Replies to 32768-65535 only would not do either: 1024-65535 must pass.
    let acl_id = cloud
        .oob_add_nacl_entry(VIRGINIA, &ep_b, acl(true, 60, (1024, 32767), "10.10.1.0/24"))
        .unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[FROM_SEOUL],
        "network-acl",
        &acl_id,
        "outbound rule 60 denies TCP 1024-65535 (the replies) to 10.10.1.0/24",
    );
}

#[tokio::test]
async fn network_acl_default_deny_names_the_star_rule() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let app_a = subnet(&l, "subnet.seoul.app-a");
    // Rule 100 (allow all outbound) replaced by an allow for 10.0.0.0/8 only:
    // S3's addresses fall to `*` on the gateway path; the peering path still passes.
    let mut allow = acl(true, 100, (0, 65535), "10.0.0.0/8");
    allow.allow = true;
    allow.protocol = "-1".into();
    allow.ports = None;
    let acl_id = cloud.oob_add_nacl_entry(SEOUL, &app_a, allow).unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[GATEWAY],
        "network-acl",
        &acl_id,
        "no outbound rule allows TCP 443 to 52.216.0.0/15",
    );
}

#[tokio::test]
async fn gateway_route_missing() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let rtb = table(&l, "route_table.seoul.private");
    let pl = s3ep::cloud::memory::s3_prefix_list_id(SEOUL);
    cloud
        .oob_delete_route(SEOUL, &rtb, &RouteDest::PrefixList(pl.clone()))
        .unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(&r, &[GATEWAY], "route", &rtb, &format!("no route to {pl}"));
}

#[tokio::test]
async fn endpoint_state_not_available() {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let vpce = endpoint(&l, "endpoint.virginia-s3");
    cloud.oob_set_endpoint_pending(VIRGINIA, &vpce, 100).unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[FROM_SEOUL, FROM_VIRGINIA],
        "endpoint-state",
        &vpce,
        "state is pending",
    );
}

#[tokio::test]
async fn vpc_dns_attributes_for_private_dns() {
    let cloud = MemoryCloud::new();
    let d = load(&lab().replace("private_dns: false", "private_dns: true"));
    apply(&cloud, &d).await;
    cloud.reset_calls();
    let r = run_check(&cloud, &d).await;
    assert!(r.ok(), "s3ep turned DNS hostnames on: {}", check::human(&r));
    assert_eq!(
        cloud.call_count("DescribeVpcAttribute"),
        2,
        "two attributes of one VPC"
    );
    let l = live(&cloud, &d).await;
    let vpc = id_of(&l.vpcs, "vpc.virginia", |v| &v.tags, |v| &v.id);
    cloud.oob_set_vpc_dns(VIRGINIA, &vpc, false, true).unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[FROM_SEOUL, FROM_VIRGINIA],
        "vpc-attribute",
        &vpc,
        "enableDnsSupport is off",
    );
    // Not a check of the lab without private DNS.
    let plain = load(&lab());
    assert!(run_check(&cloud, &plain).await.ok());
}

#[tokio::test]
async fn adopted_vpc_without_s3ep_tags() {
    // A VPC, subnet and route table s3ep does not own, adopted by id; the
    // endpoint reachable from the same VPC through its main route table.
    let cloud = MemoryCloud::new();
    let oob = cloud.oob();
    let vpc = cloud.oob_create_vpc(VIRGINIA, "10.30.0.0/16".parse().unwrap(), &Default::default());
    let sub = cloud
        .oob_create_subnet(
            VIRGINIA,
            &vpc,
            "us-east-1a",
            "10.30.1.0/24".parse().unwrap(),
            &Default::default(),
        )
        .unwrap();
    let yaml = format!(
        "version: 1\nname: adopt\nvpcs:\n  corp:\n    region: us-east-1\n    id: {vpc}\n    subnets:\n      a: {{ id: {sub} }}\n\
         endpoints:\n  s3:\n    vpc: corp\n    type: interface\n    subnets: [a]\n    security_group:\n      allow_https_from: [corp, 172.16.0.0/12]\n"
    );
    let d = load(&yaml);
    apply(&cloud, &d).await;
    let r = run_check(&cloud, &d).await;
    assert!(r.ok(), "{}", check::human(&r));
    assert_eq!(r.paths[1].from, "172.16.0.0/12");
    // An outside CIDR denied by the endpoint subnet's ACL.
    let acl_id = cloud
        .oob_add_nacl_entry(VIRGINIA, &sub, acl(false, 10, (0, 65535), "172.16.0.0/12"))
        .unwrap();
    let _ = oob
        .describe_vpcs(VIRGINIA, &s3ep::cloud::Filter::Ids(vec![vpc.clone()]))
        .await;
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[("172.16.0.0/12", "endpoint.s3")],
        "network-acl",
        &acl_id,
        "inbound rule 10 denies TCP 443 from 172.16.0.0/12",
    );
}

/// A client group with no outbound rule of its own, in the lab's Virginia
/// VPC, listed under `security_group.client_groups` of the interface
/// endpoint (and not under `allow_https_from`).
async fn with_client_group() -> (MemoryCloud, Desired, String) {
    let (cloud, d) = applied().await;
    let l = live(&cloud, &d).await;
    let vpc = id_of(&l.vpcs, "vpc.virginia", |v| &v.tags, |v| &v.id);
    let client = cloud
        .oob_create_security_group(VIRGINIA, &vpc, "clients", &Default::default())
        .unwrap();
    // No outbound rule at all (its default "all traffic" rule revoked), so
    // that s3ep adds its own.
    cloud.oob_replace_egress(VIRGINIA, &client, &[]).unwrap();
    let yaml = lab().replace(
        "allow_https_from: [seoul, virginia]",
        &format!("allow_https_from: [seoul, virginia]\n      client_groups: [{client}]"),
    );
    let d = load(&yaml);
    apply(&cloud, &d).await;
    (cloud, d, client)
}

#[tokio::test]
async fn client_group_path_is_checked_and_repaired_by_apply() {
    let (cloud, d, client) = with_client_group().await;
    let from_client = (client.as_str(), "endpoint.virginia-s3");
    let r = run_check(&cloud, &d).await;
    let paths: Vec<(&str, &str)> = r.paths.iter().map(|p| (p.from.as_str(), p.to.as_str())).collect();
    assert_eq!(paths, vec![GATEWAY, FROM_SEOUL, FROM_VIRGINIA, from_client]);
    assert!(r.ok(), "{}", check::human(&r));
    // s3ep's own rule is the only outbound rule of the group.
    let l = live(&cloud, &d).await;
    let rules: Vec<_> = l.egress_rules.iter().filter(|r| r.group_id == client).collect();
    assert_eq!(rules.len(), 1, "{rules:#?}");
    assert_eq!(
        rules[0].tags.get(TAG_KEY).map(String::as_str),
        Some(format!("egress.virginia-s3.{client}").as_str())
    );
    // Revoked out of band: exactly the client group's path is blocked, by
    // that group's outbound rules, and the fix is `apply`.
    cloud.oob_replace_egress(VIRGINIA, &client, &[]).unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[from_client],
        "security-group-egress",
        &client,
        &format!(
            "no outbound rule lets TCP 443 out to 10.20.1.0/24 (subnet {}",
            subnet(&l, "subnet.virginia.ep-a")
        ),
    );
    let p = r.paths.iter().find(|p| p.from == client).unwrap();
    assert!(
        p.blocked_by
            .iter()
            .all(|b| b.kind == "security-group-egress" && b.id == client),
        "only the group's outbound rules block it: {p:#?}"
    );
    assert!(
        p.blocked_by[0].detail.contains(&format!(
            "`s3ep apply` restores s3ep's rule egress.virginia-s3.{client}"
        )),
        "{p:#?}"
    );
    assert!(check::human(&r).contains(&format!("✗ {client} -> endpoint.virginia-s3")));
    // `apply` puts s3ep's rule back; every path is open again.
    apply(&cloud, &d).await;
    let r = run_check(&cloud, &d).await;
    assert!(r.ok(), "{}", check::human(&r));
}

#[tokio::test]
async fn client_group_allowed_by_an_existing_rule_and_inbound_needed() {
    let (cloud, d, client) = with_client_group().await;
    let from_client = (client.as_str(), "endpoint.virginia-s3");
    // The group's own TCP 443 to the whole VPC CIDR also lets it out.
    cloud
        .oob_replace_egress(
            VIRGINIA,
            &client,
            &[LRule {
                protocol: "tcp".into(),
                from_port: Some(443),
                to_port: Some(443),
                peer: RulePeer::Cidr("10.20.0.0/16".parse().unwrap()),
            }],
        )
        .unwrap();
    let r = run_check(&cloud, &d).await;
    assert!(r.ok(), "{}", check::human(&r));
    // All traffic to 0.0.0.0/0 too.
    cloud
        .oob_replace_egress(
            VIRGINIA,
            &client,
            &[LRule {
                protocol: "-1".into(),
                from_port: None,
                to_port: None,
                peer: RulePeer::Cidr("0.0.0.0/0".parse().unwrap()),
            }],
        )
        .unwrap();
    assert!(run_check(&cloud, &d).await.ok());
    // The endpoint side: without `virginia` in `allow_https_from` nothing
    // admits the client group's subnets, and the check says so.
    let narrow = load(&lab().replace(
        "allow_https_from: [seoul, virginia]",
        &format!("allow_https_from: [seoul]\n      client_groups: [{client}]"),
    ));
    apply(&cloud, &narrow).await;
    let r = run_check(&cloud, &narrow).await;
    assert_blocked(
        &r,
        &[from_client],
        "security-group-ingress",
        "sg-",
        &format!("no inbound rule allows TCP 443 from security group {client}"),
    );
}

#[tokio::test]
async fn inbound_only_private_dns_needs_the_vpc_dns_attributes() {
    let cloud = MemoryCloud::new();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/private-dns-inbound-only.yaml"),
    )
    .unwrap();
    let d = load(&text);
    apply(&cloud, &d).await;
    cloud.reset_calls();
    let r = run_check(&cloud, &d).await;
    assert!(r.ok(), "{}", check::human(&r));
    assert_eq!(
        cloud.call_count("DescribeVpcAttribute"),
        2,
        "inbound-only is private DNS"
    );
    let l = live(&cloud, &d).await;
    let vpc = id_of(&l.vpcs, "vpc.hub", |v| &v.tags, |v| &v.id);
    cloud.oob_set_vpc_dns(VIRGINIA, &vpc, true, false).unwrap();
    let r = run_check(&cloud, &d).await;
    assert_blocked(
        &r,
        &[
            ("vpc.hub", "endpoint.s3-inbound"),
            ("192.168.0.0/16", "endpoint.s3-inbound"),
        ],
        "vpc-attribute",
        &vpc,
        "enableDnsHostnames is off",
    );
}
