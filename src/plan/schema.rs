//! The plan schema: which keys each object of a plan file has, and the raw,
//! position-carrying structs the YAML tree is decoded into.
//!
//! The key tables below ([`PLAN`], [`VPC`], [`SUBNET`], [`ROUTE_TABLE`],
//! [`ENDPOINT`], [`SECURITY_GROUP`], [`POLICY`], [`PEERING`]) are the one
//! definition of the plan's shape: the decoder accepts exactly their keys
//! (any other key is an error naming the allowed ones), and `s3ep schema`
//! (`super::json_schema`) prints them as JSON Schema. Adding a key is one
//! [`Field`] entry in its table plus the line of the decoder that reads it;
//! a key in a table that no decoder reads is reported (see `Obj::finish`),
//! and a unit test decodes a plan with every key of every table.
//!
//! Decoding checks shape only (mapping vs list vs scalar, unknown keys,
//! duplicate names); every semantic rule lives in `validate`. Decoding never
//! stops at the first problem: a value of the wrong shape is reported and
//! left out, and the rest of the file is still decoded.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::error::{key_segment, q, Pos, Sink};
use super::tree::{Node, Yaml};

/// A scalar read as text, with the constraints the schema states about it.
/// (The decoder reads any scalar as text; `validate` checks the rest.)
#[derive(Debug, Clone, Copy)]
pub struct Text {
    /// JSON types that may stand for it in a plan (`["string"]`, or also
    /// numbers and booleans where those are plausible values, read as written).
    pub types: &'static [&'static str],
    /// An ECMA-262 regular expression the text must match.
    pub pattern: Option<&'static str>,
    /// The values allowed, when it is one of a few words.
    pub values: &'static [&'static str],
    /// The text must not match this (e.g. reserved tag prefixes).
    pub not_pattern: Option<&'static str>,
    /// Longest text, in characters.
    pub max_len: Option<usize>,
    /// What it is, in words.
    pub description: &'static str,
}

impl Text {
    const fn pattern(pattern: &'static str, description: &'static str) -> Text {
        Text {
            types: &["string"],
            pattern: Some(pattern),
            values: &[],
            not_pattern: None,
            max_len: None,
            description,
        }
    }
    const fn any(description: &'static str) -> Text {
        Text {
            types: &["string", "number", "boolean"],
            pattern: None,
            values: &[],
            not_pattern: None,
            max_len: None,
            description,
        }
    }
    const fn one_of(values: &'static [&'static str], description: &'static str) -> Text {
        Text {
            types: &["string"],
            pattern: None,
            values,
            not_pattern: None,
            max_len: None,
            description,
        }
    }
}

/// The type of a key's value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// An integer that must equal this (the plan `version`).
    IntConst(i64),
    /// An integer from `min` to `max`, both included (a subnet's
    /// `ipv6_index`). The decoder checks it is an integer; `validate` checks
    /// the range.
    IntRange { min: i64, max: i64 },
    /// A scalar, read as text.
    Text(Text),
    /// `true` or `false`.
    Bool,
    /// A list of scalars read as text; `null` is an empty list. `min_items`
    /// above 0: the list must have that many (and cannot be `null`).
    List { item: Text, min_items: usize },
    /// A mapping of name → value; `null` is an empty mapping.
    Map {
        names: Text,
        value: &'static Ty,
        min_entries: usize,
    },
    /// A mapping with the keys of a table.
    Object(&'static Shape),
    /// An IAM policy document: a mapping, or a string of JSON.
    Document,
    /// Any one of these (e.g. a boolean or a word).
    AnyOf(&'static [Ty]),
}

/// One key of a mapping.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// Values of the table's discriminator ([`Shape::discriminator`]) this
    /// key is allowed with; empty: all.
    pub only_for: &'static [&'static str],
    /// Values of the discriminator that make this key required.
    pub required_for: &'static [&'static str],
    pub description: &'static str,
}

impl Field {
    const fn new(key: &'static str, ty: Ty, description: &'static str) -> Field {
        Field {
            key,
            ty,
            required: false,
            only_for: &[],
            required_for: &[],
            description,
        }
    }
    const fn required(self) -> Field {
        Field {
            required: true,
            ..self
        }
    }
    const fn only_for(self, values: &'static [&'static str]) -> Field {
        Field {
            only_for: values,
            ..self
        }
    }
    const fn required_for(self, values: &'static [&'static str]) -> Field {
        Field {
            required_for: values,
            ..self
        }
    }
}

