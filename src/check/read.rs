//! What `check` reads: the plan's live state the way `plan` reads it, then,
//! per region and side by side, one Describe per kind for everything inside
//! the plan's VPCs (subnets, route tables, security groups, network ACLs),
//! whoever owns it. Besides those: DescribeVpcAttribute twice per VPC that
//! has an interface endpoint with private DNS (EC2 answers one attribute of
//! one VPC per call), and the S3 prefix list's entries once per region with
//! a gateway endpoint. Nothing depends on the number of paths. Read-only.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;

use crate::cloud::{Cloud, CloudError, Filter};
use crate::model::{
    Desired, EndpointKind, LNetworkAcl, LRouteTable, LSecurityGroup, LSubnet, LVpcDns, Live, Source,
};
use crate::state::{join_all, StateError};

/// Everything the reachability rules look at. The rules are a pure function
/// of this and the plan ([`super::rules::check`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The plan's own and adopted resources, as `plan` reads them.
    pub live: Live,
    /// Every subnet of the plan's VPCs.
    pub subnets: Vec<LSubnet>,
    /// Every route table of the plan's VPCs (main tables included).
    pub route_tables: Vec<LRouteTable>,
    /// Every security group of the plan's VPCs, with outbound rules.
    pub groups: Vec<LSecurityGroup>,
    /// Every network ACL of the plan's VPCs.
    pub nacls: Vec<LNetworkAcl>,
    /// DNS attributes of the VPCs with a private-DNS interface endpoint.
    pub dns: BTreeMap<String, LVpcDns>,
    /// Prefix list id → its CIDRs (the prefix list of each gateway service
    /// of each region with a gateway endpoint).
    pub prefix_list_cidrs: BTreeMap<String, Vec<Ipv4Net>>,
}

/// One region's share of the VPC-wide reads.
#[derive(Default)]
struct RegionRead {
    subnets: Vec<LSubnet>,
    route_tables: Vec<LRouteTable>,
    groups: Vec<LSecurityGroup>,
    nacls: Vec<LNetworkAcl>,
    dns: Vec<LVpcDns>,
    prefix_lists: Vec<(String, Vec<Ipv4Net>)>,
}

/// Reads the snapshot for `desired`.
pub async fn read(cloud: &dyn Cloud, desired: &Desired) -> Result<Snapshot, StateError> {
    let live = crate::state::read(cloud, desired).await?;
    let mut vpcs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in &live.vpcs {
        vpcs.entry(v.region.clone()).or_default().insert(v.id.clone());
    }
    // VPCs whose interface endpoints use private DNS: their attributes.
    let mut dns_vpcs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut gateway_regions: BTreeSet<String> = BTreeSet::new();
    for ep in desired.endpoints.values() {
        let Some(vpc) = desired.vpcs.get(&ep.vpc) else {
            continue;
        };
        match &ep.kind {
            EndpointKind::Interface { private_dns, .. } if private_dns.enabled() => {
                if let Some(id) = vpc_id(desired, &live, &ep.vpc) {
                    dns_vpcs.entry(vpc.region.clone()).or_default().insert(id);
                }
            }
            EndpointKind::Interface { .. } => {}
            EndpointKind::Gateway { .. } => {
                gateway_regions.insert(vpc.region.clone());
            }
        }
    }
    let regions: BTreeSet<String> = vpcs
        .keys()
        .cloned()
        .chain(gateway_regions.iter().cloned())
        .collect();
    let reads = regions
        .iter()
        .map(|region| {
            let ids: Vec<String> = vpcs.get(region).into_iter().flatten().cloned().collect();
            let dns: Vec<String> = dns_vpcs.get(region).into_iter().flatten().cloned().collect();
            let pls: Vec<String> = live
                .prefix_lists
                .iter()
                .filter(|((r, _), _)| r == region && gateway_regions.contains(region))
                .map(|(_, id)| id.clone())
                .collect();
            read_region(cloud, region, ids, dns, pls)
        })
        .collect();
    let mut snap = Snapshot {
        live,
        ..Snapshot::default()
    };
    for r in join_all(reads).await {
        let r = r?;
        snap.subnets.extend(r.subnets);
        snap.route_tables.extend(r.route_tables);
        snap.groups.extend(r.groups);
        snap.nacls.extend(r.nacls);
        snap.dns.extend(r.dns.into_iter().map(|d| (d.vpc_id.clone(), d)));
        snap.prefix_list_cidrs.extend(r.prefix_lists);
    }
    Ok(snap)
}

async fn read_region(
    cloud: &dyn Cloud,
    region: &str,
    vpc_ids: Vec<String>,
    dns_vpcs: Vec<String>,
    prefix_lists: Vec<String>,
) -> Result<RegionRead, CloudError> {
    let by_vpc = Filter::Vpcs(vpc_ids);
    let dns_reads = async {
        let reads = dns_vpcs
            .iter()
            .map(|id| cloud.describe_vpc_dns(region, id))
            .collect();
        join_all(reads).await.into_iter().collect::<Result<Vec<_>, _>>()
    };
    let pl_read = async {
        let reads =
            prefix_lists
                .iter()
                .map(|id| async move {
                    Ok::<_, CloudError>((id.clone(), cloud.prefix_list_cidrs(region, id).await?))
                })
                .collect();
        join_all(reads).await.into_iter().collect::<Result<Vec<_>, _>>()
    };
    let (subnets, route_tables, groups, nacls, dns, prefix_lists) = tokio::try_join!(
        cloud.describe_subnets(region, &by_vpc),
        cloud.describe_route_tables(region, &by_vpc),
        cloud.describe_security_groups(region, &by_vpc),
        cloud.describe_network_acls(region, &by_vpc),
        dns_reads,
        pl_read,
    )?;
    Ok(RegionRead {
        subnets,
        route_tables,
        groups,
        nacls,
        dns,
        prefix_lists,
    })
}

/// The live id of plan VPC `name`: adopted, or created and tagged with its
/// address.
pub(crate) fn vpc_id(desired: &Desired, live: &Live, name: &str) -> Option<String> {
    let vpc = desired.vpcs.get(name)?;
    match &vpc.source {
        Source::Adopt(id) => Some(id.clone()),
        Source::Create(_) => {
            let address = crate::model::Address::vpc(name);
            live.vpcs
                .iter()
                .find(|v| {
                    crate::model::owned_by(&v.tags, &desired.name)
                        && v.tags.get(crate::model::TAG_KEY).map(String::as_str) == Some(address.as_str())
                })
                .map(|v| v.id.clone())
        }
    }
}
