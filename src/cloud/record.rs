//! A recording layer: what the SDK actually sends to EC2, for tests.
//!
//! EC2 speaks the AWS Query protocol: every request is an HTTP POST whose
//! body is a form (`application/x-www-form-urlencoded`) such as
//! `Action=CreateVpcEndpoint&Version=2016-11-15&ClientToken=…&TagSpecification.1.ResourceType=vpc-endpoint&…`
//! (EC2 API reference, "Query requests for Amazon EC2" and "Query API
//! request structure"). An emulator that ignores a parameter (moto ignores
//! ClientToken, DnsOptions and ServiceRegion) cannot show whether s3ep sent
//! it; this layer can.
//!
//! [`Recorder`] keeps, per HTTP attempt, the region of the client, the action
//! and the decoded form parameters. [`AwsSettings::recorder`](super::aws::AwsSettings)
//! turns it on (off by default); [`RecordingInterceptor`] is the aws-smithy
//! interceptor that feeds it from `read_before_transmit`, i.e. after
//! serialization and signing, once per attempt (an SDK retry is recorded
//! again).
//!
//! What is recorded is the request **body only**. Credentials and the SigV4
//! signature travel in headers (`Authorization`, `X-Amz-Security-Token`,
//! `X-Amz-Date`), which this layer never reads; the Query body of an EC2
//! call carries no credentials. Bodies that are not in memory (streaming)
//! are not recorded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;

/// One request as sent: region, action and the form parameters other than
/// `Action`, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub region: String,
    pub action: String,
    pub params: BTreeMap<String, String>,
}

