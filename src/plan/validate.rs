//! Semantic validation: turns a decoded [`RawPlan`] into a [`Desired`],
//! checking every rule of PLAN-FORMAT.md that needs no AWS call.
//!
//! All problems are collected (each with its key path and, where it has a
//! place in the file, line and column); a `Desired` is produced only when
//! there are none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::error::{clip, q, Pos, Sink};
use super::policy;
use super::schema::{
    join, Named, RawDocument, RawEndpoint, RawPeering, RawPlan, RawPolicy, RawPrivateDns, RawVpc, Sp, StrList,
};
use crate::model::{
    cidrs_overlap, DEndpoint, DPeering, DRouteTable, DSecurityGroup, DSubnet, DVpc, Desired, DnsRecordIpType,
    EndpointKind, EndpointType, HttpsRule, HttpsSource, IpAddressType, Origin, PrivateDns, Ref,
    RouteTableSpec, Source, SubnetSpec,
};

/// Longest tag key AWS accepts, in characters.
pub const MAX_TAG_KEY_CHARS: usize = 127;
/// Longest tag value AWS accepts, in characters.
pub const MAX_TAG_VALUE_CHARS: usize = 255;

/// Whether `s` is a valid plan, VPC, subnet, route table, endpoint or
/// peering name: `^[a-z0-9][a-z0-9-]{0,39}$`.
pub fn is_valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A service name without its partition prefix: (region, service), so
/// that `cn.com.amazonaws.cn-north-1.s3` (interface) and
/// `com.amazonaws.cn-north-1.s3` (gateway) are the same service.
fn service_identity(full: &str) -> Option<(String, String)> {
    let region = crate::model::service_region(full)?;
    let (_, rest) = full.split_once(&format!("{region}."))?;
    Some((region.to_string(), rest.to_string()))
}

/// Whether `s` is shaped like an AWS region: `^[a-z]{2}(-[a-z]+)+-\d+$`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((last, rest)) = parts.split_last() else {
        return false;
    };
    let Some((first, middle)) = rest.split_first() else {
        return false;
    };
    first.len() == 2
        && first.bytes().all(|c| c.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|m| !m.is_empty() && m.bytes().all(|c| c.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|c| c.is_ascii_digit())
}

/// Whether `s` is `prefix` followed by 8 to 17 lowercase hex digits
/// (`vpc-`, `subnet-`, `rtb-`, `sg-` ids).
pub fn is_aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        (8..=17).contains(&hex.len())
            && hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

const NAME_RULE: &str =
    "names are 1 to 40 lowercase letters, digits and hyphens, starting with a letter or digit";

/// Most names a message lists before saying how many more there are.
const MAX_LISTED: usize = 20;

/// `a, b, c` (each shortened like [`clip`], at most [`MAX_LISTED`] of them),
/// or `none`.
fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    let mut out: Vec<String> = names.iter().take(MAX_LISTED).map(|n| clip(n)).collect();
    if names.len() > MAX_LISTED {
        out.push(format!("and {} more", names.len() - MAX_LISTED));
    }
    out.join(", ")
}

/// What we know about one VPC of the plan, for cross-references. Filled
/// even for VPCs with errors, so that references to them do not cascade.
#[derive(Default)]
struct VpcInfo {
    /// Valid region, if any.
    region: Option<String>,
    /// Valid CIDR of a created VPC.
    cidr: Option<Ipv4Net>,
    /// Subnet names, with the AZ of created subnets.
    subnets: Vec<(String, Option<String>)>,
    route_tables: Vec<String>,
    /// Adopted subnets: name → `subnet-…` id as written.
    subnet_ids: BTreeMap<String, String>,
    /// Adopted route tables: name → `rtb-…` id as written.
    table_ids: BTreeMap<String, String>,
    /// Subnets written to be created (`az`/`cidr`), valid or not.
    created_subnets: BTreeSet<String>,
    /// Created subnets with an `ipv6_index` (valid or not).
    ipv6_subnets: BTreeSet<String>,
    /// The body had the wrong shape: references into it cannot be checked.
    opaque: bool,
}

impl VpcInfo {
    fn subnet_names(&self) -> Vec<String> {
        self.subnets.iter().map(|(n, _)| n.clone()).collect()
    }
}

struct Validator<'a> {
    sink: &'a mut Sink,
    base_dir: &'a Path,
    vpcs: BTreeMap<String, VpcInfo>,
    vpc_order: Vec<String>,
    /// (VPC name, service name) of every gateway endpoint whose VPC and
    /// service were understood, even if other keys of it are wrong.
    gateways: Vec<(String, String)>,
    /// Interface endpoints with `private_dns: inbound-only`: (key path,
    /// position, endpoint name, VPC name, service name).
    inbound_only: Vec<(String, Option<Pos>, String, String, String)>,
}

/// Validate a decoded plan. Returns the `Desired` when no error was found
/// (in `sink` or before).
pub(crate) fn validate(raw: &RawPlan, base_dir: &Path, sink: &mut Sink) -> Option<Desired> {
    let mut v = Validator {
        sink,
        base_dir,
        vpcs: BTreeMap::new(),
        vpc_order: Vec::new(),
        gateways: Vec::new(),
        inbound_only: Vec::new(),
    };
    let name = v.top(raw);
    let tags = v.tags(raw);
    let mut vpcs = BTreeMap::new();
    match &raw.vpcs {
        None => v.sink.at(
            "vpcs",
            raw.pos,
            "required key is missing: declare at least one VPC under `vpcs`",
        ),
        Some(list) if list.v.is_empty() => {
            if !v.sink.has_error_for("vpcs") {
                v.sink
                    .at("vpcs", list.pos.or(list.key_pos), "at least one VPC is required")
            }
        }
        Some(list) => {
            for vpc in &list.v {
                if let Some(d) = v.vpc(vpc) {
                    vpcs.insert(d.name.clone(), d);
                }
            }
        }
    }
    let mut endpoints = BTreeMap::new();
    for ep in &raw.endpoints {
        if let Some(d) = v.endpoint(ep) {
            endpoints.insert(d.name.clone(), d);
        }
    }
    v.inbound_only_gateways();
    let mut peerings = BTreeMap::new();
    let mut pairs: Vec<((String, String), String)> = Vec::new();
    for p in &raw.peerings {
        if let Some(d) = v.peering(p, &mut pairs) {
            peerings.insert(d.name.clone(), d);
        }
    }
    if v.sink.has_errors() {
        return None;
    }
    let origin = Origin {
        file: v.sink.file().to_string(),
        positions: raw
            .positions
            .iter()
            .map(|(k, p)| (k.clone(), (p.line, p.column)))
            .collect(),
    };
    Some(Desired {
        name: name?,
        tags,
        vpcs,
        endpoints,
        peerings,
        origin,
    })
}

