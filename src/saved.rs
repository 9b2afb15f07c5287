//! Saved plans: `s3ep plan PLAN --out FILE` and `s3ep apply FILE`.
//!
//! A saved plan is one JSON document (see docs/plan-format.md, "Saved plan
//! files"): the format and s3ep versions, the plan's name, path and text, the
//! emulator switch it was computed with, the changes (as `plan --json` shows
//! them), a digest of the changes as the executor runs them, a digest of the
//! live state they were computed from, and an integrity digest over all of
//! that.
//!
//! `apply FILE` loads the plan text from the file (not from disk), reads live
//! state again, and refuses ("stale plan", no mutating call) unless the live
//! digest is the same; then it diffs again and refuses unless the changes
//! digest is the same too, so what runs is exactly what was saved.
//!
//! The live digest is SHA-256 over a normalised snapshot of [`Live`]: every
//! list sorted (EC2 returns resources, routes, associations, rules and ids
//! in no promised order), policy documents with sorted keys, and without the
//! fields that are information only and never decide a change (DNS entries,
//! an endpoint's last error text). The snapshot's text is the `Debug` form of
//! the model types, which is stable within one s3ep build: that is why a
//! saved plan is only ever applied by the s3ep version that wrote it.
//!
//! The integrity digest is SHA-256 over the canonical JSON (keys sorted, no
//! whitespace) of every field but `integrity`. It catches edits and damage;
//! it is not a signature (anyone can recompute it).

use std::path::Path;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::diff::Changes;
use crate::emulator::Emulator;
use crate::model::Live;

/// The value of the `format` field: what marks a JSON file as a saved plan.
pub const FORMAT: &str = "s3ep-saved-plan";
/// The version of the saved-plan layout.
pub const FORMAT_VERSION: u64 = 1;
/// The s3ep version that writes (and alone may apply) saved plans.
pub const S3EP_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Largest saved plan s3ep reads (the plan text is limited to 1 MiB).
pub const MAX_SAVED_BYTES: u64 = 8 * 1024 * 1024;

/// A saved plan, as written or as read back (and checked).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlan {
    /// The plan's `name`.
    pub plan: String,
    /// The plan file's path as given to `plan` (relative `file:` policies
    /// are read from its directory again at apply time).
    pub plan_file: String,
    /// The plan file's text.
    pub plan_content: String,
    pub emulator: Emulator,
    /// `sha256:…` of the normalised live state.
    pub live_digest: String,
    /// `sha256:…` of the changes the executor runs.
    pub changes_digest: String,
    /// The changes as `plan --json` shows them (for people and tools).
    pub changes: Value,
}

/// Why a file cannot be applied as a saved plan.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SavedError {
    #[error("{file}: not an s3ep saved plan: {reason}")]
    Foreign { file: String, reason: String },
    #[error("{file}: this saved plan was written by s3ep {found} (saved-plan format {format}); this is s3ep {S3EP_VERSION}: run `s3ep plan --out` again with this version")]
    Version {
        file: String,
        found: String,
        format: String,
    },
    #[error("{file}: the saved plan has been modified or damaged (integrity digest mismatch); run `s3ep plan --out` again")]
    Tampered { file: String },
    #[error("{file}: damaged saved plan: {reason}; run `s3ep plan --out` again")]
    Damaged { file: String, reason: String },
}

