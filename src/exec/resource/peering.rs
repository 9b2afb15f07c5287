//! VPC peering: CreateVpcPeeringConnection (no client token: create-or-find
//! by tags), acceptance in the accepter's region, the waits, and
//! DeleteVpcPeeringConnection.
//!
//! A cross-region request starts `initiating-request` and reaches the
//! accepter's region a moment later; it is accepted there once
//! `pending-acceptance`, then waited for until `active` (EC2 API reference,
//! VpcPeeringConnectionStateReason; Amazon VPC Peering Guide).

use super::Status;
use crate::cloud::Filter;
use crate::diff::IdRef;
use crate::exec::create::{create_or_find, same_key};
use crate::exec::retry::{poll, WaitError};
use crate::exec::{Ctx, StepError};
use crate::model::{Address, Tags, TAG_PLAN};

/// A peering that does not exist (moto spells it `…Id.NotFound`: codes
/// are compared ignoring case).
pub const GONE: &[&str] = &["InvalidVpcPeeringConnectionID.NotFound"];

/// How far along a peering must be for a wait to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Ready to be accepted (`pending-acceptance`) or already past it.
    Acceptable,
    /// `active`.
    Active,
}

/// Requests the peering from the requester's region (or finds the one an
/// earlier attempt made), then accepts it and waits until active.
#[allow(clippy::too_many_arguments)] // the peering's two ends and both regions, as its Op carries them
pub async fn create(
    cx: &Ctx<'_>,
    address: &Address,
    region: &str,
    requester: &IdRef,
    accepter: &IdRef,
    accepter_region: &str,
    tags: &Tags,
    status: Status<'_>,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let (req, f1) = cx.resolve(requester)?;
    let (acc, f2) = cx.resolve(accepter)?;
    let find = || async {
        let plan = Filter::Plan(tags.get(TAG_PLAN).cloned().unwrap_or_default());
        let all = c.describe_peerings(region, &plan).await?;
        Ok(all
            .into_iter()
            .find(|x| {
                same_key(&x.tags, tags)
                    && !x.is_gone()
                    && x.requester_vpc_id.as_deref() == Some(req.as_str())
                    && x.accepter_vpc_id.as_deref() == Some(acc.as_str())
            })
            .map(|x| x.id))
    };
    let id = create_or_find(
        cx.policy(),
        address.as_str(),
        f1 || f2,
        || c.create_peering(region, &req, &acc, accepter_region, tags),
        find,
    )
    .await?;
    cx.created(address, &id);
    accept_and_wait(cx, region, accepter_region, &id, status).await?;
    Ok(id)
}

/// Waits until the accepter's region sees the request, accepts it if it is
/// still pending, then waits until the requester's region sees it active.
pub async fn accept_and_wait(
    cx: &Ctx<'_>,
    region: &str,
    accepter_region: &str,
    id: &str,
    status: Status<'_>,
) -> Result<(), StepError> {
    let (c, p) = (cx.cloud, cx.policy());
    status("waiting for the request to reach the accepter");
    let seen = wait(cx, accepter_region, id, Stage::Acceptable, status).await?;
    if seen == "pending-acceptance" {
        status("accepting");
        if let Err(e) = p.fresh(true, || c.accept_peering(accepter_region, id)).await {
            // An accept whose answer was lost and that was sent again finds
            // the peering already past pending-acceptance: that is success.
            let list = c
                .describe_peerings(accepter_region, &Filter::Ids(vec![id.to_string()]))
                .await?;
            let accepted = list
                .iter()
                .any(|x| x.id == id && matches!(x.status.as_str(), "active" | "provisioning"));
            if !accepted {
                return Err(e);
            }
        }
    }
    status("waiting for active");
    wait(cx, region, id, Stage::Active, status).await?;
    Ok(())
}

pub async fn delete(cx: &Ctx<'_>, region: &str, id: &str) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy().delete(GONE, || c.delete_peering(region, id)).await
}

/// Waits until peering `id`, read from `region`, reaches `stage`; returns
/// the status it saw. `failed`, `rejected`, `expired` and `deleted` end the
/// wait with an error naming the peering.
pub async fn wait(
    cx: &Ctx<'_>,
    region: &str,
    id: &str,
    stage: Stage,
    status: Status<'_>,
) -> Result<String, WaitError> {
    let c = cx.cloud;
    let want = match stage {
        Stage::Acceptable => "pending-acceptance",
        Stage::Active => "active",
    };
    poll(cx.policy(), id, want, status, || async {
        match c
            .describe_peerings(region, &Filter::Ids(vec![id.to_string()]))
            .await
        {
            Ok(list) => match list.into_iter().find(|x| x.id == id) {
                Some(x) if matches!(x.status.as_str(), "failed" | "rejected" | "expired" | "deleted") => {
                    Err(WaitError::Failed {
                        resource: id.to_string(),
                        state: x.status,
                        detail: Some("check that the VPC CIDRs do not overlap".into()),
                    })
                }
                Some(x) if x.status == "active" => Ok((Some(x.status.clone()), x.status)),
                Some(x)
                    if stage == Stage::Acceptable
                        && matches!(x.status.as_str(), "pending-acceptance" | "provisioning") =>
                {
                    Ok((Some(x.status.clone()), x.status))
                }
                Some(x) => Ok((None, x.status)),
                None => Ok((None, "not visible yet".into())),
            },
            Err(e) if e.is_code(GONE) => Ok((None, "not visible yet".into())),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
