//! Security groups and their HTTPS ingress rules: CreateSecurityGroup (no
//! client token: create-or-find by tags and name inside the VPC),
//! Authorize/RevokeSecurityGroupIngress, DeleteSecurityGroup.

use crate::cloud::Filter;
use crate::diff::IdRef;
use crate::exec::create::{create_or_find, same_key};
use crate::exec::{Ctx, StepError};
use crate::model::{Address, RulePeer, Tags};

/// DeleteSecurityGroup on a group that does not exist.
pub const GONE: &[&str] = &["InvalidGroup.NotFound"];
/// RevokeSecurityGroupIngress of a rule that does not exist, or in a group
/// that does not (a rule goes with its group).
pub const RULE_GONE: &[&str] = &["InvalidPermission.NotFound", "InvalidGroup.NotFound"];

pub async fn create(
    cx: &Ctx<'_>,
    address: &Address,
    region: &str,
    vpc: &IdRef,
    name: &str,
    description: &str,
    tags: &Tags,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let (vpc, fresh) = cx.resolve(vpc)?;
    let find = || async {
        let groups = c
            .describe_security_groups(region, &Filter::Vpcs(vec![vpc.clone()]))
            .await?;
        // The name is unique in a VPC: a group of that name without the
        // plan's tags is not ours to take.
        Ok(groups
            .into_iter()
            .find(|g| same_key(&g.tags, tags) && g.name == name)
            .map(|g| g.id))
    };
    let id = create_or_find(
        cx.policy(),
        address.as_str(),
        fresh,
        || c.create_security_group(region, &vpc, name, description, tags),
        find,
    )
    .await?;
    cx.created(address, &id);
    Ok(id)
}

/// Deletes the group. While an interface endpoint that used it is still
/// `deleting`, EC2 answers DependencyViolation: retried as a conflict.
pub async fn delete(cx: &Ctx<'_>, region: &str, id: &str) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy()
        .delete(GONE, || c.delete_security_group(region, id))
        .await
}

/// Inbound TCP 443 from `peer`; a rule already there
/// (`InvalidPermission.Duplicate`, a resent call whose answer was lost) is
/// success.
pub async fn authorize(
    cx: &Ctx<'_>,
    region: &str,
    group: &IdRef,
    peer: &RulePeer,
    tags: &Tags,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let (sg, fresh) = cx.resolve(group)?;
    match cx
        .policy()
        .fresh(fresh, || c.authorize_https_ingress(region, &sg, peer, tags))
        .await
    {
        Err(e) if e.is_duplicate() => Ok(format!("{sg}: already present")),
        r => r.map(|_| sg),
    }
}

/// RevokeSecurityGroupEgress of a rule id that does not exist, or in a
/// group that does not.
pub const EGRESS_RULE_GONE: &[&str] = &[
    "InvalidSecurityGroupRuleId.NotFound",
    "InvalidPermission.NotFound",
    "InvalidGroup.NotFound",
];

/// Outbound TCP 443 from client group `group` to the endpoint's group
/// `peer`, tagged; a rule already there (`InvalidPermission.Duplicate`, a
/// resent call whose answer was lost) is success.
pub async fn authorize_egress(
    cx: &Ctx<'_>,
    region: &str,
    group: &str,
    peer: &IdRef,
    tags: &Tags,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let (peer, fresh) = cx.resolve(peer)?;
    match cx
        .policy()
        .fresh(fresh, || c.authorize_https_egress(region, group, &peer, tags))
        .await
    {
        Err(e) if e.is_duplicate() => Ok(format!("{group}: already present")),
        r => r.map(|id| id.unwrap_or_else(|| group.to_string())),
    }
}

/// Revokes s3ep's outbound rule `rule_id` of `group`, nothing else.
pub async fn revoke_egress(cx: &Ctx<'_>, region: &str, group: &str, rule_id: &str) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy()
        .delete(EGRESS_RULE_GONE, || c.revoke_https_egress(region, group, rule_id))
        .await
}

pub async fn revoke(cx: &Ctx<'_>, region: &str, group: &str, peer: &RulePeer) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy()
        .delete(RULE_GONE, || c.revoke_https_ingress(region, group, peer))
        .await
}
