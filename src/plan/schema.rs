//! The plan schema: which keys each object of a plan file has, and the raw,
//! position-carrying structs the YAML tree is decoded into.
//!
//! Decoding checks shape only (mapping vs list vs scalar, unknown keys,
//! duplicate names); every semantic rule lives in `validate`. Decoding never
//! stops at the first problem: a value of the wrong shape is reported and
//! left out, and the rest of the file is still decoded.

use std::collections::BTreeMap;

use super::error::{key_segment, q, Pos, Sink};
use super::tree::{Node, Yaml};

/// Keys of the top level.
pub const PLAN_KEYS: &[&str] = &["version", "name", "tags", "vpcs", "endpoints", "peerings"];
/// Keys of a VPC.
pub const VPC_KEYS: &[&str] = &["region", "cidr", "id", "subnets", "route_tables"];
/// Keys of a subnet.
pub const SUBNET_KEYS: &[&str] = &["az", "cidr", "id"];
/// Keys of a route table.
pub const ROUTE_TABLE_KEYS: &[&str] = &["subnets", "id"];
/// Keys of an endpoint.
pub const ENDPOINT_KEYS: &[&str] = &[
    "vpc",
    "type",
    "service",
    "route_tables",
    "subnets",
    "security_group",
    "security_groups",
    "private_dns",
    "policy",
];
/// Endpoint keys that only a gateway endpoint takes.
pub const GATEWAY_ONLY_KEYS: &[&str] = &["route_tables"];
/// Endpoint keys that only an interface endpoint takes.
pub const INTERFACE_ONLY_KEYS: &[&str] = &["subnets", "security_group", "security_groups", "private_dns"];
/// Keys of an endpoint's `security_group`.
pub const SECURITY_GROUP_KEYS: &[&str] = &["allow_https_from"];
/// Keys of an endpoint's `policy`.
pub const POLICY_KEYS: &[&str] = &["allow_buckets", "document", "file"];
/// Keys of a peering.
pub const PEERING_KEYS: &[&str] = &["requester", "accepter", "routes"];

/// Key path segments longer than this (more than any valid name or tag key)
/// are shortened in key paths, so that errors never echo megabytes.
const MAX_KEY_SEGMENT_CHARS: usize = 128;

/// A decoded value with the position of the value and, for a mapping
/// entry, of its key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sp<T> {
    pub v: T,
    pub pos: Option<Pos>,
    pub key_pos: Option<Pos>,
}

/// A list of strings as written, each with its position.
pub(crate) type StrList = Sp<Vec<Sp<String>>>;

/// An entry of a map keyed by name (VPCs, subnets, endpoints, …).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Named<T> {
    /// The name and the position of the name.
    pub name: Sp<String>,
    /// Dotted key path of this entry, e.g. `vpcs.seoul`.
    pub path: String,
    /// The decoded body; `None` when its shape was wrong (already reported).
    pub body: Option<T>,
}

/// The `version` value: the integer if it is one, and its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Version {
    pub int: Option<i128>,
    pub text: String,
}

/// The top level of a plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawPlan {
    /// Where the top-level mapping starts (its first key; 1:1 when it has
    /// none): where a missing top-level key is reported.
    pub pos: Option<Pos>,
    /// Dotted key path → position, for every mapping key decoded (the key's
    /// position) and every list item (`path[i]`, the item's position).
    pub positions: BTreeMap<String, Pos>,
    pub version: Option<Sp<Version>>,
    pub name: Option<Sp<String>>,
    pub tags: Vec<(Sp<String>, Option<Sp<String>>)>,
    pub vpcs: Option<Sp<Vec<Named<RawVpc>>>>,
    pub endpoints: Vec<Named<RawEndpoint>>,
    pub peerings: Vec<Named<RawPeering>>,
}

/// A VPC as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawVpc {
    pub region: Option<Sp<String>>,
    pub cidr: Option<Sp<String>>,
    pub id: Option<Sp<String>>,
    pub subnets: Vec<Named<RawSubnet>>,
    pub route_tables: Vec<Named<RawRouteTable>>,
}

/// A subnet as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawSubnet {
    pub az: Option<Sp<String>>,
    pub cidr: Option<Sp<String>>,
    pub id: Option<Sp<String>>,
}

/// A route table as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawRouteTable {
    pub subnets: Option<StrList>,
    pub id: Option<Sp<String>>,
}

/// An endpoint as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawEndpoint {
    pub vpc: Option<Sp<String>>,
    pub kind: Option<Sp<String>>,
    pub service: Option<Sp<String>>,
    pub route_tables: Option<StrList>,
    pub subnets: Option<StrList>,
    /// `Sp<None>` when present but of the wrong shape (already reported).
    pub security_group: Option<Sp<Option<RawSecurityGroup>>>,
    pub security_groups: Option<StrList>,
    pub private_dns: Option<Sp<Option<bool>>>,
    pub policy: Option<Sp<Option<RawPolicy>>>,
}

