//! VPC endpoints: CreateVpcEndpoint (with a client token) and the wait for
//! `available`, ModifyVpcEndpoint (one at a time per endpoint), and
//! DeleteVpcEndpoints with the wait for `deleted`.
//!
//! Status rules follow terraform-provider-aws (`vpc_endpoint.go`,
//! `wait.go`): `available` ends a create wait, `failed`/`rejected`/
//! `deleted`/`expired` fail it with the endpoint's LastError; NotFound right
//! after this run's create is eventual consistency; `deleted` or no longer
//! listed ends a delete wait.

use super::Status;
use crate::cloud::{EndpointCreate, EndpointModify, Filter};
use crate::diff::ops::EndpointEdit;
use crate::diff::IdRef;
use crate::exec::create::{client_token, create_with_token, same_key};
use crate::exec::retry::{poll, WaitError};
use crate::exec::{Ctx, StepError};
use crate::model::{Address, EndpointType, RouteDest, TAG_PLAN};

/// An endpoint that does not exist. DeleteVpcEndpoints reports it as an
/// `Unsuccessful` item coded `InvalidVpcEndpoint.NotFound` (HTTP 200);
/// DescribeVpcEndpoints by an unknown id answers
/// `InvalidVpcEndpointId.NotFound` (EC2 API reference, DeleteVpcEndpoints
/// and "Error codes"; terraform-provider-aws handles both).
pub const GONE: &[&str] = &["InvalidVpcEndpoint.NotFound", "InvalidVpcEndpointId.NotFound"];

/// What CreateEndpoint needs, ids still unresolved.
pub struct Spec<'a> {
    pub vpc: &'a IdRef,
    pub service: &'a str,
    pub endpoint_type: EndpointType,
    pub route_tables: &'a [IdRef],
    pub subnets: &'a [IdRef],
    pub security_groups: &'a [IdRef],
    pub private_dns: Option<crate::model::PrivateDns>,
    pub policy: &'a Option<serde_json::Value>,
    pub ip_address_type: crate::model::IpAddressType,
    pub dns_record_ip_type: Option<crate::model::DnsRecordIpType>,
    pub tags: &'a crate::model::Tags,
    pub service_region: &'a Option<String>,
}

/// CreateVpcEndpoint with a client token of this run, then a wait until it
/// is available. Throttling, 5xx and lost answers are sent again with the
/// same token (`create_with_token`: EC2 answers with the endpoint the first
/// attempt made). A token answered with a deleted endpoint (possible only if
/// this run already used it) gets one more, distinct token.
pub async fn create(
    cx: &Ctx<'_>,
    address: &Address,
    region: &str,
    s: Spec<'_>,
    status: Status<'_>,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let p = cx.policy();
    let (vpc_id, f0) = cx.resolve(s.vpc)?;
    let (route_table_ids, f1) = cx.resolve_all(s.route_tables)?;
    let (subnet_ids, f2) = cx.resolve_all(s.subnets)?;
    let (security_group_ids, f3) = cx.resolve_all(s.security_groups)?;
    let fresh = f0 || f1 || f2 || f3;
    let mut spec = EndpointCreate {
        vpc_id,
        service: s.service.to_string(),
        endpoint_type: s.endpoint_type,
        route_table_ids,
        subnet_ids,
        security_group_ids,
        private_dns: match s.endpoint_type {
            EndpointType::Interface => s.private_dns,
            EndpointType::Gateway => None,
        },
        policy: s.policy.clone(),
        // Always sent, so that EC2's default never decides.
        ip_address_type: Some(s.ip_address_type),
        dns_record_ip_type: match s.endpoint_type {
            EndpointType::Interface => s.dns_record_ip_type,
            EndpointType::Gateway => None,
        },
        tags: s.tags.clone(),
        client_token: None,
        service_region: match s.endpoint_type {
            EndpointType::Interface => s.service_region.clone(),
            EndpointType::Gateway => None,
        },
    };
    let mut fingerprint = serde_json::json!({
        "vpc": spec.vpc_id,
        "service": spec.service,
        "type": format!("{:?}", spec.endpoint_type),
        "route_tables": spec.route_table_ids,
        "subnets": spec.subnet_ids,
        "security_groups": spec.security_group_ids,
        "private_dns": spec.private_dns,
        "ip_address_type": spec.ip_address_type.map(|t| t.as_str()),
        "dns_record_ip_type": spec.dns_record_ip_type.map(|t| t.as_str()),
        "policy": spec.policy,
        "tags": spec.tags,
    });
    if let Some(r) = &spec.service_region {
        fingerprint["service_region"] = serde_json::json!(r);
    }
    let mut last = None;
    for run in [cx.run_id.clone(), format!("{}/again", cx.run_id)] {
        spec.client_token = Some(client_token("endpoint", &spec.tags, &fingerprint, &run));
        let spec = &spec;
        // A lost answer is sent again with this token; when every attempt
        // was lost, the endpoint is looked for by its tags in its VPC.
        let find = || async move {
            let plan = Filter::Plan(spec.tags.get(TAG_PLAN).cloned().unwrap_or_default());
            let found = c.describe_endpoints(region, &plan).await?;
            Ok(found
                .into_iter()
                .find(|e| same_key(&e.tags, &spec.tags) && e.vpc_id == spec.vpc_id && !e.is_gone()))
        };
        let ep = create_with_token(
            p,
            address.as_str(),
            fresh,
            || c.create_endpoint(region, spec),
            find,
        )
        .await?;
        if ep.is_gone() {
            tracing::info!(
                "{address}: the client token answered with {}, which is {}",
                ep.id,
                ep.state
            );
            last = Some((ep.id, ep.state));
            continue;
        }
        cx.created(address, &ep.id);
        status("waiting for available");
        wait_available(cx, region, &ep.id, status).await?;
        return Ok(ep.id);
    }
    let (id, state) = last.unwrap_or_default();
    Err(crate::cloud::CloudError::new(
        "CreateVpcEndpoint",
        region,
        None,
        format!("EC2 answered both client tokens of this run with {id}, which is {state}"),
    )
    .into())
}

