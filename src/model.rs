//! Domain types shared by every stage: the validated plan (`Desired`), the
//! live state read from EC2 (`Live`) and resource addresses. Nothing here
//! knows about the AWS SDK or about YAML.

use std::collections::BTreeMap;
use std::fmt;

use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::Value;

/// Tag carrying the plan name on every resource s3ep creates.
pub const TAG_PLAN: &str = "s3ep:plan";
/// Put on a VPC s3ep created once DNS hostnames are on. A created VPC
/// without it (a run killed between CreateVpc and ModifyVpcAttribute) gets
/// them turned on by the next apply. Read from the VPC's tags, so checking
/// costs no call.
pub const TAG_DNS: &str = "s3ep:dns-hostnames";
/// Tag carrying the resource's address inside its plan.
pub const TAG_KEY: &str = "s3ep:key";

/// Tags as a sorted map so rendering and comparison are deterministic.
pub type Tags = BTreeMap<String, String>;

// ---------------------------------------------------------------------------
// Desired state: what the plan asks for, fully validated and resolved.
// ---------------------------------------------------------------------------

/// A validated plan. Every cross-reference inside it has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The plan's name (the `s3ep:plan` tag value).
    pub name: String,
    /// User tags added to every created resource.
    pub tags: Tags,
    /// VPCs by plan name.
    pub vpcs: BTreeMap<String, DVpc>,
    /// Endpoints by plan name.
    pub endpoints: BTreeMap<String, DEndpoint>,
    /// Peerings by plan name.
    pub peerings: BTreeMap<String, DPeering>,
    /// Where each key of the plan was written, for errors found after
    /// validation (e.g. against live state).
    pub origin: Origin,
}

/// The plan file and the position of every key in it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Origin {
    /// The file name as given on the command line.
    pub file: String,
    /// Dotted key path (`endpoints.gw.route_tables`, list items as
    /// `endpoints.gw.route_tables[1]`) → 1-based (line, column) of the key,
    /// or of the item for list items.
    pub positions: BTreeMap<String, (usize, usize)>,
}

impl Origin {
    /// `file:line:column` for `key`, or for its nearest written parent; just
    /// the file when nothing is known.
    pub fn locate(&self, key: &str) -> String {
        let mut k = key;
        loop {
            if let Some((line, col)) = self.positions.get(k) {
                return format!("{}:{line}:{col}", self.file);
            }
            match k.rfind(['.', '[']) {
                Some(i) => k = &k[..i],
                None => return self.file.clone(),
            }
        }
    }
}

impl Desired {
    /// Every region the plan touches, sorted and without duplicates.
    pub fn regions(&self) -> Vec<String> {
        let mut r: Vec<String> = self.vpcs.values().map(|v| v.region.clone()).collect();
        r.sort();
        r.dedup();
        r
    }

    /// The plan key where an AWS id is written (an adopted VPC, subnet or
    /// route table, or an id in an endpoint's or peering's lists).
    pub fn key_for_id(&self, id: &str) -> Option<String> {
        for (v, vpc) in &self.vpcs {
            if vpc.source.adopted_id() == Some(id) {
                return Some(format!("vpcs.{v}.id"));
            }
            for (n, s) in &vpc.subnets {
                if s.source.adopted_id() == Some(id) {
                    return Some(format!("vpcs.{v}.subnets.{n}.id"));
                }
            }
            for (n, t) in &vpc.route_tables {
                if t.source.adopted_id() == Some(id) {
                    return Some(format!("vpcs.{v}.route_tables.{n}.id"));
                }
            }
        }
        let in_list = |refs: &[Ref]| refs.iter().position(|r| *r == Ref::Id(id.to_string()));
        for (e, ep) in &self.endpoints {
            let (list, field) = match &ep.kind {
                EndpointKind::Gateway { route_tables } => (route_tables, "route_tables"),
                EndpointKind::Interface { subnets, .. } => (subnets, "subnets"),
            };
            if let Some(i) = in_list(list) {
                return Some(format!("endpoints.{e}.{field}[{i}]"));
            }
        }
        for (p, peering) in &self.peerings {
            for (v, tables) in &peering.routes {
                if let Some(i) = in_list(tables) {
                    return Some(format!("peerings.{p}.routes.{v}[{i}]"));
                }
            }
        }
        for (e, ep) in &self.endpoints {
            if let Some(i) = ep.client_groups().iter().position(|g| g == id) {
                return Some(format!("endpoints.{e}.security_group.client_groups[{i}]"));
            }
        }
        None
    }

