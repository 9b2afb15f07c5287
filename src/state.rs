//! Reads live state for a plan from EC2 through the `Cloud` trait.
//!
//! Regions are read side by side, and the kinds of a region too. Per region,
//! one Describe per resource kind finds everything the plan owns
//! (server-side `tag:s3ep:plan` filter), plus one more per kind only when the
//! plan adopts resources of that kind by id. The number of calls depends on
//! regions and kinds, never on the number of resources. Ownership is
//! re-checked on each result's own tags: a server-side filter may be ignored
//! (moto ignores peering filters) or wrong.
//!
//! A tag filter may also lag: EC2 is eventually consistent ("Eventual
//! consistency in the Amazon EC2 API", EC2 Developer Guide), so a peering or
//! endpoint created a moment ago can be missing from the `tag:s3ep:plan`
//! result. Peerings and gateway endpoints that the routes read point at, yet
//! no tag-filtered read listed, are described by id and kept when their own
//! tags say this plan owns them; only then can the diff call a route target
//! foreign. That read happens only when such ids exist.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use crate::cloud::{Cloud, CloudError, Filter};
use crate::model::{
    owned_by, Desired, EndpointKind, EndpointType, LEgressRule, LSecurityGroup, Live, Ref, Source,
};

/// A failure while reading live state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Something the plan adopts by id does not exist (or is elsewhere).
    #[error("{key}: {message}")]
    Adopted { key: String, message: String },
}

/// What the plan adopts by id, per region and kind.
#[derive(Default)]
struct AdoptedIds {
    vpcs: BTreeSet<String>,
    subnets: BTreeSet<String>,
    route_tables: BTreeSet<String>,
}

fn adopted_ids(desired: &Desired, region: &str) -> AdoptedIds {
    let mut ids = AdoptedIds::default();
    for vpc in desired.vpcs.values().filter(|v| v.region == region) {
        if let Source::Adopt(id) = &vpc.source {
            ids.vpcs.insert(id.clone());
        }
        for s in vpc.subnets.values() {
            if let Source::Adopt(id) = &s.source {
                ids.subnets.insert(id.clone());
            }
        }
        for t in vpc.route_tables.values() {
            if let Source::Adopt(id) = &t.source {
                ids.route_tables.insert(id.clone());
            }
        }
    }
    let region_of = |vpc: &str| desired.vpcs.get(vpc).map(|v| v.region.as_str());
    for ep in desired.endpoints.values() {
        if region_of(&ep.vpc) != Some(region) {
            continue;
        }
        match &ep.kind {
            EndpointKind::Gateway { route_tables } => {
                ids.route_tables.extend(ref_ids(route_tables));
            }
            EndpointKind::Interface { subnets, .. } => {
                ids.subnets.extend(ref_ids(subnets));
            }
        }
    }
    for p in desired.peerings.values() {
        for (vpc, tables) in &p.routes {
            if region_of(vpc) == Some(region) {
                ids.route_tables.extend(ref_ids(tables));
            }
        }
    }
    ids
}

fn ref_ids(refs: &[Ref]) -> impl Iterator<Item = String> + '_ {
    refs.iter().filter_map(|r| match r {
        Ref::Id(id) => Some(id.clone()),
        Ref::Name(_) => None,
    })
}

