//! The warnings a preview shows: what a change or a plan does that people
//! should know before they say yes. Each has a stable code (used in JSON).

use serde::Serialize;
use serde_json::Value;

use std::collections::BTreeMap;

use crate::diff::{Action, Changes, IdRef, Mode, Op};
use crate::model::{owned_by, service_name, Address, Desired, EndpointKind, EndpointType, Live, PrivateDns};

/// One warning: a stable code, the address it concerns and the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub address: String,
    pub message: String,
}

/// Gateway route switch: S3 traffic moves onto the endpoint.
pub const GATEWAY_ROUTE_SWITCH: &str = "gateway-route-switch";
/// An endpoint without a policy allows everything.
pub const DEFAULT_POLICY: &str = "default-policy";
/// `aws:SourceIp` never matches through an endpoint.
pub const SOURCE_IP_CONDITION: &str = "source-ip-condition";
/// Interface endpoints are billed per AZ-hour.
pub const INTERFACE_COST: &str = "interface-endpoint-cost";
/// Clients need 443 out, and the endpoint-specific DNS name and region.
pub const CLIENT_SETTINGS: &str = "interface-client-settings";

/// Private DNS `true` next to an S3 gateway endpoint in the same VPC:
/// in-VPC S3 traffic moves from the free gateway to the paid interface.
pub const INTERFACE_TAKES_S3_TRAFFIC: &str = "interface-takes-s3-traffic";
/// Private DNS turned on or off, or switched between true and inbound-only.
pub const PRIVATE_DNS_SWITCH: &str = "private-dns-switch";

/// The private DNS warnings (`private-dns-switch`,
/// `interface-takes-s3-traffic`) for applying `changes` to reach `desired`
/// from `live`.
pub fn private_dns(desired: &Desired, live: &Live, changes: &Changes) -> Vec<Warning> {
    let mut out = Vec::new();
    for (name, ep) in &desired.endpoints {
        let EndpointKind::Interface { private_dns, .. } = &ep.kind else {
            continue;
        };
        let address = Address::endpoint(name);
        let Some(vpc) = desired.vpcs.get(&ep.vpc) else {
            continue;
        };
        if let Some(attr) = changes
            .changes
            .iter()
            .filter(|c| c.address == address && c.action == Action::Update)
            .flat_map(|c| c.attrs.iter())
            .find(|a| a.name == "private_dns")
        {
            let old = attr.old.as_deref().unwrap_or("false");
            let effect = match private_dns {
                PrivateDns::On => format!("S3's regional DNS names start resolving to the endpoint for every client of VPC {}", ep.vpc),
                PrivateDns::InboundOnly => format!("S3's regional DNS names resolve to the endpoint only for queries through a Route 53 inbound resolver; clients inside VPC {} go back to their other path (the gateway endpoint)", ep.vpc),
                PrivateDns::Off => format!("S3's regional DNS names stop resolving to the endpoint in VPC {}; clients go back to their other path (a gateway endpoint, NAT or internet gateway, or none)", ep.vpc),
            };
            out.push(Warning {
                code: PRIVATE_DNS_SWITCH,
                address: address.to_string(),
                message: format!(
                    "private_dns changes in place from {old} to {private_dns}: {effect}; open connections keep their old path until they reconnect"
                ),
            });
        }
        if *private_dns != PrivateDns::On
            || ep.service != service_name(&vpc.region, "s3", EndpointType::Interface)
        {
            continue;
        }
        let gateway = service_name(&vpc.region, "s3", EndpointType::Gateway);
        let planned = desired.endpoints.iter().find(|(_, g)| {
            g.vpc == ep.vpc && g.endpoint_type() == EndpointType::Gateway && g.service == gateway
        });
        let live_gateway = vpc
            .source
            .adopted_id()
            .and_then(|id| live.vpc_dns.get(id))
            .is_some_and(|d| d.gateway_services.contains(&gateway));
        let which = match planned {
            Some((g, _)) => format!("gateway endpoint {g} of this plan"),
            None if live_gateway => "an existing S3 gateway endpoint".to_string(),
            None => continue,
        };
        out.push(Warning {
            code: INTERFACE_TAKES_S3_TRAFFIC,
            address: address.to_string(),
            message: format!(
                "private_dns true: every client of VPC {} resolves S3's regional names to this interface endpoint, so in-VPC S3 traffic moves from {which} (free) to the interface endpoint (billed per GB); use private_dns inbound-only to keep in-VPC traffic on the gateway",
                ep.vpc
            ),
        });
    }
    out
}

