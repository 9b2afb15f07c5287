//! The YAML layer: parses text into a tree of nodes that know where they
//! were written, with serde-saphyr doing the parsing under hard limits.
//!
//! Parsing into a generic, position-carrying tree first (instead of straight
//! into typed structs) lets the schema layer name the full key path and the
//! line and column of every problem, report unknown keys with the allowed
//! ones, and keep going after the first type error.
//!
//! Hostile input is bounded here: alias replay, nesting depth, node and event
//! counts, scalar bytes and document count are all capped (see [`options`]),
//! so alias bombs and deep nesting fail fast without unbounded memory or
//! stack. Duplicate mapping keys are errors.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, MessageFormatter, Spanned};

use super::error::{shorten_message, Pos};

/// Maximum nesting of sequences and mappings. A plan needs about 6 levels,
/// a policy document a few more.
pub(crate) const MAX_DEPTH: usize = 48;
/// Maximum number of YAML nodes (scalars, sequences, mappings).
pub(crate) const MAX_NODES: usize = 50_000;

/// A YAML value; children carry their own positions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Yaml,
    /// Where the value is used (for an alias: the `*alias` token).
    pub pos: Option<Pos>,
    /// Byte range of the defining scalar in the source, for non-string
    /// scalars whose text we may need verbatim (`0123`, `1e3`).
    raw: Option<(usize, usize)>,
}

fn pos_of(l: &Location) -> Option<Pos> {
    if l.line() == 0 {
        return None;
    }
    Some(Pos {
        line: usize::try_from(l.line()).unwrap_or(usize::MAX),
        column: usize::try_from(l.column()).unwrap_or(usize::MAX),
    })
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Yaml>::deserialize(d)?;
        let span = s.defined.span();
        let raw = match (span.byte_offset(), span.byte_len()) {
            (Some(o), Some(l)) => usize::try_from(o)
                .ok()
                .zip(usize::try_from(l).ok())
                .and_then(|(o, l)| Some((o, o.checked_add(l)?))),
            _ => None,
        };
        Ok(Node {
            value: s.value,
            pos: pos_of(&s.referenced),
            raw,
        })
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Yaml, E> {
        i128::try_from(v)
            .map(Yaml::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(v))
    }
    fn visit_char<E>(self, v: char) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Yaml, E> {
        String::from_utf8(v.to_vec())
            .map(Yaml::Str)
            .map_err(|_| E::custom("binary value is not UTF-8 text"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Yaml::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Node>()? {
            let v = map.next_value::<Node>()?;
            entries.push((k, v));
        }
        Ok(Yaml::Map(entries))
    }
}

impl Node {
    /// What kind of value this is, for messages ("a mapping", "null", …).
    pub(crate) fn kind(&self) -> &'static str {
        match self.value {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) | Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar as written: strings as parsed, numbers and
    /// booleans verbatim from the source (so `0123` stays `0123`).
    /// `None` for null, lists and mappings.
    pub(crate) fn text(&self, src: &str) -> Option<String> {
        let verbatim = || self.raw.and_then(|(a, b)| src.get(a..b)).map(str::to_string);
        match &self.value {
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Bool(b) => Some(verbatim().unwrap_or_else(|| b.to_string())),
            Yaml::Int(i) => Some(verbatim().unwrap_or_else(|| i.to_string())),
            Yaml::Float(f) => Some(verbatim().unwrap_or_else(|| f.to_string())),
            Yaml::Null | Yaml::Seq(_) | Yaml::Map(_) => None,
        }
    }

    /// Convert to JSON. Mapping keys must be scalars (they become strings);
    /// floats must be finite. Errors give the offending node's position.
    pub(crate) fn to_json(&self, src: &str) -> Result<serde_json::Value, (Option<Pos>, String)> {
        use serde_json::Value;
        Ok(match &self.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    Value::from(v)
                } else {
                    return Err((self.pos, "integer out of range for JSON".to_string()));
                }
            }
            Yaml::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or_else(|| (self.pos, "number is not finite".to_string()))?,
            Yaml::Str(s) => Value::String(s.clone()),
            Yaml::Seq(items) => Value::Array(items.iter().map(|n| n.to_json(src)).collect::<Result<_, _>>()?),
            Yaml::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    let key = k.text(src).ok_or_else(|| {
                        (k.pos, format!("mapping keys must be strings, found {}", k.kind()))
                    })?;
                    if m.contains_key(&key) {
                        return Err((k.pos, format!("duplicate key {}", super::error::q(&key))));
                    }
                    m.insert(key, v.to_json(src)?);
                }
                Value::Object(m)
            }
        })
    }
}

/// serde-saphyr options used for every YAML text s3ep reads.
pub(crate) fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(super::load::MAX_PLAN_BYTES),
            flow_nesting_limit: MAX_DEPTH,
            max_depth: MAX_DEPTH,
            max_events: 4 * MAX_NODES,
            max_nodes: MAX_NODES,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_recorded_anchor_events: 100_000,
            max_recorded_anchor_bytes: 2 * 1024 * 1024,
            max_documents: 1,
            max_total_scalar_bytes: 2 * 1024 * 1024,
            max_merge_keys: 1_000,
            max_inclusion_depth: 0,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 4 * MAX_NODES,
            max_replay_stack_depth: 16,
        },
        emit_comments: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    }
}

/// Parse one YAML document. An empty document is `Yaml::Null`.
pub(crate) fn parse(text: &str) -> Result<Node, (Option<Pos>, String)> {
    match serde_saphyr::from_str_with_options::<Option<Node>>(text, options()) {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Ok(Node {
            value: Yaml::Null,
            pos: None,
            raw: None,
        }),
        Err(e) => {
            let pos = e.location().as_ref().and_then(pos_of);
            let mut inner = &e;
            while let serde_saphyr::Error::AliasError { error, .. }
            | serde_saphyr::Error::WithSnippet { error, .. } = inner
            {
                inner = error;
            }
            let msg = match inner {
                serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
                other => serde_saphyr::UserMessageFormatter
                    .format_message(other)
                    .into_owned(),
            };
            let msg: String = msg
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            Err((pos, format!("invalid YAML: {}", shorten_message(&msg))))
        }
    }
}

/// A user-facing message for a breached parsing limit.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Documents { .. } => {
            "a plan file holds a single YAML document; found another one after `---`".to_string()
        }
        B::Depth { .. } => format!("nested deeper than {MAX_DEPTH} levels"),
        B::Nodes { .. } | B::Events { .. } => {
            format!("more than {MAX_NODES} values; this is not a plan")
        }
        B::Aliases { .. } | B::Anchors { .. } | B::AliasAnchorRatio { .. } => {
            "too many anchors or aliases".to_string()
        }
        other => format!("the document is too large or too complex ({other:?})"),
    }
}