/// ModifyVpcEndpoint, then a wait until the endpoint is available again.
/// `prefix_list` is used only with the moto switch on (`crate::emulator`):
/// moto changes the endpoint's route-table list but not the routes, which
/// s3ep then fixes; EC2 moves them itself.
pub async fn modify(
    cx: &Ctx<'_>,
    region: &str,
    id: &str,
    edit: &EndpointEdit,
    prefix_list: Option<&str>,
    status: Status<'_>,
) -> Result<String, StepError> {
    let (m, fresh) = resolve_edit(cx, edit)?;
    if m.is_empty() {
        return Ok(id.to_string());
    }
    cx.modify_endpoint(region, id, &m, fresh).await?;
    status("waiting for available");
    wait_available(cx, region, id, status).await?;
    if let (true, Some(pl)) = (cx.opts.emulator.is_moto(), prefix_list) {
        status("checking the prefix-list routes (emulator)");
        moto_routes_follow(cx, region, id, pl, &m).await?;
    }
    Ok(id.to_string())
}

/// DeleteVpcEndpoints, then a wait until it is deleted (an interface
/// endpoint is `deleting` for a while, and its subnets and groups cannot be
/// deleted before).
pub async fn delete(cx: &Ctx<'_>, region: &str, id: &str, status: Status<'_>) -> Result<(), StepError> {
    let c = cx.cloud;
    let p = cx.policy();
    match p.delete(GONE, || c.delete_endpoint(region, id)).await {
        // moto removes a gateway endpoint's prefix-list routes by
        // destination and fails when one is already gone; with the switch
        // on, detach the route tables, then delete. EC2 has no such failure.
        Err(StepError::Cloud(e))
            if cx.opts.emulator.is_moto() && e.code_starts_with("InvalidRoute.NotFound") =>
        {
            status("detaching its route tables first (emulator)");
            let found = c
                .describe_endpoints(region, &Filter::Ids(vec![id.to_string()]))
                .await?;
            let tables = found
                .into_iter()
                .find(|x| x.id == id)
                .map(|x| x.route_table_ids)
                .unwrap_or_default();
            if tables.is_empty() {
                return Err(e.into());
            }
            let detach = EndpointModify {
                remove_route_table_ids: tables,
                ..Default::default()
            };
            cx.modify_endpoint(region, id, &detach, false).await?;
            p.delete(GONE, || c.delete_endpoint(region, id)).await?;
        }
        r => r?,
    }
    status("waiting for deleted");
    wait_deleted(cx, region, id, status).await?;
    Ok(())
}