impl Validator<'_> {
    fn check_name(&mut self, name: &Sp<String>, path: &str, what: &str) -> bool {
        if is_valid_name(&name.v) {
            return true;
        }
        self.sink.at(
            path,
            name.pos,
            format!("invalid {what} name {}: {NAME_RULE}", q(&name.v)),
        );
        false
    }

    /// Report a missing required key, unless its value was already
    /// reported as being of the wrong shape.
    fn missing(&mut self, key: &str, pos: Option<Pos>, what: &str) {
        if !self.sink.has_error_for(key) {
            self.sink.at(key, pos, format!("required key is missing: {what}"));
        }
    }

    /// Whether any of `keys` under `path` already has an error (so that a
    /// "give one of" error would only repeat it).
    fn reported(&self, path: &str, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.sink.has_error_for(&join(path, k)))
    }

    /// `version` and `name`; returns the plan name.
    fn top(&mut self, raw: &RawPlan) -> Option<String> {
        match &raw.version {
            None => self.missing("version", raw.pos, "write `version: 1`"),
            Some(ver) if ver.v.int == Some(1) => {}
            Some(ver) if ver.v.int.is_none() => self.sink.at(
                "version",
                ver.pos,
                format!("`version` must be the number 1, found {}", q(&ver.v.text)),
            ),
            Some(ver) => self.sink.at(
                "version",
                ver.pos,
                format!(
                    "unsupported plan version {}; this s3ep reads version 1",
                    q(&ver.v.text)
                ),
            ),
        }
        match &raw.name {
            None => {
                self.missing("name", raw.pos, "the plan's name, e.g. `name: my-lab`");
                None
            }
            Some(n) => {
                if is_valid_name(&n.v) {
                    Some(n.v.clone())
                } else {
                    self.sink.at(
                        "name",
                        n.pos,
                        format!("invalid plan name {}: {NAME_RULE}", q(&n.v)),
                    );
                    None
                }
            }
        }
    }

    fn tags(&mut self, raw: &RawPlan) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        for (k, v) in &raw.tags {
            let path = join("tags", &k.v);
            let lower = k.v.to_ascii_lowercase();
            if k.v.is_empty() {
                self.sink.at(&path, k.pos, "tag keys cannot be empty");
            } else if lower.starts_with("s3ep:") || lower.starts_with("aws:") {
                let prefix = if lower.starts_with("aws:") {
                    "aws:"
                } else {
                    "s3ep:"
                };
                self.sink.at(
                    &path,
                    k.pos,
                    format!(
                        "tag key {} is reserved: keys starting with `{prefix}` belong to {}",
                        q(&k.v),
                        if prefix == "aws:" { "AWS" } else { "s3ep" }
                    ),
                );
            } else if k.v.chars().count() > MAX_TAG_KEY_CHARS {
                self.sink.at(
                    &path,
                    k.pos,
                    format!(
                        "tag key is {} characters long; AWS allows at most {MAX_TAG_KEY_CHARS}",
                        k.v.chars().count()
                    ),
                );
            }
            if let Some(v) = v {
                let n = v.v.chars().count();
                if n > MAX_TAG_VALUE_CHARS {
                    self.sink.at(
                        &path,
                        v.pos,
                        format!("tag value is {n} characters long; AWS allows at most {MAX_TAG_VALUE_CHARS}"),
                    );
                }
                tags.insert(k.v.clone(), v.v.clone());
            }
        }
        tags
    }

    /// Parse an IPv4 CIDR that must be a network address, with a prefix in
    /// `prefixes` if given. Reports under `key` at the value's position.
    fn cidr(
        &mut self,
        key: &str,
        c: &Sp<String>,
        prefixes: Option<std::ops::RangeInclusive<u8>>,
    ) -> Option<Ipv4Net> {
        let Ok(net) = c.v.parse::<Ipv4Net>() else {
            let hint = if c.v.parse::<std::net::Ipv4Addr>().is_ok() {
                format!("; for a single address write {}/32", c.v)
            } else {
                String::new()
            };
            self.sink.at(
                key,
                c.pos,
                format!(
                    "invalid IPv4 CIDR {}: expected address/prefix such as 10.0.0.0/16{hint}",
                    q(&c.v)
                ),
            );
            return None;
        };
        let mut ok = true;
        if let Some(range) = prefixes {
            if !range.contains(&net.prefix_len()) {
                self.sink.at(
                    key,
                    c.pos,
                    format!(
                        "CIDR {net} has prefix /{}; it must be between /{} and /{}",
                        net.prefix_len(),
                        range.start(),
                        range.end()
                    ),
                );
                ok = false;
            }
        }
        if net.trunc() != net {
            self.sink.at(
                key,
                c.pos,
                format!(
                    "CIDR {net} has host bits set; the network address is {}",
                    net.trunc()
                ),
            );
            ok = false;
        }
        ok.then_some(net)
    }

    fn aws_id(&mut self, key: &str, id: &Sp<String>, prefix: &str, what: &str) -> bool {
        if is_aws_id(&id.v, prefix) {
            return true;
        }
        self.sink.at(
            key,
            id.pos,
            format!(
                "invalid {what} id {}: expected `{prefix}` followed by 8 to 17 lowercase hex digits",
                q(&id.v)
            ),
        );
        false
    }

    fn vpc(&mut self, vpc: &Named<RawVpc>) -> Option<DVpc> {
        let name = vpc.name.v.clone();
        let path = vpc.path.as_str();
        self.vpc_order.push(name.clone());
        let name_ok = self.check_name(&vpc.name, path, "VPC");
        let Some(body) = &vpc.body else {
            self.vpcs.insert(
                name,
                VpcInfo {
                    opaque: true,
                    ..VpcInfo::default()
                },
            );
            return None;
        };
        let mut info = VpcInfo::default();
        let region = match &body.region {
            None => {
                self.missing(
                    &join(path, "region"),
                    vpc.name.pos,
                    "the VPC's AWS region, e.g. `region: us-east-1`",
                );
                None
            }
            Some(r) if is_region(&r.v) => Some(r.v.clone()),
            Some(r) => {
                self.sink.at(
                    &join(path, "region"),
                    r.pos,
                    format!(
                        "invalid region {}: expected an AWS region name such as us-east-1",
                        q(&r.v)
                    ),
                );
                None
            }
        };
        info.region = region.clone();
        let adopted = body.id.is_some() && body.cidr.is_none();
        let source = match (&body.cidr, &body.id) {
            (Some(_), Some(id)) => {
                self.sink.at(
                    path,
                    id.key_pos,
                    "give exactly one of `cidr` (create a VPC) and `id` (adopt an existing VPC), not both",
                );
                None
            }
            (None, None) => {
                if !self.reported(path, &["cidr", "id"]) {
                    self.sink.at(
                        path,
                        vpc.name.pos,
                        "one of `cidr` (create a VPC) or `id` (adopt an existing VPC) is required",
                    );
                }
                None
            }
            (Some(c), None) => {
                let net = self.cidr(&join(path, "cidr"), c, Some(16..=28));
                info.cidr = net;
                net.map(Source::Create)
            }
            (None, Some(id)) => self
                .aws_id(&join(path, "id"), id, "vpc-", "VPC")
                .then(|| Source::Adopt(id.v.clone())),
        };

        // IPv6: `amazon`, and only for a VPC s3ep creates (an adopted VPC is
        // never modified).
        let ipv6 = match &body.ipv6 {
            None => false,
            Some(v) if v.v != "amazon" => {
                self.sink.at(
                    &join(path, "ipv6"),
                    v.pos,
                    format!(
                        "invalid ipv6 {}: the only value is `amazon` (an Amazon-provided /56); leave the key out for an IPv4-only VPC",
                        q(&v.v)
                    ),
                );
                false
            }
            Some(v) if adopted => {
                self.sink.at(
                    &join(path, "ipv6"),
                    v.key_pos,
                    format!(
                        "`ipv6` is only for VPCs s3ep creates; VPC {} is adopted by id and s3ep never modifies it",
                        q(&name)
                    ),
                );
                false
            }
            Some(_) => true,
        };
        // `ipv6_index` is checked against this: a wrong `ipv6` value is
        // reported once, not again for every subnet.
        let ipv6_written = body.ipv6.is_some();
        let mut ipv6_used: BTreeMap<u8, String> = BTreeMap::new();

        // Subnets.
        let mut subnets = BTreeMap::new();
        let mut created: Vec<(String, Ipv4Net)> = Vec::new();
        for s in &body.subnets {
            let spath = s.path.as_str();
            self.check_name(&s.name, spath, "subnet");
            let Some(b) = &s.body else {
                info.subnets.push((s.name.v.clone(), None));
                continue;
            };
            let create_key = b.cidr.as_ref().or(b.az.as_ref());
            let mut az_known = None;
            let src = match (&b.id, create_key) {
                (Some(id), Some(_)) => {
                    self.sink.at(
                        spath,
                        id.key_pos,
                        "mixes `id` (adopt) with `az`/`cidr` (create); write either `{az, cidr}` or `{id: subnet-…}`",
                    );
                    None
                }
                (Some(id), None) => {
                    info.subnet_ids.insert(s.name.v.clone(), id.v.clone());
                    if let Some(ix) = &b.ipv6_index {
                        self.sink.at(
                            &join(spath, "ipv6_index"),
                            ix.key_pos,
                            format!(
                                "`ipv6_index` is only for subnets s3ep creates; subnet {} is adopted by id and keeps the IPv6 block it has",
                                q(&s.name.v)
                            ),
                        );
                    }
                    self.aws_id(&join(spath, "id"), id, "subnet-", "subnet")
                        .then(|| Source::Adopt(id.v.clone()))
                }
                (None, Some(first)) if adopted => {
                    let key = if b.cidr.is_some() { "cidr" } else { "az" };
                    self.sink.at(
                        &join(spath, key),
                        first.key_pos,
                        format!(
                            "a VPC adopted by id can only adopt subnets (`{{id: subnet-…}}`); subnet {} cannot be created in VPC {}",
                            q(&s.name.v),
                            q(&name)
                        ),
                    );
                    None
                }
                (None, Some(_)) => {
                    info.created_subnets.insert(s.name.v.clone());
                    if b.ipv6_index.is_some() {
                        info.ipv6_subnets.insert(s.name.v.clone());
                    }
                    let ipv6_index =
                        self.ipv6_index(spath, b, &s.name.v, &name, ipv6_written, &mut ipv6_used);
                    let az = match &b.az {
                        None => {
                            self.missing(
                                &join(spath, "az"),
                                s.name.pos,
                                "the subnet's availability zone, e.g. `az: us-east-1a`",
                            );
                            None
                        }
                        Some(az) => self.az(spath, az, &name, region.as_deref()),
                    };
                    az_known = az.clone();
                    let net = match &b.cidr {
                        None => {
                            self.missing(
                                &join(spath, "cidr"),
                                s.name.pos,
                                "the subnet's IPv4 CIDR, inside the VPC's",
                            );
                            None
                        }
                        Some(c) => self.subnet_cidr(spath, c, &s.name.v, &name, info.cidr, &created),
                    };
                    if let Some(net) = net {
                        created.push((s.name.v.clone(), net));
                    }
                    match (az, net, ipv6_index) {
                        (Some(az), Some(cidr), Some(ipv6_index)) => {
                            Some(Source::Create(SubnetSpec { az, cidr, ipv6_index }))
                        }
                        _ => None,
                    }
                }
                (None, None) if self.reported(spath, &["az", "cidr", "id"]) => None,
                (None, None) => {
                    self.sink.at(
                        spath,
                        s.name.pos,
                        "give `{az, cidr}` to create a subnet or `{id: subnet-…}` to adopt one",
                    );
                    None
                }
            };
            info.subnets.push((s.name.v.clone(), az_known));
            if let Some(source) = src {
                subnets.insert(
                    s.name.v.clone(),
                    DSubnet {
                        name: s.name.v.clone(),
                        source,
                    },
                );
            }
        }

        // Route tables.
        let mut route_tables = BTreeMap::new();
        let mut assigned: BTreeMap<String, String> = BTreeMap::new();
        let subnet_names = info.subnet_names();
        for t in &body.route_tables {
            let tpath = t.path.as_str();
            self.check_name(&t.name, tpath, "route table");
            info.route_tables.push(t.name.v.clone());
            let Some(b) = &t.body else {
                continue;
            };
            let src = match (&b.subnets, &b.id) {
                (Some(_), Some(id)) => {
                    self.sink.at(
                        tpath,
                        id.key_pos,
                        "mixes `id` (adopt) with `subnets` (create); write either `{subnets: [..]}` or `{id: rtb-…}`",
                    );
                    None
                }
                (None, None) if self.reported(tpath, &["subnets", "id"]) => None,
                (None, None) => {
                    self.sink.at(
                        tpath,
                        t.name.pos,
                        "give `{subnets: [..]}` to create a route table or `{id: rtb-…}` to adopt one",
                    );
                    None
                }
                (None, Some(id)) => {
                    info.table_ids.insert(t.name.v.clone(), id.v.clone());
                    self.aws_id(&join(tpath, "id"), id, "rtb-", "route table")
                        .then(|| Source::Adopt(id.v.clone()))
                }
                (Some(list), None) => {
                    let key = join(tpath, "subnets");
                    let mut out = Vec::new();
                    for item in &list.v {
                        if out.contains(&item.v) {
                            self.sink
                                .at(&key, item.pos, format!("subnet {} is listed twice", q(&item.v)));
                            continue;
                        }
                        out.push(item.v.clone());
                        if !subnet_names.contains(&item.v) {
                            self.sink.at(
                                &key,
                                item.pos,
                                format!(
                                    "unknown subnet {}: VPC {} has no subnet of that name ({})",
                                    q(&item.v),
                                    q(&name),
                                    known("subnet", &subnet_names)
                                ),
                            );
                            continue;
                        }
                        if let Some(id) = info.subnet_ids.get(&item.v) {
                            self.sink.at(
                                &key,
                                item.pos,
                                format!(
                                    "subnet {} is adopted ({}): an adopted subnet keeps its own route table, and s3ep associates the route tables it creates only with subnets it creates (EC2 refuses to associate a subnet that already has a route table with Resource.AlreadyAssociated, and destroy would leave the subnet on the VPC's main route table); adopt the subnet's route table instead, as `{{id: rtb-…}}`",
                                    q(&item.v),
                                    clip(id)
                                ),
                            );
                            continue;
                        }
                        if let Some(other) = assigned.get(&item.v) {
                            self.sink.at(
                                &key,
                                item.pos,
                                format!(
                                    "subnet {} is already in route table {}; a subnet can be in at most one route table, but {} and {} both list it",
                                    q(&item.v),
                                    q(other),
                                    q(other),
                                    q(&t.name.v)
                                ),
                            );
                            continue;
                        }
                        assigned.insert(item.v.clone(), t.name.v.clone());
                    }
                    Some(Source::Create(RouteTableSpec { subnets: out }))
                }
            };
            if let Some(source) = src {
                route_tables.insert(
                    t.name.v.clone(),
                    DRouteTable {
                        name: t.name.v.clone(),
                        source,
                    },
                );
            }
        }
        self.vpcs.insert(name.clone(), info);
        Some(DVpc {
            name: name_ok.then_some(name)?,
            region: region?,
            source: source?,
            subnets,
            route_tables,
            ipv6,
        })
    }

    /// A created subnet's `ipv6_index`: `Some(None)` when absent,
    /// `Some(Some(i))` when valid, `None` after an error. It needs an `ipv6`
    /// VPC, 0 to 255 (a /56 holds 256 /64s), and no other subnet of the VPC
    /// with the same index (their blocks would be the same /64).
    fn ipv6_index(
        &mut self,
        spath: &str,
        b: &super::schema::RawSubnet,
        subnet: &str,
        vpc: &str,
        vpc_ipv6: bool,
        used: &mut BTreeMap<u8, String>,
    ) -> Option<Option<u8>> {
        let Some(ix) = &b.ipv6_index else {
            return Some(None);
        };
        let key = join(spath, "ipv6_index");
        let v = ix.v?; // not an integer: reported by the decoder
        let Ok(i) = u8::try_from(v) else {
            self.sink.at(
                &key,
                ix.pos,
                format!(
                    "ipv6_index {v} is out of range: it must be from 0 to 255 (the /64s of the VPC's /56)"
                ),
            );
            return None;
        };
        if !vpc_ipv6 {
            self.sink.at(
                &key,
                ix.key_pos,
                format!(
                    "subnet {} has `ipv6_index` but VPC {} has no IPv6 block; add `ipv6: amazon` to the VPC or remove `ipv6_index`",
                    q(subnet),
                    q(vpc)
                ),
            );
            return None;
        }
        if let Some(other) = used.get(&i) {
            self.sink.at(
                &key,
                ix.pos,
                format!(
                    "subnets {} and {} both have ipv6_index {i}; each subnet needs its own /64",
                    q(other),
                    q(subnet)
                ),
            );
            return None;
        }
        used.insert(i, subnet.to_string());
        Some(Some(i))
    }

    /// Check a subnet's AZ against its VPC's region.
    fn az(&mut self, spath: &str, az: &Sp<String>, vpc: &str, region: Option<&str>) -> Option<String> {
        let key = join(spath, "az");
        let Some(region) = region else {
            // The region is missing or invalid (already reported).
            return Some(az.v.clone());
        };
        let ok =
            az.v.strip_prefix(region)
                .is_some_and(|rest| rest.len() == 1 && rest.bytes().all(|c| c.is_ascii_lowercase()));
        if ok {
            return Some(az.v.clone());
        }
        let region = clip(region);
        self.sink.at(
            &key,
            az.pos,
            format!(
                "availability zone {} is not in VPC {}'s region {region}: expected {region} followed by one letter, e.g. {region}a",
                q(&az.v),
                q(vpc)
            ),
        );
        None
    }

    fn subnet_cidr(
        &mut self,
        spath: &str,
        c: &Sp<String>,
        subnet: &str,
        vpc: &str,
        vpc_cidr: Option<Ipv4Net>,
        created: &[(String, Ipv4Net)],
    ) -> Option<Ipv4Net> {
        let key = join(spath, "cidr");
        let net = self.cidr(&key, c, Some(16..=28))?;
        if let Some(outer) = vpc_cidr {
            if !outer.contains(&net) {
                self.sink.at(
                    &key,
                    c.pos,
                    format!("subnet CIDR {net} is not inside VPC {}'s CIDR {outer}", q(vpc)),
                );
                return None;
            }
        }
        if let Some((other, other_net)) = created.iter().find(|(_, o)| cidrs_overlap(o, &net)) {
            self.sink.at(
                &key,
                c.pos,
                format!(
                    "subnet {}'s CIDR {net} overlaps subnet {}'s CIDR {other_net}; subnets of a VPC must not overlap",
                    q(subnet),
                    q(other)
                ),
            );
            return None;
        }
        Some(net)
    }

    /// Resolve references to subnets or route tables of VPC `vpc`: names of
    /// the plan or `prefix…` ids. Duplicates are errors, including an
    /// adopted resource listed both by its name and by its id.
    fn refs(&mut self, key: &str, list: &StrList, vpc: Option<&str>, prefix: &str, what: &str) -> Vec<Ref> {
        let info = vpc.and_then(|v| self.vpcs.get(v)).filter(|i| !i.opaque);
        let names: Option<Vec<String>> = info.map(|i| {
            if what == "subnet" {
                i.subnet_names()
            } else {
                i.route_tables.clone()
            }
        });
        let ids: BTreeMap<String, String> = info
            .map(|i| {
                if what == "subnet" {
                    i.subnet_ids.clone()
                } else {
                    i.table_ids.clone()
                }
            })
            .unwrap_or_default();
        let mut out: Vec<Ref> = Vec::new();
        // What each item stands for (an adopted name stands for its id),
        // and how it was written.
        let mut seen: BTreeMap<Ref, &str> = BTreeMap::new();
        for item in &list.v {
            let declared = names.as_ref().is_some_and(|n| n.contains(&item.v));
            let target = match ids.get(&item.v) {
                Some(id) if declared => Ref::Id(id.clone()),
                _ if declared || !item.v.starts_with(prefix) => Ref::Name(item.v.clone()),
                _ => Ref::Id(item.v.clone()),
            };
            if let Some(first) = seen.get(&target) {
                let message = if *first == item.v {
                    format!("{what} {} is listed twice", q(&item.v))
                } else {
                    format!(
                        "{what} {} is listed twice: {} and {} are the same adopted {what} ({})",
                        q(&item.v),
                        q(first),
                        q(&item.v),
                        clip(&target.to_string())
                    )
                };
                self.sink.at(key, item.pos, message);
                continue;
            }
            seen.insert(target, item.v.as_str());
            if declared {
                out.push(Ref::Name(item.v.clone()));
            } else if item.v.starts_with(prefix) {
                if self.aws_id(key, item, prefix, what) {
                    out.push(Ref::Id(item.v.clone()));
                }
            } else if let (Some(names), Some(vpc)) = (&names, vpc) {
                self.sink.at(
                    key,
                    item.pos,
                    format!(
                        "unknown {what} {}: write a {what} name of VPC {} ({}) or a `{prefix}…` id",
                        q(&item.v),
                        q(vpc),
                        known(what, names)
                    ),
                );
            } else {
                // The VPC is unknown or malformed (already reported).
                out.push(Ref::Name(item.v.clone()));
            }
        }
        out
    }

    /// A VPC name of this plan, or an error.
    fn vpc_ref(&mut self, key: &str, v: &Sp<String>) -> bool {
        if self.vpcs.contains_key(&v.v) {
            return true;
        }
        self.sink.at(
            key,
            v.pos,
            format!(
                "unknown VPC {}; VPCs of this plan: {}",
                q(&v.v),
                list(&self.vpc_order)
            ),
        );
        false
    }

    fn endpoint(&mut self, ep: &Named<RawEndpoint>) -> Option<DEndpoint> {
        let path = ep.path.as_str();
        let name_ok = self.check_name(&ep.name, path, "endpoint");
        let b = ep.body.as_ref()?;
        let vpc = match &b.vpc {
            None => {
                self.missing(
                    &join(path, "vpc"),
                    ep.name.pos,
                    "the name of the VPC this endpoint is in",
                );
                None
            }
            Some(v) => self.vpc_ref(&join(path, "vpc"), v).then(|| v.v.clone()),
        };
        let region = vpc
            .as_ref()
            .and_then(|v| self.vpcs.get(v))
            .and_then(|i| i.region.clone());
        let kind = match &b.kind {
            None => {
                self.missing(&join(path, "type"), ep.name.pos, "`gateway` or `interface`");
                None
            }
            Some(t) if t.v == "gateway" || t.v == "interface" => Some(t.v.as_str()),
            Some(t) => {
                self.sink.at(
                    &join(path, "type"),
                    t.pos,
                    format!(
                        "invalid endpoint type {}: must be `gateway` or `interface`",
                        q(&t.v)
                    ),
                );
                None
            }
        };
        let service = self.service(path, b, kind, region.as_deref());
        if let (Some("gateway"), Some(vpc), Some((full, _))) = (kind, &vpc, &service) {
            self.gateways.push((vpc.clone(), full.clone()));
        }

        // Keys another type takes (the table says which).
        if let Some(kind) = kind {
            for (k, pos) in &b.keys {
                let Some(only) = super::schema::ENDPOINT.only_for(k) else {
                    continue;
                };
                if !only.contains(&kind) {
                    self.sink.at(
                        &join(path, k),
                        *pos,
                        format!(
                            "`{k}` is only for {} endpoints; endpoint {} has type {kind}",
                            only.join(" and "),
                            q(&ep.name.v)
                        ),
                    );
                }
            }
        }

        let ekind = match kind {
            Some("gateway") => {
                let route_tables = match &b.route_tables {
                    Some(l) => self.refs(
                        &join(path, "route_tables"),
                        l,
                        vpc.as_deref(),
                        "rtb-",
                        "route table",
                    ),
                    None => Vec::new(),
                };
                Some(EndpointKind::Gateway { route_tables })
            }
            Some(_) => self.interface(path, ep, b, vpc.as_deref()),
            None => None,
        };
        if let (
            Some(EndpointKind::Interface {
                private_dns: PrivateDns::InboundOnly,
                ..
            }),
            Some(vpc),
            Some((full, _)),
        ) = (&ekind, &vpc, &service)
        {
            let key = join(path, "private_dns");
            let pos = b.private_dns.as_ref().and_then(|p| p.pos);
            self.inbound_only
                .push((key, pos, ep.name.v.clone(), vpc.clone(), full.clone()));
        }
        let policy = self.policy(path, b);
        let (service, service_region) = service?;
        let ip_types = self.ip_types(path, b, kind, vpc.as_deref());
        let (ip_address_type, dns_record_ip_type) = ip_types?;
        Some(DEndpoint {
            name: name_ok.then(|| ep.name.v.clone())?,
            vpc: vpc?,
            service,
            kind: ekind?,
            policy: policy?,
            service_region,
            ip_address_type,
            dns_record_ip_type,
        })
    }

    /// `ip_address_type` and (interface endpoints) `dns_record_ip_type`,
    /// checked against each other and against the subnets the plan creates;
    /// adopted subnets are checked against live state at `plan` time.
    fn ip_types(
        &mut self,
        path: &str,
        b: &RawEndpoint,
        kind: Option<&str>,
        vpc: Option<&str>,
    ) -> Option<(IpAddressType, Option<DnsRecordIpType>)> {
        let ip = match &b.ip_address_type {
            None => Some(IpAddressType::default()),
            Some(t) => {
                let parsed = IpAddressType::parse(&t.v);
                if parsed.is_none() {
                    self.sink.at(
                        &join(path, "ip_address_type"),
                        t.pos,
                        format!(
                            "invalid ip_address_type {}: must be `ipv4`, `dualstack` or `ipv6`",
                            q(&t.v)
                        ),
                    );
                }
                parsed
            }
        };
        let dns = match &b.dns_record_ip_type {
            None => None,
            Some(t) => match DnsRecordIpType::parse(&t.v) {
                Some(d) => Some(Some(d)),
                None => {
                    self.sink.at(
                        &join(path, "dns_record_ip_type"),
                        t.pos,
                        format!(
                            "invalid dns_record_ip_type {}: must be `ipv4`, `dualstack`, `ipv6` or `service-defined`",
                            q(&t.v)
                        ),
                    );
                    Some(None)
                }
            },
        };
        if kind != Some("interface") {
            // A gateway has no DNS records (a written key was reported above).
            return Some((ip?, None));
        }
        let ip = ip?;
        let dns = match dns {
            None => ip.default_dns(),
            Some(d) => d?,
        };
        let mut ok = true;
        if !ip.allows(dns) {
            let t = b.dns_record_ip_type.as_ref();
            let allowed: Vec<&str> = DnsRecordIpType::ALL
                .iter()
                .filter(|d| ip.allows(**d))
                .map(|d| d.as_str())
                .collect();
            self.sink.at(
                &join(path, "dns_record_ip_type"),
                t.and_then(|t| t.pos),
                format!(
                    "dns_record_ip_type {dns} is not allowed with ip_address_type {ip}; {ip} allows {} (EC2 needs IPv6 addresses for AAAA records and IPv4 addresses for A records)",
                    allowed.join(", ")
                ),
            );
            ok = false;
        }
        // Subnets the plan creates: their IPv6 is known now.
        if ip != IpAddressType::Ipv4 {
            let info = vpc.and_then(|v| self.vpcs.get(v));
            let key = join(path, "ip_address_type");
            let pos = b.ip_address_type.as_ref().and_then(|t| t.pos);
            let mut problems = Vec::new();
            if let (Some(info), Some(list)) = (info, &b.subnets) {
                for item in &list.v {
                    if !info.created_subnets.contains(&item.v) {
                        continue; // adopted: checked at `plan` against live state
                    }
                    match ip {
                        IpAddressType::Dualstack if !info.ipv6_subnets.contains(&item.v) => problems.push(format!(
                            "ip_address_type dualstack needs every subnet of the endpoint to have IPv6, but subnet {} is created without `ipv6_index` (give it one, in a VPC with `ipv6: amazon`)",
                            q(&item.v)
                        )),
                        IpAddressType::Ipv6 => problems.push(format!(
                            "ip_address_type ipv6 needs IPv6-only subnets, but subnet {} is created by s3ep and subnets s3ep creates always have an IPv4 CIDR; use `dualstack`, or adopt IPv6-only subnets by id",
                            q(&item.v)
                        )),
                        _ => {}
                    }
                }
            }
            for p in problems {
                self.sink.at(&key, pos, p);
                ok = false;
            }
        }
        ok.then_some((ip, Some(dns)))
    }

    /// The endpoint's full service name, and the service's region when it
    /// is not the VPC's (interface endpoints only: the `service_region` key,
    /// or the region of a full service name).
    fn service(
        &mut self,
        path: &str,
        b: &RawEndpoint,
        kind: Option<&str>,
        region: Option<&str>,
    ) -> Option<(String, Option<String>)> {
        let key = join(path, "service");
        let written = b.service.as_ref().map(|s| s.v.as_str()).unwrap_or("s3");
        let pos = b.service.as_ref().and_then(|s| s.pos);
        let interface = kind == Some("interface");
        // `service_region` on a gateway is reported by the only-for check.
        let sr_key = join(path, "service_region");
        let explicit = match &b.service_region {
            Some(r) if interface => {
                if !is_region(&r.v) {
                    self.sink.at(
                        &sr_key,
                        r.pos,
                        format!(
                            "invalid service_region {}: write an AWS region such as us-east-1",
                            q(&r.v)
                        ),
                    );
                    return None;
                }
                Some(r)
            }
            _ => None,
        };
        let full = if written.contains('.') {
            written.to_string()
        } else if written == "s3" || written == "s3express" {
            if written == "s3express" && interface {
                self.sink.at(
                    &key,
                    pos,
                    "the short name `s3express` is for gateway endpoints only; an interface endpoint names its service in full (com.amazonaws.<region>.s3express)",
                );
                return None;
            }
            let endpoint_type = if interface {
                EndpointType::Interface
            } else {
                EndpointType::Gateway
            };
            let home = explicit.map(|r| r.v.as_str()).or(region)?;
            crate::model::service_name(home, written, endpoint_type)
        } else {
            self.sink.at(
                &key,
                pos,
                format!(
                    "invalid service {}: write `s3`, `s3express` (gateway endpoints only) or a full service name such as com.amazonaws.us-east-1.s3",
                    q(written)
                ),
            );
            return None;
        };
        let named = crate::model::service_region(&full).filter(|r| is_region(r));
        if kind == Some("gateway") {
            if let (Some(region), Some(r)) = (region, named) {
                if r != region {
                    self.sink.at(
                        &key,
                        pos,
                        format!(
                            "service {} is in region {} but the endpoint's VPC is in {}: gateway endpoints never cross regions (use an interface endpoint to reach another region)",
                            clip(&full),
                            clip(r),
                            clip(region)
                        ),
                    );
                    return None;
                }
            }
            return Some((full, None));
        }
        if let (Some(e), Some(n)) = (explicit, named) {
            if e.v != n {
                self.sink.at(
                    &sr_key,
                    e.pos,
                    format!(
                        "service_region {} differs from the region of service {} ({}): write `service: s3` with service_region, or the full service name alone",
                        q(&e.v),
                        clip(&full),
                        clip(n)
                    ),
                );
                return None;
            }
        }
        let remote = explicit.map(|r| r.v.clone()).or(named.map(str::to_string));
        if let (Some(region), Some(remote)) = (region, &remote) {
            // Partitions (aws, aws-cn, aws-us-gov) are isolated from each
            // other (AWS General Reference, "Partitions"); the PrivateLink
            // guide's "Cross-region enabled AWS services" names the S3
            // service per partition (cn.com.amazonaws.<region>.s3 in China).
            if crate::model::partition(region) != crate::model::partition(remote) {
                let (k, p) = match explicit {
                    Some(e) => (&sr_key, e.pos),
                    None => (&key, pos),
                };
                self.sink.at(
                    k,
                    p,
                    format!(
                        "the service is in region {} ({}) but the endpoint's VPC is in {} ({}): cross-region PrivateLink stays inside one AWS partition",
                        clip(remote),
                        crate::model::partition(remote),
                        clip(region),
                        crate::model::partition(region)
                    ),
                );
                return None;
            }
        }
        let remote = remote.filter(|r| Some(r.as_str()) != region);
        Some((full, remote))
    }

    /// `private_dns: inbound-only` needs a gateway endpoint of this plan for
    /// the same service in the same VPC (PrivateLink guide, "Private DNS
    /// for S3 interface endpoints"; EC2 otherwise answers InvalidParameter
    /// "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC …
    /// must have a Gateway endpoint for the service").
    fn inbound_only_gateways(&mut self) {
        for (key, pos, name, vpc, service) in std::mem::take(&mut self.inbound_only) {
            let want = service_identity(&service);
            let found = self
                .gateways
                .iter()
                .any(|(v, s)| *v == vpc && want.is_some() && service_identity(s) == want);
            if !found {
                self.sink.at(
                    &key,
                    pos,
                    format!(
                        "private_dns inbound-only needs a gateway endpoint for {} in VPC {}: add one to this plan (type: gateway, vpc: {vpc}), or use private_dns true or false (endpoint {})",
                        clip(&service),
                        q(&vpc),
                        q(&name)
                    ),
                );
            }
        }
    }

    fn interface(
        &mut self,
        path: &str,
        ep: &Named<RawEndpoint>,
        b: &RawEndpoint,
        vpc: Option<&str>,
    ) -> Option<EndpointKind> {
        let key = join(path, "subnets");
        let subnets = match &b.subnets {
            None => {
                self.missing(
                    &key,
                    ep.name.pos,
                    "an interface endpoint needs at least one subnet",
                );
                None
            }
            Some(l) if l.v.is_empty() => {
                self.sink.at(
                    &key,
                    l.pos.or(l.key_pos),
                    "an interface endpoint needs at least one subnet",
                );
                None
            }
            Some(l) => {
                let refs = self.refs(&key, l, vpc, "subnet-", "subnet");
                // At most one subnet per AZ among created subnets.
                let azs: Vec<(String, String)> = vpc
                    .and_then(|v| self.vpcs.get(v))
                    .map(|i| {
                        i.subnets
                            .iter()
                            .filter_map(|(n, az)| Some((n.clone(), az.clone()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut by_az: BTreeMap<&str, &str> = BTreeMap::new();
                let mut seen: BTreeSet<&str> = BTreeSet::new();
                for item in &l.v {
                    if !seen.insert(item.v.as_str()) || !refs.contains(&Ref::Name(item.v.clone())) {
                        continue;
                    }
                    let Some((_, az)) = azs.iter().find(|(n, _)| *n == item.v) else {
                        continue;
                    };
                    if let Some(first) = by_az.get(az.as_str()) {
                        self.sink.at(
                            &key,
                            item.pos,
                            format!(
                                "subnets {} and {} are both in availability zone {}; an interface endpoint takes at most one subnet per availability zone",
                                q(first),
                                q(&item.v),
                                clip(az)
                            ),
                        );
                    } else {
                        by_az.insert(az.as_str(), item.v.as_str());
                    }
                }
                Some(refs)
            }
        };
        let security_group = match &b.security_group {
            None => Some(None),
            Some(Sp { v: None, .. }) => None,
            Some(Sp {
                v: Some(sg),
                pos,
                key_pos,
            }) => {
                let key = join(path, "security_group.allow_https_from");
                match &sg.allow_https_from {
                    None => {
                        self.missing(
                            &key,
                            key_pos.or(*pos),
                            "list the VPC names, CIDRs or sg-… ids allowed to reach the endpoint on TCP 443",
                        );
                        None
                    }
                    Some(l) if l.v.is_empty() => {
                        self.sink
                            .at(&key, l.pos.or(l.key_pos), "at least one entry is required");
                        None
                    }
                    Some(l) => {
                        let allow_https_from = self.https_rules(&key, l);
                        let client_groups = self
                            .client_groups(&join(path, "security_group.client_groups"), &sg.client_groups);
                        Some(Some(DSecurityGroup {
                            allow_https_from,
                            client_groups,
                        }))
                    }
                }
            }
        };
        let mut security_groups = Vec::new();
        if let Some(l) = &b.security_groups {
            let key = join(path, "security_groups");
            for item in &l.v {
                if security_groups.contains(&item.v) {
                    self.sink.at(
                        &key,
                        item.pos,
                        format!("security group {} is listed twice", q(&item.v)),
                    );
                } else if self.aws_id(&key, item, "sg-", "security group") {
                    security_groups.push(item.v.clone());
                }
            }
        }
        let private_dns = match &b.private_dns {
            None => PrivateDns::Off,
            Some(Sp { v: None, .. }) => return None,
            Some(Sp {
                v: Some(RawPrivateDns::Bool(on)),
                ..
            }) => {
                if *on {
                    PrivateDns::On
                } else {
                    PrivateDns::Off
                }
            }
            Some(Sp {
                v: Some(RawPrivateDns::Word(w)),
                ..
            }) if w == "inbound-only" => PrivateDns::InboundOnly,
            Some(Sp {
                v: Some(RawPrivateDns::Word(w)),
                pos,
                ..
            }) => {
                self.sink.at(
                    &join(path, "private_dns"),
                    *pos,
                    format!(
                        "invalid private_dns {}: must be true, false or inbound-only",
                        q(w)
                    ),
                );
                return None;
            }
        };
        Some(EndpointKind::Interface {
            subnets: subnets?,
            security_group: security_group?,
            security_groups,
            private_dns,
        })
    }

    /// `security_group.client_groups`: `sg-…` ids, each once. Whether they
    /// exist, and where, is checked against live state at `plan`.
    fn client_groups(&mut self, key: &str, l: &Option<StrList>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for item in l.iter().flat_map(|l| &l.v) {
            if out.contains(&item.v) {
                self.sink.at(
                    key,
                    item.pos,
                    format!("client group {} is listed twice", q(&item.v)),
                );
            } else if self.aws_id(key, item, "sg-", "security group") {
                out.push(item.v.clone());
            }
        }
        out
    }

    fn https_rules(&mut self, key: &str, l: &StrList) -> Vec<HttpsRule> {
        let mut out: Vec<HttpsRule> = Vec::new();
        for item in &l.v {
            let w = &item.v;
            if out.iter().any(|r| r.written == *w) {
                self.sink.at(key, item.pos, format!("{} is listed twice", q(w)));
                continue;
            }
            let source = if self.vpcs.contains_key(w) {
                Some(HttpsSource::Vpc(w.clone()))
            } else if w.starts_with("sg-") {
                self.aws_id(key, item, "sg-", "security group")
                    .then(|| HttpsSource::Group(w.clone()))
            } else if w.contains('/') || w.parse::<std::net::Ipv4Addr>().is_ok() {
                self.cidr(key, item, None).map(HttpsSource::Cidr)
            } else {
                self.sink.at(
                    key,
                    item.pos,
                    format!(
                        "{} is neither a VPC of this plan ({}), an IPv4 CIDR (like 10.0.0.0/16) nor a security group id (sg-…)",
                        q(w),
                        list(&self.vpc_order)
                    ),
                );
                None
            };
            if let Some(source) = source {
                out.push(HttpsRule {
                    written: w.clone(),
                    source,
                });
            }
        }
        out
    }

    /// `Some(None)`: no policy; `Some(Some(doc))`: a valid policy; `None`: errors.
    fn policy(&mut self, path: &str, b: &RawEndpoint) -> Option<Option<Value>> {
        let Some(sp) = &b.policy else {
            return Some(None);
        };
        let p: &RawPolicy = sp.v.as_ref()?;
        let key = join(path, "policy");
        let given: Vec<(&str, Option<Pos>)> = [
            ("allow_buckets", p.allow_buckets.as_ref().map(|s| s.key_pos)),
            ("document", p.document.as_ref().map(|s| s.key_pos)),
            ("file", p.file.as_ref().map(|s| s.key_pos)),
        ]
        .into_iter()
        .filter_map(|(k, pos)| Some((k, pos?)))
        .collect();
        if given.is_empty() {
            if self.reported(&key, &["allow_buckets", "document", "file"]) {
                return None;
            }
            self.sink.at(
                &key,
                sp.pos.or(sp.key_pos),
                "give exactly one of `allow_buckets`, `document` and `file`",
            );
            return None;
        }
        if given.len() > 1 {
            let names: Vec<String> = given.iter().map(|(k, _)| format!("`{k}`")).collect();
            self.sink.at(
                &key,
                given[1].1,
                format!(
                    "give exactly one of `allow_buckets`, `document` and `file`, not {}",
                    names.join(" and ")
                ),
            );
            return None;
        }
        let (doc, doc_key, doc_pos) = if let Some(l) = &p.allow_buckets {
            let bkey = join(&key, "allow_buckets");
            if l.v.is_empty() {
                self.sink
                    .at(&bkey, l.pos.or(l.key_pos), "at least one bucket is required");
                return None;
            }
            let mut buckets: Vec<String> = Vec::new();
            let mut ok = true;
            for item in &l.v {
                if buckets.contains(&item.v) {
                    self.sink
                        .at(&bkey, item.pos, format!("bucket {} is listed twice", q(&item.v)));
                    ok = false;
                } else if let Some(problem) = policy::bucket_name_problem(&item.v) {
                    self.sink.at(&bkey, item.pos, problem);
                    ok = false;
                } else {
                    buckets.push(item.v.clone());
                }
            }
            if !ok {
                return None;
            }
            (policy::bucket_policy(&buckets), bkey, l.pos)
        } else if let Some(d) = &p.document {
            let dkey = join(&key, "document");
            let doc = match d.v.as_ref()? {
                RawDocument::Json(v) => v.clone(),
                RawDocument::Text(t) => match policy::parse_json_text(t) {
                    Ok(v) => v,
                    Err(e) => {
                        self.sink.at(&dkey, d.pos, e);
                        return None;
                    }
                },
            };
            (doc, dkey, d.pos)
        } else if let Some(f) = &p.file {
            let fkey = join(&key, "file");
            match policy::read_file(&f.v, self.base_dir) {
                Ok(doc) => (doc, fkey, f.pos),
                Err(e) => {
                    self.sink.at(&fkey, f.pos, e);
                    return None;
                }
            }
        } else {
            return None;
        };
        if let Some(problem) = policy::document_problem(&doc) {
            self.sink.at(&doc_key, doc_pos, problem);
            return None;
        }
        Some(Some(doc))
    }

    fn peering(
        &mut self,
        p: &Named<RawPeering>,
        pairs: &mut Vec<((String, String), String)>,
    ) -> Option<DPeering> {
        let path = p.path.as_str();
        let name_ok = self.check_name(&p.name, path, "peering");
        let b = p.body.as_ref()?;
        let side = |v: &mut Self, k: &str, s: &Option<Sp<String>>| -> Option<Sp<String>> {
            match s {
                None => {
                    v.missing(&join(path, k), p.name.pos, "a VPC name of this plan");
                    None
                }
                Some(s) => v.vpc_ref(&join(path, k), s).then(|| s.clone()),
            }
        };
        let requester = side(self, "requester", &b.requester);
        let accepter = side(self, "accepter", &b.accepter);
        let mut ok = true;
        if let (Some(r), Some(a)) = (&requester, &accepter) {
            if r.v == a.v {
                self.sink.at(
                    &join(path, "accepter"),
                    a.pos,
                    format!(
                        "requester and accepter are both {}; a peering connects two different VPCs",
                        q(&r.v)
                    ),
                );
                ok = false;
            } else {
                let rc = self.vpcs.get(&r.v).and_then(|i| i.cidr);
                let ac = self.vpcs.get(&a.v).and_then(|i| i.cidr);
                if let (Some(rc), Some(ac)) = (rc, ac) {
                    if cidrs_overlap(&rc, &ac) {
                        self.sink.at(
                            path,
                            a.pos,
                            format!(
                                "requester {}'s CIDR {rc} overlaps accepter {}'s CIDR {ac}; peered VPCs must not overlap",
                                q(&r.v),
                                q(&a.v)
                            ),
                        );
                        ok = false;
                    }
                }
                let pair = if r.v < a.v {
                    (r.v.clone(), a.v.clone())
                } else {
                    (a.v.clone(), r.v.clone())
                };
                if let Some((_, other)) = pairs.iter().find(|(pp, _)| *pp == pair) {
                    self.sink.at(
                        path,
                        p.name.pos,
                        format!(
                            "VPCs {} and {} are already peered by peering {}; only one peering per VPC pair",
                            q(&pair.0),
                            q(&pair.1),
                            q(other)
                        ),
                    );
                    ok = false;
                } else {
                    pairs.push((pair, p.name.v.clone()));
                }
            }
        }
        let mut routes = BTreeMap::new();
        for r in &b.routes {
            let is_side = [&requester, &accepter]
                .iter()
                .any(|s| s.as_ref().is_some_and(|s| s.v == r.name.v));
            let sides_known = requester.is_some() && accepter.is_some();
            if !is_side && sides_known {
                self.sink.at(
                    &r.path,
                    r.name.pos,
                    format!(
                        "{} is neither the requester ({}) nor the accepter ({}) of this peering",
                        q(&r.name.v),
                        clip(requester.as_ref().map(|s| s.v.as_str()).unwrap_or("")),
                        clip(accepter.as_ref().map(|s| s.v.as_str()).unwrap_or(""))
                    ),
                );
                ok = false;
                continue;
            }
            let Some(list) = &r.body else {
                ok = false;
                continue;
            };
            let vpc = is_side.then_some(r.name.v.as_str());
            let refs = self.refs(&r.path, list, vpc, "rtb-", "route table");
            routes.insert(r.name.v.clone(), refs);
        }
        if !(ok && name_ok) {
            return None;
        }
        Some(DPeering {
            name: p.name.v.clone(),
            requester: requester?.v,
            accepter: accepter?.v,
            routes,
        })
    }
}

/// "its subnets: a, b" or "it declares no subnets".
fn known(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        format!("it declares no {what}s")
    } else {
        format!("its {what}s: {}", list(names))
    }
}
