//! Endpoint policies are compared as parsed JSON, never as text, so that
//! key order, whitespace and equivalent spellings never show a false change.

use serde_json::{json, Value};

/// AWS's default endpoint policy: full access to everything.
pub fn default_policy() -> Value {
    json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
}

/// Normalises spellings IAM treats as equal: a lone statement object and a
/// one-element list; under Action/Resource and friends, a string and a
/// one-element list, and the order of a list; `"Principal": {"AWS": "*"}`
/// and `"Principal": "*"`. Object key order never matters to `Value`
/// equality.
pub fn normalize_policy(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        if let Some(st) = obj.get_mut("Statement") {
            if st.is_object() {
                *st = Value::Array(vec![st.take()]);
            }
            if let Some(items) = st.as_array_mut() {
                for s in items.iter_mut().filter_map(Value::as_object_mut) {
                    for key in ["Action", "NotAction", "Resource", "NotResource"] {
                        if let Some(Value::Array(a)) = s.get_mut(key) {
                            a.sort_by_key(|x| x.to_string());
                            a.dedup();
                            if a.len() == 1 {
                                let one = a[0].clone();
                                s.insert(key.to_string(), one);
                            }
                        }
                    }
                    if s.get("Principal") == Some(&serde_json::json!({"AWS": "*"})) {
                        s.insert("Principal".to_string(), Value::String("*".into()));
                    }
                }
            }
        }
    }
    v
}

/// Whether a policy is AWS's default (full access). The default reads back
/// with or without `"Version"`, depending on the endpoint type.
fn is_default(v: Option<&Value>) -> bool {
    let statements = |p: &Value| normalize_policy(p).get("Statement").cloned();
    match v {
        None => true,
        Some(p) => statements(p) == statements(&default_policy()),
    }
}

/// Whether the plan's policy (`None`: AWS default) equals the live one.
pub fn policies_equal(desired: Option<&Value>, live: Option<&Value>) -> bool {
    match (desired, live) {
        (None, l) => is_default(l),
        (Some(d), None) => is_default(Some(d)),
        (Some(d), Some(l)) => normalize_policy(d) == normalize_policy(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_lone_statement_are_equal() {
        let a = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*","Principal":"*"}]});
        let b = json!({"Statement":{"Principal":"*","Resource":["*"],"Action":"s3:*","Effect":"Allow"},"Version":"2012-10-17"});
        assert!(policies_equal(Some(&a), Some(&b)));
    }

    #[test]
    fn list_order_and_principal_spelling_are_equal() {
        let a = json!({"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["arn:aws:s3:::a","arn:aws:s3:::a/*"]}]});
        let b = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::a/*","arn:aws:s3:::a"]}]});
        assert!(policies_equal(Some(&a), Some(&b)));
        let c = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b"]}]});
        assert!(!policies_equal(Some(&a), Some(&c)));
    }

    #[test]
    fn default_without_version_is_the_default() {
        let v = json!({"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]});
        assert!(policies_equal(None, Some(&v)));
    }

    #[test]
    fn none_matches_the_default_document() {
        assert!(policies_equal(None, Some(&default_policy())));
        assert!(policies_equal(None, None));
        let narrow = json!({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Principal":"*"}]});
        assert!(!policies_equal(None, Some(&narrow)));
        assert!(!policies_equal(Some(&narrow), None));
    }
}