/// Describes by plan tag, then by id for adopted ids not already seen.
macro_rules! owned_and_adopted {
    ($cloud:expr, $method:ident, $region:expr, $plan:expr, $ids:expr, $what:expr, $lenient:expr) => {{
        let mut found: Vec<_> = $cloud
            .$method($region, &Filter::Plan($plan.to_string()))
            .await?
            .into_iter()
            .filter(|r| owned_by(&r.tags, $plan))
            .collect();
        let missing: Vec<String> = $ids
            .iter()
            .filter(|id| !found.iter().any(|r| &r.id == *id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let adopted = match $cloud.$method($region, &Filter::Ids(missing.clone())).await {
                // EC2 fails the whole call for one unknown id and may name
                // another: only on this error path, ask per id to know which.
                Err(e) if e.is_not_found() => {
                    let mut each = Vec::new();
                    for id in &missing {
                        match $cloud.$method($region, &Filter::Ids(vec![id.clone()])).await {
                            Ok(r) => each.extend(r),
                            Err(e) if e.is_not_found() => {
                                if $lenient {
                                    tracing::warn!("adopted {} {id} not found in {}: {e}", $what, $region);
                                } else {
                                    return Err(StateError::Adopted {
                                        key: id.clone(),
                                        message: format!("adopted {} {id} not found in {}", $what, $region),
                                    });
                                }
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                    each
                }
                r => r?,
            };
            for id in missing.iter().filter(|_| !$lenient) {
                if !adopted.iter().any(|r| &r.id == id) {
                    return Err(StateError::Adopted {
                        key: id.clone(),
                        message: format!("{} {id} not found in {}", $what, $region),
                    });
                }
            }
            found.extend(adopted);
        }
        found
    }};
}

/// Reads everything `desired` owns or adopts, in every region it touches.
/// An adopted id that does not exist is an error naming it.
pub async fn read(cloud: &dyn Cloud, desired: &Desired) -> Result<Live, StateError> {
    read_with(cloud, desired, false).await
}

/// Like `read`, but an adopted resource that no longer exists is only a
/// warning: `destroy` must still remove what the plan owns.
pub async fn read_lenient(cloud: &dyn Cloud, desired: &Desired) -> Result<Live, StateError> {
    read_with(cloud, desired, true).await
}

async fn read_with(cloud: &dyn Cloud, desired: &Desired, lenient: bool) -> Result<Live, StateError> {
    // Regions are read side by side, and within a region every kind.
    let regions = desired.regions();
    let reads = regions
        .iter()
        .map(|region| read_region(cloud, desired, region, lenient))
        .collect();
    let mut live = Live::default();
    // Client groups and outbound rules are read in the same round.
    let (parts, egress) = tokio::join!(join_all(reads), read_client_egress(cloud, desired, lenient));
    let (client_groups, egress_rules) = egress?;
    live.client_groups = client_groups;
    live.egress_rules = egress_rules;
    for part in parts {
        let part = part?;
        live.vpcs.extend(part.vpcs);
        live.subnets.extend(part.subnets);
        live.route_tables.extend(part.route_tables);
        live.security_groups.extend(part.security_groups);
        live.endpoints.extend(part.endpoints);
        live.peerings.extend(part.peerings);
        live.prefix_lists.extend(part.prefix_lists);
        live.service_zones.extend(part.service_zones);
        live.vpc_dns.extend(part.vpc_dns);
    }
    read_leftover_egress(cloud, desired, &mut live).await?;
    read_route_targets(cloud, desired.name.as_str(), &mut live).await?;
    dedupe_peerings(&mut live);
    read_peering_routes(cloud, &mut live).await?;
    Ok(live)
}

/// One region's share of [`read_with`].
async fn read_region(
    cloud: &dyn Cloud,
    desired: &Desired,
    region: &str,
    lenient: bool,
) -> Result<Live, StateError> {
    let plan = desired.name.as_str();
    let ids = adopted_ids(desired, region);
    let by_plan = Filter::Plan(plan.to_string());
    // The prefix list of each gateway service of the plan here (S3, S3
    // Express One Zone: each has its own) is read in the same round; only
    // for services of live gateways the plan dropped is it read after (one
    // more round, on destroys and removals only).
    let gateway_services: BTreeSet<String> = desired
        .endpoints
        .values()
        .filter(|e| {
            e.endpoint_type() == EndpointType::Gateway
                && desired.vpcs.get(&e.vpc).map(|v| v.region.as_str()) == Some(region)
        })
        .map(|e| e.service.clone())
        .collect();
    // Each interface service of the plan in this region: where it is
    // offered (one DescribeVpcEndpointServices per service, same round), so
    // that a subnet in an AZ without it is refused at `plan`, not halfway
    // through an apply.
    let services: BTreeSet<(String, Option<String>)> = desired
        .endpoints
        .values()
        .filter(|e| {
            e.endpoint_type() == EndpointType::Interface
                && desired.vpcs.get(&e.vpc).map(|v| v.region.as_str()) == Some(region)
        })
        .map(|e| (e.service.clone(), e.service_region.clone()))
        .collect();
    let zone_reads = async {
        let reads = services
            .iter()
            .map(|(svc, service_region)| async move {
                // The service's region: the plan's `service_region`, else
                // the region in its name.
                let remote = service_region
                    .as_deref()
                    .or_else(|| crate::model::service_region(svc))
                    .filter(|r| *r != region);
                let zones = cloud.endpoint_service_zones(region, svc, remote).await?;
                Ok::<_, StateError>(zones.map(|z| ((region.to_string(), svc.clone()), z)))
            })
            .collect();
        let mut out = BTreeMap::new();
        for r in join_all(reads).await {
            out.extend(r?);
        }
        Ok::<_, StateError>(out)
    };
    let (service_zones, vpcs, subnets, route_tables, security_groups, endpoints, peerings, prefix_lists) = tokio::try_join!(
        zone_reads,
        async {
            Ok::<_, StateError>(owned_and_adopted!(
                cloud,
                describe_vpcs,
                region,
                plan,
                ids.vpcs,
                "VPC",
                lenient
            ))
        },
        async {
            Ok(owned_and_adopted!(
                cloud,
                describe_subnets,
                region,
                plan,
                ids.subnets,
                "subnet",
                lenient
            ))
        },
        async {
            Ok(owned_and_adopted!(
                cloud,
                describe_route_tables,
                region,
                plan,
                ids.route_tables,
                "route table",
                lenient
            ))
        },
        async { Ok(cloud.describe_security_groups(region, &by_plan).await?) },
        async { Ok(cloud.describe_endpoints(region, &by_plan).await?) },
        async { Ok(cloud.describe_peerings(region, &by_plan).await?) },
        read_prefix_lists(cloud, region, gateway_services.iter()),
    )?;
    let mut live = Live {
        vpcs,
        subnets,
        route_tables,
        security_groups: security_groups
            .into_iter()
            .filter(|g| owned_by(&g.tags, plan))
            .collect(),
        endpoints: endpoints
            .into_iter()
            .filter(|e| owned_by(&e.tags, plan))
            .collect(),
        peerings: peerings.into_iter().filter(|p| owned_by(&p.tags, plan)).collect(),
        prefix_lists,
        service_zones,
        vpc_dns: BTreeMap::new(),
        ..Live::default()
    };
    live.vpc_dns = read_vpc_dns(cloud, desired, region, &live).await?;
    let dropped: BTreeSet<String> = live
        .endpoints
        .iter()
        .filter(|e| e.endpoint_type == EndpointType::Gateway && !gateway_services.contains(&e.service))
        .map(|e| e.service.clone())
        .collect();
    if !dropped.is_empty() {
        let more = read_prefix_lists(cloud, region, dropped.iter()).await?;
        live.prefix_lists.extend(more);
    }
    Ok(live)
}

/// The managed prefix list of each gateway service in `services` (one
/// filtered DescribeManagedPrefixLists each, concurrently), keyed by
/// (region, service); services without a list are left out.
async fn read_prefix_lists(
    cloud: &dyn Cloud,
    region: &str,
    services: impl Iterator<Item = &String>,
) -> Result<BTreeMap<(String, String), String>, StateError> {
    let reads: Vec<_> = services
        .map(|svc| async move {
            let pl = cloud.prefix_list(region, svc).await?;
            Ok::<_, StateError>(pl.map(|pl| ((region.to_string(), svc.clone()), pl)))
        })
        .collect();
    let mut out = BTreeMap::new();
    for r in join_all(reads).await {
        out.extend(r?);
    }
    Ok(out)
}

/// For each adopted VPC of `region` that has an interface endpoint of the
/// plan with private DNS on (true or inbound-only), and that exists: its
/// `enableDnsSupport` and `enableDnsHostnames` (private DNS needs both,
/// PrivateLink guide, "DNS attributes for your VPC") and the services of
/// the gateway endpoints in it, whoever made them (for the
/// `interface-takes-s3-traffic` warning). Nothing is read for created VPCs
/// (s3ep turns DNS hostnames on itself) or plans without private DNS.
async fn read_vpc_dns(
    cloud: &dyn Cloud,
    desired: &Desired,
    region: &str,
    live: &Live,
) -> Result<BTreeMap<String, crate::model::VpcDns>, StateError> {
    let ids: BTreeSet<&str> = desired
        .endpoints
        .values()
        .filter(|e| e.private_dns().enabled())
        .filter_map(|e| desired.vpcs.get(&e.vpc))
        .filter(|v| v.region == region)
        .filter_map(|v| v.source.adopted_id())
        .filter(|id| live.vpcs.iter().any(|l| l.id == *id))
        .collect();
    let reads = ids
        .into_iter()
        .map(|id| async move {
            let filter = Filter::Vpcs(vec![id.to_string()]);
            let (attrs, endpoints) = tokio::try_join!(
                cloud.describe_vpc_dns(region, id),
                cloud.describe_endpoints(region, &filter)
            )?;
            let gateway_services = endpoints
                .into_iter()
                .filter(|e| e.vpc_id == id && e.endpoint_type == EndpointType::Gateway && !e.is_gone())
                .map(|e| e.service)
                .collect();
            Ok::<_, StateError>((
                id.to_string(),
                crate::model::VpcDns {
                    dns_support: attrs.support,
                    dns_hostnames: attrs.hostnames,
                    gateway_services,
                },
            ))
        })
        .collect();
    let mut out = BTreeMap::new();
    for r in join_all(reads).await {
        let (id, dns) = r?;
        out.insert(id, dns);
    }
    Ok(out)
}

/// Runs `futs` side by side; the results keep their order.
pub(crate) async fn join_all<F: Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => out[i] = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// Ids per region, as a list for `Filter::Ids`.
type IdsByRegion = BTreeMap<String, BTreeSet<String>>;

/// Peerings and gateway endpoints that routes of the tables read point at,
/// missing from what the tag-filtered reads listed (EC2's tag filters lag
/// behind creates: "Eventual consistency in the Amazon EC2 API", EC2
/// Developer Guide). Each is described by id in its table's region (one call
/// per kind per region, none when nothing is missing) and added when its own
/// tags say `plan` owns it. A cross-region peering read from its accepter's
/// region may not carry the tags s3ep gave it in the requester's region: such
/// a record is read again, by id, in the requester's region.
async fn read_route_targets(cloud: &dyn Cloud, plan: &str, live: &mut Live) -> Result<(), StateError> {
    let known_pcx: BTreeSet<&str> = live.peerings.iter().map(|p| p.id.as_str()).collect();
    let known_vpce: BTreeSet<&str> = live.endpoints.iter().map(|e| e.id.as_str()).collect();
    let mut pcx = IdsByRegion::new();
    let mut vpce = IdsByRegion::new();
    for t in &live.route_tables {
        for r in &t.routes {
            if let Some(p) = r.peering_id.as_deref().filter(|p| !known_pcx.contains(p)) {
                pcx.entry(t.region.clone()).or_default().insert(p.to_string());
            }
            // A gateway endpoint is a route's GatewayId (`vpce-…`).
            if let Some(e) = r
                .gateway_id
                .as_deref()
                .filter(|g| g.starts_with("vpce-") && !known_vpce.contains(g))
            {
                vpce.entry(t.region.clone()).or_default().insert(e.to_string());
            }
        }
    }
    if pcx.is_empty() && vpce.is_empty() {
        return Ok(());
    }
    let (peerings, endpoints) = tokio::try_join!(
        describe_by_ids(pcx, |region, ids| async move {
            cloud.describe_peerings(&region, &Filter::Ids(ids)).await
        }),
        describe_by_ids(vpce, |region, ids| async move {
            cloud.describe_endpoints(&region, &Filter::Ids(ids)).await
        }),
    )?;
    let mut owned: Vec<crate::model::LPeering> = Vec::new();
    let mut again = IdsByRegion::new();
    for p in peerings {
        if owned_by(&p.tags, plan) {
            owned.push(p);
        } else if let Some(req) = p.requester_region.clone().filter(|r| *r != p.region) {
            again.entry(req).or_default().insert(p.id);
        }
    }
    again.retain(|_, ids| {
        ids.retain(|id| !owned.iter().any(|p| &p.id == id));
        !ids.is_empty()
    });
    if !again.is_empty() {
        let more = describe_by_ids(again, |region, ids| async move {
            cloud.describe_peerings(&region, &Filter::Ids(ids)).await
        })
        .await?;
        owned.extend(more.into_iter().filter(|p| owned_by(&p.tags, plan)));
    }
    for p in &owned {
        tracing::debug!("peering {} is owned but was not listed by its tag (yet)", p.id);
    }
    live.peerings.extend(owned);
    for e in endpoints.into_iter().filter(|e| owned_by(&e.tags, plan)) {
        if !live.endpoints.iter().any(|known| known.id == e.id) {
            tracing::debug!("endpoint {} is owned but was not listed by its tag (yet)", e.id);
            live.endpoints.push(e);
        }
    }
    Ok(())
}

/// Describes `ids` with one call per region, side by side. EC2 fails the
/// whole call when one id is unknown (a route can outlive its target, as a
/// blackhole): only then each id is asked alone, and unknown ones dropped.
async fn describe_by_ids<T, F, Fut>(ids: IdsByRegion, describe: F) -> Result<Vec<T>, StateError>
where
    F: Fn(String, Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, CloudError>>,
{
    let describe = &describe;
    let reads = ids
        .into_iter()
        .map(|(region, ids)| async move {
            let ids: Vec<String> = ids.into_iter().collect();
            match describe(region.clone(), ids.clone()).await {
                Err(e) if e.is_not_found() => {
                    let mut each = Vec::new();
                    for id in ids {
                        match describe(region.clone(), vec![id]).await {
                            Ok(found) => each.extend(found),
                            Err(e) if e.is_not_found() => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(each)
                }
                r => r,
            }
        })
        .collect();
    let mut out = Vec::new();
    for r in join_all(reads).await {
        out.extend(r?);
    }
    Ok(out)
}

/// Route tables the plan no longer names can still route through a peering
/// it owns; those routes are the plan's to remove. One call per region the
/// owned peerings touch, and only when there are owned peerings.
async fn read_peering_routes(cloud: &dyn Cloud, live: &mut Live) -> Result<(), StateError> {
    let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in live.peerings.iter().filter(|p| !p.is_gone()) {
        for r in [&p.requester_region, &p.accepter_region].into_iter().flatten() {
            by_region.entry(r.clone()).or_default().push(p.id.clone());
        }
    }
    let reads = by_region
        .into_iter()
        .map(|(region, ids)| async move {
            cloud
                .describe_route_tables(&region, &Filter::RoutesVia(ids))
                .await
        })
        .collect();
    for tables in join_all(reads).await {
        for t in tables? {
            if !live.route_tables.iter().any(|known| known.id == t.id) {
                live.route_tables.push(t);
            }
        }
    }
    Ok(())
}

/// A cross-region peering can be listed from both of its regions; keep one
/// record per id, preferring the one read in the requester's region (where
/// s3ep created and tagged it).
fn dedupe_peerings(live: &mut Live) {
    let mut by_id: BTreeMap<String, crate::model::LPeering> = BTreeMap::new();
    for p in live.peerings.drain(..) {
        let from_requester = p.requester_region.as_deref() == Some(p.region.as_str());
        match by_id.get(&p.id) {
            Some(existing)
                if existing.requester_region.as_deref() == Some(existing.region.as_str())
                    || !from_requester => {}
            _ => {
                by_id.insert(p.id.clone(), p);
            }
        }
    }
    live.peerings = by_id.into_values().collect();
}

/// Per region of the plan's interface endpoints with a security group of
/// their own: the client groups (`security_group.client_groups`) by id (one
/// DescribeSecurityGroups), their outbound rules and the outbound rules
/// tagged with this plan (one DescribeSecurityGroupRules each; that call is
/// the one that gives rule ids and tags). A client group that does not exist
/// is an error naming it (with `lenient`, for `destroy`, a warning).
async fn read_client_egress(
    cloud: &dyn Cloud,
    desired: &Desired,
    lenient: bool,
) -> Result<(Vec<LSecurityGroup>, Vec<LEgressRule>), StateError> {
    let mut by_region: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ep in desired.endpoints.values() {
        let EndpointKind::Interface {
            security_group: Some(sg),
            ..
        } = &ep.kind
        else {
            continue;
        };
        let Some(vpc) = desired.vpcs.get(&ep.vpc) else {
            continue;
        };
        by_region
            .entry(vpc.region.clone())
            .or_default()
            .extend(sg.client_groups.iter().cloned());
    }
    let plan = desired.name.as_str();
    let reads = by_region
        .into_iter()
        .map(|(region, ids)| async move {
            let ids: Vec<String> = ids.into_iter().collect();
            let one = IdsByRegion::from([(region.clone(), ids.iter().cloned().collect())]);
            let (groups, rules, owned) = tokio::try_join!(
                async {
                    match ids.is_empty() {
                        true => Ok(Vec::new()),
                        false => {
                            describe_by_ids(one, |region, ids| async move {
                                cloud.describe_security_groups(&region, &Filter::Ids(ids)).await
                            })
                            .await
                        }
                    }
                },
                async {
                    match ids.is_empty() {
                        true => Ok(Vec::new()),
                        false => Ok::<_, StateError>(
                            cloud
                                .describe_egress_rules(&region, &Filter::Ids(ids.clone()))
                                .await?,
                        ),
                    }
                },
                async {
                    Ok::<_, StateError>(
                        cloud
                            .describe_egress_rules(&region, &Filter::Plan(plan.to_string()))
                            .await?,
                    )
                },
            )?;
            for id in ids.iter().filter(|id| !groups.iter().any(|g| &g.id == *id)) {
                let message = format!("client security group {id} not found in {region}");
                if lenient {
                    tracing::warn!("{message}");
                } else {
                    return Err(StateError::Adopted {
                        key: id.clone(),
                        message,
                    });
                }
            }
            let mut all = rules;
            all.extend(owned.into_iter().filter(|r| owned_by(&r.tags, plan)));
            Ok((groups, all))
        })
        .collect();
    let mut groups = Vec::new();
    let mut rules: Vec<LEgressRule> = Vec::new();
    for r in join_all(reads).await {
        let (g, rs) = r?;
        groups.extend(g);
        for rule in rs {
            if !rules.iter().any(|known| known.id == rule.id) {
                rules.push(rule);
            }
        }
    }
    Ok((groups, rules))
}

/// Outbound rules s3ep added reference a group it owns: in a region where
/// the plan names no endpoint group any more but owned groups remain (an
/// endpoint left the plan), the plan-tagged outbound rules are read now,
/// so that they are revoked before their group is deleted. No call
/// otherwise.
async fn read_leftover_egress(
    cloud: &dyn Cloud,
    desired: &Desired,
    live: &mut Live,
) -> Result<(), StateError> {
    let planned: BTreeSet<String> = desired
        .endpoints
        .values()
        .filter(|e| {
            matches!(
                e.kind,
                EndpointKind::Interface {
                    security_group: Some(_),
                    ..
                }
            )
        })
        .filter_map(|e| desired.vpcs.get(&e.vpc).map(|v| v.region.clone()))
        .collect();
    let regions: BTreeSet<String> = live
        .security_groups
        .iter()
        .filter(|g| !planned.contains(&g.region))
        .map(|g| g.region.clone())
        .collect();
    let plan = desired.name.as_str();
    let reads = regions
        .iter()
        .map(|region| async move {
            cloud
                .describe_egress_rules(region, &Filter::Plan(plan.to_string()))
                .await
        })
        .collect();
    for r in join_all(reads).await {
        for rule in r?.into_iter().filter(|r| owned_by(&r.tags, plan)) {
            if !live.egress_rules.iter().any(|known| known.id == rule.id) {
                live.egress_rules.push(rule);
            }
        }
    }
    Ok(())
}
