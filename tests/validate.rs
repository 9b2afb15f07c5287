//! Plan loading and validation: one failing case per rule (table-driven,
//! checking the key and, for located errors, line and column), hostile YAML,
//! and the cross-region lab loading into the expected `Desired`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use s3ep::model::{EndpointKind, HttpsRule, HttpsSource, PrivateDns, Ref, Source, SubnetSpec};
use s3ep::plan::{bucket_policy, load_file, load_str, PlanError, PlanErrors};
use serde_json::json;

/// A valid start that cases below append to (17 lines).
const BASE: &str = "\
version: 1
name: lab
vpcs:
  a:
    region: us-east-1
    cidr: 10.0.0.0/16
    subnets:
      s1: {az: us-east-1a, cidr: 10.0.1.0/24}
      s2: {az: us-east-1a, cidr: 10.0.2.0/24}
      s3: {az: us-east-1b, cidr: 10.0.3.0/24}
    route_tables:
      rt: {subnets: [s1]}
  b:
    region: eu-west-1
    cidr: 10.1.0.0/16
    route_tables:
      main: {id: rtb-0123456789abcdef0}
";
const BASE_LINES: usize = 17;

/// A minimal valid plan head for cases that need their own `vpcs` (3 lines).
const HEAD: &str = "version: 1\nname: lab\nvpcs:\n";

struct Case {
    name: &'static str,
    yaml: String,
    key: &'static str,
    msg: &'static str,
    at: Option<(usize, usize)>,
}

/// A case with a complete plan text; `at` is absolute.
fn full(
    name: &'static str,
    yaml: &str,
    key: &'static str,
    msg: &'static str,
    at: Option<(usize, usize)>,
) -> Case {
    Case {
        name,
        yaml: yaml.to_string(),
        key,
        msg,
        at,
    }
}

/// A case with `HEAD` + `vpcs` body; `at` lines are counted from the first
/// line of `body` (1 = the line after `vpcs:`).
fn vpcs(
    name: &'static str,
    body: &str,
    key: &'static str,
    msg: &'static str,
    at: Option<(usize, usize)>,
) -> Case {
    Case {
        name,
        yaml: format!("{HEAD}{body}"),
        key,
        msg,
        at: at.map(|(l, c)| (l + 3, c)),
    }
}

/// A case with `BASE` + `more`; `at` lines are counted from the first line
/// of `more`.
fn ext(
    name: &'static str,
    more: &str,
    key: &'static str,
    msg: &'static str,
    at: Option<(usize, usize)>,
) -> Case {
    Case {
        name,
        yaml: format!("{BASE}{more}"),
        key,
        msg,
        at: at.map(|(l, c)| (l + BASE_LINES, c)),
    }
}

fn load(yaml: &str) -> Result<s3ep::model::Desired, PlanErrors> {
    load_str(yaml, "plan.yaml", &fixtures())
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan")
}

