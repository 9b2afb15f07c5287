//! `s3ep outputs`: endpoint ids, states, DNS names and ready-to-paste client
//! settings, as text or JSON.

use serde::Serialize;
use serde_json::Value;

use crate::model::{
    owned_by, Address, Desired, EndpointKind, EndpointType, LEndpoint, Live, PrivateDns, TAG_KEY,
};

/// What `outputs` reports for one endpoint of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointOutput {
    pub name: String,
    pub address: String,
    /// `None` when the endpoint does not exist (not applied yet).
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub endpoint_type: String,
    pub region: String,
    pub vpc_id: Option<String>,
    pub state: String,
    pub service: String,
    pub dns_names: Vec<String>,
    /// Interface endpoints: `https://bucket.vpce-….s3.<region>.vpce.amazonaws.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_url: Option<String>,
    /// Interface endpoints: a ready `aws s3 ls` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cli: Option<String>,
    /// Gateway endpoints: route table ids that route S3 to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route_table_ids: Vec<String>,
    /// Gateway endpoints: the S3 prefix list the routes point at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<String>,
    /// Gateway endpoints: that prefix list's CIDRs (for NACLs and firewalls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_list_cidrs: Option<Vec<String>>,
    /// Interface endpoints: the private DNS mode, as the plan writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_dns: Option<String>,
    /// Interface endpoints with private DNS on: what that means for clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_dns_note: Option<String>,
}

/// The plan's `private_dns` value for an interface endpoint, as `outputs`
/// prints it: `false`, `true` or `inbound-only` ([`PrivateDns::as_plan`]),
/// as text in the JSON too.
pub fn private_dns_mode(kind: &EndpointKind) -> Option<String> {
    match kind {
        EndpointKind::Interface { private_dns, .. } => Some(private_dns.as_plan().to_string()),
        EndpointKind::Gateway { .. } => None,
    }
}

/// What private DNS `mode` means for clients, or `None` when it is off.
/// `true`: the plain regional S3 names resolve to the endpoint in the VPC.
/// `inbound-only`: only queries that come in through a Route 53 inbound
/// resolver endpoint get the endpoint's addresses; the VPC's own clients
/// keep resolving to S3's public addresses and so go through the gateway
/// endpoint (EC2 API reference, DnsOptionsSpecification,
/// PrivateDnsOnlyForInboundResolverEndpoint: "It routes traffic that
/// originates from the VPC to the gateway endpoint and traffic that
/// originates from on-premises to the interface endpoint").
pub fn private_dns_note(mode: PrivateDns, region: &str) -> Option<String> {
    match mode {
        PrivateDns::Off => None,
        PrivateDns::On => Some(format!(
            "private DNS is on: in this VPC the plain regional name s3.{region}.amazonaws.com (and bucket.s3.{region}.amazonaws.com) resolves to the endpoint's private addresses, so clients need no --endpoint-url"
        )),
        PrivateDns::InboundOnly => Some(format!(
            "private DNS is inbound-only: s3.{region}.amazonaws.com (and bucket.s3.{region}.amazonaws.com) resolves to the endpoint's private addresses only for queries through a Route 53 inbound resolver endpoint (on-premises clients); clients in this VPC keep resolving it to S3's public addresses and go through the gateway endpoint, or reach this endpoint with --endpoint-url"
        )),
    }
}

/// The regional `vpce-…` label of an interface endpoint's DNS entries:
/// `*.vpce-0abc-xyz.s3.us-east-1.vpce.amazonaws.com` → `vpce-0abc-xyz`.
/// Zonal entries (with an AZ suffix) are longer; the shortest label wins.
pub fn vpce_label(ep: &LEndpoint) -> Option<String> {
    ep.dns_entries
        .iter()
        .filter_map(|d| {
            let name = d.dns_name.trim_start_matches("*.");
            let first = name.split('.').next()?;
            first.starts_with("vpce-").then(|| first.to_string())
        })
        .min_by_key(|l| (l.len(), l.clone()))
}

/// The S3 URL clients use with an interface endpoint.
pub fn s3_url(label: &str, region: &str) -> String {
    format!("https://bucket.{label}.s3.{region}.vpce.amazonaws.com")
}

