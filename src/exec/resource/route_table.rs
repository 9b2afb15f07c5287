//! Route tables and their subnet associations: CreateRouteTable (with a
//! client token), AssociateRouteTable, DisassociateRouteTable,
//! DeleteRouteTable.

use crate::cloud::Filter;
use crate::diff::IdRef;
use crate::exec::create::{client_token, create_with_token, same_key};
use crate::exec::{Ctx, StepError};
use crate::model::{Address, Tags, TAG_PLAN};

/// DeleteRouteTable on a table that does not exist.
pub const GONE: &[&str] = &["InvalidRouteTableID.NotFound"];
/// DisassociateRouteTable of an association that does not exist.
pub const ASSOCIATION_GONE: &[&str] = &["InvalidAssociationID.NotFound"];

/// Creates the table with a client token of this run (a retry after a lost
/// answer gets the same table back: `create_with_token`). Its subnets are associated by the
/// next steps of the same change.
pub async fn create(
    cx: &Ctx<'_>,
    address: &Address,
    region: &str,
    vpc: &IdRef,
    tags: &Tags,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let (vpc, fresh) = cx.resolve(vpc)?;
    let fingerprint = serde_json::json!({ "vpc": vpc, "tags": tags });
    let token = client_token("route_table", tags, &fingerprint, &cx.run_id);
    let vpc = vpc.as_str();
    // A lost answer is sent again with this token; when every attempt was
    // lost, the table is looked for by its tags in its VPC.
    let find = || async move {
        let plan = Filter::Plan(tags.get(TAG_PLAN).cloned().unwrap_or_default());
        let found = c.describe_route_tables(region, &plan).await?;
        Ok(found
            .into_iter()
            .find(|t| same_key(&t.tags, tags) && t.vpc_id == vpc)
            .map(|t| t.id))
    };
    let token = token.as_str();
    let id = create_with_token(
        cx.policy(),
        address.as_str(),
        fresh,
        || c.create_route_table(region, vpc, tags, Some(token)),
        find,
    )
    .await?;
    cx.created(address, &id);
    Ok(id)
}

/// Associates a subnet with a table, either possibly created by this run.
pub async fn associate(
    cx: &Ctx<'_>,
    region: &str,
    table: &IdRef,
    subnet: &IdRef,
) -> Result<String, StepError> {
    let (rt, f1) = cx.resolve(table)?;
    let (sn, f2) = cx.resolve(subnet)?;
    associate_ids(cx, region, &rt, &sn, f1 || f2).await
}

/// AssociateRouteTable. An association whose answer was lost and that the
/// SDK sent again comes back `Resource.AlreadyAssociated`: when the subnet
/// is associated with this very table, that is success.
async fn associate_ids(
    cx: &Ctx<'_>,
    region: &str,
    rt: &str,
    subnet: &str,
    fresh: bool,
) -> Result<String, StepError> {
    let c = cx.cloud;
    match cx
        .policy()
        .fresh(fresh, || c.associate_route_table(region, rt, subnet))
        .await
    {
        Err(StepError::Cloud(e)) if e.code_starts_with("Resource.AlreadyAssociated") => {
            let tables = c
                .describe_route_tables(region, &Filter::Ids(vec![rt.to_string()]))
                .await?;
            let assoc = tables
                .iter()
                .flat_map(|t| &t.associations)
                .find(|a| a.subnet_id.as_deref() == Some(subnet));
            match assoc {
                Some(a) => Ok(a.id.clone()),
                None => Err(e.into()),
            }
        }
        r => r,
    }
}

pub async fn disassociate(cx: &Ctx<'_>, region: &str, association_id: &str) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy()
        .delete(ASSOCIATION_GONE, || {
            c.disassociate_route_table(region, association_id)
        })
        .await
}

/// Disassociates the table's subnets, then deletes it.
pub async fn delete(cx: &Ctx<'_>, region: &str, id: &str, associations: &[String]) -> Result<(), StepError> {
    let c = cx.cloud;
    for a in associations {
        disassociate(cx, region, a).await?;
    }
    cx.policy()
        .delete(GONE, || c.delete_route_table(region, id))
        .await
}
