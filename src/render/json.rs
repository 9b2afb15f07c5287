//! `plan --json`: one JSON object, format version 1, as the contract gives.

use serde_json::{json, Value};

use crate::diff::Changes;
use crate::warnings::Warning;

/// The JSON document for a plan.
pub fn plan(plan_name: &str, changes: &Changes, warnings: &[Warning]) -> Value {
    let list: Vec<Value> = changes
        .changes
        .iter()
        .map(|c| {
            let mut v = json!({
                "address": c.address.as_str(),
                "action": c.action,
                "reason": c.reason,
                "region": c.region,
            });
            if let Some(id) = &c.id {
                v["id"] = json!(id);
            }
            if !c.attrs.is_empty() {
                v["attributes"] = json!(c.attrs);
            }
            v
        })
        .collect();
    json!({
        "format_version": 1,
        "plan": plan_name,
        "changes": list,
        "warnings": warnings,
        "summary": changes.summary(),
    })
}