    /// Every AWS id the plan adopts or references by id.
    pub fn adopted_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for vpc in self.vpcs.values() {
            ids.extend(vpc.source.adopted_id().map(str::to_string));
            ids.extend(
                vpc.subnets
                    .values()
                    .filter_map(|s| s.source.adopted_id().map(str::to_string)),
            );
            ids.extend(
                vpc.route_tables
                    .values()
                    .filter_map(|t| t.source.adopted_id().map(str::to_string)),
            );
        }
        let by_id = |refs: &[Ref]| -> Vec<String> {
            refs.iter()
                .filter_map(|r| match r {
                    Ref::Id(id) => Some(id.clone()),
                    Ref::Name(_) => None,
                })
                .collect()
        };
        for ep in self.endpoints.values() {
            match &ep.kind {
                EndpointKind::Gateway { route_tables } => ids.extend(by_id(route_tables)),
                EndpointKind::Interface { subnets, .. } => ids.extend(by_id(subnets)),
            }
        }
        for p in self.peerings.values() {
            for tables in p.routes.values() {
                ids.extend(by_id(tables));
            }
        }
        ids
    }

    /// The tags a created resource at `address` carries.
    pub fn tags_for(&self, address: &Address) -> Tags {
        let mut t = self.tags.clone();
        t.insert(TAG_PLAN.to_string(), self.name.clone());
        t.insert(TAG_KEY.to_string(), address.to_string());
        t.insert("Name".to_string(), format!("{}-{}", self.name, address));
        t
    }
}

/// Either create a resource from a spec, or adopt an existing one by id.
#[derive(Debug, Clone, PartialEq)]
pub enum Source<T> {
    /// s3ep creates and owns it.
    Create(T),
    /// An existing resource, referenced but never modified or deleted.
    Adopt(String),
}

impl<T> Source<T> {
    /// The adopted id, if adopted.
    pub fn adopted_id(&self) -> Option<&str> {
        match self {
            Source::Adopt(id) => Some(id),
            Source::Create(_) => None,
        }
    }
}

/// A VPC of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DVpc {
    pub name: String,
    pub region: String,
    /// `Create(cidr)` or `Adopt(vpc-…)`.
    pub source: Source<Ipv4Net>,
    pub subnets: BTreeMap<String, DSubnet>,
    pub route_tables: BTreeMap<String, DRouteTable>,
    /// `ipv6: amazon` (created VPCs only): CreateVpc with
    /// AmazonProvidedIpv6CidrBlock, so the VPC gets a /56 from Amazon's pool.
    pub ipv6: bool,
}

/// A subnet to create.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetSpec {
    pub az: String,
    pub cidr: Ipv4Net,
    /// `ipv6_index` (in an `ipv6` VPC): the subnet gets the /64 at this
    /// index of the VPC's /56 ([`ipv6_subnet`]).
    pub ipv6_index: Option<u8>,
}

/// The /64 at `index` of a VPC's /56 (`2600:1f18:aa:bb00::/56`, index 3 →
/// `2600:1f18:aa:bb03::/64`). EC2 requires a subnet's IPv6 block to be a
/// /64 inside the VPC's (CreateSubnet `Ipv6CidrBlock`, "The subnet size must
/// use a /64 prefix length", EC2 API reference). `None` when `vpc` is not a
/// /56.
pub fn ipv6_subnet(vpc: &Ipv6Net, index: u8) -> Option<Ipv6Net> {
    if vpc.prefix_len() != 56 {
        return None;
    }
    let base = u128::from(vpc.network());
    let net = base | (u128::from(index) << 64);
    Ipv6Net::new(net.into(), 64).ok()
}

/// An endpoint's `ip_address_type` (CreateVpcEndpoint `IpAddressType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpAddressType {
    #[default]
    Ipv4,
    Dualstack,
    Ipv6,
}

impl IpAddressType {
    pub const ALL: [IpAddressType; 3] = [IpAddressType::Ipv4, IpAddressType::Dualstack, IpAddressType::Ipv6];
    /// The EC2 spelling, which is also the plan's.
    pub fn as_str(&self) -> &'static str {
        match self {
            IpAddressType::Ipv4 => "ipv4",
            IpAddressType::Dualstack => "dualstack",
            IpAddressType::Ipv6 => "ipv6",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// The DNS record types EC2 allows with this address type
    /// (DnsOptionsSpecification; CDK `VpcEndpointDnsRecordIpType`: `ipv4`
    /// needs IPv4 or dualstack, `ipv6` needs IPv6 or dualstack, `dualstack`
    /// and `service-defined` need dualstack).
    pub fn allows(&self, dns: DnsRecordIpType) -> bool {
        match self {
            IpAddressType::Ipv4 => dns == DnsRecordIpType::Ipv4,
            IpAddressType::Dualstack => true,
            IpAddressType::Ipv6 => dns == DnsRecordIpType::Ipv6,
        }
    }
    /// The DNS record type of an endpoint that does not say (the same).
    pub fn default_dns(&self) -> DnsRecordIpType {
        match self {
            IpAddressType::Ipv4 => DnsRecordIpType::Ipv4,
            IpAddressType::Dualstack => DnsRecordIpType::Dualstack,
            IpAddressType::Ipv6 => DnsRecordIpType::Ipv6,
        }
    }
}

impl fmt::Display for IpAddressType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An interface endpoint's `dns_record_ip_type` (DnsOptions.DnsRecordIpType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsRecordIpType {
    Ipv4,
    Dualstack,
    Ipv6,
    ServiceDefined,
}