/// A security group or route table near its default quota.
pub const QUOTA: &str = "quota";

/// EC2's default quota of inbound rules per security group (Amazon VPC
/// quotas, "Inbound or outbound rules per security group": 60, IPv4 and
/// IPv6 counted apart).
pub const SG_INBOUND_RULES: usize = 60;
/// EC2's default quota of routes per route table (Amazon VPC quotas,
/// "Routes per route table (non-propagated routes)": 50).
pub const ROUTES_PER_TABLE: usize = 50;

/// Every warning of a run: [`for_apply`]'s (on `apply`/`plan`), and those
/// that need live state: gateway endpoints deleted (on `destroy` too) and
/// quotas.
pub fn for_run(desired: &Desired, live: &Live, changes: &Changes, mode: Mode) -> Vec<Warning> {
    let mut out = match mode {
        Mode::Apply => for_apply(desired, changes),
        Mode::Destroy => Vec::new(),
    };
    out.extend(gateway_deletes(live, changes));
    if mode == Mode::Apply {
        out.extend(private_dns(desired, live, changes));
        out.extend(quotas(desired, live, changes));
    }
    out
}

/// `gateway-route-switch` for each gateway endpoint deleted (it left the
/// plan, a duplicate, or `destroy`): EC2 removes its prefix-list routes with
/// it, so S3 traffic of those tables' subnets goes back to the NAT or
/// internet gateway, or fails where there is none (VPC user guide, "Gateway
/// endpoints": routing; "Delete a gateway endpoint").
pub fn gateway_deletes(live: &Live, changes: &Changes) -> Vec<Warning> {
    let mut out = Vec::new();
    for c in changes.changes.iter().filter(|c| c.action == Action::Delete) {
        let Some(id) = c.id.as_deref() else { continue };
        let Some(e) = live
            .endpoints
            .iter()
            .find(|e| e.id == id && e.endpoint_type == EndpointType::Gateway && !e.is_gone())
        else {
            continue;
        };
        if e.route_table_ids.is_empty() {
            continue;
        }
        out.push(Warning {
            code: GATEWAY_ROUTE_SWITCH,
            address: c.address.to_string(),
            message: format!(
                "deleting gateway endpoint {id} removes its S3 route from route table(s) {} of VPC {}: S3 traffic from their subnets goes back to the NAT or internet gateway (or fails where there is none), open TCP connections to S3 are reset, and bucket policies that require aws:SourceVpce {id} stop matching",
                e.route_table_ids.join(", "),
                e.vpc_id
            ),
        });
    }
    out
}

/// A client group already allows outbound TCP 443 to the endpoint: s3ep
/// adds no rule (`security_group.client_groups`).
pub const CLIENT_EGRESS_EXISTS: &str = "client-egress-exists";

