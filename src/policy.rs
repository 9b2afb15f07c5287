//! Bucket policies around the plan's endpoints: `policy bucket` writes one
//! that denies a bucket except through the plan's endpoints, `policy lint`
//! checks one with the same rules the plan's own policies get (the
//! `source-ip-condition` warning of `warnings.rs`, the size limit and
//! bucket-name rules of `plan::policy`), plus `Deny` statements that spare
//! no administrator.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::model::{Desired, Live};
use crate::warnings::{mentions_source_ip, SOURCE_IP_CONDITION, SOURCE_IP_MESSAGE};

/// Lint code: a `Deny` for everyone with no principal exempted.
pub const DENY_WITHOUT_EXEMPTION: &str = "deny-without-exemption";
/// Lint code: the file starts like JSON but does not parse.
pub const INVALID_JSON: &str = "invalid-json";
/// Lint code: larger than a policy may be.
pub const POLICY_SIZE: &str = "policy-size";

/// Largest policy file `policy lint` reads.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The AWS partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Why `arn` cannot be an `aws:PrincipalArn` exemption, or `None`.
/// An ARN is `arn:partition:service:region:account:resource`.
pub fn principal_arn_problem(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && !parts[2].is_empty()
        && !parts[5].is_empty()
        && !arn.chars().any(char::is_whitespace);
    (!ok).then(|| {
        format!(
            "invalid --allow-principal {arn:?}: expected an ARN such as arn:aws:iam::123456789012:role/Admin (arn:partition:service:region:account:resource)"
        )
    })
}

/// The policy `policy bucket` prints: one `Deny` of every S3 action on the
/// bucket and its objects, unless the request comes through one of
/// `vpce_ids` (`aws:SourceVpce`) or from one of `principals`
/// (`aws:PrincipalArn`). The two conditions of one statement must both
/// hold for the Deny to apply, so either one exempts a request.
/// Amazon S3 user guide, "Controlling access from VPC endpoints with bucket
/// policies" (Restricting access to a specific VPC endpoint):
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies-vpc-endpoint.html
/// and the IAM user guide's global condition keys `aws:SourceVpce`,
/// `aws:PrincipalArn`.
pub fn deny_outside_endpoints(
    bucket: &str,
    partition: &str,
    vpce_ids: &[String],
    principals: &[String],
) -> Value {
    let mut condition = Map::new();
    condition.insert("StringNotEquals".into(), json!({ "aws:SourceVpce": vpce_ids }));
    if !principals.is_empty() {
        condition.insert("ArnNotLike".into(), json!({ "aws:PrincipalArn": principals }));
    }
    json!({
        "Version": "2012-10-17",
        "Id": "S3epDenyOutsideEndpoints",
        "Statement": [{
            "Sid": "S3epDenyOutsideEndpoints",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [
                format!("arn:{partition}:s3:::{bucket}"),
                format!("arn:{partition}:s3:::{bucket}/*"),
            ],
            "Condition": condition,
        }]
    })
}

/// Why `policy bucket` cannot write a policy for this plan and bucket.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BucketPolicyError(pub String);

/// Checks that need no AWS call: the bucket name, the principal ARNs, and
/// that the plan has endpoints, all in one AWS partition. Returns the
/// partition.
pub fn check_bucket_args(
    desired: &Desired,
    bucket: &str,
    principals: &[String],
) -> Result<&'static str, BucketPolicyError> {
    if let Some(problem) = crate::plan::bucket_name_problem(bucket) {
        return Err(BucketPolicyError(format!("--bucket: {problem}")));
    }
    if let Some(problem) = principals.iter().find_map(|p| principal_arn_problem(p)) {
        return Err(BucketPolicyError(problem));
    }
    if desired.endpoints.is_empty() {
        return Err(BucketPolicyError(format!(
            "plan {} has no endpoints: there is nothing to allow",
            desired.name
        )));
    }
    let mut partitions: Vec<&'static str> = desired
        .endpoints
        .values()
        .filter_map(|e| desired.vpcs.get(&e.vpc))
        .map(|v| partition(&v.region))
        .collect();
    partitions.sort();
    partitions.dedup();
    match partitions.as_slice() {
        [one] => Ok(*one),
        _ => Err(BucketPolicyError(format!(
            "plan {} has endpoints in several AWS partitions ({}); a bucket lives in one",
            desired.name,
            partitions.join(", ")
        ))),
    }
}