impl SavedPlan {
    /// The file's JSON document, integrity digest included.
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "s3ep_version": S3EP_VERSION,
            "plan": self.plan,
            "plan_file": self.plan_file,
            "plan_content": self.plan_content,
            "emulator": self.emulator.to_string(),
            "live_digest": self.live_digest,
            "changes_digest": self.changes_digest,
            "changes": self.changes,
        });
        let integrity = integrity_of(&doc);
        doc["integrity"] = json!(integrity);
        doc
    }

    /// Parses a saved plan. `Ok(None)`: the text is not marked as a saved
    /// plan at all (a YAML plan: the caller loads it as one).
    pub fn parse(text: &str, file: &str) -> Result<Option<SavedPlan>, SavedError> {
        let looks_saved = text.contains(FORMAT);
        if !text.trim_start().starts_with('{') {
            return Ok(None);
        }
        let doc: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) if looks_saved => {
                return Err(SavedError::Damaged {
                    file: file.to_string(),
                    reason: format!("invalid JSON ({e})"),
                })
            }
            // JSON-looking text that is not JSON: YAML flow syntax, maybe.
            Err(_) => return Ok(None),
        };
        let Some(obj) = doc.as_object() else {
            return Ok(None);
        };
        let format = match obj.get("format") {
            // A plan written in JSON syntax has no `format` key.
            None => return Ok(None),
            Some(Value::String(f)) if f == FORMAT => f,
            Some(other) => {
                return Err(SavedError::Foreign {
                    file: file.to_string(),
                    reason: format!("its `format` is {other}, not \"{FORMAT}\""),
                })
            }
        };
        let _ = format;
        let version = obj
            .get("s3ep_version")
            .and_then(Value::as_str)
            .unwrap_or("(unknown)");
        let format_version = obj.get("format_version").and_then(Value::as_u64);
        if version != S3EP_VERSION || format_version != Some(FORMAT_VERSION) {
            return Err(SavedError::Version {
                file: file.to_string(),
                found: version.to_string(),
                format: format_version.map_or("(unknown)".to_string(), |v| v.to_string()),
            });
        }
        let Some(stored) = obj.get("integrity").and_then(Value::as_str) else {
            return Err(SavedError::Tampered {
                file: file.to_string(),
            });
        };
        let mut rest = obj.clone();
        rest.remove("integrity");
        if integrity_of(&Value::Object(rest)) != stored {
            return Err(SavedError::Tampered {
                file: file.to_string(),
            });
        }
        let damaged = |reason: &str| SavedError::Damaged {
            file: file.to_string(),
            reason: reason.to_string(),
        };
        let field = |name: &str| -> Result<String, SavedError> {
            obj.get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| damaged(&format!("the field `{name}` is missing or not a string")))
        };
        let emulator = field("emulator")?
            .parse::<Emulator>()
            .map_err(|e| damaged(&format!("`emulator`: {e}")))?;
        Ok(Some(SavedPlan {
            plan: field("plan")?,
            plan_file: field("plan_file")?,
            plan_content: field("plan_content")?,
            emulator,
            live_digest: field("live_digest")?,
            changes_digest: field("changes_digest")?,
            changes: obj.get("changes").cloned().unwrap_or(Value::Null),
        }))
    }
}

/// Reads FILE for `apply`: `Ok(Some(saved))` for a saved plan, `Ok(None)`
/// for anything else (a YAML plan, which the plan loader then reads and
/// reports on). Errors: a saved plan that cannot be used.
pub fn read(path: &Path) -> Result<Option<SavedPlan>, SavedError> {
    let file = path.display().to_string();
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if !meta.is_file() || meta.len() > MAX_SAVED_BYTES {
        return Ok(None);
    }
    match std::fs::read(path) {
        // Not UTF-8 or not readable: the plan loader says so.
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => SavedPlan::parse(&text, &file),
            Err(_) => Ok(None),
        },
        Err(_) => Ok(None),
    }
}

/// `sha256:` and the lowercase hex digest of BYTES.
fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The integrity digest of a document (without its `integrity` field).
fn integrity_of(doc: &Value) -> String {
    sha256(canonical(doc).to_string().as_bytes())
}