impl DnsRecordIpType {
    pub const ALL: [DnsRecordIpType; 4] = [
        DnsRecordIpType::Ipv4,
        DnsRecordIpType::Dualstack,
        DnsRecordIpType::Ipv6,
        DnsRecordIpType::ServiceDefined,
    ];
    /// The EC2 spelling, which is also the plan's.
    pub fn as_str(&self) -> &'static str {
        match self {
            DnsRecordIpType::Ipv4 => "ipv4",
            DnsRecordIpType::Dualstack => "dualstack",
            DnsRecordIpType::Ipv6 => "ipv6",
            DnsRecordIpType::ServiceDefined => "service-defined",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for DnsRecordIpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A subnet of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DSubnet {
    pub name: String,
    pub source: Source<SubnetSpec>,
}

/// A route table to create: associated with these subnet names.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteTableSpec {
    pub subnets: Vec<String>,
}

/// A route table of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DRouteTable {
    pub name: String,
    pub source: Source<RouteTableSpec>,
}

/// A reference to a resource in the same VPC: by plan name or by AWS id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    /// A name declared in the plan (subnet or route table name).
    Name(String),
    /// An AWS id written in the plan (`subnet-…`, `rtb-…`).
    Id(String),
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Name(n) | Ref::Id(n) => f.write_str(n),
        }
    }
}

/// Endpoint type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointType {
    Gateway,
    Interface,
}

impl EndpointType {
    /// The EC2 spelling (`Gateway`, `Interface`).
    pub fn as_ec2(&self) -> &'static str {
        match self {
            EndpointType::Gateway => "Gateway",
            EndpointType::Interface => "Interface",
        }
    }
}

impl fmt::Display for EndpointType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointType::Gateway => "gateway",
            EndpointType::Interface => "interface",
        })
    }
}

/// Where an inbound 443 rule lets traffic in from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum HttpsSource {
    /// A VPC of this plan: its CIDR (known once the VPC is read or created).
    Vpc(String),
    /// A literal IPv4 CIDR.
    Cidr(Ipv4Net),
    /// A security group id.
    Group(String),
}

/// One `allow_https_from` entry: the text as written (used in the address)
/// and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpsRule {
    pub written: String,
    pub source: HttpsSource,
}

/// The security group s3ep creates for an interface endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct DSecurityGroup {
    pub allow_https_from: Vec<HttpsRule>,
    /// The clients' existing groups (`sg-…`) that get an outbound TCP 443
    /// rule to this group (`security_group.client_groups`).
    pub client_groups: Vec<String>,
}

/// Type-specific part of an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointKind {
    Gateway {
        route_tables: Vec<Ref>,
    },
    Interface {
        subnets: Vec<Ref>,
        security_group: Option<DSecurityGroup>,
        /// Existing `sg-…` ids to attach as well.
        security_groups: Vec<String>,
        private_dns: PrivateDns,
    },
}

/// An interface endpoint's private DNS mode (`private_dns: false | true |
/// inbound-only`). EC2 keeps it as two values: PrivateDnsEnabled and
/// DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint (EC2 API reference,
/// DnsOptionsSpecification: "Indicates whether to enable private DNS only
/// for inbound endpoints. This option is available only for services that
/// support both gateway and interface endpoints. It routes traffic that
/// originates from the VPC to the gateway endpoint and traffic that
/// originates from on-premises to the interface endpoint").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(into = "serde_json::Value")]
pub enum PrivateDns {
    /// PrivateDnsEnabled false (and inbound-only false).
    #[default]
    Off,
    /// PrivateDnsEnabled true, PrivateDnsOnlyForInboundResolverEndpoint false.
    On,
    /// PrivateDnsEnabled true, PrivateDnsOnlyForInboundResolverEndpoint true.
    InboundOnly,
}