/// The first bucket named in a policy's `arn:aws:s3:::NAME` resources.
fn first_bucket(policy: Option<&Value>) -> Option<String> {
    let text = serde_json::to_string(policy?).ok()?;
    let start = text.find("arn:aws:s3:::")? + "arn:aws:s3:::".len();
    let name: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Outputs for every endpoint of the plan, in plan order, without prefix
/// list CIDRs (see [`collect_with`]).
pub fn collect(desired: &Desired, live: &Live) -> Vec<EndpointOutput> {
    collect_with(desired, live, &std::collections::BTreeMap::new())
}

/// [`collect`], with the CIDRs of the gateway services' prefix lists
/// (prefix list id → CIDRs, from [`prefix_cidrs`]).
pub fn collect_with(
    desired: &Desired,
    live: &Live,
    prefix_cidrs: &std::collections::BTreeMap<String, Vec<String>>,
) -> Vec<EndpointOutput> {
    let mut out = Vec::new();
    for (name, ep) in &desired.endpoints {
        let address = Address::endpoint(name);
        let region = desired
            .vpcs
            .get(&ep.vpc)
            .map(|v| v.region.clone())
            .unwrap_or_default();
        let found = live.endpoints.iter().find(|e| {
            owned_by(&e.tags, &desired.name)
                && e.tags.get(TAG_KEY).map(String::as_str) == Some(address.as_str())
                && !e.is_gone()
        });
        let mut o = EndpointOutput {
            name: name.clone(),
            address: address.to_string(),
            id: found.map(|e| e.id.clone()),
            endpoint_type: ep.endpoint_type().to_string(),
            region: region.clone(),
            vpc_id: found.map(|e| e.vpc_id.clone()),
            state: found
                .map(|e| e.state.clone())
                .unwrap_or_else(|| "not created".into()),
            service: ep.service.clone(),
            dns_names: found
                .map(|e| e.dns_entries.iter().map(|d| d.dns_name.clone()).collect())
                .unwrap_or_default(),
            s3_url: None,
            cli: None,
            route_table_ids: Vec::new(),
            prefix_list_id: None,
            prefix_list_cidrs: None,
            private_dns: private_dns_mode(&ep.kind),
            private_dns_note: None,
        };
        if let EndpointKind::Interface { private_dns, .. } = &ep.kind {
            let svc_region = crate::model::service_region(&ep.service).unwrap_or(&region);
            o.private_dns_note = private_dns_note(*private_dns, svc_region);
        }
        if ep.endpoint_type() == EndpointType::Gateway {
            // The gateway's own service's list: S3 Express One Zone's is not S3's.
            o.prefix_list_id = live
                .prefix_lists
                .get(&(region.clone(), ep.service.clone()))
                .cloned();
            o.prefix_list_cidrs = o
                .prefix_list_id
                .as_ref()
                .map(|pl| prefix_cidrs.get(pl).cloned().unwrap_or_default());
        }
        if let Some(e) = found {
            match e.endpoint_type {
                EndpointType::Interface if ep.service.ends_with(".s3") => {
                    // Clients address the service's region (it differs from
                    // the VPC's for a cross-region endpoint).
                    let region = crate::model::service_region(&ep.service)
                        .unwrap_or(&region)
                        .to_string();
                    if let Some(label) = vpce_label(e) {
                        let url = s3_url(&label, &region);
                        let bucket = first_bucket(ep.policy.as_ref()).unwrap_or_else(|| "BUCKET".into());
                        o.cli = Some(format!(
                            "aws s3 ls s3://{bucket} --endpoint-url {url} --region {region}"
                        ));
                        o.s3_url = Some(url);
                    }
                }
                EndpointType::Interface => {}
                EndpointType::Gateway => o.route_table_ids = e.route_table_ids.clone(),
            }
        }
        out.push(o);
    }
    out
}

/// The CIDRs of the prefix list of each gateway service of the plan, keyed
/// by prefix list id: one GetManagedPrefixListEntries per (region, service).
pub async fn prefix_cidrs(
    cloud: &dyn crate::cloud::Cloud,
    desired: &Desired,
    live: &Live,
) -> crate::cloud::CloudResult<std::collections::BTreeMap<String, Vec<String>>> {
    let mut out = std::collections::BTreeMap::new();
    for ((region, service), pl) in &live.prefix_lists {
        let has_gateway = desired.endpoints.values().any(|e| {
            e.endpoint_type() == EndpointType::Gateway
                && &e.service == service
                && desired.vpcs.get(&e.vpc).is_some_and(|v| &v.region == region)
        });
        if has_gateway {
            out.insert(
                pl.clone(),
                cloud
                    .prefix_list_cidrs(region, pl)
                    .await?
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// Outputs as text.
pub fn human(plan: &str, outputs: &[EndpointOutput]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "Endpoints of plan {plan}:");
    for o in outputs {
        let _ = writeln!(s);
        let _ = writeln!(s, "{} ({} endpoint, {})", o.address, o.endpoint_type, o.region);
        let _ = writeln!(s, "  id:       {}", o.id.as_deref().unwrap_or("-"));
        let _ = writeln!(s, "  state:    {}", o.state);
        let _ = writeln!(s, "  service:  {}", o.service);
        if let Some(v) = &o.vpc_id {
            let _ = writeln!(s, "  vpc:      {v}");
        }
        if !o.route_table_ids.is_empty() {
            let _ = writeln!(s, "  routes S3 in: {}", o.route_table_ids.join(", "));
        }
        if let Some(pl) = &o.prefix_list_id {
            let _ = writeln!(s, "  prefix list: {pl}");
        }
        if let Some(c) = o.prefix_list_cidrs.as_ref().filter(|c| !c.is_empty()) {
            let _ = writeln!(s, "  prefix list cidrs: {}", c.join(", "));
        }
        if let Some(m) = &o.private_dns {
            let _ = writeln!(s, "  private dns: {m}");
        }
        if let Some(n) = &o.private_dns_note {
            let _ = writeln!(s, "  note:     {n}");
        }
        for d in &o.dns_names {
            let _ = writeln!(s, "  dns:      {d}");
        }
        if let Some(u) = &o.s3_url {
            let _ = writeln!(s, "  s3 url:   {u}");
        }
        if let Some(c) = &o.cli {
            let _ = writeln!(s, "  try:      {c}");
        }
    }
    s
}

/// Outputs as JSON.
pub fn json(plan: &str, outputs: &[EndpointOutput]) -> Value {
    serde_json::json!({ "plan": plan, "endpoints": outputs })
}