/// The keys of one kind of mapping (the top level, a VPC, an endpoint, …).
#[derive(Debug)]
pub struct Shape {
    /// Its name in the JSON Schema's `$defs` (empty for the top level).
    pub name: &'static str,
    pub description: &'static str,
    pub fields: &'static [Field],
    /// Groups of keys of which exactly one group is given, whole, and no key
    /// of another group (`cidr` or `id`; `{az, cidr}` or `id`).
    pub exclusive: &'static [&'static [&'static str]],
    /// The key whose value decides which other keys are allowed
    /// (an endpoint's `type`).
    pub discriminator: Option<&'static str>,
}

impl Shape {
    /// The keys, in table order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|f| f.key)
    }

    /// The entry for `key`.
    pub fn field(&self, key: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The discriminator values `key` is restricted to: `None` when it is
    /// allowed with every value (or is not a key of this table).
    pub fn only_for(&self, key: &str) -> Option<&'static [&'static str]> {
        self.field(key).map(|f| f.only_for).filter(|o| !o.is_empty())
    }
}

/// An IPv4 address in dotted decimal without leading zeros (a regex fragment).
macro_rules! ipv4 {
    () => {
        "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
    };
}
/// Plan, VPC, subnet, route table, endpoint and peering names (a regex fragment).
macro_rules! name {
    () => {
        "[a-z0-9][a-z0-9-]{0,39}"
    };
}

