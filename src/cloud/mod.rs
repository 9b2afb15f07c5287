//! The cloud boundary. `Cloud` is the only way the rest of s3ep talks to EC2;
//! it speaks model types only. `aws` implements it with aws-sdk-ec2 (the only
//! module that imports the SDK, with `record`, its request-recording
//! interceptor for tests); `memory` is an in-memory EC2 for offline tests of
//! state reading, diffing and execution.

pub mod aws;
pub mod explain;
pub mod memory;
pub mod rate;
pub mod record;

use async_trait::async_trait;
use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::Value;

use crate::model::{
    DnsRecordIpType, EndpointType, IpAddressType, LEgressRule, LEndpoint, LPeering, LRouteTable,
    LSecurityGroup, LSubnet, LVpc, PrivateDns, RouteDest, RulePeer, Tags,
};

/// Which resources a Describe call returns. One call per kind per region:
/// never one per resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Resources tagged `s3ep:plan` = this plan name (server-side tag filter;
    /// callers still check the tags of each result themselves).
    Plan(String),
    /// Resources with these ids (adopted resources, or waits on created ones).
    Ids(Vec<String>),
    /// Resources inside these VPC ids (`vpc-id` filter).
    Vpcs(Vec<String>),
    /// Route tables with a route through one of these peering connections
    /// (`route.vpc-peering-connection-id`); selects nothing of other kinds.
    RoutesVia(Vec<String>),
}

/// What to create an endpoint with. Ids are already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointCreate {
    pub vpc_id: String,
    pub service: String,
    pub endpoint_type: EndpointType,
    pub route_table_ids: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// Interface endpoints only: PrivateDnsEnabled and
    /// DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint, both sent
    /// explicitly when set.
    pub private_dns: Option<PrivateDns>,
    /// Interface endpoints only: `ServiceRegion`, the service's region when
    /// it is not the endpoint's (cross-region PrivateLink).
    pub service_region: Option<String>,
    /// IpAddressType, sent when set.
    pub ip_address_type: Option<IpAddressType>,
    /// DnsOptions.DnsRecordIpType (interface endpoints), sent when set.
    pub dns_record_ip_type: Option<DnsRecordIpType>,
    /// Policy document; `None` leaves AWS's default.
    pub policy: Option<Value>,
    pub tags: Tags,
    /// Idempotency token (CreateVpcEndpoint accepts one).
    pub client_token: Option<String>,
}

/// An in-place endpoint change: ModifyVpcEndpoint's add/remove lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointModify {
    pub add_route_table_ids: Vec<String>,
    pub remove_route_table_ids: Vec<String>,
    pub add_subnet_ids: Vec<String>,
    pub remove_subnet_ids: Vec<String>,
    pub add_security_group_ids: Vec<String>,
    pub remove_security_group_ids: Vec<String>,
    /// `Some(Some(doc))` sets a policy, `Some(None)` resets to the default.
    pub policy: Option<Option<Value>>,
    /// Both private DNS values, sent explicitly when set.
    pub private_dns: Option<PrivateDns>,
    /// IpAddressType (ipv4 ↔ dualstack in place).
    pub ip_address_type: Option<IpAddressType>,
    /// DnsOptions.DnsRecordIpType.
    pub dns_record_ip_type: Option<DnsRecordIpType>,
}

impl EndpointModify {
    /// Whether this asks for no change at all.
    pub fn is_empty(&self) -> bool {
        *self == EndpointModify::default()
    }
}

/// An error from the cloud that keeps the AWS error code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{op} in {region}: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct CloudError {
    /// The EC2 operation, e.g. `CreateVpcEndpoint`.
    pub op: &'static str,
    pub region: String,
    /// The AWS error code, e.g. `InvalidVpcID.NotFound`, when EC2 sent one.
    pub code: Option<String>,
    pub message: String,
    /// The HTTP status of EC2's answer, when there was one.
    pub status: Option<u16>,
    /// No answer came back (connection dropped or reset, timeout): the
    /// request may or may not have taken effect.
    pub no_response: bool,
    /// Never sent: the run was interrupted (Ctrl-C) while the call waited
    /// for its rate token.
    pub interrupted: bool,
}