fn cases() -> Vec<Case> {
    let long_key = "k".repeat(128);
    let long_value = "v".repeat(256);
    let big_doc = format!(
        "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy:\n      document: {{Version: '2012-10-17', Statement: [], Pad: {}}}\n",
        "x".repeat(20_500)
    );
    vec![
        // ---- top level
        full("version missing", "name: lab\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "version", "required key is missing", Some((1, 1))),
        full("version missing after comments", "# lab\n\n  name: lab\n  vpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "version", "required key is missing: write `version: 1`", Some((3, 3))),
        full("version missing in flow root", "{name: lab, vpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}}\n", "version", "required key is missing", Some((1, 2))),
        full("version 2", "version: 2\nname: lab\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "version", "unsupported plan version `2`", Some((1, 10))),
        full("version string", "version: \"1\"\nname: lab\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "version", "`version` must be the number 1, found `1`", Some((1, 10))),
        full("name missing", "version: 1\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "name", "required key is missing: the plan's name", Some((1, 1))),
        full("name invalid", "version: 1\nname: Lab_1\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "name", "invalid plan name `Lab_1`", Some((2, 7))),
        full("name too long", &format!("version: 1\nname: {}\nvpcs: {{a: {{region: us-east-1, cidr: 10.0.0.0/16}}}}\n", "a".repeat(41)), "name", "invalid plan name", Some((2, 7))),
        full("name leading hyphen", "version: 1\nname: -lab\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "name", "invalid plan name", Some((2, 7))),
        full("unknown top key", "version: 1\nname: lab\nvcps: {}\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "vcps", "unknown key `vcps`; allowed keys here: version, name, tags, vpcs, endpoints, peerings", Some((3, 1))),
        full("tag s3ep prefix", "version: 1\nname: lab\ntags:\n  S3EP:plan: x\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "tags.S3EP:plan", "reserved", Some((4, 3))),
        full("tag aws prefix", "version: 1\nname: lab\ntags:\n  env: dev\n  Aws:foo: x\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "tags.Aws:foo", "reserved", Some((5, 3))),
        Case { name: "tag key too long", yaml: format!("version: 1\nname: lab\ntags:\n  {long_key}: x\nvpcs: {{a: {{region: us-east-1, cidr: 10.0.0.0/16}}}}\n"), key: "tags.kkkk", msg: "128 characters long; AWS allows at most 127", at: Some((4, 3)) },
        Case { name: "tag value too long", yaml: format!("version: 1\nname: lab\ntags:\n  k: {long_value}\nvpcs: {{a: {{region: us-east-1, cidr: 10.0.0.0/16}}}}\n"), key: "tags.k", msg: "256 characters long; AWS allows at most 255", at: Some((4, 6)) },
        full("tags not a map", "version: 1\nname: lab\ntags: [a]\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "tags", "expected a mapping", Some((3, 7))),
        full("tag value a list", "version: 1\nname: lab\ntags: {k: [1]}\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "tags.k", "expected a string, found a list", Some((3, 11))),
        // ---- vpcs
        full("vpcs missing", "version: 1\nname: lab\n", "vpcs", "required key is missing: declare at least one VPC under `vpcs`", Some((1, 1))),
        full("vpcs empty", "version: 1\nname: lab\nvpcs: {}\n", "vpcs", "at least one VPC", Some((3, 7))),
        full("vpcs a list", "version: 1\nname: lab\nvpcs: [a]\n", "vpcs", "expected a mapping", Some((3, 7))),
        vpcs("vpc name invalid", "  Vpc_1: {region: us-east-1, cidr: 10.0.0.0/16}\n", "vpcs.Vpc_1", "invalid VPC name `Vpc_1`", Some((1, 3))),
        vpcs("vpc not a map", "  a: 3\n", "vpcs.a", "expected a mapping", Some((1, 6))),
        vpcs("vpc unknown key", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    size: big\n", "vpcs.a.size", "unknown key `size`; allowed keys here: region, cidr, id, subnets, route_tables", Some((4, 5))),
        vpcs("region missing", "  a:\n    cidr: 10.0.0.0/16\n", "vpcs.a.region", "required key is missing", Some((1, 3))),
        vpcs("region invalid", "  a:\n    region: us_east_1\n    cidr: 10.0.0.0/16\n", "vpcs.a.region", "invalid region `us_east_1`", Some((2, 13))),
        vpcs("region no number", "  a:\n    region: us-east\n    cidr: 10.0.0.0/16\n", "vpcs.a.region", "invalid region", Some((2, 13))),
        vpcs("cidr and id", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    id: vpc-0123456789abcdef0\n", "vpcs.a", "exactly one of `cidr`", Some((4, 5))),
        vpcs("neither cidr nor id", "  a:\n    region: us-east-1\n", "vpcs.a", "one of `cidr` (create a VPC) or `id`", Some((1, 3))),
        vpcs("cidr not a cidr", "  a:\n    region: us-east-1\n    cidr: 10.0.0/16\n", "vpcs.a.cidr", "invalid IPv4 CIDR `10.0.0/16`", Some((3, 11))),
        vpcs("cidr ipv6", "  a:\n    region: us-east-1\n    cidr: fd00::/16\n", "vpcs.a.cidr", "invalid IPv4 CIDR", Some((3, 11))),
        vpcs("cidr prefix too short", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/8\n", "vpcs.a.cidr", "between /16 and /28", Some((3, 11))),
        vpcs("cidr prefix too long", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/29\n", "vpcs.a.cidr", "between /16 and /28", Some((3, 11))),
        vpcs("cidr host bits", "  a:\n    region: us-east-1\n    cidr: 10.0.0.1/16\n", "vpcs.a.cidr", "host bits set; the network address is 10.0.0.0/16", Some((3, 11))),
        vpcs("vpc id invalid", "  a:\n    region: us-east-1\n    id: vpc-12345\n", "vpcs.a.id", "invalid VPC id `vpc-12345`", Some((3, 9))),
        vpcs("vpc id uppercase", "  a:\n    region: us-east-1\n    id: vpc-0123456789ABCDEF0\n", "vpcs.a.id", "invalid VPC id", Some((3, 9))),
        // ---- subnets
        vpcs("subnet name invalid", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      app.a: {az: us-east-1a, cidr: 10.0.1.0/24}\n", "vpcs.a.subnets.app.a", "invalid subnet name", Some((5, 7))),
        vpcs("subnet mixes forms", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.0/24, id: subnet-0123456789abcdef0}\n", "vpcs.a.subnets.s", "mixes `id` (adopt) with `az`/`cidr` (create)", Some((5, 46))),
        vpcs("subnet empty", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {}\n", "vpcs.a.subnets.s", "give `{az, cidr}`", Some((5, 7))),
        vpcs("subnet unknown key", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.0/24, zone: x}\n", "vpcs.a.subnets.s.zone", "unknown key `zone`; allowed keys here: az, cidr, id", Some((5, 46))),
        vpcs("subnet created in adopted vpc", "  a:\n    region: us-east-1\n    id: vpc-0123456789abcdef0\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.0/24}\n", "vpcs.a.subnets.s.cidr", "a VPC adopted by id can only adopt subnets", Some((5, 27))),
        vpcs("subnet az missing", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {cidr: 10.0.1.0/24}\n", "vpcs.a.subnets.s.az", "required key is missing", Some((5, 7))),
        vpcs("subnet cidr missing", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a}\n", "vpcs.a.subnets.s.cidr", "required key is missing", Some((5, 7))),
        vpcs("subnet az other region", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-2a, cidr: 10.0.1.0/24}\n", "vpcs.a.subnets.s.az", "availability zone `us-east-2a` is not in VPC `a`'s region us-east-1", Some((5, 15))),
        vpcs("subnet az two letters", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1ab, cidr: 10.0.1.0/24}\n", "vpcs.a.subnets.s.az", "us-east-1 followed by one letter", Some((5, 15))),
        vpcs("subnet cidr outside vpc", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.9.1.0/24}\n", "vpcs.a.subnets.s.cidr", "subnet CIDR 10.9.1.0/24 is not inside VPC `a`'s CIDR 10.0.0.0/16", Some((5, 33))),
        vpcs("subnet cidr host bits", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.1/24}\n", "vpcs.a.subnets.s.cidr", "the network address is 10.0.1.0/24", Some((5, 33))),
        vpcs("subnet cidr prefix", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.0/30}\n", "vpcs.a.subnets.s.cidr", "between /16 and /28", Some((5, 33))),
        vpcs("subnets overlap", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      x: {az: us-east-1a, cidr: 10.0.0.0/23}\n      y: {az: us-east-1b, cidr: 10.0.1.0/24}\n", "vpcs.a.subnets.y.cidr", "subnet `y`'s CIDR 10.0.1.0/24 overlaps subnet `x`'s CIDR 10.0.0.0/23", Some((6, 33))),
        vpcs("subnet id invalid", "  a:\n    region: us-east-1\n    id: vpc-0123456789abcdef0\n    subnets:\n      s: {id: sub-0123456789abcdef0}\n", "vpcs.a.subnets.s.id", "invalid subnet id `sub-0123456789abcdef0`", Some((5, 15))),
        vpcs("subnets a list", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets: [x]\n", "vpcs.a.subnets", "expected a mapping of subnet name to subnet", Some((4, 14))),
        // ---- route tables
        vpcs("route table unknown subnet", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.0/24}\n    route_tables:\n      rt: {subnets: [s, t]}\n", "vpcs.a.route_tables.rt.subnets", "unknown subnet `t`", Some((7, 25))),
        vpcs("route table subnet twice in list", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.0/24}\n    route_tables:\n      rt: {subnets: [s, s]}\n", "vpcs.a.route_tables.rt.subnets", "subnet `s` is listed twice", Some((7, 25))),
        vpcs("subnet in two route tables", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s: {az: us-east-1a, cidr: 10.0.1.0/24}\n    route_tables:\n      one: {subnets: [s]}\n      two: {subnets: [s]}\n", "vpcs.a.route_tables.two.subnets", "subnet `s` is already in route table `one`; a subnet can be in at most one route table, but `one` and `two` both list it", Some((8, 23))),
        vpcs("route table mixes forms", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    route_tables:\n      rt: {subnets: [], id: rtb-0123456789abcdef0}\n", "vpcs.a.route_tables.rt", "mixes `id` (adopt) with `subnets` (create)", Some((5, 25))),
        vpcs("route table empty", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    route_tables:\n      rt: {}\n", "vpcs.a.route_tables.rt", "give `{subnets: [..]}`", Some((5, 7))),
        vpcs("route table id invalid", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    route_tables:\n      rt: {id: rtb-xyz}\n", "vpcs.a.route_tables.rt.id", "invalid route table id `rtb-xyz`", Some((5, 16))),
        vpcs("route table name invalid", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    route_tables:\n      RT: {id: rtb-0123456789abcdef0}\n", "vpcs.a.route_tables.RT", "invalid route table name", Some((5, 7))),
        vpcs("route table with adopted subnet", "  a:\n    region: us-east-1\n    id: vpc-0123456789abcdef0\n    subnets:\n      old: {id: subnet-0123456789abcdef0}\n      new: {id: subnet-00000000aaaaaaaa1}\n    route_tables:\n      rt: {subnets: []}\n      rt2: {subnets: [new]}\n", "vpcs.a.route_tables.rt2.subnets", "subnet `new` is adopted (subnet-00000000aaaaaaaa1): an adopted subnet keeps its own route table", Some((9, 23))),
        vpcs("route table subnets not a list", "  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    route_tables:\n      rt: {subnets: s}\n", "vpcs.a.route_tables.rt.subnets", "expected a list of strings, found a string", Some((5, 21))),
        // ---- endpoints
        ext("endpoint name invalid", "endpoints:\n  E:\n    vpc: a\n    type: gateway\n", "endpoints.E", "invalid endpoint name", Some((2, 3))),
        ext("endpoint vpc missing", "endpoints:\n  e:\n    type: gateway\n", "endpoints.e.vpc", "required key is missing", Some((2, 3))),
        ext("endpoint vpc unknown", "endpoints:\n  e:\n    vpc: c\n    type: gateway\n", "endpoints.e.vpc", "unknown VPC `c`; VPCs of this plan: a, b", Some((3, 10))),
        ext("endpoint type missing", "endpoints:\n  e:\n    vpc: a\n", "endpoints.e.type", "required key is missing", Some((2, 3))),
        ext("endpoint type invalid", "endpoints:\n  e:\n    vpc: a\n    type: Gateway\n", "endpoints.e.type", "invalid endpoint type `Gateway`: must be `gateway` or `interface`", Some((4, 11))),
        ext("endpoint unknown key", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    routes: [rt]\n", "endpoints.e.routes", "unknown key `routes`; allowed keys here: vpc, type, service", Some((5, 5))),
        ext("gateway service other region", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    service: com.amazonaws.us-west-2.s3\n", "endpoints.e.service", "gateway endpoints never cross regions", Some((5, 14))),
        ext("service invalid short name", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    service: S3\n", "endpoints.e.service", "invalid service `S3`", Some((5, 14))),
        ext("gateway with subnets", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    subnets: [s1]\n", "endpoints.e.subnets", "`subnets` is only for interface endpoints; endpoint `e` has type gateway", Some((5, 5))),
        ext("gateway with private_dns", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    private_dns: true\n", "endpoints.e.private_dns", "only for interface endpoints", Some((5, 5))),
        ext("gateway with security_group", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    security_group: {allow_https_from: [a]}\n", "endpoints.e.security_group", "only for interface endpoints", Some((5, 5))),
        ext("interface with route_tables", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    route_tables: [rt]\n", "endpoints.e.route_tables", "`route_tables` is only for gateway endpoints; endpoint `e` has type interface", Some((6, 5))),
        ext("gateway unknown route table", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    route_tables: [rt, main]\n", "endpoints.e.route_tables", "unknown route table `main`: write a route table name of VPC `a` (its route tables: rt) or a `rtb-…` id", Some((5, 24))),
        ext("gateway route table twice", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    route_tables: [rt, rt]\n", "endpoints.e.route_tables", "route table `rt` is listed twice", Some((5, 24))),
        ext("gateway route table by name and id", "endpoints:\n  e:\n    vpc: b\n    type: gateway\n    route_tables: [main, rtb-0123456789abcdef0]\n", "endpoints.e.route_tables", "route table `rtb-0123456789abcdef0` is listed twice: `main` and `rtb-0123456789abcdef0` are the same adopted route table", Some((5, 26))),
        ext("gateway route table bad id", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    route_tables: [rtb-0123]\n", "endpoints.e.route_tables", "invalid route table id `rtb-0123`", Some((5, 20))),
        ext("interface subnets missing", "endpoints:\n  e:\n    vpc: a\n    type: interface\n", "endpoints.e.subnets", "required key is missing", Some((2, 3))),
        ext("interface subnets empty", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: []\n", "endpoints.e.subnets", "at least one subnet", Some((5, 14))),
        ext("interface unknown subnet", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s9]\n", "endpoints.e.subnets", "unknown subnet `s9`: write a subnet name of VPC `a` (its subnets: s1, s2, s3) or a `subnet-…` id", Some((5, 15))),
        ext("interface subnet of other vpc", "endpoints:\n  e:\n    vpc: b\n    type: interface\n    subnets: [s1]\n", "endpoints.e.subnets", "unknown subnet `s1`", Some((5, 15))),
        ext("interface subnet twice", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1, s1]\n", "endpoints.e.subnets", "subnet `s1` is listed twice", Some((5, 19))),
        vpcs("interface subnet by id and name", "  a:\n    region: us-east-1\n    id: vpc-0123456789abcdef0\n    subnets:\n      x: {id: subnet-0123456789abcdef0}\nendpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [subnet-0123456789abcdef0, x]\n", "endpoints.e.subnets", "subnet `x` is listed twice: `subnet-0123456789abcdef0` and `x` are the same adopted subnet", Some((10, 41))),
        ext("interface bad subnet id", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [subnet-zz]\n", "endpoints.e.subnets", "invalid subnet id `subnet-zz`", Some((5, 15))),
        ext("interface two subnets one az", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1, s3, s2]\n", "endpoints.e.subnets", "subnets `s1` and `s2` are both in availability zone us-east-1a", Some((5, 23))),
        ext("allow_https_from missing", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {}\n", "endpoints.e.security_group.allow_https_from", "required key is missing", Some((6, 5))),
        ext("allow_https_from empty", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_https_from: []}\n", "endpoints.e.security_group.allow_https_from", "at least one entry", Some((6, 40))),
        ext("allow_https_from bad entry", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_https_from: [a, office]}\n", "endpoints.e.security_group.allow_https_from", "`office` is neither a VPC of this plan (a, b), an IPv4 CIDR", Some((6, 44))),
        ext("allow_https_from host bits", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_https_from: [192.168.1.1/24]}\n", "endpoints.e.security_group.allow_https_from", "network address is 192.168.1.0/24", Some((6, 41))),
        ext("allow_https_from bare address", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_https_from: [192.168.1.1]}\n", "endpoints.e.security_group.allow_https_from", "write 192.168.1.1/32", Some((6, 41))),
        ext("allow_https_from bad sg", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_https_from: [sg-1]}\n", "endpoints.e.security_group.allow_https_from", "invalid security group id `sg-1`", Some((6, 41))),
        ext("allow_https_from twice", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_https_from: [a, a]}\n", "endpoints.e.security_group.allow_https_from", "`a` is listed twice", Some((6, 44))),
        ext("security_group unknown key", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group: {allow_http_from: [a]}\n", "endpoints.e.security_group.allow_http_from", "unknown key `allow_http_from`; allowed keys here: allow_https_from", Some((6, 22))),
        ext("security_groups bad id", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_groups: [sg-0123456789abcdef0, default]\n", "endpoints.e.security_groups", "invalid security group id `default`", Some((6, 45))),
        ext("security_groups twice", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_groups: [sg-0123456789abcdef0, sg-0123456789abcdef0]\n", "endpoints.e.security_groups", "is listed twice", Some((6, 45))),
        ext("private_dns unknown value", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    private_dns: yes\n", "endpoints.e.private_dns", "invalid private_dns `yes`: must be true, false or inbound-only", Some((6, 18))),
        ext("private_dns quoted true", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    private_dns: 'true'\n", "endpoints.e.private_dns", "invalid private_dns `true`", Some((6, 18))),
        ext("private_dns wrong type", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    private_dns: [true]\n", "endpoints.e.private_dns", "expected true, false or inbound-only, found a list", Some((6, 18))),
        ext("gateway with private_dns inbound-only", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    private_dns: inbound-only\n", "endpoints.e.private_dns", "`private_dns` is only for interface endpoints; endpoint `e` has type gateway", Some((5, 5))),
        ext("inbound-only without gateway", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    private_dns: inbound-only\n", "endpoints.e.private_dns", "private_dns inbound-only needs a gateway endpoint for com.amazonaws.us-east-1.s3 in VPC `a`", Some((6, 18))),
        ext("inbound-only with the gateway in another vpc", "endpoints:\n  g:\n    vpc: b\n    type: gateway\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    private_dns: inbound-only\n", "endpoints.e.private_dns", "needs a gateway endpoint for com.amazonaws.us-east-1.s3 in VPC `a`", Some((9, 18))),
        ext("inbound-only with a gateway of another service", "endpoints:\n  g:\n    vpc: a\n    type: gateway\n    service: s3express\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    private_dns: inbound-only\n", "endpoints.e.private_dns", "needs a gateway endpoint for com.amazonaws.us-east-1.s3", Some((10, 18))),
        ext("inbound-only cross-region", "endpoints:\n  g:\n    vpc: a\n    type: gateway\n  e:\n    vpc: a\n    type: interface\n    service_region: us-west-2\n    subnets: [s1]\n    private_dns: inbound-only\n", "endpoints.e.private_dns", "needs a gateway endpoint for com.amazonaws.us-west-2.s3", Some((10, 18))),
        // ---- service short names and service_region
        ext("service unknown short name", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    service: dynamodb\n", "endpoints.e.service", "invalid service `dynamodb`: write `s3`, `s3express` (gateway endpoints only) or a full service name", Some((5, 14))),
        ext("service s3express on interface", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    service: s3express\n", "endpoints.e.service", "the short name `s3express` is for gateway endpoints only", Some((6, 14))),
        ext("service wrong type", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    service: [s3]\n", "endpoints.e.service", "expected a string, found a list", Some((5, 14))),
        ext("gateway with service_region", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    service_region: us-west-2\n", "endpoints.e.service_region", "`service_region` is only for interface endpoints; endpoint `e` has type gateway", Some((5, 5))),
        ext("service_region invalid", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    service_region: Virginia\n", "endpoints.e.service_region", "invalid service_region `Virginia`: write an AWS region such as us-east-1", Some((6, 21))),
        ext("service_region wrong type", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    service_region: {r: us-west-2}\n", "endpoints.e.service_region", "expected a string, found a mapping", Some((6, 21))),
        ext("service_region against the service name", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    service: com.amazonaws.eu-west-1.s3\n    service_region: us-west-2\n", "endpoints.e.service_region", "service_region `us-west-2` differs from the region of service com.amazonaws.eu-west-1.s3 (eu-west-1)", Some((7, 21))),
        ext("service_region other partition", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    service_region: cn-north-1\n", "endpoints.e.service_region", "cross-region PrivateLink stays inside one AWS partition", Some((6, 21))),
        ext("client_groups not a list", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group:\n      allow_https_from: [a]\n      client_groups: sg-0123456789abcdef0\n", "endpoints.e.security_group.client_groups", "expected a list", Some((8, 22))),
        ext("client_groups not an sg id", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group:\n      allow_https_from: [a]\n      client_groups: [sg-0123456789abcdef0, default]\n", "endpoints.e.security_group.client_groups", "invalid security group id `default`", Some((8, 45))),
        ext("client_groups twice", "endpoints:\n  e:\n    vpc: a\n    type: interface\n    subnets: [s1]\n    security_group:\n      allow_https_from: [a]\n      client_groups: [sg-0123456789abcdef0, sg-0123456789abcdef0]\n", "endpoints.e.security_group.client_groups", "client group `sg-0123456789abcdef0` is listed twice", Some((8, 45))),
        ext("client_groups on a gateway", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    security_group:\n      allow_https_from: [a]\n      client_groups: [sg-0123456789abcdef0]\n", "endpoints.e.security_group", "`security_group` is only for interface endpoints; endpoint `e` has type gateway", Some((5, 5))),
        // ---- policies
        ext("policy empty", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {}\n", "endpoints.e.policy", "give exactly one of `allow_buckets`, `document` and `file`", Some((5, 13))),
        ext("policy two kinds", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy:\n      allow_buckets: [abc]\n      file: p.json\n", "endpoints.e.policy", "not `allow_buckets` and `file`", Some((7, 7))),
        ext("policy unknown key", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy:\n      statement: []\n", "endpoints.e.policy.statement", "unknown key `statement`; allowed keys here: allow_buckets, document, file", Some((6, 7))),
        ext("allow_buckets empty", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {allow_buckets: []}\n", "endpoints.e.policy.allow_buckets", "at least one bucket", Some((5, 29))),
        ext("bucket name uppercase", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {allow_buckets: [ok-bucket, Bad_Bucket]}\n", "endpoints.e.policy.allow_buckets", "invalid bucket name `Bad_Bucket`", Some((5, 41))),
        ext("bucket name short", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {allow_buckets: [ab]}\n", "endpoints.e.policy.allow_buckets", "3 to 63 characters", Some((5, 30))),
        ext("bucket name ends with hyphen", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {allow_buckets: [abc-]}\n", "endpoints.e.policy.allow_buckets", "start and end with a lowercase letter or digit", Some((5, 30))),
        ext("bucket twice", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {allow_buckets: [abc, abc]}\n", "endpoints.e.policy.allow_buckets", "bucket `abc` is listed twice", Some((5, 35))),
        ext("document a list", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {document: [1]}\n", "endpoints.e.policy.document", "expected a policy document", Some((5, 24))),
        ext("document bad json text", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {document: '{\"Version\": '}\n", "endpoints.e.policy.document", "not valid JSON", Some((5, 24))),
        ext("document json array", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {document: '[1, 2]'}\n", "endpoints.e.policy.document", "must be a JSON object", Some((5, 24))),
        Case { name: "document too long", yaml: format!("{BASE}{big_doc}"), key: "endpoints.e.policy.document", msg: "endpoint policies are limited to 20480", at: Some((BASE_LINES + 6, 17)) },
        ext("policy file missing", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {file: no-such-policy.json}\n", "endpoints.e.policy.file", "cannot read policy file", Some((5, 20))),
        ext("policy file not json nor yaml", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {file: broken-policy.txt}\n", "endpoints.e.policy.file", "is neither JSON", Some((5, 20))),
        ext("policy file not an object", "endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy: {file: list-policy.json}\n", "endpoints.e.policy.file", "must be a JSON object", Some((5, 20))),
        // ---- peerings
        ext("peering name invalid", "peerings:\n  A-B:\n    requester: a\n    accepter: b\n", "peerings.A-B", "invalid peering name", Some((2, 3))),
        ext("peering requester missing", "peerings:\n  p:\n    accepter: b\n", "peerings.p.requester", "required key is missing", Some((2, 3))),
        ext("peering accepter unknown", "peerings:\n  p:\n    requester: a\n    accepter: c\n", "peerings.p.accepter", "unknown VPC `c`", Some((4, 15))),
        ext("peering same vpc", "peerings:\n  p:\n    requester: a\n    accepter: a\n", "peerings.p.accepter", "requester and accepter are both `a`", Some((4, 15))),
        vpcs("peering cidrs overlap", "  a: {region: us-east-1, cidr: 10.0.0.0/16}\n  b: {region: eu-west-1, cidr: 10.0.128.0/17}\npeerings:\n  p: {requester: a, accepter: b}\n", "peerings.p", "requester `a`'s CIDR 10.0.0.0/16 overlaps accepter `b`'s CIDR 10.0.128.0/17", Some((4, 31))),
        ext("peering twice", "peerings:\n  p:\n    requester: a\n    accepter: b\n  q:\n    requester: b\n    accepter: a\n", "peerings.q", "VPCs `a` and `b` are already peered by peering `p`", Some((5, 3))),
        ext("peering routes other vpc", "peerings:\n  p:\n    requester: a\n    accepter: b\n    routes:\n      c: [rt]\n", "peerings.p.routes.c", "`c` is neither the requester (a) nor the accepter (b)", Some((6, 7))),
        ext("peering routes unknown table", "peerings:\n  p:\n    requester: a\n    accepter: b\n    routes:\n      b: [rt]\n", "peerings.p.routes.b", "unknown route table `rt`: write a route table name of VPC `b` (its route tables: main)", Some((6, 11))),
        ext("peering routes twice", "peerings:\n  p:\n    requester: a\n    accepter: b\n    routes:\n      a: [rt, rt]\n", "peerings.p.routes.a", "route table `rt` is listed twice", Some((6, 15))),
        ext("peering unknown key", "peerings:\n  p:\n    requester: a\n    accepter: b\n    auto_accept: true\n", "peerings.p.auto_accept", "unknown key `auto_accept`; allowed keys here: requester, accepter, routes", Some((5, 5))),
        // ---- YAML level
        full("duplicate key", "version: 1\nname: lab\nname: lab2\nvpcs: {a: {region: us-east-1, cidr: 10.0.0.0/16}}\n", "", "duplicate mapping key", Some((3, 1))),
        vpcs("duplicate vpc name", "  a: {region: us-east-1, cidr: 10.0.0.0/16}\n  a: {region: us-east-1, cidr: 10.1.0.0/16}\n", "", "duplicate mapping key", Some((2, 3))),
        full("syntax error", "version: 1\nname: [lab\n", "", "invalid YAML", None),
        full("empty plan", "", "", "the plan is empty; it needs at least `version`, `name` and `vpcs`", Some((1, 1))),
        full("comments only", "# nothing yet\n", "", "the plan is empty", Some((1, 1))),
        full("plan a list", "- version: 1\n", "", "expected a mapping", Some((1, 1))),
        full("two documents", "version: 1\n---\nversion: 1\n", "", "a plan file holds a single YAML document", Some((2, 1))),
    ]
}

fn find<'a>(errs: &'a PlanErrors, key: &str, msg: &str) -> Option<&'a PlanError> {
    errs.0.iter().find(|e| {
        let key_ok = if key.ends_with("kkkk") {
            e.key.starts_with(key)
        } else {
            e.key == key
        };
        key_ok && e.message.contains(msg)
    })
}

/// IPv6: `ipv6`, `ipv6_index`, `ip_address_type`, `dns_record_ip_type`
/// (wrong type, unknown value, out of range, in the wrong place, not
/// allowed together, dualstack without IPv6 subnets).
fn ipv6_cases() -> Vec<Case> {
    vec![
        full("vpc ipv6 unknown value", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: google\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\n", "vpcs.v.ipv6", "invalid ipv6 `google`", Some((7, 11))),
        full("vpc ipv6 on adopted vpc", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    id: vpc-0123456789abcdef0\n    ipv6: amazon\n", "vpcs.v.ipv6", "only for VPCs s3ep creates", Some((7, 5))),
        full("vpc ipv6 wrong type", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: [amazon]\n", "vpcs.v.ipv6", "expected a string", Some((7, 11))),
        full("ipv6_index not an integer", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: zero\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\n", "vpcs.v.subnets.s1.ipv6_index", "expected an integer, found the string", Some((12, 21))),
        full("ipv6_index float", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 1.5\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\n", "vpcs.v.subnets.s1.ipv6_index", "expected an integer, found 1.5", Some((12, 21))),
        full("ipv6_index too large", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 256\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\n", "vpcs.v.subnets.s1.ipv6_index", "ipv6_index 256 is out of range: it must be from 0 to 255", Some((12, 21))),
        full("ipv6_index negative", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: -1\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\n", "vpcs.v.subnets.s1.ipv6_index", "out of range", Some((12, 21))),
        full("ipv6_index in a non-ipv6 vpc", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\n", "vpcs.v.subnets.s1.ipv6_index", "VPC `v` has no IPv6 block; add `ipv6: amazon`", Some((11, 9))),
        full("ipv6_index twice", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24, ipv6_index: 0}\n", "vpcs.v.subnets.s2.ipv6_index", "both have ipv6_index 0", Some((13, 59))),
        full("ipv6_index on adopted subnet", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\n      s3:\n        id: subnet-0123456789abcdef0\n        ipv6_index: 1\n", "vpcs.v.subnets.s3.ipv6_index", "only for subnets s3ep creates", Some((16, 9))),
        full("dualstack without ipv6 subnets", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\nendpoints:\n  e:\n    vpc: v\n    type: interface\n    subnets: [s1, s2]\n    ip_address_type: dualstack\n", "endpoints.e.ip_address_type", "subnet `s2` is created without `ipv6_index`", Some((19, 22))),
        full("ipv6 endpoint on created subnets", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\nendpoints:\n  e:\n    vpc: v\n    type: interface\n    subnets: [s1]\n    ip_address_type: ipv6\n", "endpoints.e.ip_address_type", "subnets s3ep creates always have an IPv4 CIDR", Some((19, 22))),
        full("ip_address_type unknown value", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\nendpoints:\n  e:\n    vpc: v\n    type: interface\n    subnets: [s1]\n    ip_address_type: ipv5\n", "endpoints.e.ip_address_type", "invalid ip_address_type `ipv5`", Some((19, 22))),
        full("ip_address_type wrong type", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\nendpoints:\n  e:\n    vpc: v\n    type: interface\n    subnets: [s1]\n    ip_address_type: {v: 4}\n", "endpoints.e.ip_address_type", "expected a string, found a mapping", Some((19, 22))),
        full("dns_record_ip_type not allowed by ipv4", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\nendpoints:\n  e:\n    vpc: v\n    type: interface\n    subnets: [s1]\n    dns_record_ip_type: ipv6\n", "endpoints.e.dns_record_ip_type", "dns_record_ip_type ipv6 is not allowed with ip_address_type ipv4; ipv4 allows ipv4", Some((19, 25))),
        full("dns_record_ip_type unknown value", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\nendpoints:\n  e:\n    vpc: v\n    type: interface\n    subnets: [s1]\n    dns_record_ip_type: both\n", "endpoints.e.dns_record_ip_type", "invalid dns_record_ip_type `both`", Some((19, 25))),
        full("dns_record_ip_type on a gateway", "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1:\n        az: us-east-1a\n        cidr: 10.0.1.0/24\n        ipv6_index: 0\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24}\nendpoints:\n  e:\n    vpc: v\n    type: gateway\n    dns_record_ip_type: ipv4\n", "endpoints.e.dns_record_ip_type", "`dns_record_ip_type` is only for interface endpoints", Some((18, 5))),
    ]
}

#[test]
fn every_rule_has_a_failing_case() {
    let fixtures = fixtures();
    let mut failures = Vec::new();
    for case in cases().into_iter().chain(ipv6_cases()) {
        let result = load_str(&case.yaml, "plan.yaml", &fixtures);
        let errs = match result {
            Ok(_) => {
                failures.push(format!("{}: loaded without error", case.name));
                continue;
            }
            Err(e) => e,
        };
        let Some(err) = find(&errs, case.key, case.msg) else {
            failures.push(format!(
                "{}: no error with key {:?} and message containing {:?}; got:\n{errs}",
                case.name, case.key, case.msg
            ));
            continue;
        };
        if let Some((line, column)) = case.at {
            if (err.line, err.column) != (Some(line), Some(column)) {
                failures.push(format!(
                    "{}: expected at {line}:{column}, got {:?}:{:?}: {err}",
                    case.name, err.line, err.column
                ));
            }
        }
        // One mistake, one error: no cascades (a misspelt key also leaves
        // the right one missing, which is worth saying).
        let expected = match case.name {
            "security_group unknown key" | "policy unknown key" => 2,
            _ => 1,
        };
        if errs.len() != expected {
            failures.push(format!(
                "{}: expected {expected} error(s), got {}:\n{errs}",
                case.name,
                errs.len()
            ));
        }
        // Display always starts with the file name and names the key.
        let shown = err.to_string();
        assert!(shown.starts_with("plan.yaml:"), "{shown}");
        if !err.key.is_empty() {
            assert!(shown.contains(&format!(": {}: ", err.key)), "{shown}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn base_plans_are_valid() {
    let d = load(BASE).expect("BASE is valid");
    assert_eq!(d.name, "lab");
    assert_eq!(d.vpcs.len(), 2);
    let d = load(&format!("{HEAD}  a: {{region: us-east-1, cidr: 10.0.0.0/16}}\n")).expect("HEAD is valid");
    assert_eq!(d.vpcs["a"].source, Source::Create("10.0.0.0/16".parse().unwrap()));
}

#[test]
fn all_errors_are_collected() {
    let yaml = "\
version: 1
name: lab
vpcs:
  a:
    region: nowhere
    cidr: 10.0.0.1/16
    extra: 1
endpoints:
  e:
    vpc: zz
    type: tunnel
";
    let errs = load(yaml).unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "vpcs.a.region",
            "vpcs.a.cidr",
            "vpcs.a.extra",
            "endpoints.e.vpc",
            "endpoints.e.type"
        ],
        "{errs}"
    );
    // One error per line, in file order.
    let text = errs.to_string();
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(
        text.starts_with("plan.yaml:5:13: vpcs.a.region: invalid region `nowhere`"),
        "{text}"
    );
}

#[test]
fn display_formats() {
    let located = PlanError {
        file: "p.yaml".into(),
        line: Some(3),
        column: Some(7),
        key: "vpcs.a.cidr".into(),
        message: "bad".into(),
    };
    assert_eq!(located.to_string(), "p.yaml:3:7: vpcs.a.cidr: bad");
    let unlocated = PlanError {
        line: None,
        column: None,
        ..located.clone()
    };
    assert_eq!(unlocated.to_string(), "p.yaml: vpcs.a.cidr: bad");
    let keyless = PlanError {
        key: String::new(),
        ..unlocated.clone()
    };
    assert_eq!(keyless.to_string(), "p.yaml: bad");
    let all = PlanErrors(vec![located, keyless]);
    assert_eq!(all.to_string(), "p.yaml:3:7: vpcs.a.cidr: bad\np.yaml: bad");
    let _: &dyn std::error::Error = &all;
}

#[test]
fn bucket_policy_is_exact() {
    let p = bucket_policy(&["b1".to_string(), "b2.example".to_string()]);
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S3epAllowBuckets","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b1","arn:aws:s3:::b1/*","arn:aws:s3:::b2.example","arn:aws:s3:::b2.example/*"]}]}"#
    );
}

fn check_lab(d: &s3ep::model::Desired) {
    assert_eq!(d.name, "oky-dev-lab");
    assert_eq!(d.tags.get("env").map(String::as_str), Some("dev"));
    assert_eq!(d.regions(), ["ap-northeast-2", "us-east-1"]);

    let seoul = &d.vpcs["seoul"];
    assert_eq!(seoul.region, "ap-northeast-2");
    assert_eq!(
        seoul.source,
        Source::Create("10.10.0.0/16".parse::<Ipv4Net>().unwrap())
    );
    assert_eq!(
        seoul.subnets["app-a"].source,
        Source::Create(SubnetSpec {
            az: "ap-northeast-2a".into(),
            cidr: "10.10.1.0/24".parse().unwrap(),
            ipv6_index: None
        })
    );
    let virginia = &d.vpcs["virginia"];
    match &virginia.route_tables["private"].source {
        Source::Create(spec) => assert_eq!(spec.subnets, ["ep-a", "ep-b"]),
        other => panic!("unexpected {other:?}"),
    }

    let gw = &d.endpoints["seoul-s3"];
    assert_eq!(gw.vpc, "seoul");
    assert_eq!(gw.service, "com.amazonaws.ap-northeast-2.s3");
    assert_eq!(
        gw.kind,
        EndpointKind::Gateway {
            route_tables: vec![Ref::Name("private".into())]
        }
    );
    assert_eq!(gw.policy, Some(bucket_policy(&["oky-dev-test".to_string()])));

    let ifc = &d.endpoints["virginia-s3"];
    assert_eq!(ifc.service, "com.amazonaws.us-east-1.s3");
    assert_eq!(ifc.policy, None);
    match &ifc.kind {
        EndpointKind::Interface {
            subnets,
            security_group,
            security_groups,
            private_dns,
        } => {
            assert_eq!(subnets, &[Ref::Name("ep-a".into()), Ref::Name("ep-b".into())]);
            assert!(security_groups.is_empty());
            assert_eq!(*private_dns, PrivateDns::Off);
            let sg = security_group.as_ref().expect("security group");
            assert_eq!(
                sg.allow_https_from,
                [
                    HttpsRule {
                        written: "seoul".into(),
                        source: HttpsSource::Vpc("seoul".into())
                    },
                    HttpsRule {
                        written: "virginia".into(),
                        source: HttpsSource::Vpc("virginia".into())
                    },
                ]
            );
        }
        other => panic!("unexpected {other:?}"),
    }

    let p = &d.peerings["seoul-virginia"];
    assert_eq!((p.requester.as_str(), p.accepter.as_str()), ("seoul", "virginia"));
    assert_eq!(p.routes["seoul"], [Ref::Name("private".into())]);
    assert_eq!(p.routes["virginia"], [Ref::Name("private".into())]);
}

#[test]
fn cross_region_lab_loads() {
    let d = load_file(&fixtures().join("cross-region-lab.yaml")).unwrap_or_else(|e| panic!("{e}"));
    check_lab(&d);
    // The shared copy of the contract's example, when present beside the repo.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/plans/cross-region-lab.yaml");
    if shared.exists() {
        check_lab(&load_file(&shared).unwrap_or_else(|e| panic!("{e}")));
    }
}

#[test]
fn adopted_and_other_forms_load() {
    let yaml = "\
version: 1
name: adopt
vpcs:
  old:
    region: us-east-1
    id: vpc-0123456789abcdef0
    subnets:
      a: {id: subnet-0123456789abcdef0}
    route_tables:
      rt: {id: rtb-0123456789abcdef0}
  new:
    region: us-west-2
    cidr: 10.5.0.0/16
endpoints:
  gw:
    vpc: old
    type: gateway
    service: com.amazonaws.us-east-1.s3
    route_tables: [rt, rtb-00000000aaaaaaaa1]
    policy: {document: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: '*', Action: 's3:*', Resource: '*'}]}}
  ifc:
    vpc: old
    type: interface
    service: com.amazonaws.us-west-2.s3
    subnets: [a, subnet-00000000aaaaaaaa1]
    private_dns: true
    security_group:
      allow_https_from: [new, 192.168.0.0/16, sg-0123456789abcdef0]
    security_groups: [sg-00000000aaaaaaaa1]
    policy: {file: policy.yaml}
  json:
    vpc: new
    type: interface
    subnets: [subnet-0123456789abcdef0]
    policy:
      document: '{\"Version\": \"2012-10-17\", \"Statement\": []}'
  jfile:
    vpc: new
    type: gateway
    policy: {file: policy.json}
peerings:
  p:
    requester: new
    accepter: old
    routes:
      old: [rt]
";
    let d = load(yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        d.vpcs["old"].source,
        Source::Adopt("vpc-0123456789abcdef0".into())
    );
    assert_eq!(
        d.vpcs["old"].subnets["a"].source,
        Source::Adopt("subnet-0123456789abcdef0".into())
    );
    let gw = &d.endpoints["gw"];
    assert_eq!(
        gw.kind,
        EndpointKind::Gateway {
            route_tables: vec![Ref::Name("rt".into()), Ref::Id("rtb-00000000aaaaaaaa1".into())]
        }
    );
    assert_eq!(gw.policy.as_ref().unwrap()["Statement"][0]["Action"], "s3:*");

    let ifc = &d.endpoints["ifc"];
    // An interface endpoint may reach another region's service.
    assert_eq!(ifc.service, "com.amazonaws.us-west-2.s3");
    match &ifc.kind {
        EndpointKind::Interface {
            subnets,
            security_group,
            security_groups,
            private_dns,
        } => {
            assert_eq!(
                subnets,
                &[Ref::Name("a".into()), Ref::Id("subnet-00000000aaaaaaaa1".into())]
            );
            assert_eq!(*private_dns, PrivateDns::On);
            assert_eq!(security_groups, &["sg-00000000aaaaaaaa1"]);
            let rules = &security_group.as_ref().unwrap().allow_https_from;
            assert_eq!(
                rules.iter().map(|r| r.source.clone()).collect::<Vec<_>>(),
                [
                    HttpsSource::Vpc("new".into()),
                    HttpsSource::Cidr("192.168.0.0/16".parse().unwrap()),
                    HttpsSource::Group("sg-0123456789abcdef0".into()),
                ]
            );
            assert_eq!(rules[1].written, "192.168.0.0/16");
        }
        other => panic!("unexpected {other:?}"),
    }
    // policy.yaml (YAML) and policy.json (JSON) from the fixtures directory.
    assert_eq!(
        ifc.policy.as_ref().unwrap()["Statement"][0]["Sid"],
        "FromYamlFile"
    );
    assert_eq!(
        d.endpoints["jfile"].policy.as_ref().unwrap()["Statement"][0]["Sid"],
        "FromJsonFile"
    );
    assert_eq!(
        d.endpoints["json"].policy,
        Some(json!({"Version": "2012-10-17", "Statement": []}))
    );
    assert_eq!(d.endpoints["jfile"].service, "com.amazonaws.us-west-2.s3");
    assert_eq!(d.peerings["p"].routes["old"], [Ref::Name("rt".into())]);
}

#[test]
fn numbers_and_odd_scalars_are_taken_as_written() {
    // Names that YAML would read as numbers keep their spelling.
    let yaml = "version: 1\nname: 0123\ntags: {n: 1e3, b: true}\nvpcs:\n  007: {region: us-east-1, cidr: 10.0.0.0/16}\n";
    let d = load(yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.name, "0123");
    assert_eq!(d.tags["n"], "1e3");
    assert_eq!(d.tags["b"], "true");
    assert!(d.vpcs.contains_key("007"));
}

#[test]
fn load_file_refuses_large_and_non_utf8_files() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, vec![b'#'; 1024 * 1024 + 1]).unwrap();
    let e = load_file(&big).unwrap_err();
    assert!(e.to_string().contains("1048577 bytes"), "{e}");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, b"version: 1\nname: l\xffab\n").unwrap();
    let e = load_file(&bad).unwrap_err();
    assert_eq!((e.0[0].line, e.0[0].column), (Some(2), Some(8)), "{e}");
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");

    let e = load_file(&dir.path().join("missing.yaml")).unwrap_err();
    assert!(e.to_string().contains("cannot read plan file"), "{e}");
    let e = load_file(dir.path()).unwrap_err();
    assert!(e.to_string().contains("cannot read plan file"), "{e}");
}

/// Run `f` and check it fails within a few seconds.
fn fails_fast(what: &str, text: &str) -> PlanErrors {
    let start = Instant::now();
    let r = load(text);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(10), "{what} took {took:?}");
    match r {
        Ok(_) => panic!("{what} loaded"),
        Err(e) => {
            assert!(!e.is_empty());
            e
        }
    }
}

#[test]
fn hostile_alias_bomb() {
    let mut s = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let e = fails_fast("alias bomb", &s);
    assert!(e.to_string().contains("invalid YAML"), "{e}");
    // The same bomb under a key s3ep reads as data (a policy document).
    let doc = format!(
        "{BASE}endpoints:\n  e:\n    vpc: a\n    type: gateway\n    policy:\n      document:\n{}",
        s.lines().map(|l| format!("        {l}\n")).collect::<String>()
    );
    fails_fast("alias bomb in a policy", &doc);
}

#[test]
fn hostile_deep_nesting() {
    let n = 10_000;
    let flow = format!("{}{}", "[".repeat(n), "]".repeat(n));
    fails_fast("deep flow nesting", &flow);
    let flow_map = format!("{}{}", "{a: ".repeat(n), "}".repeat(n));
    fails_fast("deep flow mappings", &flow_map);
    let block: String = (0..2_000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    fails_fast("deep block nesting", &block);
    let seq: String = (0..2_000).map(|i| format!("{}-\n", " ".repeat(i))).collect();
    fails_fast("deep block sequences", &seq);
}

#[test]
fn hostile_garbage() {
    // Deterministic pseudo-random bytes, printable and not.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(5 * 1024 * 1024);
    for _ in 0..5 * 1024 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push((x % 95) as u8 + 32);
    }
    let text = String::from_utf8(bytes).unwrap();
    let e = fails_fast("5 MB of garbage", &text);
    assert!(e.to_string().contains("1 MiB"), "{e}");
    // Under the size limit, the parser itself must cope.
    fails_fast("1 MB of garbage", &text[..1024 * 1024]);
    let lines: String = text.as_bytes()[..1024 * 1000]
        .chunks(80)
        .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
        .collect();
    fails_fast("garbage lines", &lines);
    // Many nodes.
    let wide = format!("x: [{}]\n", vec!["1"; 200_000].join(","));
    fails_fast("wide list", &wide);
    // Control characters and NUL.
    fails_fast("control characters", "version: 1\nname: \u{0}\u{7}\n");
}

#[test]
fn origin_records_where_keys_and_items_were_written() {
    let path = fixtures().join("cross-region-lab.yaml");
    let d = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let o = &d.origin;
    let file = path.display().to_string();
    assert_eq!(o.file, file);
    let at = |k: &str| o.positions.get(k).copied();
    // Top-level and nested mapping keys: the key's own position.
    assert_eq!(at("version"), Some((1, 1)));
    assert_eq!(at("tags.env"), Some((3, 9)));
    assert_eq!(at("vpcs"), Some((5, 1)));
    assert_eq!(at("vpcs.seoul"), Some((6, 3)));
    assert_eq!(at("vpcs.seoul.cidr"), Some((8, 5)));
    assert_eq!(at("vpcs.seoul.subnets.app-a.az"), Some((10, 16)));
    assert_eq!(at("endpoints.seoul-s3.route_tables"), Some((26, 5)));
    assert_eq!(at("endpoints.seoul-s3.policy.allow_buckets"), Some((28, 7)));
    assert_eq!(at("peerings.seoul-virginia"), Some((38, 3)));
    // List items: the item's position, 0-based index.
    assert_eq!(
        at("vpcs.virginia.route_tables.private.subnets[1]"),
        Some((20, 34))
    );
    assert_eq!(at("endpoints.seoul-s3.route_tables[0]"), Some((26, 20)));
    assert_eq!(
        at("endpoints.virginia-s3.security_group.allow_https_from[0]"),
        Some((35, 26))
    );
    assert_eq!(at("peerings.seoul-virginia.routes.virginia[0]"), Some((43, 18)));
    assert_eq!(at("endpoints.seoul-s3.route_tables[1]"), None);
    // Every key path also names its parent.
    for k in o.positions.keys() {
        if let Some(i) = k.rfind(['.', '[']) {
            assert!(o.positions.contains_key(&k[..i]), "{k} without its parent");
        }
    }

    assert_eq!(o.locate("vpcs.seoul.cidr"), format!("{file}:8:5"));
    assert_eq!(
        o.locate("endpoints.virginia-s3.subnets[1]"),
        format!("{file}:32:21")
    );
    // Unknown children fall back to their nearest written parent.
    assert_eq!(
        o.locate("endpoints.seoul-s3.route_tables[7]"),
        format!("{file}:26:5")
    );
    assert_eq!(o.locate("vpcs.seoul.subnets.app-a.id"), format!("{file}:10:7"));
    assert_eq!(
        o.locate("endpoints.seoul-s3.policy.document"),
        format!("{file}:27:5")
    );
    assert_eq!(o.locate("nowhere"), file);

    // load_str takes the name it is given.
    let text = std::fs::read_to_string(&path).unwrap();
    let d2 = load_str(&text, "lab.yaml", &fixtures()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d2.origin.file, "lab.yaml");
    assert_eq!(d2.origin.positions, d.origin.positions);
    assert_eq!(d2.origin.locate("vpcs.virginia.cidr"), "lab.yaml:15:5");
}

#[test]
fn long_values_are_not_echoed_whole() {
    let huge = "a".repeat(900_000);
    let e = load(&format!(
        "version: 1\nname: {huge}\nvpcs: {{a: {{region: us-east-1, cidr: 10.0.0.0/16}}}}\n"
    ))
    .unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.len() < 1_000,
        "{} characters: {}",
        shown.len(),
        shown.chars().take(1_000).collect::<String>()
    );
    assert!(
        shown.contains(&format!(
            "invalid plan name `{}…` (900000 characters)",
            "a".repeat(60)
        )),
        "{shown}"
    );

    // The same for other places a long text can be echoed: names (which
    // are also key paths), unknown keys, values and lists of names.
    let big = "b".repeat(300_000);
    let cases = [
        // Keys longer than 1024 characters must be explicit (`? key`).
        format!("{HEAD}  ? {big}\n  : {{region: us-east-1, cidr: 10.0.0.0/16}}\n"),
        format!("{HEAD}  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ? {big}\n    : 1\n"),
        format!("{HEAD}  a: {{region: us-{big}-1, cidr: 10.0.0.0/16, subnets: {{s: {{az: us-east-1a, cidr: 10.0.0.0/24}}}}}}\n"),
        format!("{BASE}endpoints:\n  e: {{vpc: a, type: gateway, service: com.amazonaws.eu-west-1.{big}}}\n"),
        format!("{BASE}endpoints:\n  e: {{vpc: a, type: gateway, policy: {{file: {big}}}}}\n"),
        format!("{BASE}endpoints:\n  e: {{vpc: {big}, type: gateway}}\n"),
        format!("{BASE}peerings:\n  p:\n    requester: a\n    accepter: b\n    routes:\n      ? {big}\n      : [rt]\n"),
        format!("{BASE}tags:\n  ? {big}\n  : x\n"),
        format!("{HEAD}  a: {{region: us-east-1, cidr: 10.0.0.0/16, subnets: {{s: {{az: us-east-1a, cidr: {big}}}}}}}\n"),
        format!("version: {big}\nname: lab\nvpcs: {{a: {{region: us-east-1, cidr: 10.0.0.0/16}}}}\n"),
        format!("version: 1\nname: lab\n? {big}\n: 1\n? {big}\n: 2\nvpcs: {{a: {{region: us-east-1, cidr: 10.0.0.0/16}}}}\n"),
    ];
    for (i, yaml) in cases.iter().enumerate() {
        let e = load(yaml).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.len() < 1_000,
            "case {i}: {} characters: {}",
            shown.len(),
            shown.chars().take(1_000).collect::<String>()
        );
    }
    // Many names are listed up to a point.
    let many: String = (0..500)
        .map(|i| {
            format!(
                "      s{i}: {{az: us-east-1a, cidr: 10.0.{}.{}/28}}\n",
                i / 16,
                (i % 16) * 16
            )
        })
        .collect();
    let yaml = format!(
        "{HEAD}  a:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    subnets:\n{many}    route_tables:\n      rt: {{subnets: [zz]}}\n"
    );
    let e = load(&yaml).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("s19, and 480 more"), "{shown}");
    assert!(shown.len() < 1_000, "{shown}");
}

/// The three private DNS modes, the short names and `service_region` load
/// into what EC2 is sent.
#[test]
fn private_dns_modes_service_names_and_service_region_load() {
    let yaml = format!(
        "{BASE}endpoints:
  gw:
    vpc: a
    type: gateway
  x1:
    vpc: a
    type: gateway
    service: s3express
  off:
    vpc: a
    type: interface
    subnets: [s1]
    private_dns: false
  on:
    vpc: a
    type: interface
    subnets: [s1]
    private_dns: true
  inbound:
    vpc: a
    type: interface
    subnets: [s3]
    private_dns: inbound-only
  far:
    vpc: a
    type: interface
    subnets: [s3]
    service_region: eu-central-1
  same:
    vpc: a
    type: interface
    subnets: [s3]
    service_region: us-east-1
  named:
    vpc: b
    type: interface
    subnets: [subnet-0123456789abcdef0]
    service: com.amazonaws.us-east-1.s3
    service_region: us-east-1
"
    );
    let d = load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let e = &d.endpoints;
    assert_eq!(e["gw"].service, "com.amazonaws.us-east-1.s3");
    assert_eq!(e["x1"].service, "com.amazonaws.us-east-1.s3express");
    assert_eq!(e["off"].private_dns(), PrivateDns::Off);
    assert_eq!(e["on"].private_dns(), PrivateDns::On);
    assert_eq!(e["inbound"].private_dns(), PrivateDns::InboundOnly);
    assert_eq!(e["far"].service, "com.amazonaws.eu-central-1.s3");
    assert_eq!(e["far"].service_region.as_deref(), Some("eu-central-1"));
    // The VPC's own region is the same as no service_region.
    assert_eq!(e["same"].service, "com.amazonaws.us-east-1.s3");
    assert_eq!(e["same"].service_region, None);
    // The service-name form of another region (VPC b is in eu-west-1).
    assert_eq!(e["named"].service_region.as_deref(), Some("us-east-1"));
    assert_eq!(e["gw"].service_region, None);
}

/// In cn-* regions `s3` means cn.com.amazonaws.<region>.s3 for interface
/// endpoints and com.amazonaws.<region>.s3 for gateways, and inbound-only
/// finds the gateway across the two spellings.
#[test]
fn china_inbound_only_matches_the_gateway_across_prefixes() {
    let yaml = "version: 1
name: cn
vpcs:
  a:
    region: cn-north-1
    cidr: 10.0.0.0/16
    subnets:
      s1: {az: cn-north-1a, cidr: 10.0.1.0/24}
endpoints:
  gw:
    vpc: a
    type: gateway
  inbound:
    vpc: a
    type: interface
    subnets: [s1]
    private_dns: inbound-only
";
    let d = load(yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.endpoints["gw"].service, "com.amazonaws.cn-north-1.s3");
    assert_eq!(d.endpoints["inbound"].service, "cn.com.amazonaws.cn-north-1.s3");
}

/// Every example plan in plans/ loads, the private DNS and cross-region
/// examples among them with what they are there to show.
#[test]
fn every_shipped_plan_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("plans/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let d = load_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        names.push((path.file_name().unwrap().to_string_lossy().into_owned(), d));
    }
    let get = |n: &str| {
        &names
            .iter()
            .find(|(f, _)| f == n)
            .unwrap_or_else(|| panic!("{n}"))
            .1
    };
    let dns = get("private-dns-inbound-only.yaml");
    assert_eq!(dns.endpoints["s3-inbound"].private_dns(), PrivateDns::InboundOnly);
    assert_eq!(
        dns.endpoints["s3-gateway"].endpoint_type(),
        s3ep::model::EndpointType::Gateway
    );
    assert_eq!(dns.endpoints["s3-gateway"].vpc, dns.endpoints["s3-inbound"].vpc);
    let xr = get("cross-region-privatelink.yaml");
    assert_eq!(
        xr.endpoints["virginia-s3"].service_region.as_deref(),
        Some("us-east-1")
    );
    assert_eq!(xr.endpoints["virginia-s3"].service, "com.amazonaws.us-east-1.s3");
    assert!(xr.peerings.is_empty());
}

/// A dual-stack plan: the VPC asks for a /56, subnets have their index, the
/// interface endpoint is dualstack with its DNS default, or as written.
#[test]
fn ipv6_keys_load() {
    let yaml = "version: 1\nname: lab\nvpcs:\n  v:\n    region: us-east-1\n    cidr: 10.0.0.0/16\n    ipv6: amazon\n    subnets:\n      s1: {az: us-east-1a, cidr: 10.0.1.0/24, ipv6_index: 0}\n      s2: {az: us-east-1b, cidr: 10.0.2.0/24, ipv6_index: 255}\n    route_tables:\n      rt: {subnets: [s1]}\nendpoints:\n  i:\n    vpc: v\n    type: interface\n    subnets: [s1, s2]\n    ip_address_type: dualstack\n  j:\n    vpc: v\n    type: interface\n    subnets: [s1]\n    ip_address_type: dualstack\n    dns_record_ip_type: service-defined\n  g:\n    vpc: v\n    type: gateway\n    route_tables: [rt]\n    ip_address_type: dualstack\n";
    let d = load(yaml).unwrap_or_else(|e| panic!("{e}"));
    use s3ep::model::{DnsRecordIpType, IpAddressType};
    assert!(d.vpcs["v"].ipv6);
    match &d.vpcs["v"].subnets["s2"].source {
        Source::Create(spec) => assert_eq!(spec.ipv6_index, Some(255)),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.endpoints["i"].ip_address_type, IpAddressType::Dualstack);
    assert_eq!(
        d.endpoints["i"].dns_record_ip_type,
        Some(DnsRecordIpType::Dualstack)
    );
    assert_eq!(
        d.endpoints["j"].dns_record_ip_type,
        Some(DnsRecordIpType::ServiceDefined)
    );
    assert_eq!(d.endpoints["g"].ip_address_type, IpAddressType::Dualstack);
    assert_eq!(d.endpoints["g"].dns_record_ip_type, None);
    // Without the keys: IPv4 only, DNS records ipv4.
    let lab = load(BASE).unwrap_or_else(|e| panic!("{e}"));
    assert!(!lab.vpcs["a"].ipv6);
}