/// Plan, VPC, subnet, route table, endpoint and peering names, and the
/// keys of the maps they are declared in.
pub const NAME: Text = Text::pattern(
    concat!("^", name!(), "$"),
    "1 to 40 lowercase letters, digits and hyphens, starting with a letter or digit",
);
const REGION: Text = Text::pattern("^[a-z]{2}(-[a-z]+)+-[0-9]+$", "an AWS region, e.g. us-east-1");
const AZ: Text = Text::pattern(
    "^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$",
    "an availability zone of the VPC's region, e.g. us-east-1a",
);
/// A VPC or subnet CIDR: prefix /16 to /28, host bits clear.
const NET_CIDR: Text = Text::pattern(
    concat!("^", ipv4!(), "/(1[6-9]|2[0-8])$"),
    "an IPv4 CIDR with a prefix from /16 to /28, e.g. 10.0.0.0/16",
);
const VPC_ID: Text = Text::pattern("^vpc-[0-9a-f]{8,17}$", "an existing VPC's id (vpc-…), adopted");
const SUBNET_ID: Text = Text::pattern(
    "^subnet-[0-9a-f]{8,17}$",
    "an existing subnet's id (subnet-…), adopted",
);
const RTB_ID: Text = Text::pattern(
    "^rtb-[0-9a-f]{8,17}$",
    "an existing route table's id (rtb-…), adopted",
);
const SG_ID: Text = Text::pattern("^sg-[0-9a-f]{8,17}$", "an existing security group's id (sg-…)");
const SUBNET_REF: Text = Text::pattern(
    concat!("^(", name!(), "|subnet-[0-9a-f]{8,17})$"),
    "a subnet name of this VPC or an existing subnet's id (subnet-…)",
);
const RTB_REF: Text = Text::pattern(
    concat!("^(", name!(), "|rtb-[0-9a-f]{8,17})$"),
    "a route table name of this VPC or an existing route table's id (rtb-…)",
);
const HTTPS_SOURCE: Text = Text::pattern(
    concat!(
        "^(",
        name!(),
        "|",
        ipv4!(),
        "/(3[0-2]|[12]?[0-9])|sg-[0-9a-f]{8,17})$"
    ),
    "a VPC name of this plan (its CIDR), an IPv4 CIDR, or a security group id (sg-…)",
);
const BUCKET: Text = Text {
    types: &["string", "number"],
    ..Text::pattern(
        "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "an S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`",
    )
};
const TAG_KEY: Text = Text {
    types: &["string"],
    pattern: Some("^.+$"),
    values: &[],
    not_pattern: Some("^([sS]3[eE][pP]|[aA][wW][sS]):"),
    max_len: Some(127),
    description: "a tag key; keys starting with `s3ep:` or `aws:` are reserved",
};
const TAG_VALUE: Text = Text {
    max_len: Some(255),
    ..Text::any("a tag value")
};

/// The top level of a plan.
pub static PLAN: Shape = Shape {
    name: "",
    description: "An s3ep plan (format version 1): VPCs, S3 VPC endpoints and peerings.",
    fields: &[
        Field::new("version", Ty::IntConst(1), "The plan format version: must be 1.").required(),
        Field::new(
            "name",
            Ty::Text(NAME),
            "The plan's name; every resource s3ep creates carries it as its `s3ep:plan` ownership tag.",
        )
        .required(),
        Field::new(
            "tags",
            Ty::Map {
                names: TAG_KEY,
                value: &Ty::Text(TAG_VALUE),
                min_entries: 0,
            },
            "Tags added to every resource s3ep creates.",
        ),
        Field::new(
            "vpcs",
            Ty::Map {
                names: NAME,
                value: &Ty::Object(&VPC),
                min_entries: 1,
            },
            "VPC name → VPC; at least one.",
        )
        .required(),
        Field::new(
            "endpoints",
            Ty::Map {
                names: NAME,
                value: &Ty::Object(&ENDPOINT),
                min_entries: 0,
            },
            "Endpoint name → S3 VPC endpoint.",
        ),
        Field::new(
            "peerings",
            Ty::Map {
                names: NAME,
                value: &Ty::Object(&PEERING),
                min_entries: 0,
            },
            "Peering name → VPC peering connection.",
        ),
    ],
    exclusive: &[],
    discriminator: None,
};

/// A VPC.
pub static VPC: Shape = Shape {
    name: "vpc",
    description: "A VPC: created (`cidr`) or adopted (`id`).",
    fields: &[
        Field::new("region", Ty::Text(REGION), "The VPC's AWS region.").required(),
        Field::new(
            "cidr",
            Ty::Text(NET_CIDR),
            "Create this VPC with this IPv4 CIDR (/16 to /28).",
        ),
        Field::new(
            "id",
            Ty::Text(VPC_ID),
            "Adopt an existing VPC: read and referenced, never modified or deleted.",
        ),
        Field::new(
            "subnets",
            Ty::Map {
                names: NAME,
                value: &Ty::Object(&SUBNET),
                min_entries: 0,
            },
            "Subnet name → subnet: `{az, cidr}` to create (only in a created VPC), `{id}` to adopt.",
        ),
        Field::new(
            "route_tables",
            Ty::Map {
                names: NAME,
                value: &Ty::Object(&ROUTE_TABLE),
                min_entries: 0,
            },
            "Route table name → route table: `{subnets}` to create, `{id}` to adopt.",
        ),
        Field::new(
            "ipv6",
            Ty::Text(Text::one_of(&["amazon"], "where the VPC's IPv6 block comes from")),
            "Created VPCs only: `amazon` asks EC2 for an Amazon-provided /56 (CreateVpc AmazonProvidedIpv6CidrBlock). Absent: IPv4 only.",
        ),
    ],
    exclusive: &[&["cidr"], &["id"]],
    discriminator: None,
};

/// A subnet.
pub static SUBNET: Shape = Shape {
    name: "subnet",
    description: "A subnet: `{az, cidr}` creates one, `{id}` adopts one.",
    fields: &[
        Field::new(
            "az",
            Ty::Text(AZ),
            "The subnet's availability zone, in the VPC's region.",
        ),
        Field::new(
            "cidr",
            Ty::Text(NET_CIDR),
            "The subnet's IPv4 CIDR, inside the VPC's and overlapping no other subnet.",
        ),
        Field::new("id", Ty::Text(SUBNET_ID), "Adopt an existing subnet."),
        Field::new(
            "ipv6_index",
            Ty::IntRange { min: 0, max: 255 },
            "Created subnets in an `ipv6` VPC only: the subnet gets the /64 at this index (0 to 255) of the VPC's /56. Absent: IPv4 only.",
        ),
    ],
    exclusive: &[&["az", "cidr"], &["id"]],
    discriminator: None,
};

/// A route table.
pub static ROUTE_TABLE: Shape = Shape {
    name: "route_table",
    description: "A route table: `{subnets}` creates one associated with those subnets, `{id}` adopts one.",
    fields: &[
        Field::new(
            "subnets",
            Ty::List {
                item: NAME,
                min_items: 0,
            },
            "Names of subnets this plan creates in this VPC to associate; a subnet is in at most one table.",
        ),
        Field::new("id", Ty::Text(RTB_ID), "Adopt an existing route table."),
    ],
    exclusive: &[&["subnets"], &["id"]],
    discriminator: None,
};

/// An endpoint.
pub static ENDPOINT: Shape = Shape {
    name: "endpoint",
    description: "An S3 VPC endpoint: `gateway` (free, same region, routed by prefix list) or `interface` (PrivateLink ENIs in subnets).",
    fields: &[
        Field::new("vpc", Ty::Text(NAME), "A VPC name of this plan.").required(),
        Field::new(
            "type",
            Ty::Text(Text::one_of(&["gateway", "interface"], "the endpoint type")),
            "`gateway` or `interface`.",
        )
        .required(),
        Field::new(
            "service",
            Ty::Text(Text {
                types: &["string"],
                ..Text::pattern(
                    "^([a-z0-9-]+|.*[.].*)$",
                    "`s3` (default), `s3express` (gateway only) or a full service name",
                )
            }),
            "Default `s3`, meaning com.amazonaws.<vpc region>.s3 (cn.com.amazonaws.<region>.s3 for interface endpoints in cn-* regions); `s3express` (gateway only) means com.amazonaws.<vpc region>.s3express; a full service name is allowed. A gateway endpoint's service is in its VPC's region.",
        ),
        Field::new(
            "route_tables",
            Ty::List {
                item: RTB_REF,
                min_items: 0,
            },
            "Gateway only: route table names of this VPC or rtb-… ids; S3's prefix list is routed to the endpoint in each.",
        )
        .only_for(&["gateway"]),
        Field::new(
            "subnets",
            Ty::List {
                item: SUBNET_REF,
                min_items: 1,
            },
            "Interface only, at least one: subnet names or subnet-… ids of this VPC, at most one per availability zone.",
        )
        .only_for(&["interface"])
        .required_for(&["interface"]),
        Field::new(
            "security_group",
            Ty::Object(&SECURITY_GROUP),
            "Interface only: s3ep creates a security group for the endpoint with an inbound TCP 443 rule from each `allow_https_from` entry.",
        )
        .only_for(&["interface"]),
        Field::new(
            "security_groups",
            Ty::List {
                item: SG_ID,
                min_items: 0,
            },
            "Interface only: existing sg-… ids to attach as well.",
        )
        .only_for(&["interface"]),
        Field::new(
            "private_dns",
            Ty::AnyOf(&[
                Ty::Bool,
                Ty::Text(Text::one_of(&["inbound-only"], "`inbound-only`")),
            ]),
            "Interface only: `false` (default), `true` (every client of the VPC resolves S3's regional names to the endpoint), or `inbound-only` (only queries through a Route 53 inbound resolver do; needs a gateway endpoint of this plan for the same service in the same VPC).",
        )
        .only_for(&["interface"]),
        Field::new(
            "service_region",
            Ty::Text(REGION),
            "Interface only: the region of the service when it is not the VPC's (cross-region PrivateLink, CreateVpcEndpoint ServiceRegion); `service: s3` then means S3 in that region. Changing it replaces the endpoint. Needs the IAM action vpce:AllowMultiRegion.",
        )
        .only_for(&["interface"]),
        Field::new(
            "ip_address_type",
            Ty::Text(Text::one_of(&["ipv4", "dualstack", "ipv6"], "the endpoint's IP address type")),
            "`ipv4` (default), `dualstack` (every interface subnet needs IPv6) or `ipv6` (IPv6-only subnets; not for subnets s3ep creates). ipv4 ↔ dualstack is an update; to or from ipv6 a replace.",
        ),
        Field::new(
            "dns_record_ip_type",
            Ty::Text(Text::one_of(
                &["ipv4", "dualstack", "ipv6", "service-defined"],
                "the DNS records of the endpoint",
            )),
            "Interface only: `ipv4`, `dualstack`, `ipv6` or `service-defined`; default: the same as `ip_address_type`, which must allow it.",
        )
        .only_for(&["interface"]),
        Field::new(
            "policy",
            Ty::Object(&POLICY),
            "The endpoint policy. Absent: AWS's default full-access policy, with a warning.",
        ),
    ],
    exclusive: &[],
    discriminator: Some("type"),
};

/// An interface endpoint's `security_group`.
pub static SECURITY_GROUP: Shape = Shape {
    name: "security_group",
    description: "The security group s3ep creates for an interface endpoint.",
    fields: &[
        Field::new(
            "allow_https_from",
            Ty::List {
                item: HTTPS_SOURCE,
                min_items: 1,
            },
            "Sources allowed in on TCP 443: VPC names of this plan (their CIDR), IPv4 CIDRs or sg-… ids.",
        )
        .required(),
        Field::new(
            "client_groups",
            Ty::List {
                item: SG_ID,
                min_items: 0,
            },
            "The clients' existing sg-… ids (same VPC, or a peered VPC in the same region): s3ep adds to each an outbound TCP 443 rule to the endpoint's group (address `egress.<endpoint>.<sg-id>`), unless a rule of the group already allows it; destroy removes only that rule.",
        ),
    ],
    exclusive: &[],
    discriminator: None,
};

/// An endpoint's `policy`.
pub static POLICY: Shape = Shape {
    name: "policy",
    description: "An endpoint policy: exactly one of `allow_buckets`, `document` and `file`.",
    fields: &[
        Field::new(
            "allow_buckets",
            Ty::List {
                item: BUCKET,
                min_items: 1,
            },
            "A generated policy allowing S3 on these buckets and their objects only.",
        ),
        Field::new(
            "document",
            Ty::Document,
            "A literal IAM policy, as YAML or as a string of JSON.",
        ),
        Field::new(
            "file",
            Ty::Text(Text::any("a path")),
            "A JSON or YAML policy file, relative to the plan file.",
        ),
    ],
    exclusive: &[&["allow_buckets"], &["document"], &["file"]],
    discriminator: None,
};

/// A peering.
pub static PEERING: Shape = Shape {
    name: "peering",
    description: "A VPC peering connection, requested and accepted by s3ep; regions may differ.",
    fields: &[
        Field::new("requester", Ty::Text(NAME), "The requester's VPC name of this plan.").required(),
        Field::new("accepter", Ty::Text(NAME), "The accepter's VPC name of this plan.").required(),
        Field::new(
            "routes",
            Ty::Map {
                names: NAME,
                value: &Ty::List {
                    item: RTB_REF,
                    min_items: 0,
                },
                min_entries: 0,
            },
            "VPC name (requester or accepter) → route table names or rtb-… ids; each gets a route to the other VPC's CIDR through the peering.",
        ),
    ],
    exclusive: &[],
    discriminator: None,
};

/// Every table, in the order the JSON Schema lists them under `$defs`.
pub static SHAPES: &[&Shape] = &[
    &VPC,
    &SUBNET,
    &ROUTE_TABLE,
    &ENDPOINT,
    &SECURITY_GROUP,
    &POLICY,
    &PEERING,
];

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
    pub ipv6: Option<Sp<String>>,
}

/// A subnet as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawSubnet {
    pub az: Option<Sp<String>>,
    pub cidr: Option<Sp<String>>,
    pub id: Option<Sp<String>>,
    /// `Sp<None>` when present but not an integer (already reported).
    pub ipv6_index: Option<Sp<Option<i128>>>,
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
    /// `Sp<None>` when present but of the wrong shape (already reported).
    pub private_dns: Option<Sp<Option<RawPrivateDns>>>,
    pub service_region: Option<Sp<String>>,
    pub ip_address_type: Option<Sp<String>>,
    pub dns_record_ip_type: Option<Sp<String>>,
    pub policy: Option<Sp<Option<RawPolicy>>>,
    /// Every key written, with its position (for the keys only one
    /// endpoint type takes, see [`Shape::only_for`]).
    pub keys: Vec<(String, Option<Pos>)>,
}

/// `private_dns` as written: a boolean, or a word (checked in `validate`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawPrivateDns {
    Bool(bool),
    Word(String),
}

/// An endpoint's `security_group` as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawSecurityGroup {
    pub allow_https_from: Option<StrList>,
    pub client_groups: Option<StrList>,
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

/// The entries of a mapping whose keys were checked against a table.
struct Obj<'n> {
    path: String,
    shape: &'static Shape,
    entries: Vec<(String, Option<Pos>, &'n Node)>,
    /// The keys a decoder asked for.
    read: RefCell<Vec<&'static str>>,
}

impl<'n> Obj<'n> {
    fn get(&self, key: &'static str) -> Option<(String, Option<Pos>, &'n Node)> {
        debug_assert!(
            self.shape.field(key).is_some(),
            "key {key} is not in the {:?} table",
            self.shape.name
        );
        self.read.borrow_mut().push(key);
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(k, p, n)| (join(&self.path, k), *p, *n))
    }

    /// The keys present, with the position of each key.
    fn present(&self) -> Vec<(String, Option<Pos>)> {
        self.entries.iter().map(|(k, p, _)| (k.clone(), *p)).collect()
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
    fn obj<'n>(&mut self, node: &'n Node, path: &str, shape: &'static Shape) -> Option<Obj<'n>> {
        let allowed: Vec<&str> = shape.keys().collect();
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
            shape,
            entries: out,
            read: RefCell::new(Vec::new()),
        })
    }

    /// Reports every key of `obj` that is present but that its decoder did
    /// not read: a key in a table without a decoder line would otherwise be
    /// silently ignored, and unknown keys are never ignored.
    fn finish(&mut self, obj: Obj<'_>) {
        let read = obj.read.borrow();
        for (k, pos, _) in &obj.entries {
            if !read.iter().any(|r| r == k) {
                self.sink.at(
                    &join(&obj.path, k),
                    *pos,
                    format!(
                        "internal error: s3ep does not decode key {} yet; please report this",
                        q(k)
                    ),
                );
            }
        }
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

    /// An integer (a YAML int, not a string or a float); `Sp<None>` when it
    /// is something else (reported).
    fn integer(&mut self, field: Option<(String, Option<Pos>, &Node)>) -> Option<Sp<Option<i128>>> {
        let (path, key_pos, node) = field?;
        let v = match node.value {
            Yaml::Int(i) => Some(i),
            _ => {
                let shown = match node.text(self.src) {
                    Some(t) if !matches!(node.value, Yaml::Str(_)) => t,
                    Some(t) => format!("the string {}", q(&t)),
                    None => node.kind().to_string(),
                };
                self.sink
                    .at(&path, node.pos, format!("expected an integer, found {shown}"));
                None
            }
        };
        Some(Sp {
            v,
            pos: node.pos,
            key_pos,
        })
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
        let obj = self.obj(root, "", &PLAN)?;
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
        self.finish(obj);
        plan.positions = std::mem::take(&mut self.positions);
        Some(plan)
    }

    fn vpc(&mut self, node: &Node, path: &str) -> Option<RawVpc> {
        let obj = self.obj(node, path, &VPC)?;
        let mut vpc = RawVpc {
            region: self.string(obj.get("region")),
            cidr: self.string(obj.get("cidr")),
            id: self.string(obj.get("id")),
            ipv6: self.string(obj.get("ipv6")),
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
        self.finish(obj);
        Some(vpc)
    }

    fn subnet(&mut self, node: &Node, path: &str) -> Option<RawSubnet> {
        let obj = self.obj(node, path, &SUBNET)?;
        let subnet = RawSubnet {
            az: self.string(obj.get("az")),
            cidr: self.string(obj.get("cidr")),
            id: self.string(obj.get("id")),
            ipv6_index: self.integer(obj.get("ipv6_index")),
        };
        self.finish(obj);
        Some(subnet)
    }

    fn route_table(&mut self, node: &Node, path: &str) -> Option<RawRouteTable> {
        let obj = self.obj(node, path, &ROUTE_TABLE)?;
        let table = RawRouteTable {
            subnets: self.list_field(obj.get("subnets")),
            id: self.string(obj.get("id")),
        };
        self.finish(obj);
        Some(table)
    }

    fn endpoint(&mut self, node: &Node, path: &str) -> Option<RawEndpoint> {
        let obj = self.obj(node, path, &ENDPOINT)?;
        let mut ep = RawEndpoint {
            vpc: self.string(obj.get("vpc")),
            kind: self.string(obj.get("type")),
            service: self.string(obj.get("service")),
            route_tables: self.list_field(obj.get("route_tables")),
            subnets: self.list_field(obj.get("subnets")),
            security_groups: self.list_field(obj.get("security_groups")),
            service_region: self.string(obj.get("service_region")),
            ip_address_type: self.string(obj.get("ip_address_type")),
            dns_record_ip_type: self.string(obj.get("dns_record_ip_type")),
            keys: obj.present(),
            ..RawEndpoint::default()
        };
        if let Some((p, key_pos, n)) = obj.get("private_dns") {
            let v = match &n.value {
                Yaml::Bool(b) => Some(RawPrivateDns::Bool(*b)),
                Yaml::Str(w) => Some(RawPrivateDns::Word(w.clone())),
                _ => {
                    self.sink.at(
                        &p,
                        n.pos,
                        format!("expected true, false or inbound-only, found {}", n.kind()),
                    );
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
            let v = self.obj(n, &p, &SECURITY_GROUP).map(|o| {
                let sg = RawSecurityGroup {
                    allow_https_from: self.list_field(o.get("allow_https_from")),
                    client_groups: self.list_field(o.get("client_groups")),
                };
                self.finish(o);
                sg
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
        self.finish(obj);
        Some(ep)
    }

    fn policy(&mut self, node: &Node, path: &str) -> Option<RawPolicy> {
        let obj = self.obj(node, path, &POLICY)?;
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
        self.finish(obj);
        Some(policy)
    }

    fn peering(&mut self, node: &Node, path: &str) -> Option<RawPeering> {
        let obj = self.obj(node, path, &PEERING)?;
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
        self.finish(obj);
        Some(peering)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A value of the right shape for `ty` (contents need not be valid:
    /// decoding checks shape only).
    fn sample(ty: &Ty) -> Value {
        match ty {
            Ty::IntConst(n) => json!(n),
            Ty::IntRange { min, .. } => json!(min),
            Ty::Text(_) => json!("x"),
            Ty::Bool => json!(true),
            Ty::List { .. } => json!(["x"]),
            Ty::Map { value, .. } => json!({ "x": sample(value) }),
            Ty::Object(shape) => every_key(shape),
            Ty::Document => json!({}),
            Ty::AnyOf(options) => options.first().map(sample).unwrap_or(Value::Null),
        }
    }

    /// A mapping with every key of `shape`.
    fn every_key(shape: &Shape) -> Value {
        Value::Object(
            shape
                .fields
                .iter()
                .map(|f| (f.key.to_string(), sample(&f.ty)))
                .collect(),
        )
    }

    /// Every key of every table is read by a decoder: a plan that has them
    /// all decodes without an "internal error" (see `Decoder::finish`), and
    /// without an unknown-key error.
    #[test]
    fn every_table_key_is_decoded() {
        let text = every_key(&PLAN).to_string(); // JSON is YAML
        let root = super::super::tree::parse(&text).expect("parse");
        let mut sink = Sink::new("all.yaml");
        let raw = Decoder::new(&text, &mut sink).plan(&root);
        assert!(raw.is_some());
        let errors = sink.finish();
        for e in &errors {
            assert!(!e.to_string().contains("internal error"), "{e}");
            assert!(!e.to_string().contains("unknown key"), "{e}");
        }
        // The sample reaches every table.
        for shape in SHAPES {
            let key = shape.fields[0].key;
            assert!(text.contains(&format!("\"{key}\"")), "{}", shape.name);
        }
    }

    /// A key that is in a table but that a decoder does not read is
    /// reported, never silently ignored.
    #[test]
    fn a_key_no_decoder_reads_is_reported() {
        let text = "{az: x, cidr: y}";
        let root = super::super::tree::parse(text).expect("parse");
        let mut sink = Sink::new("t.yaml");
        let mut d = Decoder::new(text, &mut sink);
        let obj = d.obj(&root, "s", &SUBNET).expect("mapping");
        let _ = obj.get("az");
        d.finish(obj);
        let errors = sink.finish();
        let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].contains("s.cidr") && all[0].contains("internal error"),
            "{all:?}"
        );
    }

    /// The decoder's allowed keys are the table's, in its order.
    #[test]
    fn unknown_key_message_lists_the_table() {
        let keys: Vec<&str> = ENDPOINT.keys().collect();
        assert_eq!(keys[..3], ["vpc", "type", "service"]);
        assert_eq!(ENDPOINT.only_for("subnets"), Some(&["interface"][..]));
        assert_eq!(ENDPOINT.only_for("route_tables"), Some(&["gateway"][..]));
        assert_eq!(ENDPOINT.only_for("policy"), None);
    }
}