impl CloudError {
    pub fn new(op: &'static str, region: &str, code: Option<&str>, message: impl Into<String>) -> Self {
        CloudError {
            op,
            region: region.to_string(),
            code: code.map(str::to_string),
            message: message.into(),
            status: None,
            no_response: false,
            interrupted: false,
        }
    }

    /// A call not sent because the run was interrupted.
    pub fn interrupted(op: &'static str, region: &str) -> Self {
        CloudError {
            interrupted: true,
            ..CloudError::new(op, region, None, "not sent: the run was interrupted")
        }
    }

    /// A request whose answer never came (connection dropped after sending,
    /// timeout): it may have taken effect.
    pub fn no_response(op: &'static str, region: &str, message: impl Into<String>) -> Self {
        CloudError {
            no_response: true,
            ..CloudError::new(op, region, None, message)
        }
    }

    /// Throttling: EC2 refused the request before acting on it.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self.code_lower().as_str(),
            "requestlimitexceeded"
                | "throttling"
                | "throttlingexception"
                | "requestthrottled"
                | "requestthrottledexception"
                | "toomanyrequestsexception"
                | "ec2throttledexception"
                | "slowdown"
        ) || self.status == Some(429)
    }

    /// The request may have taken effect although it failed: no answer came
    /// back, or EC2 answered with a server error (5xx other than throttling).
    /// A create without a client token must look before it is sent again.
    pub fn may_have_taken_effect(&self) -> bool {
        if self.is_throttling() {
            return false;
        }
        self.no_response
            || self.status.is_some_and(|s| s >= 500)
            || matches!(
                self.code_lower().as_str(),
                "internalerror" | "internalfailure" | "serviceunavailable" | "unavailable"
            )
    }

    /// Worth sending again after a pause: throttling, a server error, or no
    /// answer at all.
    pub fn is_transient(&self) -> bool {
        self.is_throttling() || self.may_have_taken_effect()
    }

    /// A response that lacked a field s3ep needs.
    pub fn missing(op: &'static str, region: &str, field: &str) -> Self {
        CloudError::new(op, region, None, format!("response has no {field}"))
    }

    fn code_lower(&self) -> String {
        self.code.as_deref().unwrap_or("").to_ascii_lowercase()
    }

    /// `*.NotFound` (compared case-insensitively: moto and AWS spell some
    /// codes differently).
    pub fn is_not_found(&self) -> bool {
        let c = self.code_lower();
        c.ends_with(".notfound") || c.ends_with("notfound") || c == "invalidroute.notfound"
    }

    /// Whether the error code is one of `codes`, ignoring case (moto and
    /// AWS spell some codes differently).
    pub fn is_code(&self, codes: &[&str]) -> bool {
        let c = self.code_lower();
        !c.is_empty() && codes.iter().any(|k| k.eq_ignore_ascii_case(&c))
    }

    /// Whether the error code starts with `prefix`, ignoring case.
    pub fn code_starts_with(&self, prefix: &str) -> bool {
        self.code_lower().starts_with(&prefix.to_ascii_lowercase())
    }

    /// The thing already exists (duplicate route or rule).
    pub fn is_duplicate(&self) -> bool {
        let c = self.code_lower();
        c == "routealreadyexists" || c == "invalidpermission.duplicate"
    }

    /// A transient conflict worth retrying during deletes and modifies.
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(
            self.code_lower().as_str(),
            "incorrectstate" | "operationinprogress" | "dependencyviolation" | "invalidstate"
        )
    }
}

/// Result alias for cloud calls.
pub type CloudResult<T> = Result<T, CloudError>;

