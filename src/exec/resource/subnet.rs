//! Subnets: CreateSubnet (no client token: create-or-find by tags inside
//! the VPC), DeleteSubnet.

use ipnet::Ipv4Net;

use crate::cloud::Filter;
use crate::diff::IdRef;
use crate::exec::create::{create_or_find, same_key};
use crate::exec::{Ctx, StepError};
use crate::model::{Address, Tags};

/// DeleteSubnet on a subnet that does not exist.
pub const GONE: &[&str] = &["InvalidSubnetID.NotFound"];

pub async fn create(
    cx: &Ctx<'_>,
    address: &Address,
    region: &str,
    vpc: &IdRef,
    az: &str,
    cidr: Ipv4Net,
    tags: &Tags,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let (vpc, fresh) = cx.resolve(vpc)?;
    let find = || async {
        let subnets = c
            .describe_subnets(region, &Filter::Vpcs(vec![vpc.clone()]))
            .await?;
        Ok(subnets
            .into_iter()
            .find(|s| same_key(&s.tags, tags) && s.cidr == Some(cidr))
            .map(|s| s.id))
    };
    let id = create_or_find(
        cx.policy(),
        address.as_str(),
        fresh,
        || c.create_subnet(region, &vpc, az, cidr, tags),
        find,
    )
    .await?;
    cx.created(address, &id);
    Ok(id)
}

/// Deletes the subnet. While an interface endpoint that used it is still
/// `deleting`, EC2 answers DependencyViolation: retried as a conflict.
pub async fn delete(cx: &Ctx<'_>, region: &str, id: &str) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy().delete(GONE, || c.delete_subnet(region, id)).await
}
