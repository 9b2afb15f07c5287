//! `s3ep schema`: the plan format as a JSON Schema (draft 2020-12), made
//! from the key tables the decoder itself reads (`schema::PLAN` and the
//! tables it refers to), so the two cannot drift apart. What the schema
//! cannot say (references between names, CIDR containment and overlap,
//! one subnet per AZ, …) is left to `s3ep validate`.

use serde_json::{json, Map, Value};

use super::schema::{Field, Shape, Text, Ty, PLAN, SHAPES};

/// The `$schema` this generator writes.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of a plan file.
pub fn json_schema() -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), json!(DIALECT));
    root.insert("title".into(), json!("s3ep plan (format version 1)"));
    root.extend(object(&PLAN));
    let defs: Map<String, Value> = SHAPES
        .iter()
        .map(|s| (s.name.to_string(), Value::Object(object(s))))
        .collect();
    root.insert("$defs".into(), Value::Object(defs));
    Value::Object(root)
}

/// `s3ep schema`'s output: the schema, pretty-printed, with a final newline.
pub fn json_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}

fn object(shape: &Shape) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("description".into(), json!(shape.description));
    m.insert("type".into(), json!("object"));
    let props: Map<String, Value> = shape
        .fields
        .iter()
        .map(|f| (f.key.to_string(), field(f)))
        .collect();
    m.insert("properties".into(), Value::Object(props));
    let required: Vec<&str> = shape
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.key)
        .collect();
    if !required.is_empty() {
        m.insert("required".into(), json!(required));
    }
    m.insert("additionalProperties".into(), json!(false));
    let mut all_of = Vec::new();
    if !shape.exclusive.is_empty() {
        // Exactly one group, whole, and nothing of the other groups.
        let branches: Vec<Value> = shape
            .exclusive
            .iter()
            .map(|group| {
                let others: Map<String, Value> = shape
                    .exclusive
                    .iter()
                    .flat_map(|g| g.iter())
                    .filter(|k| !group.contains(k))
                    .map(|k| (k.to_string(), json!(false)))
                    .collect();
                json!({"required": group, "properties": others})
            })
            .collect();
        all_of.push(json!({ "oneOf": branches }));
    }
    if let Some(d) = shape.discriminator {
        let values = shape
            .field(d)
            .and_then(|f| match f.ty {
                Ty::Text(t) => Some(t.values),
                _ => None,
            })
            .unwrap_or(&[]);
        for v in values {
            let forbidden: Map<String, Value> = shape
                .fields
                .iter()
                .filter(|f| !f.only_for.is_empty() && !f.only_for.contains(v))
                .map(|f| (f.key.to_string(), json!(false)))
                .collect();
            let required: Vec<&str> = shape
                .fields
                .iter()
                .filter(|f| f.required_for.contains(v))
                .map(|f| f.key)
                .collect();
            let mut then = Map::new();
            if !forbidden.is_empty() {
                then.insert("properties".into(), Value::Object(forbidden));
            }
            if !required.is_empty() {
                then.insert("required".into(), json!(required));
            }
            if then.is_empty() {
                continue;
            }
            all_of.push(json!({
                "if": {"properties": {d: {"const": v}}, "required": [d]},
                "then": then,
            }));
        }
    }
    if !all_of.is_empty() {
        m.insert("allOf".into(), Value::Array(all_of));
    }
    m
}

fn field(f: &Field) -> Value {
    let mut v = ty(&f.ty);
    if let Value::Object(m) = &mut v {
        m.insert("description".into(), json!(f.description));
    }
    v
}

fn ty(t: &Ty) -> Value {
    match t {
        Ty::IntConst(n) => json!({"type": "integer", "const": n}),
        Ty::IntRange { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Ty::Text(t) => text(t),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::List { item, min_items } => {
            let mut m = Map::new();
            m.insert("type".into(), nullable("array", *min_items));
            m.insert("items".into(), text(item));
            if *min_items > 0 {
                m.insert("minItems".into(), json!(min_items));
            }
            m.insert("uniqueItems".into(), json!(true));
            Value::Object(m)
        }
        Ty::Map {
            names,
            value,
            min_entries,
        } => {
            let mut m = Map::new();
            m.insert("type".into(), nullable("object", *min_entries));
            m.insert("propertyNames".into(), text(names));
            m.insert("additionalProperties".into(), ty(value));
            if *min_entries > 0 {
                m.insert("minProperties".into(), json!(min_entries));
            }
            Value::Object(m)
        }
        Ty::Object(shape) => json!({"$ref": format!("#/$defs/{}", shape.name)}),
        Ty::Document => json!({
            "type": ["object", "string"],
            "description": "an IAM policy document: a mapping, or a string of JSON",
        }),
        Ty::AnyOf(options) => json!({"anyOf": options.iter().map(ty).collect::<Vec<_>>()}),
    }
}

/// The decoder reads `null` as an empty list or mapping; one that must not
/// be empty cannot be `null` either.
fn nullable(kind: &str, min: usize) -> Value {
    if min > 0 {
        json!(kind)
    } else {
        json!([kind, "null"])
    }
}

fn text(t: &Text) -> Value {
    let mut m = Map::new();
    m.insert("description".into(), json!(t.description));
    m.insert(
        "type".into(),
        match t.types {
            [one] => json!(one),
            many => json!(many),
        },
    );
    if !t.values.is_empty() {
        m.insert("enum".into(), json!(t.values));
    }
    if let Some(p) = t.pattern {
        m.insert("pattern".into(), json!(p));
    }
    if let Some(p) = t.not_pattern {
        m.insert("not".into(), json!({"pattern": p}));
    }
    if let Some(n) = t.max_len {
        m.insert("maxLength".into(), json!(n));
    }
    Value::Object(m)
}