/// `quota`: a security group of the plan with more than
/// [`SG_INBOUND_RULES`] inbound rules, or a route table with more than
/// [`ROUTES_PER_TABLE`] routes, once the changes are applied. Live rules
/// and routes s3ep does not own count too (they stay). A raised quota makes
/// the warning harmless; otherwise EC2 refuses the call that goes over
/// (RulesPerSecurityGroupLimitExceeded, RouteLimitExceeded).
pub fn quotas(desired: &Desired, live: &Live, changes: &Changes) -> Vec<Warning> {
    let mut out = Vec::new();
    // Security groups s3ep makes for interface endpoints: the plan's 443
    // rules, plus live inbound rules that are not TCP 443 (s3ep leaves them).
    for (name, ep) in &desired.endpoints {
        let EndpointKind::Interface {
            security_group: Some(sg),
            ..
        } = &ep.kind
        else {
            continue;
        };
        let address = Address::security_group(name);
        let group = live.security_groups.iter().find(|g| {
            owned_by(&g.tags, &desired.name) && g.tags.get(crate::model::TAG_KEY) == Some(&address.0)
        });
        let others = group.map_or(0, |g| g.ingress.iter().filter(|r| !r.is_https()).count());
        let planned = sg.allow_https_from.len();
        let total = planned + others;
        if total > SG_INBOUND_RULES {
            out.push(Warning {
                code: QUOTA,
                address: address.to_string(),
                message: format!(
                    "security group {} will have {total} inbound rules ({planned} from allow_https_from, {others} other live rules): more than the default quota of {SG_INBOUND_RULES} per group; EC2 refuses the rules past it unless the quota was raised",
                    group.map_or("(new)", |g| g.id.as_str())
                ),
            });
        }
    }
    // Route tables: live routes, plus the routes the changes add, minus those
    // they remove.
    let mut delta: BTreeMap<&str, i64> = BTreeMap::new();
    for c in &changes.changes {
        for st in &c.steps {
            match &st.op {
                Op::CreateRoute {
                    route_table: IdRef::Id(t),
                    ..
                } => *delta.entry(t).or_default() += 1,
                Op::DeleteRoute { route_table, .. } => *delta.entry(route_table).or_default() -= 1,
                Op::CreateEndpoint { route_tables, .. } => {
                    for r in route_tables {
                        if let IdRef::Id(t) = r {
                            *delta.entry(t).or_default() += 1;
                        }
                    }
                }
                Op::ModifyEndpoint { edit, .. } => {
                    for r in &edit.route_tables {
                        if let IdRef::Id(t) = r {
                            *delta.entry(t).or_default() += 1;
                        }
                    }
                    for t in &edit.route_table_ids {
                        *delta.entry(t).or_default() -= 1;
                    }
                }
                Op::DeleteEndpoint { id, .. } => {
                    if let Some(e) = live.endpoints.iter().find(|e| &e.id == id) {
                        for t in &e.route_table_ids {
                            *delta.entry(t).or_default() -= 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for t in &live.route_tables {
        let now = t.routes.len() as i64;
        let after = now + delta.get(t.id.as_str()).copied().unwrap_or(0);
        if after > ROUTES_PER_TABLE as i64 && delta.get(t.id.as_str()).is_some_and(|d| *d > 0) {
            let adopted = desired.vpcs.iter().find_map(|(v, vpc)| {
                vpc.route_tables
                    .iter()
                    .find(|(_, rt)| rt.source.adopted_id() == Some(t.id.as_str()))
                    .map(|(n, _)| Address::route_table(v, n).to_string())
            });
            let address = adopted
                .or_else(|| t.tags.get(crate::model::TAG_KEY).cloned())
                .unwrap_or_else(|| t.id.clone());
            out.push(Warning {
                code: QUOTA,
                address,
                message: format!(
                    "route table {} will have {after} routes ({now} now, {} of them not s3ep's): more than the default quota of {ROUTES_PER_TABLE} per table; EC2 refuses the routes past it unless the quota was raised",
                    t.id,
                    t.routes
                        .iter()
                        .filter(|r| !r.gateway_id.as_deref().is_some_and(|g| g.starts_with("vpce-") && owned_endpoint(live, &desired.name, g)))
                        .count()
                ),
            });
        }
    }
    out
}

/// Whether endpoint `id` is one this plan owns.
fn owned_endpoint(live: &Live, plan: &str, id: &str) -> bool {
    live.endpoints
        .iter()
        .any(|e| e.id == id && owned_by(&e.tags, plan))
}

/// Warnings for applying `changes` to reach `desired`.
pub fn for_apply(desired: &Desired, changes: &Changes) -> Vec<Warning> {
    let mut out: Vec<Warning> = changes
        .notes
        .iter()
        .map(|n| Warning {
            code: CLIENT_EGRESS_EXISTS,
            address: n.address.clone(),
            message: n.message.clone(),
        })
        .collect();
    for (name, ep) in &desired.endpoints {
        let address = Address::endpoint(name);
        let change = changes.changes.iter().find(|c| c.address == address);
        match &ep.kind {
            EndpointKind::Gateway { route_tables } => {
                let bare = |v: &str| {
                    v.trim_start_matches(['+', '-'])
                        .trim_matches(['[', ']'])
                        .to_string()
                };
                let route_table_attrs = || {
                    change
                        .into_iter()
                        .flat_map(|c| c.attrs.iter())
                        .filter(|a| a.name == "route_tables")
                };
                let mut onto: Vec<String> = match change.map(|c| c.action) {
                    Some(Action::Create) | Some(Action::Replace) => {
                        route_tables.iter().map(|r| r.to_string()).collect()
                    }
                    _ => route_table_attrs()
                        .filter_map(|a| a.new.as_deref().map(bare))
                        .collect(),
                };
                let off: Vec<String> = match change.map(|c| c.action) {
                    Some(Action::Update) => route_table_attrs()
                        .filter_map(|a| a.old.as_deref().map(bare))
                        .collect(),
                    _ => Vec::new(),
                };
                // Prefix-list routes restored after being deleted out of band:
                // route.<vpc>.<table>.<pl-…> names the table.
                onto.extend(
                    changes
                        .changes
                        .iter()
                        .filter(|c| c.action == Action::Create && c.address.kind() == "route")
                        .filter(|c| {
                            c.address.as_str().starts_with(&format!("route.{}.", ep.vpc))
                                && c.attrs
                                    .iter()
                                    .any(|a| a.new.as_deref().is_some_and(|t| t.starts_with("vpce-")))
                        })
                        .filter_map(|c| c.address.as_str().split('.').nth(2).map(str::to_string)),
                );
                let mut said = Vec::new();
                if !onto.is_empty() {
                    said.push(format!(
                        "routing S3's prefix list to the gateway endpoint in route table(s) {} of VPC {} moves S3 traffic from their subnets onto the endpoint: open TCP connections to S3 are reset and not resumed, S3 then sees private source addresses (aws:SourceIp conditions stop matching), and clients must reconnect",
                        onto.join(", "),
                        ep.vpc
                    ));
                }
                if !off.is_empty() {
                    said.push(format!(
                        "removing the gateway endpoint's route from route table(s) {} of VPC {} moves S3 traffic from their subnets off the endpoint (to a NAT or internet gateway, or nowhere if there is none): open TCP connections to S3 are reset and not resumed, and clients must reconnect",
                        off.join(", "),
                        ep.vpc
                    ));
                }
                if !said.is_empty() {
                    out.push(Warning {
                        code: GATEWAY_ROUTE_SWITCH,
                        address: address.to_string(),
                        message: said.join("; "),
                    });
                }
            }
            EndpointKind::Interface { subnets, .. } => {
                if matches!(
                    change.map(|c| c.action),
                    Some(Action::Create) | Some(Action::Replace)
                ) {
                    out.push(Warning {
                        code: INTERFACE_COST,
                        address: address.to_string(),
                        message: format!(
                            "an interface endpoint is billed per AZ-hour (and per GB) in each of its {} subnet(s)",
                            subnets.len()
                        ),
                    });
                    // With `security_group.client_groups`, s3ep itself
                    // allows 443 out in those groups; only other clients'
                    // groups are left to the user.
                    let groups = ep.client_groups();
                    let egress = if groups.is_empty() {
                        "clients' own security groups must allow outbound TCP 443 to the endpoint".to_string()
                    } else {
                        format!(
                            "s3ep allows outbound TCP 443 to the endpoint in client group(s) {} (security_group.client_groups); other clients' own security groups must allow it too",
                            groups.join(", ")
                        )
                    };
                    out.push(Warning {
                        code: CLIENT_SETTINGS,
                        address: address.to_string(),
                        message: format!(
                            "{egress}, and clients must use https://bucket.vpce-….s3.<region>.vpce.amazonaws.com with --region (see `s3ep outputs`)"
                        ),
                    });
                }
            }
        }
        out.extend(policy_warnings(&address, ep.policy.as_ref()));
    }
    out
}

/// Warnings about one endpoint's policy.
pub fn policy_warnings(address: &Address, policy: Option<&Value>) -> Vec<Warning> {
    match policy {
        None => vec![Warning {
            code: DEFAULT_POLICY,
            address: address.to_string(),
            message: "no policy: AWS's default endpoint policy allows full access to every bucket of every account through this endpoint; set policy.allow_buckets to limit it".into(),
        }],
        Some(p) if mentions_source_ip(p) => vec![Warning {
            code: SOURCE_IP_CONDITION,
            address: address.to_string(),
            message: SOURCE_IP_MESSAGE.into(),
        }],
        Some(_) => Vec::new(),
    }
}

/// What the `source-ip-condition` warning says (also used by `policy lint`).
pub const SOURCE_IP_MESSAGE: &str = "the policy uses aws:SourceIp, which never matches traffic through a VPC endpoint; use aws:SourceVpce, aws:SourceVpc or aws:VpcSourceIp";

/// Whether a policy (or any part of one) has an `aws:SourceIp` key, in any
/// case, at any depth.
pub fn mentions_source_ip(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("aws:SourceIp") || mentions_source_ip(v)),
        Value::Array(a) => a.iter().any(mentions_source_ip),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn source_ip_found_at_any_depth_and_case() {
        let p = json!({"Statement":[{"Condition":{"IpAddress":{"AWS:SOURCEIP":"1.2.3.4/32"}}}]});
        assert!(mentions_source_ip(&p));
        let q = json!({"Statement":[{"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]});
        assert!(!mentions_source_ip(&q));
    }
}