/// Resolves an edit's references into ModifyVpcEndpoint lists; the flag
/// says whether any reference was created by this run.
fn resolve_edit(cx: &Ctx<'_>, e: &EndpointEdit) -> Result<(EndpointModify, bool), StepError> {
    let (add_rt, f1) = cx.resolve_all(&e.route_tables)?;
    let (add_sn, f2) = cx.resolve_all(&e.subnets)?;
    let (add_sg, f3) = cx.resolve_all(&e.security_groups)?;
    Ok((
        EndpointModify {
            add_route_table_ids: add_rt,
            remove_route_table_ids: e.route_table_ids.clone(),
            add_subnet_ids: add_sn,
            remove_subnet_ids: e.subnet_ids.clone(),
            add_security_group_ids: add_sg,
            remove_security_group_ids: e.security_group_ids.clone(),
            policy: e.policy.clone(),
            private_dns: e.private_dns,
            ip_address_type: e.ip_address_type,
            dns_record_ip_type: e.dns_record_ip_type,
        },
        f1 || f2 || f3,
    ))
}

/// Waits until endpoint `id` is `available`. `failed`, `rejected`,
/// `deleted` and `expired` end the wait with the endpoint's LastError.
/// NotFound is eventual consistency (the endpoint was just created or
/// modified by this run).
pub async fn wait_available(
    cx: &Ctx<'_>,
    region: &str,
    id: &str,
    status: Status<'_>,
) -> Result<(), WaitError> {
    let c = cx.cloud;
    poll(cx.policy(), id, "available", status, || async {
        match c
            .describe_endpoints(region, &Filter::Ids(vec![id.to_string()]))
            .await
        {
            Ok(list) => match list.into_iter().find(|e| e.id == id) {
                Some(e) if e.state == "available" => Ok((Some(()), e.state)),
                Some(e) if matches!(e.state.as_str(), "failed" | "rejected" | "deleted" | "expired") => {
                    Err(WaitError::Failed {
                        resource: id.to_string(),
                        state: e.state,
                        detail: e.last_error,
                    })
                }
                Some(e) => Ok((None, e.state)),
                None => Ok((None, "not visible yet".into())),
            },
            Err(e) if e.is_code(GONE) => Ok((None, "not visible yet".into())),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// Waits until endpoint `id` is `deleted` (or no longer listed).
pub async fn wait_deleted(cx: &Ctx<'_>, region: &str, id: &str, status: Status<'_>) -> Result<(), WaitError> {
    let c = cx.cloud;
    poll(cx.policy(), id, "deleted", status, || async {
        match c
            .describe_endpoints(region, &Filter::Ids(vec![id.to_string()]))
            .await
        {
            Ok(list) => match list.into_iter().find(|e| e.id == id) {
                None => Ok((Some(()), "deleted".into())),
                Some(e) if e.state == "deleted" => Ok((Some(()), e.state)),
                // A failed endpoint being replaced can still read `failed`
                // just after the delete: keep waiting (bounded by the timeout).
                Some(e) => Ok((None, e.state)),
            },
            Err(e) if e.is_code(GONE) => Ok((Some(()), "deleted".into())),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// moto only (`crate::emulator`): after route tables were added to or
/// removed from a gateway endpoint, makes each added table route the
/// prefix list to the endpoint and no removed one still do.
async fn moto_routes_follow(
    cx: &Ctx<'_>,
    region: &str,
    endpoint: &str,
    pl: &str,
    m: &EndpointModify,
) -> Result<(), StepError> {
    let (c, p) = (cx.cloud, cx.policy());
    let ids: Vec<String> = m
        .add_route_table_ids
        .iter()
        .chain(&m.remove_route_table_ids)
        .cloned()
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let dest = RouteDest::PrefixList(pl.to_string());
    let filter = Filter::Ids(ids);
    let tables = p.fresh(true, || c.describe_route_tables(region, &filter)).await?;
    for t in &tables {
        let route = t.routes.iter().find(|r| r.dest == dest);
        let ours = route.is_some_and(|r| r.gateway_id.as_deref() == Some(endpoint));
        if m.add_route_table_ids.contains(&t.id) && route.is_none() {
            match c.create_endpoint_route(region, &t.id, &dest, endpoint).await {
                Err(e) if !e.is_duplicate() => return Err(e.into()),
                _ => {}
            }
        } else if m.remove_route_table_ids.contains(&t.id) && ours {
            super::route::delete(cx, region, &t.id, &dest).await?;
        }
    }
    Ok(())
}