/// The EC2 operations s3ep uses. Every method takes the region it acts in.
#[async_trait]
pub trait Cloud: Send + Sync {
    // --- reads: one paginated call per kind and filter ---
    async fn describe_vpcs(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LVpc>>;
    async fn describe_subnets(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LSubnet>>;
    async fn describe_route_tables(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LRouteTable>>;
    async fn describe_security_groups(
        &self,
        region: &str,
        filter: &Filter,
    ) -> CloudResult<Vec<LSecurityGroup>>;
    async fn describe_endpoints(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LEndpoint>>;
    /// Peerings seen from `region` (as requester or accepter).
    async fn describe_peerings(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LPeering>>;
    /// Where interface endpoints of `service` can have subnets in
    /// `region`: DescribeVpcEndpointServices with `ServiceNames` (and
    /// `ServiceRegions` when `service_region` is another region). `None`
    /// when EC2 does not list the service.
    async fn endpoint_service_zones(
        &self,
        region: &str,
        service: &str,
        service_region: Option<&str>,
    ) -> CloudResult<Option<crate::model::ServiceZones>>;
    /// The id of the managed prefix list of gateway service `service` in
    /// `region` (`com.amazonaws.<region>.s3`, `….s3express`; names as
    /// `model::prefix_list_names` says). `None` when the region has none.
    async fn prefix_list(&self, region: &str, service: &str) -> CloudResult<Option<String>>;

    // --- reads for `check` (defaults: unsupported, for test doubles) ---
    /// Network ACLs with their entries and associations: one paginated
    /// DescribeNetworkAcls per call.
    async fn describe_network_acls(
        &self,
        region: &str,
        filter: &Filter,
    ) -> CloudResult<Vec<crate::model::LNetworkAcl>> {
        let _ = filter;
        Err(CloudError::new(
            "DescribeNetworkAcls",
            region,
            None,
            "not supported by this cloud",
        ))
    }
    /// A VPC's `enableDnsSupport` and `enableDnsHostnames` (two
    /// DescribeVpcAttribute calls: EC2 answers one attribute of one VPC per call).
    async fn describe_vpc_dns(&self, region: &str, vpc_id: &str) -> CloudResult<crate::model::LVpcDns>;
    /// The CIDRs of a managed prefix list (GetManagedPrefixListEntries), for
    /// `check` and `outputs` (NACLs and firewalls need them).
    async fn prefix_list_cidrs(&self, region: &str, prefix_list_id: &str) -> CloudResult<Vec<Ipv4Net>>;

    // --- VPCs and subnets ---
    /// Creates a VPC tagged with `tags` and turns on DNS hostnames.
    /// CreateVpc only; DNS hostnames are turned on by
    /// [`enable_dns_hostnames`](Cloud::enable_dns_hostnames).
    async fn create_vpc(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String>;
    /// ModifyVpcAttribute `EnableDnsHostnames = true` (endpoints need it).
    async fn enable_dns_hostnames(&self, region: &str, vpc_id: &str) -> CloudResult<()>;
    async fn delete_vpc(&self, region: &str, vpc_id: &str) -> CloudResult<()>;
    async fn create_subnet(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        tags: &Tags,
    ) -> CloudResult<String>;
    async fn delete_subnet(&self, region: &str, subnet_id: &str) -> CloudResult<()>;
    /// CreateVpc with AmazonProvidedIpv6CidrBlock: the VPC also gets an
    /// Amazon-provided /56 (read back as [`LVpc::ipv6_cidr`]).
    async fn create_vpc_ipv6(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String>;
    /// CreateSubnet with an IPv6 /64 (`Ipv6CidrBlock`) as well as its IPv4 CIDR.
    async fn create_subnet_ipv6(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        ipv6: Ipv6Net,
        tags: &Tags,
    ) -> CloudResult<String>;

    // --- route tables, associations, routes ---
    async fn create_route_table(
        &self,
        region: &str,
        vpc_id: &str,
        tags: &Tags,
        client_token: Option<&str>,
    ) -> CloudResult<String>;
    async fn delete_route_table(&self, region: &str, rtb_id: &str) -> CloudResult<()>;
    /// Returns the association id.
    async fn associate_route_table(&self, region: &str, rtb_id: &str, subnet_id: &str)
        -> CloudResult<String>;
    async fn disassociate_route_table(&self, region: &str, association_id: &str) -> CloudResult<()>;
    /// A route to `dest` through a peering connection.
    async fn create_peering_route(
        &self,
        region: &str,
        rtb_id: &str,
        dest: &RouteDest,
        peering_id: &str,
    ) -> CloudResult<()>;
    async fn delete_route(&self, region: &str, rtb_id: &str, dest: &RouteDest) -> CloudResult<()>;
    /// Restores a gateway endpoint's prefix-list route (CreateRoute with the
    /// endpoint as GatewayId), for a route found missing from a table the
    /// endpoint is associated with.
    async fn create_endpoint_route(
        &self,
        region: &str,
        rtb_id: &str,
        dest: &RouteDest,
        endpoint_id: &str,
    ) -> CloudResult<()>;

    // --- tags ---
    /// Adds or overwrites tags on an owned resource (CreateTags).
    async fn set_tags(&self, region: &str, resource_id: &str, tags: &Tags) -> CloudResult<()>;

    // --- security groups ---
    async fn create_security_group(
        &self,
        region: &str,
        vpc_id: &str,
        name: &str,
        description: &str,
        tags: &Tags,
    ) -> CloudResult<String>;
    async fn delete_security_group(&self, region: &str, sg_id: &str) -> CloudResult<()>;
    /// Inbound TCP 443 from `peer`, the rule tagged with `tags`.
    async fn authorize_https_ingress(
        &self,
        region: &str,
        sg_id: &str,
        peer: &RulePeer,
        tags: &Tags,
    ) -> CloudResult<()>;
    async fn revoke_https_ingress(&self, region: &str, sg_id: &str, peer: &RulePeer) -> CloudResult<()>;
    /// Outbound rules with their ids and tags (DescribeSecurityGroupRules,
    /// egress rules only): `Filter::Plan` the rules tagged with the plan,
    /// `Filter::Ids` the rules of these group ids (`group-id`). One
    /// paginated call.
    async fn describe_egress_rules(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LEgressRule>>;
    /// Outbound TCP 443 from group `sg_id` to group `peer_group`
    /// (AuthorizeSecurityGroupEgress with a UserIdGroupPair), the rule
    /// tagged with `tags`. Returns the new rule's id when EC2 gives it.
    async fn authorize_https_egress(
        &self,
        region: &str,
        sg_id: &str,
        peer_group: &str,
        tags: &Tags,
    ) -> CloudResult<Option<String>>;
    /// Revokes the outbound rule `rule_id` of `sg_id`
    /// (RevokeSecurityGroupEgress with SecurityGroupRuleIds): that rule
    /// only, nothing else of the group.
    async fn revoke_https_egress(&self, region: &str, sg_id: &str, rule_id: &str) -> CloudResult<()>;

    // --- endpoints ---
    async fn create_endpoint(&self, region: &str, spec: &EndpointCreate) -> CloudResult<LEndpoint>;
    async fn modify_endpoint(
        &self,
        region: &str,
        endpoint_id: &str,
        change: &EndpointModify,
    ) -> CloudResult<()>;
    /// Deletes one endpoint; a per-endpoint failure in `Unsuccessful` is an error.
    async fn delete_endpoint(&self, region: &str, endpoint_id: &str) -> CloudResult<()>;

    // --- peering ---
    /// Requests a peering from `region`; returns its id.
    async fn create_peering(
        &self,
        region: &str,
        vpc_id: &str,
        peer_vpc_id: &str,
        peer_region: &str,
        tags: &Tags,
    ) -> CloudResult<String>;
    /// Accepts from the accepter's region.
    async fn accept_peering(&self, region: &str, peering_id: &str) -> CloudResult<()>;
    async fn delete_peering(&self, region: &str, peering_id: &str) -> CloudResult<()>;
}
