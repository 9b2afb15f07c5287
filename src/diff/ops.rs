//! The operations the executor runs for a change, in model terms. A step
//! names the phase it belongs to (deletes walk the dependency order in
//! reverse, creates walk it forward) and its rank in that order.

use std::fmt;

use ipnet::Ipv4Net;
use serde_json::Value;

use crate::model::{Address, DnsRecordIpType, EndpointType, IpAddressType, RouteDest, RulePeer, Tags};

/// An AWS id known now, or the address of a resource this run creates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdRef {
    Id(String),
    Addr(Address),
}

impl fmt::Display for IdRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdRef::Id(id) => f.write_str(id),
            IdRef::Addr(a) => write!(f, "{a} (new)"),
        }
    }
}

/// Deletes run first, in reverse dependency order; creates and in-place
/// additions then run in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Delete,
    Create,
}

/// One executable operation with its place in the order.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub phase: Phase,
    /// The resource kind's position in dependency order (see `diff::rank`).
    pub rank: u8,
    pub op: Op,
}

impl Step {
    pub fn create(rank: u8, op: Op) -> Self {
        Step {
            phase: Phase::Create,
            rank,
            op,
        }
    }
    pub fn delete(rank: u8, op: Op) -> Self {
        Step {
            phase: Phase::Delete,
            rank,
            op,
        }
    }
}

/// What a route points at.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteTarget {
    Peering(IdRef),
    /// A gateway endpoint (restoring its prefix-list route).
    Endpoint(String),
}

/// Additions (as references, possibly to new resources) and removals (as
/// live ids) for ModifyVpcEndpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointEdit {
    pub route_tables: Vec<IdRef>,
    pub subnets: Vec<IdRef>,
    pub security_groups: Vec<IdRef>,
    pub route_table_ids: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub private_dns: Option<crate::model::PrivateDns>,
    /// `Some(None)` resets to AWS's default policy.
    pub policy: Option<Option<Value>>,
    /// IpAddressType (ipv4 ↔ dualstack).
    pub ip_address_type: Option<IpAddressType>,
    /// DnsOptions.DnsRecordIpType.
    pub dns_record_ip_type: Option<DnsRecordIpType>,
}

impl EndpointEdit {
    pub fn is_empty(&self) -> bool {
        *self == EndpointEdit::default()
    }
}

/// An operation on EC2. Every variant carries the region it runs in.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateVpc {
        region: String,
        cidr: Ipv4Net,
        /// Also an Amazon-provided IPv6 /56.
        ipv6: bool,
        tags: Tags,
    },
    DeleteVpc {
        region: String,
        id: String,
    },
    /// Turns DNS hostnames on and tags the VPC with `s3ep:dns-hostnames`:
    /// the step after CreateVpc, and the repair of a VPC a stopped run left
    /// without it. Only endpoints wait for it.
    EnableDnsHostnames {
        region: String,
        vpc: IdRef,
    },
    CreateSubnet {
        region: String,
        vpc: IdRef,
        az: String,
        cidr: Ipv4Net,
        /// The /64 at this index of the VPC's /56, read from the live VPC
        /// when the step runs (the /56 is known only once the VPC exists).
        ipv6_index: Option<u8>,
        tags: Tags,
    },
    DeleteSubnet {
        region: String,
        id: String,
    },
    /// Creates the table (its subnets are associated by the `Associate`
    /// steps after it in the same change, so that what routes through the
    /// table need not wait for them).
    CreateRouteTable {
        region: String,
        vpc: IdRef,
        tags: Tags,
    },
    Associate {
        region: String,
        route_table: IdRef,
        subnet: IdRef,
    },
    Disassociate {
        region: String,
        association_id: String,
    },
    /// Disassociates these associations, then deletes the table.
    DeleteRouteTable {
        region: String,
        id: String,
        associations: Vec<String>,
    },
    CreateSecurityGroup {
        region: String,
        vpc: IdRef,
        name: String,
        description: String,
        tags: Tags,
    },
    DeleteSecurityGroup {
        region: String,
        id: String,
    },
    AuthorizeIngress {
        region: String,
        group: IdRef,
        peer: RulePeer,
        tags: Tags,
    },
    RevokeIngress {
        region: String,
        group: String,
        peer: RulePeer,
    },
    /// Outbound TCP 443 from a client group (not s3ep's) to the endpoint's
    /// group `peer`, the rule tagged (`security_group.client_groups`).
    AuthorizeEgress {
        region: String,
        group: String,
        peer: IdRef,
        tags: Tags,
    },
    /// Revokes s3ep's outbound rule `rule_id` of client group `group`
    /// (which references group `peer`): that rule only.
    RevokeEgress {
        region: String,
        group: String,
        rule_id: String,
        peer: String,
    },
    /// Creates the endpoint and waits until it is available.
    CreateEndpoint {
        region: String,
        vpc: IdRef,
        service: String,
        endpoint_type: EndpointType,
        route_tables: Vec<IdRef>,
        subnets: Vec<IdRef>,
        security_groups: Vec<IdRef>,
        private_dns: Option<crate::model::PrivateDns>,
        policy: Option<Value>,
        ip_address_type: IpAddressType,
        /// Interface endpoints only.
        dns_record_ip_type: Option<DnsRecordIpType>,
        tags: Tags,
        /// Interface only: the service's region when not the endpoint's.
        service_region: Option<String>,
    },
    /// ModifyVpcEndpoint. For a gateway endpoint, `prefix_list` is its
    /// service's prefix list (S3's or S3 Express One Zone's) whose routes must follow the route tables added or
    /// removed (checked after the call; some EC2 emulators leave them).
    ModifyEndpoint {
        region: String,
        id: String,
        edit: EndpointEdit,
        prefix_list: Option<String>,
    },
    /// Deletes the endpoint and waits until it is deleted.
    DeleteEndpoint {
        region: String,
        id: String,
        /// The live endpoint's type: a gateway endpoint is deleted after the
        /// interface endpoints of its VPC (an inbound-only one blocks it).
        endpoint_type: EndpointType,
    },
    /// Requests in the requester's region, accepts in the accepter's, waits
    /// until active.
    CreatePeering {
        region: String,
        requester: IdRef,
        accepter: IdRef,
        accepter_region: String,
        tags: Tags,
    },
    /// Waits until the accepter's region sees the request, accepts it if
    /// pending, waits until active (converging from an interrupted run).
    AcceptPeering {
        /// The requester's region.
        region: String,
        accepter_region: String,
        id: String,
    },
    DeletePeering {
        region: String,
        id: String,
    },
    CreateRoute {
        region: String,
        route_table: IdRef,
        dest: RouteDest,
        target: RouteTarget,
    },
    DeleteRoute {
        region: String,
        route_table: String,
        dest: RouteDest,
    },
    /// Adds or overwrites tags on an owned resource.
    SetTags {
        region: String,
        id: String,
        tags: Tags,
    },
}
