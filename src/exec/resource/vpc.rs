//! VPCs: CreateVpc (no client token: create-or-find by tags), DNS
//! hostnames, DeleteVpc.

use ipnet::Ipv4Net;

use super::Status;
use crate::cloud::Filter;
use crate::diff::IdRef;
use crate::exec::create::{create_or_find, same_key};
use crate::exec::{Ctx, StepError};
use crate::model::{Address, Tags, TAG_DNS, TAG_PLAN};

/// DeleteVpc/DescribeVpcs on a VPC that does not exist.
pub const GONE: &[&str] = &["InvalidVpcID.NotFound"];

/// Creates the VPC (or finds the one an earlier attempt made). DNS
/// hostnames are the next step of the same change ([`enable_dns_hostnames`]).
pub async fn create(
    cx: &Ctx<'_>,
    address: &Address,
    region: &str,
    cidr: Ipv4Net,
    ipv6: bool,
    tags: &Tags,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let find = || async {
        let plan = Filter::Plan(tags.get(TAG_PLAN).cloned().unwrap_or_default());
        let vpcs = c.describe_vpcs(region, &plan).await?;
        Ok(vpcs
            .into_iter()
            .find(|v| same_key(&v.tags, tags) && v.cidr == Some(cidr) && v.state != "deleted")
            .map(|v| v.id))
    };
    let id = create_or_find(
        cx.policy(),
        address.as_str(),
        false,
        || async move {
            if ipv6 {
                c.create_vpc_ipv6(region, cidr, tags).await
            } else {
                c.create_vpc(region, cidr, tags).await
            }
        },
        find,
    )
    .await?;
    cx.created(address, &id);
    Ok(id)
}

/// Turns DNS hostnames on, then records that in the `s3ep:dns-hostnames`
/// tag, so a run killed in between is repaired by the next apply.
pub async fn enable_dns_hostnames(
    cx: &Ctx<'_>,
    region: &str,
    vpc: &IdRef,
    status: Status<'_>,
) -> Result<String, StepError> {
    let (c, p) = (cx.cloud, cx.policy());
    let (vpc, fresh) = cx.resolve(vpc)?;
    let id = vpc.as_str();
    status("enabling DNS hostnames");
    p.fresh(fresh, || c.enable_dns_hostnames(region, id)).await?;
    let tag: Tags = [(TAG_DNS.to_string(), "enabled".to_string())].into();
    p.fresh(fresh, || c.set_tags(region, id, &tag)).await?;
    Ok(vpc.clone())
}

pub async fn delete(cx: &Ctx<'_>, region: &str, id: &str) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy().delete(GONE, || c.delete_vpc(region, id)).await
}
