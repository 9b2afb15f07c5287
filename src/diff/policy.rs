//! Endpoint policies are compared as parsed JSON, never as text, so that
//! key order, whitespace and equivalent spellings never show a false change.

use serde_json::{json, Value};

/// AWS's default endpoint policy: full access to everything.
pub fn default_policy() -> Value {
    json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
}

/// Normalises spellings IAM treats as equal: a lone statement object and a
/// one-element list, a string and a one-element list of strings under
/// Action/Resource and friends. Object key order never matters to `Value`
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
                        if let Some(Value::Array(a)) = s.get(key) {
                            if a.len() == 1 {
                                let one = a[0].clone();
                                s.insert(key.to_string(), one);
                            }
                        }
                    }
                }
            }
        }
    }
    v
}

fn is_default(v: Option<&Value>) -> bool {
    match v {
        None => true,
        Some(p) => normalize_policy(p) == normalize_policy(&default_policy()),
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
    fn none_matches_the_default_document() {
        assert!(policies_equal(None, Some(&default_policy())));
        assert!(policies_equal(None, None));
        let narrow = json!({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Principal":"*"}]});
        assert!(!policies_equal(None, Some(&narrow)));
        assert!(!policies_equal(Some(&narrow), None));
    }
}