impl PrivateDns {
    /// PrivateDnsEnabled.
    pub fn enabled(self) -> bool {
        self != PrivateDns::Off
    }
    /// DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint.
    pub fn inbound_only(self) -> bool {
        self == PrivateDns::InboundOnly
    }
    /// The mode EC2's two values stand for. Inbound-only without private
    /// DNS has no meaning (EC2 does not resolve anything to the endpoint),
    /// so it reads as off.
    pub fn from_ec2(enabled: bool, inbound_only: bool) -> PrivateDns {
        match (enabled, inbound_only) {
            (false, _) => PrivateDns::Off,
            (true, false) => PrivateDns::On,
            (true, true) => PrivateDns::InboundOnly,
        }
    }
    /// As written in a plan: `false`, `true` or `inbound-only`.
    pub fn as_plan(self) -> &'static str {
        match self {
            PrivateDns::Off => "false",
            PrivateDns::On => "true",
            PrivateDns::InboundOnly => "inbound-only",
        }
    }
}

impl From<PrivateDns> for serde_json::Value {
    /// `false`, `true` or `"inbound-only"`, as in the plan.
    fn from(p: PrivateDns) -> Self {
        match p {
            PrivateDns::Off => Value::Bool(false),
            PrivateDns::On => Value::Bool(true),
            PrivateDns::InboundOnly => Value::String("inbound-only".into()),
        }
    }
}

impl fmt::Display for PrivateDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_plan())
    }
}

/// An endpoint of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DEndpoint {
    pub name: String,
    pub vpc: String,
    /// Full service name, e.g. `com.amazonaws.us-east-1.s3` (see [`service_name`]).
    pub service: String,
    pub kind: EndpointKind,
    /// The policy document, or `None` for AWS's default full-access policy.
    pub policy: Option<Value>,
    /// Interface only: the region of the service when it is not the VPC's
    /// (cross-region PrivateLink, CreateVpcEndpoint `ServiceRegion`), from
    /// the `service_region` key or a full service name of another region.
    /// `None`: the VPC's region.
    pub service_region: Option<String>,
    /// `ip_address_type` (default ipv4), gateway and interface.
    pub ip_address_type: IpAddressType,
    /// `dns_record_ip_type`: interface endpoints only (`None` for gateway
    /// endpoints); the plan's value or the default for `ip_address_type`.
    pub dns_record_ip_type: Option<DnsRecordIpType>,
}

impl DEndpoint {
    /// `security_group.client_groups` (empty for gateway endpoints and
    /// interface endpoints without a group of their own).
    pub fn client_groups(&self) -> &[String] {
        match &self.kind {
            EndpointKind::Interface {
                security_group: Some(sg),
                ..
            } => &sg.client_groups,
            _ => &[],
        }
    }

    pub fn endpoint_type(&self) -> EndpointType {
        match self.kind {
            EndpointKind::Gateway { .. } => EndpointType::Gateway,
            EndpointKind::Interface { .. } => EndpointType::Interface,
        }
    }

    /// The private DNS mode (`Off` for gateway endpoints).
    pub fn private_dns(&self) -> PrivateDns {
        match self.kind {
            EndpointKind::Interface { private_dns, .. } => private_dns,
            EndpointKind::Gateway { .. } => PrivateDns::Off,
        }
    }
}

/// A peering of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DPeering {
    pub name: String,
    pub requester: String,
    pub accepter: String,
    /// VPC name (requester or accepter) → route tables that get a route to
    /// the other VPC's CIDR through the peering.
    pub routes: BTreeMap<String, Vec<Ref>>,
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// A resource address, e.g. `subnet.seoul.app-a`. Stored as the rendered
/// string: addresses are compared, sorted and printed, never parsed back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub String);