/// An endpoint's `security_group` as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawSecurityGroup {
    pub allow_https_from: Option<StrList>,
}

/// `policy.document`: a mapping (already JSON) or a string of JSON text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawDocument {
    Json(serde_json::Value),
    Text(String),
}

/// An endpoint's `policy` as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawPolicy {
    pub allow_buckets: Option<StrList>,
    /// `Sp<None>` when present but not convertible (already reported).
    pub document: Option<Sp<Option<RawDocument>>>,
    pub file: Option<Sp<String>>,
}

/// A peering as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawPeering {
    pub requester: Option<Sp<String>>,
    pub accepter: Option<Sp<String>>,
    /// VPC name → route tables; the list is `None` when of the wrong shape.
    pub routes: Vec<Named<StrList>>,
}

/// `path.seg`, or `seg` at the top; control characters escaped, and a
/// segment longer than any valid name shortened to its first 60 characters
/// and `…`.
pub(crate) fn join(path: &str, seg: &str) -> String {
    let seg = key_segment(seg, MAX_KEY_SEGMENT_CHARS);
    if path.is_empty() {
        seg
    } else {
        format!("{path}.{seg}")
    }
}

/// The entries of a mapping whose keys were checked against a schema.
struct Obj<'n> {
    path: String,
    entries: Vec<(String, Option<Pos>, &'n Node)>,
}

impl<'n> Obj<'n> {
    fn get(&self, key: &str) -> Option<(String, Option<Pos>, &'n Node)> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(k, p, n)| (join(&self.path, k), *p, *n))
    }
}

/// Decodes a YAML tree into the raw plan, reporting shape errors.
pub(crate) struct Decoder<'a> {
    src: &'a str,
    sink: &'a mut Sink,
    /// Positions of the keys and list items decoded so far.
    positions: BTreeMap<String, Pos>,
}

impl<'a> Decoder<'a> {
    /// A decoder for a tree parsed from `src`, reporting into `sink`.
    pub(crate) fn new(src: &'a str, sink: &'a mut Sink) -> Self {
        Decoder {
            src,
            sink,
            positions: BTreeMap::new(),
        }
    }

    /// Remember where the key or list item at `path` was written (the first
    /// place wins).
    fn mark(&mut self, path: String, pos: Option<Pos>) {
        if let Some(pos) = pos {
            self.positions.entry(path).or_insert(pos);
        }
    }

