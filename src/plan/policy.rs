//! Endpoint policies: the generated `allow_buckets` policy, bucket name
//! rules, and reading a policy document from a file.

use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};

use super::error::{clip, q};
use super::tree;

/// Largest policy document EC2 accepts, in characters of compact JSON.
pub const MAX_POLICY_CHARS: usize = 20_480;

/// Largest policy file s3ep reads, in bytes.
const MAX_POLICY_FILE_BYTES: u64 = 1024 * 1024;

/// The policy generated for `allow_buckets`: S3 allowed on those buckets and
/// their objects only, for any principal. Buckets keep their order.
pub fn bucket_policy(buckets: &[String]) -> Value {
    let resources: Vec<Value> = buckets
        .iter()
        .flat_map(|b| {
            [
                Value::String(format!("arn:aws:s3:::{b}")),
                Value::String(format!("arn:aws:s3:::{b}/*")),
            ]
        })
        .collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "S3epAllowBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
        }]
    })
}

/// Why `name` is not a valid S3 bucket name, or `None` if it is one:
/// 3 to 63 characters of `[a-z0-9.-]`, starting and ending with a letter or digit.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(3..=63).contains(&len) {
        return Some(format!(
            "invalid bucket name {}: bucket names are 3 to 63 characters long, this one has {len}",
            q(name)
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Some(format!(
            "invalid bucket name {}: character {} is not allowed (only lowercase letters, digits, `.` and `-`)",
            q(name),
            q(&c.to_string())
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Some(format!(
            "invalid bucket name {}: it must start and end with a lowercase letter or digit",
            q(name)
        ));
    }
    // The other general purpose bucket naming rules (Amazon S3 user guide,
    // "General purpose bucket naming rules",
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
    if name.contains("..") {
        return Some(format!(
            "invalid bucket name {}: it must not contain two adjacent periods",
            q(name)
        ));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(format!(
            "invalid bucket name {}: it must not be formatted as an IP address",
            q(name)
        ));
    }
    if let Some(p) = ["xn--", "sthree-", "amzn-s3-demo-"]
        .into_iter()
        .find(|p| name.starts_with(p))
    {
        return Some(format!(
            "invalid bucket name {}: the prefix {} is reserved by Amazon S3",
            q(name),
            q(p)
        ));
    }
    if let Some(sfx) = ["-s3alias", "--ol-s3", ".mrap", "--x-s3"]
        .into_iter()
        .find(|sfx| name.ends_with(sfx))
    {
        return Some(format!(
            "invalid bucket name {}: the suffix {} is reserved by Amazon S3",
            q(name),
            q(sfx)
        ));
    }
    None
}

/// Check a finished policy document: a JSON object of at most
/// [`MAX_POLICY_CHARS`] characters when serialized compactly.
pub fn document_problem(doc: &Value) -> Option<String> {
    if !doc.is_object() {
        let kind = match doc {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        };
        return Some(format!(
            "a policy document must be a JSON object (with Version and Statement), found {kind}"
        ));
    }
    let chars = serde_json::to_string(doc)
        .map(|s| s.chars().count())
        .unwrap_or(usize::MAX);
    if chars > MAX_POLICY_CHARS {
        return Some(format!(
            "the policy document is {chars} characters long as compact JSON; endpoint policies are limited to {MAX_POLICY_CHARS}"
        ));
    }
    None
}

/// Parse JSON text given inline as `document: "…"`.
pub(crate) fn parse_json_text(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("the policy document string is not valid JSON: {e}"))
}

/// Read a policy file (`file:` relative to the plan's directory) and parse it
/// as JSON, or as YAML if it is not JSON.
pub(crate) fn read_file(written: &str, base_dir: &Path) -> Result<Value, String> {
    if written.is_empty() {
        return Err("the policy file path is empty".to_string());
    }
    let p = Path::new(written);
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    };
    let shown = clip(&full.display().to_string());
    let mut bytes = Vec::new();
    std::fs::File::open(&full)
        .and_then(|f| f.take(MAX_POLICY_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read policy file {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_POLICY_FILE_BYTES {
        return Err(format!(
            "policy file {shown} is larger than {MAX_POLICY_FILE_BYTES} bytes"
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        format!(
            "policy file {shown} is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        )
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let node = tree::parse(text).map_err(|(pos, msg)| {
                let at = pos
                    .map(|p| format!(" at line {} column {}", p.line, p.column))
                    .unwrap_or_default();
                format!("policy file {shown} is neither JSON ({json_err}) nor YAML ({msg}{at})")
            })?;
            node.to_json(text).map_err(|(pos, msg)| {
                let at = pos
                    .map(|p| format!(" at line {} column {}", p.line, p.column))
                    .unwrap_or_default();
                format!("policy file {shown}: {msg}{at}")
            })
        }
    }
}