impl Recorded {
    /// The value of parameter `name` (e.g. `DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Whether parameter `name` was sent at all.
    pub fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }

    /// The members of list `name` (`name.1`, `name.2`, …) in index order,
    /// e.g. `list("SubnetId")`.
    pub fn list(&self, name: &str) -> Vec<&str> {
        let prefix = format!("{name}.");
        let mut items: Vec<(u32, &str)> = self
            .params
            .iter()
            .filter_map(|(k, v)| {
                let idx: u32 = k.strip_prefix(&prefix)?.parse().ok()?;
                Some((idx, v.as_str()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// The structures of list `name` (`name.N.Field…`) in index order, each
    /// as field → value with the `name.N.` prefix removed.
    pub fn structs(&self, name: &str) -> Vec<BTreeMap<&str, &str>> {
        let prefix = format!("{name}.");
        let mut by_index: BTreeMap<u32, BTreeMap<&str, &str>> = BTreeMap::new();
        for (k, v) in &self.params {
            let Some(rest) = k.strip_prefix(&prefix) else {
                continue;
            };
            let Some((idx, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(idx) = idx.parse::<u32>() else { continue };
            by_index.entry(idx).or_default().insert(field, v.as_str());
        }
        by_index.into_values().collect()
    }

    /// `TagSpecification.N`: (resource type, tag key → value), in order.
    pub fn tag_specifications(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.structs("TagSpecification")
            .into_iter()
            .map(|spec| {
                let resource_type = spec.get("ResourceType").copied().unwrap_or("").to_string();
                (resource_type, collect_tags(&spec, "Tag."))
            })
            .collect()
    }

    /// `Filter.N`: (filter name, values), in order.
    pub fn filters(&self) -> Vec<(String, Vec<String>)> {
        self.structs("Filter")
            .into_iter()
            .map(|f| {
                let name = f.get("Name").copied().unwrap_or("").to_string();
                let mut values: Vec<(u32, String)> = f
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("Value.")?.parse().ok()?, v.to_string())))
                    .collect();
                values.sort_by_key(|(i, _)| *i);
                (name, values.into_iter().map(|(_, v)| v).collect())
            })
            .collect()
    }
}

/// Tags of one structure whose fields are `<prefix>M.Key` / `<prefix>M.Value`.
fn collect_tags(fields: &BTreeMap<&str, &str>, prefix: &str) -> BTreeMap<String, String> {
    let mut keys: BTreeMap<u32, (&str, &str)> = BTreeMap::new();
    for (k, v) in fields {
        let Some(rest) = k.strip_prefix(prefix) else {
            continue;
        };
        let Some((idx, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(idx) = idx.parse::<u32>() else { continue };
        let slot = keys.entry(idx).or_insert(("", ""));
        match field {
            "Key" => slot.0 = v,
            "Value" => slot.1 = v,
            _ => {}
        }
    }
    keys.into_values()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Stores what the SDK sends. Cheap to clone (one shared list) and safe to
/// use from any thread.
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Vec<Recorded>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("requests", &self.lock().len())
            .finish()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Recorded>> {
        // A panic elsewhere while holding the lock leaves a usable list.
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Records one Query-protocol body sent in `region`.
    pub fn record(&self, region: &str, body: &[u8]) {
        let mut params = parse_form(body);
        let action = params.remove("Action").unwrap_or_default();
        self.lock().push(Recorded {
            region: region.to_string(),
            action,
            params,
        });
    }

    /// Every request so far, in the order they were sent.
    pub fn all(&self) -> Vec<Recorded> {
        self.lock().clone()
    }

    /// The requests of one action (e.g. `CreateVpcEndpoint`), in order.
    pub fn requests(&self, action: &str) -> Vec<Recorded> {
        self.lock()
            .iter()
            .filter(|r| r.action == action)
            .cloned()
            .collect()
    }

    /// The last request of `action`, if any.
    pub fn last(&self, action: &str) -> Option<Recorded> {
        self.lock().iter().rev().find(|r| r.action == action).cloned()
    }

    /// Parameter `name` of the last request of `action`.
    pub fn param(&self, action: &str, name: &str) -> Option<String> {
        self.last(action).and_then(|r| r.param(name).map(str::to_string))
    }

    /// The actions sent so far, in order (repeats included).
    pub fn actions(&self) -> Vec<String> {
        self.lock().iter().map(|r| r.action.clone()).collect()
    }

    /// Forgets everything recorded so far.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Decodes an `application/x-www-form-urlencoded` body: `&`-separated
/// `name=value` pairs, `+` for space, `%XX` escapes. A later duplicate name
/// wins (the SDK never sends one). Undecodable bytes become U+FFFD.
pub fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|b| *b == b'=') {
            Some(i) => (form_decode(&pair[..i]), form_decode(&pair[i + 1..])),
            None => (form_decode(pair), String::new()),
        })
        .collect()
}

fn form_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 3 <= s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The aws-smithy interceptor that feeds a [`Recorder`]: one per regional
/// client, so it knows its region without parsing the request.
///
/// `read_before_transmit` (aws-smithy-runtime-api 1.x `Intercept`) sees the
/// serialized, signed HTTP request once per attempt; it reads the body only
/// and never fails the call.
#[derive(Debug)]
pub struct RecordingInterceptor {
    region: String,
    recorder: Recorder,
}

impl RecordingInterceptor {
    pub fn new(region: &str, recorder: Recorder) -> RecordingInterceptor {
        RecordingInterceptor {
            region: region.to_string(),
            recorder,
        }
    }
}

impl Intercept for RecordingInterceptor {
    fn name(&self) -> &'static str {
        "s3ep::cloud::record::RecordingInterceptor"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(body) = context.request().body().bytes() {
            self.recorder.record(&self.region, body);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        let p =
            parse_form(b"Action=CreateTags&Tag.1.Key=s3ep%3Aplan&Tag.1.Value=a+b%20c&Empty=&Bare&Bad=%zz%4");
        assert_eq!(p["Action"], "CreateTags");
        assert_eq!(p["Tag.1.Key"], "s3ep:plan");
        assert_eq!(p["Tag.1.Value"], "a b c");
        assert_eq!(p["Empty"], "");
        assert_eq!(p["Bare"], "");
        assert_eq!(p["Bad"], "%zz%4");
    }

    #[test]
    fn recorder_keeps_region_action_and_params() {
        let r = Recorder::new();
        let clone = r.clone();
        clone.record(
            "eu-west-1",
            b"Action=CreateVpcEndpoint&Version=2016-11-15&SubnetId.2=subnet-b&SubnetId.1=subnet-a\
              &TagSpecification.1.ResourceType=vpc-endpoint&TagSpecification.1.Tag.1.Key=Name\
              &TagSpecification.1.Tag.1.Value=ep&TagSpecification.1.Tag.2.Key=s3ep%3Akey\
              &TagSpecification.1.Tag.2.Value=endpoint.ep",
        );
        r.record(
            "us-east-1",
            b"Action=DescribeVpcs&Filter.1.Name=vpc-id&Filter.1.Value.2=vpc-2&Filter.1.Value.1=vpc-1",
        );
        assert_eq!(r.actions(), vec!["CreateVpcEndpoint", "DescribeVpcs"]);
        let ep = r.last("CreateVpcEndpoint").expect("recorded");
        assert_eq!(ep.region, "eu-west-1");
        assert!(!ep.has("Action"));
        assert_eq!(ep.param("Version"), Some("2016-11-15"));
        assert_eq!(ep.list("SubnetId"), vec!["subnet-a", "subnet-b"]);
        let specs = ep.tag_specifications();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].0, "vpc-endpoint");
        assert_eq!(
            specs[0].1.get("s3ep:key").map(String::as_str),
            Some("endpoint.ep")
        );
        assert_eq!(specs[0].1.get("Name").map(String::as_str), Some("ep"));
        assert_eq!(
            r.last("DescribeVpcs").expect("recorded").filters(),
            vec![(
                "vpc-id".to_string(),
                vec!["vpc-1".to_string(), "vpc-2".to_string()]
            )]
        );
        assert_eq!(
            r.param("DescribeVpcs", "Filter.1.Name").as_deref(),
            Some("vpc-id")
        );
        assert_eq!(r.requests("CreateVpc").len(), 0);
        r.clear();
        assert!(clone.all().is_empty());
    }
}
