//! `s3ep outputs`: endpoint ids, states, DNS names and ready-to-paste client
//! settings, as text or JSON.

use serde::Serialize;
use serde_json::Value;

use crate::model::{owned_by, Address, Desired, EndpointType, LEndpoint, Live, TAG_KEY};

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

/// Outputs for every endpoint of the plan, in plan order.
pub fn collect(desired: &Desired, live: &Live) -> Vec<EndpointOutput> {
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
        };
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