/// VALUE with every object's keys in sorted order (serde_json keeps
/// insertion order in this build).
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(v) = m.get(k) {
                    out.insert(k.clone(), canonical(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// LIVE with every list in a fixed order and policy keys sorted: two reads
/// of the same state give equal snapshots whatever order EC2 answered in.
/// The diff of a saved plan runs on this form, at `plan --out` and at
/// `apply FILE`, so the changes come out the same.
pub fn normalize(live: &Live) -> Live {
    let mut l = live.clone();
    l.vpcs.sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    l.subnets
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    for t in &mut l.route_tables {
        t.associations.sort_by(|a, b| a.id.cmp(&b.id));
        t.routes.sort_by_cached_key(|r| format!("{r:?}"));
    }
    l.route_tables
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    for g in &mut l.security_groups {
        g.ingress.sort_by_cached_key(|r| format!("{r:?}"));
    }
    l.security_groups
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    for e in &mut l.endpoints {
        e.route_table_ids.sort();
        e.subnet_ids.sort();
        e.security_group_ids.sort();
        e.dns_entries.sort_by(|a, b| a.dns_name.cmp(&b.dns_name));
        e.policy = e.policy.as_ref().map(canonical);
    }
    l.endpoints
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    l.peerings
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    for z in l.service_zones.values_mut() {
        z.names.sort();
        z.ids.sort();
    }
    l
}

/// The digest of the live state a plan was computed from (see the module
/// documentation for what it leaves out).
pub fn live_digest(live: &Live) -> String {
    let mut l = normalize(live);
    for e in &mut l.endpoints {
        // Information only: filled in by EC2 after the fact, never a change.
        e.dns_entries.clear();
        e.last_error = None;
    }
    sha256(format!("{l:?}").as_bytes())
}

/// The digest of the changes as the executor runs them (every step and its
/// arguments, not only what the preview shows).
pub fn changes_digest(changes: &Changes) -> String {
    sha256(format!("{changes:?}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LEndpoint, LVpc, Tags};

    fn saved() -> SavedPlan {
        SavedPlan {
            plan: "lab".into(),
            plan_file: "plans/lab.yaml".into(),
            plan_content: "version: 1\nname: lab\n".into(),
            emulator: Emulator::Off,
            live_digest: "sha256:00".into(),
            changes_digest: "sha256:11".into(),
            changes: json!({"format_version": 1, "changes": []}),
        }
    }

    #[test]
    fn round_trips_and_refuses_edits() {
        let text = serde_json::to_string_pretty(&saved().to_json()).unwrap();
        assert_eq!(SavedPlan::parse(&text, "f").unwrap(), Some(saved()));
        // Re-indented by a JSON tool: still the same content.
        let compact = saved().to_json().to_string();
        assert_eq!(SavedPlan::parse(&compact, "f").unwrap(), Some(saved()));
        let edited = text.replace("name: lab", "name: lob");
        assert_eq!(
            SavedPlan::parse(&edited, "f"),
            Err(SavedError::Tampered { file: "f".into() })
        );
        let mut doc = saved().to_json();
        doc.as_object_mut().unwrap().remove("integrity");
        assert!(matches!(
            SavedPlan::parse(&doc.to_string(), "f"),
            Err(SavedError::Tampered { .. })
        ));
    }

    #[test]
    fn other_versions_and_foreign_json() {
        let text = saved().to_json().to_string().replace(S3EP_VERSION, "0.0.0-other");
        assert!(matches!(
            SavedPlan::parse(&text, "f"),
            Err(SavedError::Version { found, .. }) if found == "0.0.0-other"
        ));
        assert!(matches!(
            SavedPlan::parse(r#"{"format": "terraform-plan"}"#, "f"),
            Err(SavedError::Foreign { .. })
        ));
        assert!(matches!(
            SavedPlan::parse(r#"{"format": "s3ep-saved-plan", "#, "f"),
            Err(SavedError::Damaged { .. })
        ));
        // A YAML plan, or a plan in JSON syntax: not a saved plan.
        assert_eq!(SavedPlan::parse("version: 1\nname: x\n", "f"), Ok(None));
        assert_eq!(SavedPlan::parse(r#"{"version": 1, "name": "x"}"#, "f"), Ok(None));
    }

    fn vpc(id: &str) -> LVpc {
        LVpc {
            id: id.into(),
            region: "us-east-1".into(),
            cidr: None,
            ipv6_cidr: None,
            state: "available".into(),
            tags: Tags::new(),
        }
    }

    fn endpoint(rts: &[&str], dns: &str) -> LEndpoint {
        LEndpoint {
            id: "vpce-1".into(),
            region: "us-east-1".into(),
            vpc_id: "vpc-1".into(),
            endpoint_type: crate::model::EndpointType::Gateway,
            service: "com.amazonaws.us-east-1.s3".into(),
            state: "available".into(),
            route_table_ids: rts.iter().map(|s| s.to_string()).collect(),
            subnet_ids: vec![],
            security_group_ids: vec![],
            private_dns: false,
            private_dns_inbound_only: None,
            service_region: None,
            ip_address_type: None,
            dns_record_ip_type: None,
            policy: Some(serde_json::from_str(r#"{"b": 1, "a": 2}"#).unwrap()),
            dns_entries: vec![crate::model::LDnsEntry {
                dns_name: dns.into(),
                hosted_zone_id: None,
            }],
            last_error: None,
            tags: Tags::new(),
        }
    }

    #[test]
    fn live_digest_ignores_order_and_information_only_fields() {
        let a = Live {
            vpcs: vec![vpc("vpc-1"), vpc("vpc-2")],
            endpoints: vec![endpoint(&["rtb-1", "rtb-2"], "a.example")],
            ..Live::default()
        };
        let mut b = a.clone();
        b.vpcs.reverse();
        b.endpoints = vec![endpoint(&["rtb-2", "rtb-1"], "b.example")];
        b.endpoints[0].policy = Some(serde_json::from_str(r#"{"a": 2, "b": 1}"#).unwrap());
        assert_eq!(live_digest(&a), live_digest(&b));
        // What decides a change does change the digest.
        let mut c = a.clone();
        c.endpoints[0].route_table_ids.pop();
        assert_ne!(live_digest(&a), live_digest(&c));
        let mut d = a.clone();
        d.vpcs[0].state = "pending".into();
        assert_ne!(live_digest(&a), live_digest(&d));
    }
}