impl Address {
    pub fn vpc(vpc: &str) -> Self {
        Address(format!("vpc.{vpc}"))
    }
    pub fn subnet(vpc: &str, subnet: &str) -> Self {
        Address(format!("subnet.{vpc}.{subnet}"))
    }
    pub fn route_table(vpc: &str, table: &str) -> Self {
        Address(format!("route_table.{vpc}.{table}"))
    }
    pub fn endpoint(ep: &str) -> Self {
        Address(format!("endpoint.{ep}"))
    }
    pub fn security_group(ep: &str) -> Self {
        Address(format!("security_group.{ep}"))
    }
    pub fn peering(p: &str) -> Self {
        Address(format!("peering.{p}"))
    }
    /// `route.<vpc>.<table>.<destination>`; `table` is a name or an `rtb-` id.
    pub fn route(vpc: &str, table: &str, dest: &str) -> Self {
        Address(format!("route.{vpc}.{table}.{dest}"))
    }
    pub fn ingress(ep: &str, source: &str) -> Self {
        Address(format!("ingress.{ep}.{source}"))
    }
    /// The outbound TCP 443 rule s3ep adds to client group `group` (an
    /// `sg-` id) towards endpoint `ep`'s security group.
    pub fn egress(ep: &str, group: &str) -> Self {
        Address(format!("egress.{ep}.{group}"))
    }
    /// The resource kind: the part before the first dot.
    pub fn kind(&self) -> &str {
        self.0.split('.').next().unwrap_or("")
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------
// Live state: what EC2 says exists. Only SDK-free types.
// ---------------------------------------------------------------------------

/// Whether two CIDR blocks share any address (EC2 refuses overlapping subnets
/// in a VPC and peerings between overlapping VPCs).
pub fn cidrs_overlap(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

// ---------------------------------------------------------------------------
// AWS service names per partition
// ---------------------------------------------------------------------------

/// Service-name prefix of AWS services in every partition.
const SERVICE_PREFIX: &str = "com.amazonaws.";
/// Service-name prefix of the interface (PrivateLink) services that the
/// China partition renames.
const CN_SERVICE_PREFIX: &str = "cn.com.amazonaws.";

/// Whether `region` is in the China partition (`aws-cn`: cn-north-1,
/// cn-northwest-1).
pub fn is_china_region(region: &str) -> bool {
    region.starts_with("cn-")
}

/// The AWS partition of `region`: `aws-cn` (cn-*), `aws-us-gov`
/// (us-gov-*), `aws` otherwise. Cross-region PrivateLink stays inside one.
pub fn partition(region: &str) -> &'static str {
    if is_china_region(region) {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The full name of AWS service `short` (`s3`, `s3express`) in `region`, for
/// an endpoint of type `endpoint_type`. The one place that knows the
/// partition rule:
///
/// * gateway endpoints (S3, S3 Express, DynamoDB): `com.amazonaws.<region>.<short>`
///   in every partition. That is also the name of the service's managed
///   prefix list, in China too (VPC user guide, "AWS-managed prefix lists",
///   docs.aws.amazon.com and docs.amazonaws.cn; aws-cdk's
///   `GatewayVpcEndpointAwsService` has no China case; eksctl builds
///   `com.amazonaws.cn-*.s3` for its S3 gateway, after EC2 answered
///   `InvalidServiceName` for `cn.com.amazonaws.cn-northwest-1.s3`, eksctl
///   issue #3081);
/// * interface endpoints: `cn.com.amazonaws.<region>.<short>` in `cn-*`
///   regions (S3 is among the services that `aws ec2
///   describe-vpc-endpoint-services` lists with that prefix in cn-north-1 and
///   cn-northwest-1: aws-cdk `InterfaceVpcEndpointAwsService`,
///   issue aws/aws-cdk#25329), `com.amazonaws.<region>.<short>` elsewhere.
pub fn service_name(region: &str, short: &str, endpoint_type: EndpointType) -> String {
    let prefix = match endpoint_type {
        EndpointType::Interface if is_china_region(region) => CN_SERVICE_PREFIX,
        _ => SERVICE_PREFIX,
    };
    format!("{prefix}{region}.{short}")
}

/// The names S3's managed prefix list may have in `region`, best first: the
/// documented `com.amazonaws.<region>.s3` (the gateway service's name) and,
/// in `cn-*` regions only, the partition-prefixed spelling as well, so that
/// one filtered DescribeManagedPrefixLists finds it under either.
pub fn s3_prefix_list_names(region: &str) -> Vec<String> {
    prefix_list_names(&service_name(region, "s3", EndpointType::Gateway))
}

/// The names the managed prefix list of gateway service `service`
/// (`com.amazonaws.<region>.<short>`) may have, best first: the service's
/// own name, and in `cn-*` regions the `cn.`-prefixed spelling too. Each
/// gateway service has its own list: `com.amazonaws.<region>.s3` for S3,
/// `com.amazonaws.<region>.s3express` for S3 Express One Zone (VPC user
/// guide, "AWS-managed prefix lists", table "Available AWS-managed prefix
/// lists").
pub fn prefix_list_names(service: &str) -> Vec<String> {
    let mut names = vec![service.to_string()];
    if let Some(rest) = service.strip_prefix(SERVICE_PREFIX) {
        if service_region(service).is_some_and(is_china_region) {
            names.push(format!("{CN_SERVICE_PREFIX}{rest}"));
        }
    }
    names
}

/// The region of an AWS service name `com.amazonaws.<region>.<service>` or
/// `cn.com.amazonaws.<region>.<service>`.
pub fn service_region(service: &str) -> Option<&str> {
    let rest = service
        .strip_prefix(CN_SERVICE_PREFIX)
        .or_else(|| service.strip_prefix(SERVICE_PREFIX))?;
    let (region, _) = rest.split_once('.')?;
    Some(region)
}

/// Whether `tags` mark the resource as owned by plan `plan`.
pub fn owned_by(tags: &Tags, plan: &str) -> bool {
    tags.get(TAG_PLAN).map(String::as_str) == Some(plan)
}

#[derive(Debug, Clone, PartialEq)]
pub struct LVpc {
    pub id: String,
    pub region: String,
    pub cidr: Option<Ipv4Net>,
    /// The VPC's associated IPv6 block (Ipv6CidrBlockAssociationSet, state
    /// `associated`), if any.
    pub ipv6_cidr: Option<Ipv6Net>,
    pub state: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LSubnet {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub az: String,
    /// The AZ id (`use1-az1`, Subnet.AvailabilityZoneId), when EC2 gave it.
    pub az_id: Option<String>,
    pub cidr: Option<Ipv4Net>,
    /// The subnet's associated IPv6 /64 (Ipv6CidrBlockAssociationSet), if any.
    pub ipv6_cidr: Option<Ipv6Net>,
    pub tags: Tags,
}

/// A route's destination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteDest {
    Cidr(Ipv4Net),
    PrefixList(String),
}

impl fmt::Display for RouteDest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDest::Cidr(c) => write!(f, "{c}"),
            RouteDest::PrefixList(p) => f.write_str(p),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LRoute {
    pub dest: RouteDest,
    /// `vpce-…`, `igw-…`, `local`, … as EC2 reports GatewayId.
    pub gateway_id: Option<String>,
    pub peering_id: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LAssociation {
    pub id: String,
    pub subnet_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LRouteTable {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub associations: Vec<LAssociation>,
    pub routes: Vec<LRoute>,
    pub tags: Tags,
}

/// An inbound rule's peer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RulePeer {
    Cidr(Ipv4Net),
    Group(String),
}

impl fmt::Display for RulePeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulePeer::Cidr(c) => write!(f, "{c}"),
            RulePeer::Group(g) => f.write_str(g),
        }
    }
}

/// One inbound rule, flattened to one peer.
#[derive(Debug, Clone, PartialEq)]
pub struct LRule {
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: RulePeer,
}

impl LRule {
    /// Whether this is exactly "TCP 443 from `peer`".
    pub fn is_https(&self) -> bool {
        self.protocol == "tcp" && self.from_port == Some(443) && self.to_port == Some(443)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LSecurityGroup {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub name: String,
    pub ingress: Vec<LRule>,
    /// Outbound rules, flattened like `ingress` (read by `check`).
    pub egress: Vec<LRule>,
    pub tags: Tags,
}

/// One outbound rule of a security group, as DescribeSecurityGroupRules
/// gives it (one peer per rule, with the rule's own id and tags).
#[derive(Debug, Clone, PartialEq)]
pub struct LEgressRule {
    /// `sgr-…`.
    pub id: String,
    pub region: String,
    /// The group the rule belongs to.
    pub group_id: String,
    /// Lower-case: `tcp`, `udp`, `icmp`, or `-1` for all traffic.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    /// `None` for peers s3ep does not reason about (IPv6 ranges, prefix lists).
    pub peer: Option<RulePeer>,
    pub tags: Tags,
}

impl LEgressRule {
    /// Whether the rule lets TCP 443 out to `peer`-matching destinations as
    /// far as its protocol and ports go: all traffic (`-1`), or TCP with a
    /// port range that covers 443 (EC2 reports `-1`/absent ports for all).
    pub fn covers_tcp_443(&self) -> bool {
        match self.protocol.as_str() {
            "-1" | "all" => true,
            "tcp" | "6" => match (self.from_port, self.to_port) {
                (Some(f), Some(t)) if f >= 0 && t >= 0 => f <= 443 && 443 <= t,
                _ => true,
            },
            _ => false,
        }
    }

    /// How the rule reads in a note: `sgr-… (tcp 0-65535 to 10.0.0.0/16)`.
    pub fn describe(&self) -> String {
        let what = match self.protocol.as_str() {
            "-1" | "all" => "all traffic".to_string(),
            p => match (self.from_port, self.to_port) {
                (Some(f), Some(t)) if f == t => format!("{p} {f}"),
                (Some(f), Some(t)) => format!("{p} {f}-{t}"),
                _ => p.to_string(),
            },
        };
        let to = self
            .peer
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "?".into());
        format!("{} ({what} to {to})", self.id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LDnsEntry {
    pub dns_name: String,
    pub hosted_zone_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LEndpoint {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub endpoint_type: EndpointType,
    pub service: String,
    /// Lower-case EC2 state: pending, available, deleting, deleted, failed, …
    pub state: String,
    pub route_table_ids: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub private_dns: bool,
    /// DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint as EC2 returned
    /// it; `None` when EC2 returned no DnsOptions (gateway endpoints).
    pub private_dns_inbound_only: Option<bool>,
    /// `ServiceRegion` as EC2 returned it (the service's region for
    /// cross-region PrivateLink); `None` when EC2 returned none.
    pub service_region: Option<String>,
    /// IpAddressType as EC2 reports it (`ipv4`, `dualstack`, `ipv6`); `None`
    /// when the answer has none.
    pub ip_address_type: Option<String>,
    /// DnsOptions.DnsRecordIpType as EC2 reports it; `None` when absent.
    pub dns_record_ip_type: Option<String>,
    /// Parsed policy document; `None` when EC2 returned none.
    pub policy: Option<Value>,
    pub dns_entries: Vec<LDnsEntry>,
    pub last_error: Option<String>,
    pub tags: Tags,
}

impl LEndpoint {
    /// The private DNS mode EC2's two values stand for.
    pub fn private_dns_mode(&self) -> PrivateDns {
        PrivateDns::from_ec2(self.private_dns, self.private_dns_inbound_only.unwrap_or(false))
    }

    /// Deleted or being deleted: history, not state.
    pub fn is_gone(&self) -> bool {
        matches!(self.state.as_str(), "deleted" | "deleting")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LPeering {
    pub id: String,
    /// The region this record was read from.
    pub region: String,
    pub requester_vpc_id: Option<String>,
    pub requester_region: Option<String>,
    pub accepter_vpc_id: Option<String>,
    pub accepter_region: Option<String>,
    /// Lower-case status code: pending-acceptance, active, deleted, …
    pub status: String,
    pub tags: Tags,
}

impl LPeering {
    /// Deleted, rejected, failed or expired peerings are history, not state.
    pub fn is_gone(&self) -> bool {
        matches!(
            self.status.as_str(),
            "deleted" | "deleting" | "rejected" | "failed" | "expired"
        )
    }
}

/// Everything s3ep read from EC2 for one plan, over all regions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub vpcs: Vec<LVpc>,
    pub subnets: Vec<LSubnet>,
    pub route_tables: Vec<LRouteTable>,
    pub security_groups: Vec<LSecurityGroup>,
    pub endpoints: Vec<LEndpoint>,
    pub peerings: Vec<LPeering>,
    /// (region, gateway service name) → id of that service's managed prefix
    /// list (named as [`prefix_list_names`] says): S3 and S3 Express One
    /// Zone each have their own.
    pub prefix_lists: BTreeMap<(String, String), String>,
    /// (region, service name) → where interface endpoints of that service
    /// can have subnets, for the interface endpoints of the plan.
    pub service_zones: BTreeMap<(String, String), ServiceZones>,
    /// The client groups (`security_group.client_groups`) of the plan's
    /// interface endpoints, described by id. Not owned: never deleted.
    pub client_groups: Vec<LSecurityGroup>,
    /// Outbound rules: those of the client groups, and those tagged with
    /// this plan (s3ep's own, also of groups the plan no longer names).
    /// One record per rule id.
    pub egress_rules: Vec<LEgressRule>,
    /// Adopted VPC id → its DNS attributes and the gateway endpoints in it
    /// (any owner), read only for adopted VPCs with a private-DNS interface
    /// endpoint of the plan.
    pub vpc_dns: BTreeMap<String, VpcDns>,
}

/// What private DNS needs to know about an adopted VPC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VpcDns {
    /// DescribeVpcAttribute `enableDnsSupport`.
    pub dns_support: bool,
    /// DescribeVpcAttribute `enableDnsHostnames`.
    pub dns_hostnames: bool,
    /// Service names of the gateway endpoints in the VPC (not deleted).
    pub gateway_services: Vec<String>,
}

/// The availability zones of a region where an interface endpoint of a
/// service can have a network interface (DescribeVpcEndpointServices'
/// `AvailabilityZones`; for a service of another region, the zones that can
/// reach it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceZones {
    /// AZ names (`us-east-1a`).
    pub names: Vec<String>,
    /// AZ ids (`use1-az1`): `ServiceDetails.AvailabilityZoneIds`, empty when
    /// EC2 (or an emulator) does not send them. Names are mapped to zones
    /// per account, ids are the same in every account (AWS RAM guide,
    /// "Availability Zone IDs for your AWS resources"), so ids are compared
    /// when both the service and the subnet have them.
    pub ids: Vec<String>,
}

impl ServiceZones {
    /// Whether a subnet in AZ `name` (id `id`, when known) may hold an
    /// interface endpoint of the service: by id when both sides have ids,
    /// else by name.
    pub fn offers(&self, name: &str, id: Option<&str>) -> bool {
        match id {
            Some(id) if !self.ids.is_empty() => self.ids.iter().any(|z| z == id),
            _ => self.names.iter().any(|z| z == name),
        }
    }
}

/// One entry of a network ACL (DescribeNetworkAcls `Entries`; EC2 API
/// reference, NetworkAclEntry). Entries are evaluated in order of
/// `rule_number`, lowest first, and the first that matches decides; the
/// last entry, `*` (listed as rule number 32767), denies
/// ("Network ACL rules", Amazon VPC User Guide,
/// https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html).
#[derive(Debug, Clone, PartialEq)]
pub struct LAclEntry {
    pub rule_number: i32,
    /// Outbound (`true`) or inbound.
    pub egress: bool,
    /// `tcp`, `udp`, `icmp`, `-1` (all) or another protocol number.
    pub protocol: String,
    /// `allow` or `deny`.
    pub allow: bool,
    /// The IPv4 range; `None` for an IPv6 entry (it never matches IPv4 traffic).
    pub cidr: Option<Ipv4Net>,
    /// TCP/UDP port range; `None` for every port.
    pub ports: Option<(i32, i32)>,
}

/// A network ACL and the subnets associated with it.
#[derive(Debug, Clone, PartialEq)]
pub struct LNetworkAcl {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    /// The VPC's default ACL (subnets not associated elsewhere use it).
    pub is_default: bool,
    pub entries: Vec<LAclEntry>,
    pub subnet_ids: Vec<String>,
    pub tags: Tags,
}

/// A VPC's DNS attributes (DescribeVpcAttribute `enableDnsSupport` and
/// `enableDnsHostnames`); private DNS of an interface endpoint needs both
/// ("DNS attributes for your VPC", Amazon VPC User Guide,
/// https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html#vpc-dns-support).
#[derive(Debug, Clone, PartialEq)]
pub struct LVpcDns {
    pub vpc_id: String,
    pub support: bool,
    pub hostnames: bool,
}

#[cfg(test)]
mod service_name_tests {
    use super::*;

    #[test]
    fn gateway_names_are_com_amazonaws_in_every_partition() {
        assert_eq!(
            service_name("us-east-1", "s3", EndpointType::Gateway),
            "com.amazonaws.us-east-1.s3"
        );
        assert_eq!(
            service_name("cn-north-1", "s3", EndpointType::Gateway),
            "com.amazonaws.cn-north-1.s3"
        );
        assert_eq!(
            service_name("cn-northwest-1", "s3express", EndpointType::Gateway),
            "com.amazonaws.cn-northwest-1.s3express"
        );
    }

    #[test]
    fn interface_names_take_the_china_prefix_in_cn_regions() {
        assert_eq!(
            service_name("eu-west-1", "s3", EndpointType::Interface),
            "com.amazonaws.eu-west-1.s3"
        );
        assert_eq!(
            service_name("cn-north-1", "s3", EndpointType::Interface),
            "cn.com.amazonaws.cn-north-1.s3"
        );
        assert_eq!(
            service_name("cn-northwest-1", "s3", EndpointType::Interface),
            "cn.com.amazonaws.cn-northwest-1.s3"
        );
        // Not a China region, despite the letters.
        assert_eq!(
            service_name("us-gov-west-1", "s3", EndpointType::Interface),
            "com.amazonaws.us-gov-west-1.s3"
        );
    }

    #[test]
    fn prefix_list_names_per_partition() {
        assert_eq!(
            s3_prefix_list_names("ap-northeast-2"),
            vec!["com.amazonaws.ap-northeast-2.s3"]
        );
        assert_eq!(
            s3_prefix_list_names("cn-north-1"),
            vec!["com.amazonaws.cn-north-1.s3", "cn.com.amazonaws.cn-north-1.s3"]
        );
        assert_eq!(
            s3_prefix_list_names("cn-northwest-1"),
            vec![
                "com.amazonaws.cn-northwest-1.s3",
                "cn.com.amazonaws.cn-northwest-1.s3"
            ]
        );
        assert_eq!(
            prefix_list_names("com.amazonaws.us-east-1.s3express"),
            vec!["com.amazonaws.us-east-1.s3express"]
        );
        assert_eq!(
            prefix_list_names("com.amazonaws.cn-north-1.s3express"),
            vec![
                "com.amazonaws.cn-north-1.s3express",
                "cn.com.amazonaws.cn-north-1.s3express"
            ]
        );
    }

    #[test]
    fn service_region_reads_both_prefixes() {
        assert_eq!(service_region("com.amazonaws.us-east-1.s3"), Some("us-east-1"));
        assert_eq!(
            service_region("cn.com.amazonaws.cn-northwest-1.s3"),
            Some("cn-northwest-1")
        );
        assert_eq!(service_region("com.amazonaws.cn-north-1.s3"), Some("cn-north-1"));
        assert_eq!(service_region("com.example.us-east-1.s3"), None);
        assert_eq!(service_region("com.amazonaws.s3"), None);
    }
}