    /// A mapping with string keys, each one of `allowed`.
    fn obj<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Obj<'n>> {
        let Yaml::Map(entries) = &node.value else {
            self.sink.at(
                path,
                node.pos,
                format!(
                    "expected a mapping with keys {}, found {}",
                    allowed.join(", "),
                    node.kind()
                ),
            );
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(key) = self.key_text(k, path) else {
                continue;
            };
            if allowed.contains(&key.as_str()) {
                if out.iter().any(|(o, _, _)| *o == key) {
                    self.sink
                        .at(&join(path, &key), k.pos, "duplicate key".to_string());
                    continue;
                }
                self.mark(join(path, &key), k.pos);
                out.push((key, k.pos, v));
            } else {
                self.sink.at(
                    &join(path, &key),
                    k.pos,
                    format!(
                        "unknown key {}; allowed keys here: {}",
                        q(&key),
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(Obj {
            path: path.to_string(),
            entries: out,
        })
    }

    /// The text of a mapping key; keys must be scalars.
    fn key_text(&mut self, k: &Node, path: &str) -> Option<String> {
        match k.text(self.src) {
            Some(t) => Some(t),
            None => {
                self.sink.at(
                    path,
                    k.pos,
                    format!("mapping keys must be strings, found {}", k.kind()),
                );
                None
            }
        }
    }

    /// A map keyed by name (null counts as empty). Names must be unique.
    fn named<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Vec<(Sp<String>, String, &'n Node)> {
        let entries = match &node.value {
            Yaml::Null => return Vec::new(),
            Yaml::Map(e) => e,
            _ => {
                self.sink.at(
                    path,
                    node.pos,
                    format!(
                        "expected a mapping of {what} name to {what}, found {}",
                        node.kind()
                    ),
                );
                return Vec::new();
            }
        };
        let mut out: Vec<(Sp<String>, String, &'n Node)> = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.key_text(k, path) else {
                continue;
            };
            let sub = join(path, &name);
            if out.iter().any(|(n, _, _)| n.v == name) {
                self.sink
                    .at(&sub, k.pos, format!("duplicate {what} name {}", q(&name)));
                continue;
            }
            self.mark(sub.clone(), k.pos);
            out.push((
                Sp {
                    v: name,
                    pos: k.pos,
                    key_pos: k.pos,
                },
                sub,
                v,
            ));
        }
        out
    }

    /// A string (numbers and booleans are taken as written).
    fn string(&mut self, field: Option<(String, Option<Pos>, &Node)>) -> Option<Sp<String>> {
        let (path, key_pos, node) = field?;
        match node.text(self.src) {
            Some(v) => Some(Sp {
                v,
                pos: node.pos,
                key_pos,
            }),
            None => {
                self.sink.at(
                    &path,
                    node.pos,
                    format!("expected a string, found {}", node.kind()),
                );
                None
            }
        }
    }

    /// A list of strings (null counts as empty). Bad items are reported and left out.
    fn string_list(&mut self, path: &str, key_pos: Option<Pos>, node: &Node) -> Option<StrList> {
        let items = match &node.value {
            Yaml::Null => &[][..],
            Yaml::Seq(items) => &items[..],
            _ => {
                self.sink.at(
                    path,
                    node.pos,
                    format!("expected a list of strings, found {}", node.kind()),
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            self.mark(format!("{path}[{i}]"), item.pos);
            match item.text(self.src) {
                Some(v) => out.push(Sp {
                    v,
                    pos: item.pos,
                    key_pos: None,
                }),
                None => self.sink.at(
                    path,
                    item.pos,
                    format!("list entries must be strings, found {}", item.kind()),
                ),
            }
        }
        Some(Sp {
            v: out,
            pos: node.pos,
            key_pos,
        })
    }

    fn list_field(&mut self, field: Option<(String, Option<Pos>, &Node)>) -> Option<StrList> {
        let (path, key_pos, node) = field?;
        self.string_list(&path, key_pos, node)
    }

    /// Decode a whole plan. The root must be a mapping.
    pub(crate) fn plan(&mut self, root: &Node) -> Option<RawPlan> {
        let start = Pos { line: 1, column: 1 };
        if root.value == Yaml::Null {
            self.sink.at(
                "",
                Some(root.pos.unwrap_or(start)),
                "the plan is empty; it needs at least `version`, `name` and `vpcs`",
            );
            return None;
        }
        let first_key = match &root.value {
            Yaml::Map(entries) => entries.first().and_then(|(k, _)| k.pos),
            _ => None,
        };
        let mut plan = RawPlan {
            pos: Some(first_key.or(root.pos).unwrap_or(start)),
            ..RawPlan::default()
        };
        let obj = self.obj(root, "", PLAN_KEYS)?;
        if let Some((_, key_pos, node)) = obj.get("version") {
            let int = match node.value {
                Yaml::Int(i) => Some(i),
                _ => None,
            };
            let text = node.text(self.src).unwrap_or_else(|| node.kind().to_string());
            plan.version = Some(Sp {
                v: Version { int, text },
                pos: node.pos,
                key_pos,
            });
        }
        plan.name = self.string(obj.get("name"));
        if let Some((path, _, node)) = obj.get("tags") {
            for (k, sub, v) in self.named(node, &path, "tag") {
                let value = self.string(Some((sub, k.pos, v)));
                plan.tags.push((k, value));
            }
        }
        if let Some((path, key_pos, node)) = obj.get("vpcs") {
            let vpcs = self
                .named(node, &path, "VPC")
                .into_iter()
                .map(|(name, sub, n)| Named {
                    body: self.vpc(n, &sub),
                    name,
                    path: sub,
                })
                .collect();
            plan.vpcs = Some(Sp {
                v: vpcs,
                pos: node.pos,
                key_pos,
            });
        }
        if let Some((path, _, node)) = obj.get("endpoints") {
            plan.endpoints = self
                .named(node, &path, "endpoint")
                .into_iter()
                .map(|(name, sub, n)| Named {
                    body: self.endpoint(n, &sub),
                    name,
                    path: sub,
                })
                .collect();
        }
        if let Some((path, _, node)) = obj.get("peerings") {
            plan.peerings = self
                .named(node, &path, "peering")
                .into_iter()
                .map(|(name, sub, n)| Named {
                    body: self.peering(n, &sub),
                    name,
                    path: sub,
                })
                .collect();
        }
        plan.positions = std::mem::take(&mut self.positions);
        Some(plan)
    }

    fn vpc(&mut self, node: &Node, path: &str) -> Option<RawVpc> {
        let obj = self.obj(node, path, VPC_KEYS)?;
        let mut vpc = RawVpc {
            region: self.string(obj.get("region")),
            cidr: self.string(obj.get("cidr")),
            id: self.string(obj.get("id")),
            ..RawVpc::default()
        };
        if let Some((p, _, n)) = obj.get("subnets") {
            vpc.subnets = self
                .named(n, &p, "subnet")
                .into_iter()
                .map(|(name, sub, n)| Named {
                    body: self.subnet(n, &sub),
                    name,
                    path: sub,
                })
                .collect();
        }
        if let Some((p, _, n)) = obj.get("route_tables") {
            vpc.route_tables = self
                .named(n, &p, "route table")
                .into_iter()
                .map(|(name, sub, n)| Named {
                    body: self.route_table(n, &sub),
                    name,
                    path: sub,
                })
                .collect();
        }
        Some(vpc)
    }

    fn subnet(&mut self, node: &Node, path: &str) -> Option<RawSubnet> {
        let obj = self.obj(node, path, SUBNET_KEYS)?;
        Some(RawSubnet {
            az: self.string(obj.get("az")),
            cidr: self.string(obj.get("cidr")),
            id: self.string(obj.get("id")),
        })
    }

    fn route_table(&mut self, node: &Node, path: &str) -> Option<RawRouteTable> {
        let obj = self.obj(node, path, ROUTE_TABLE_KEYS)?;
        Some(RawRouteTable {
            subnets: self.list_field(obj.get("subnets")),
            id: self.string(obj.get("id")),
        })
    }

    fn endpoint(&mut self, node: &Node, path: &str) -> Option<RawEndpoint> {
        let obj = self.obj(node, path, ENDPOINT_KEYS)?;
        let mut ep = RawEndpoint {
            vpc: self.string(obj.get("vpc")),
            kind: self.string(obj.get("type")),
            service: self.string(obj.get("service")),
            route_tables: self.list_field(obj.get("route_tables")),
            subnets: self.list_field(obj.get("subnets")),
            security_groups: self.list_field(obj.get("security_groups")),
            ..RawEndpoint::default()
        };
        if let Some((p, key_pos, n)) = obj.get("private_dns") {
            let v = match n.value {
                Yaml::Bool(b) => Some(b),
                _ => {
                    self.sink
                        .at(&p, n.pos, format!("expected true or false, found {}", n.kind()));
                    None
                }
            };
            ep.private_dns = Some(Sp {
                v,
                pos: n.pos,
                key_pos,
            });
        }
        if let Some((p, key_pos, n)) = obj.get("security_group") {
            let v = self.obj(n, &p, SECURITY_GROUP_KEYS).map(|o| RawSecurityGroup {
                allow_https_from: self.list_field(o.get("allow_https_from")),
            });
            ep.security_group = Some(Sp {
                v,
                pos: n.pos,
                key_pos,
            });
        }
        if let Some((p, key_pos, n)) = obj.get("policy") {
            let v = self.policy(n, &p);
            ep.policy = Some(Sp {
                v,
                pos: n.pos,
                key_pos,
            });
        }
        Some(ep)
    }

    fn policy(&mut self, node: &Node, path: &str) -> Option<RawPolicy> {
        let obj = self.obj(node, path, POLICY_KEYS)?;
        let mut policy = RawPolicy {
            allow_buckets: self.list_field(obj.get("allow_buckets")),
            file: self.string(obj.get("file")),
            document: None,
        };
        if let Some((p, key_pos, n)) = obj.get("document") {
            let v = match &n.value {
                Yaml::Str(s) => Some(RawDocument::Text(s.clone())),
                Yaml::Map(_) => match n.to_json(self.src) {
                    Ok(v) => Some(RawDocument::Json(v)),
                    Err((pos, msg)) => {
                        self.sink.at(&p, pos, msg);
                        None
                    }
                },
                _ => {
                    self.sink.at(
                        &p,
                        n.pos,
                        format!(
                            "expected a policy document (a mapping, or a string of JSON), found {}",
                            n.kind()
                        ),
                    );
                    None
                }
            };
            policy.document = Some(Sp {
                v,
                pos: n.pos,
                key_pos,
            });
        }
        Some(policy)
    }

    fn peering(&mut self, node: &Node, path: &str) -> Option<RawPeering> {
        let obj = self.obj(node, path, PEERING_KEYS)?;
        let mut peering = RawPeering {
            requester: self.string(obj.get("requester")),
            accepter: self.string(obj.get("accepter")),
            routes: Vec::new(),
        };
        if let Some((p, _, n)) = obj.get("routes") {
            peering.routes = self
                .named(n, &p, "VPC")
                .into_iter()
                .map(|(name, sub, n)| Named {
                    body: self.string_list(&sub, name.pos, n),
                    name,
                    path: sub,
                })
                .collect();
        }
        Some(peering)
    }
}
