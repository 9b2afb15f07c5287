//! Subnets: CreateSubnet (no client token: create-or-find by tags inside
//! the VPC), DeleteSubnet.

use ipnet::{Ipv4Net, Ipv6Net};

use super::Status;
use crate::cloud::{CloudError, Filter};
use crate::diff::IdRef;
use crate::exec::create::{create_or_find, same_key};
use crate::exec::retry::poll;
use crate::exec::{Ctx, StepError};
use crate::model::{ipv6_subnet, Address, Tags};

/// DeleteSubnet on a subnet that does not exist.
pub const GONE: &[&str] = &["InvalidSubnetID.NotFound"];

/// Creates the subnet (or finds the one an earlier attempt made). With
/// `ipv6_index`, its /64 is computed from the VPC's /56 as EC2 reports it
/// now: the block exists only once the VPC does, and is `associating` for a
/// moment after CreateVpc (VpcCidrBlockState, EC2 API reference), so this
/// waits until DescribeVpcs shows it `associated`.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    cx: &Ctx<'_>,
    address: &Address,
    region: &str,
    vpc: &IdRef,
    az: &str,
    cidr: Ipv4Net,
    ipv6_index: Option<u8>,
    tags: &Tags,
    status: Status<'_>,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let (vpc, fresh) = cx.resolve(vpc)?;
    let ipv6 = match ipv6_index {
        None => None,
        Some(index) => Some(vpc_block(cx, region, &vpc, index, status).await?),
    };
    let find = || async {
        let subnets = c
            .describe_subnets(region, &Filter::Vpcs(vec![vpc.clone()]))
            .await?;
        Ok(subnets
            .into_iter()
            .find(|s| same_key(&s.tags, tags) && s.cidr == Some(cidr))
            .map(|s| s.id))
    };
    let vpc_id = vpc.as_str();
    let id = create_or_find(
        cx.policy(),
        address.as_str(),
        fresh,
        || async move {
            match ipv6 {
                Some(v6) => c.create_subnet_ipv6(region, vpc_id, az, cidr, v6, tags).await,
                None => c.create_subnet(region, vpc_id, az, cidr, tags).await,
            }
        },
        find,
    )
    .await?;
    cx.created(address, &id);
    Ok(id)
}

/// The /64 at `index` of VPC `vpc_id`'s IPv6 /56, once DescribeVpcs shows
/// the block.
async fn vpc_block(
    cx: &Ctx<'_>,
    region: &str,
    vpc_id: &str,
    index: u8,
    status: Status<'_>,
) -> Result<Ipv6Net, StepError> {
    let c = cx.cloud;
    let ids = Filter::Ids(vec![vpc_id.to_string()]);
    let block = poll(cx.policy(), vpc_id, "given its IPv6 block", status, || async {
        // Just created by this run: NotFound is eventual consistency.
        let found = match c.describe_vpcs(region, &ids).await {
            Ok(v) => v,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let block = found.iter().find(|v| v.id == vpc_id).and_then(|v| v.ipv6_cidr);
        let last = if found.is_empty() {
            "not listed yet"
        } else {
            "no IPv6 block"
        };
        Ok((block, last.to_string()))
    })
    .await?;
    ipv6_subnet(&block, index).ok_or_else(|| {
        StepError::from(CloudError::new(
            "DescribeVpcs",
            region,
            None,
            format!("VPC {vpc_id}'s IPv6 block {block} is not a /56: cannot place ipv6_index {index}"),
        ))
    })
}

/// Deletes the subnet. While an interface endpoint that used it is still
/// `deleting`, EC2 answers DependencyViolation: retried as a conflict.
pub async fn delete(cx: &Ctx<'_>, region: &str, id: &str) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy().delete(GONE, || c.delete_subnet(region, id)).await
}