/// The policy for `bucket` from the plan and its live state, and the
/// warning to print with it. Every endpoint of the plan must exist.
pub fn bucket_policy_for(
    desired: &Desired,
    live: &Live,
    bucket: &str,
    principals: &[String],
) -> Result<(Value, String), BucketPolicyError> {
    let partition = check_bucket_args(desired, bucket, principals)?;
    let list = crate::render::outputs::collect(desired, live);
    let missing: Vec<String> = list
        .iter()
        .filter(|o| o.id.is_none())
        .map(|o| {
            format!(
                "{} ({})",
                o.address,
                desired.origin.locate(&format!("endpoints.{}", o.name))
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(BucketPolicyError(format!(
            "{} not exist yet: run `s3ep apply` first, so that the policy can name the live vpce- id(s)",
            if missing.len() == 1 {
                format!("endpoint {} does", missing[0])
            } else {
                format!("endpoints {} do", missing.join(", "))
            }
        )));
    }
    let ids: Vec<String> = list.iter().filter_map(|o| o.id.clone()).collect();
    let doc = deny_outside_endpoints(bucket, partition, &ids, principals);
    let warning = if principals.is_empty() {
        format!(
            "warning: this policy denies every request to bucket {bucket} that does not come through {}, with no exemption: \
             a Deny without an exemption can lock administrators (and the console, CI and AWS services) out of the bucket, \
             and undoing it may take the account's root user. Add --allow-principal ARN for an admin role before you attach it.",
            ids.join(", ")
        )
    } else {
        format!(
            "warning: this policy denies every request to bucket {bucket} that does not come through {} and is not made by {}. \
             A Deny without an exemption can lock administrators out: check that every principal that must keep access is listed.",
            ids.join(", "),
            principals.join(", ")
        )
    };
    Ok((doc, warning))
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    /// `Statement[i]` (with its Sid when it has one), or empty for the
    /// whole document.
    pub at: String,
    pub message: String,
}

/// Why a file cannot be linted at all (exit 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct LintError(pub String);

/// Reads and lints a policy file. Invalid JSON in a file that starts like
/// JSON (`{` or `[`) is a finding; a file that is not text, not JSON at all,
/// or JSON that is not a policy (an object with `Statement`) is an error.
pub fn lint_file(path: &std::path::Path) -> Result<Vec<Finding>, LintError> {
    use std::io::Read;
    let shown = path.display();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| LintError(format!("cannot read {shown}: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(LintError(format!(
            "{shown} is larger than {MAX_FILE_BYTES} bytes: not a policy"
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        LintError(format!(
            "{shown} is not a policy: not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    lint_text(text, &shown.to_string())
}

/// Lints policy text; `name` is used in messages.
pub fn lint_text(text: &str, name: &str) -> Result<Vec<Finding>, LintError> {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if !(body.starts_with('{') || body.starts_with('[')) {
        return Err(LintError(format!(
            "{name} is not a policy: a bucket or endpoint policy is a JSON object with Version and Statement"
        )));
    }
    let doc: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return Ok(vec![Finding {
                code: INVALID_JSON,
                at: String::new(),
                message: format!(
                    "not valid JSON at line {} column {}: {e}; AWS refuses a policy that does not parse",
                    e.line(),
                    e.column()
                ),
            }])
        }
    };
    lint(&doc).map_err(|e| LintError(format!("{name} is not a policy: {e}")))
}

/// The statements of a policy document, or why it is not one.
fn statements(doc: &Value) -> Result<Vec<&Map<String, Value>>, String> {
    let obj = doc
        .as_object()
        .ok_or("a policy is a JSON object with Version and Statement")?;
    let st = obj
        .iter()
        .find(|(k, _)| k.as_str() == "Statement")
        .map(|(_, v)| v)
        .ok_or("it has no Statement")?;
    let list: Vec<&Value> = match st {
        Value::Array(a) => a.iter().collect(),
        v @ Value::Object(_) => vec![v],
        _ => return Err("Statement must be an object or a list of objects".into()),
    };
    list.into_iter()
        .map(|v| {
            v.as_object()
                .ok_or_else(|| "each Statement must be an object".to_string())
        })
        .collect()
}

/// Condition keys that name the caller: a negated operator on one of these
/// exempts those callers from a Deny.
fn is_principal_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:userid",
        "aws:username",
        "aws:principaltype",
    ]
    .contains(&k.as_str())
        || k.starts_with("aws:principaltag/")
}

/// Whether a condition operator is a negated match (`StringNotEquals`,
/// `ArnNotLike`, … with optional `IfExists` and set prefixes).
fn is_negated(op: &str) -> bool {
    let o = op.to_ascii_lowercase();
    let o = o
        .strip_prefix("forallvalues:")
        .or_else(|| o.strip_prefix("foranyvalue:"))
        .unwrap_or(&o);
    let o = o.strip_suffix("ifexists").unwrap_or(o);
    matches!(
        o,
        "stringnotequals" | "stringnotequalsignorecase" | "stringnotlike" | "arnnotequals" | "arnnotlike"
    )
}

/// Whether a statement applies to every principal (`"*"` or `{"AWS": "*"}`).
fn for_everyone(st: &Map<String, Value>) -> bool {
    match st.get("Principal") {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => m.values().any(|v| match v {
            Value::String(s) => s == "*",
            Value::Array(a) => a.iter().any(|x| x == "*"),
            _ => false,
        }),
        // No Principal: an identity or endpoint policy; it applies to
        // whoever it is attached to or passes through.
        None => true,
        _ => false,
    }
}

/// Whether a Deny statement spares some principal.
fn has_exemption(st: &Map<String, Value>) -> bool {
    if st.contains_key("NotPrincipal") {
        return true;
    }
    let Some(Value::Object(cond)) = st.get("Condition") else {
        return false;
    };
    cond.iter().any(|(op, keys)| {
        is_negated(op)
            && keys
                .as_object()
                .is_some_and(|m| m.keys().any(|k| is_principal_key(k)))
    })
}

/// Lints a parsed policy document. `Err`: it is not a policy.
pub fn lint(doc: &Value) -> Result<Vec<Finding>, String> {
    let list = statements(doc)?;
    let mut out = Vec::new();
    if let Some(problem) = crate::plan::document_problem(doc) {
        out.push(Finding {
            code: POLICY_SIZE,
            at: String::new(),
            message: problem,
        });
    }
    for (i, st) in list.iter().enumerate() {
        let at = match st.get("Sid").and_then(Value::as_str) {
            Some(sid) => format!("Statement[{i}] ({sid})"),
            None => format!("Statement[{i}]"),
        };
        if mentions_source_ip(&Value::Object((*st).clone())) {
            out.push(Finding {
                code: SOURCE_IP_CONDITION,
                at: at.clone(),
                message: SOURCE_IP_MESSAGE.into(),
            });
        }
        let deny = st
            .get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("deny"));
        if deny && for_everyone(st) && !has_exemption(st) {
            out.push(Finding {
                code: DENY_WITHOUT_EXEMPTION,
                at,
                message: "a Deny for every principal with no exemption (no NotPrincipal, no StringNotEquals/ArnNotLike on aws:PrincipalArn or another principal key) also locks out administrators and automation (undoing it may take the account's root user); exempt an admin role with aws:PrincipalArn".into(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_policy_with_a_principal_lints_clean_and_without_one_does_not() {
        let ids = vec!["vpce-1".to_string()];
        let admin = vec!["arn:aws:iam::123456789012:role/Admin".to_string()];
        let with = deny_outside_endpoints("my-bucket", "aws", &ids, &admin);
        assert_eq!(lint(&with).unwrap(), vec![]);
        let without = deny_outside_endpoints("my-bucket", "aws", &ids, &[]);
        let f = lint(&without).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, DENY_WITHOUT_EXEMPTION);
        assert_eq!(f[0].at, "Statement[0] (S3epDenyOutsideEndpoints)");
    }

    #[test]
    fn source_ip_is_found_per_statement() {
        let doc = json!({"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
            {"Sid":"Office","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
             "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]});
        let f = lint(&doc).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, SOURCE_IP_CONDITION);
        assert_eq!(f[0].at, "Statement[1] (Office)");
    }

    #[test]
    fn targeted_denies_and_exemptions_are_not_findings() {
        for st in [
            json!({"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/intern"},"Action":"s3:*","Resource":"*"}),
            json!({"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*","Resource":"*"}),
            json!({"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
                   "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalAccount":"123456789012"}}}),
        ] {
            let doc = json!({"Version":"2012-10-17","Statement":st});
            assert_eq!(lint(&doc).unwrap(), vec![], "{doc}");
        }
        // A negated operator on a non-principal key is no exemption.
        let doc = json!({"Statement":{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":"s3:*","Resource":"*",
            "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}});
        assert_eq!(lint(&doc).unwrap()[0].code, DENY_WITHOUT_EXEMPTION);
    }

    #[test]
    fn what_is_not_a_policy() {
        assert!(lint(&json!([1, 2])).is_err());
        assert!(lint(&json!({"Version": "2012-10-17"})).is_err());
        assert!(lint(&json!({"Statement": "x"})).is_err());
        assert!(lint_text("version: 1\nname: x\n", "p.yaml").is_err());
        let f = lint_text("{\"Statement\": [", "p.json").unwrap();
        assert_eq!(f[0].code, INVALID_JSON);
    }

    #[test]
    fn principal_arns() {
        assert!(principal_arn_problem("arn:aws:iam::123456789012:role/Admin").is_none());
        assert!(principal_arn_problem("arn:aws-cn:iam::123456789012:root").is_none());
        assert!(principal_arn_problem("Admin").is_some());
        assert!(principal_arn_problem("arn:aws:iam::123456789012").is_some());
        assert!(principal_arn_problem("*").is_some());
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("ap-northeast-2"), "aws");
    }
}
