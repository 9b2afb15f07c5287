//! An in-memory EC2 that implements [`Cloud`] the way real AWS behaves (not
//! the way moto does), so offline tests of state reading, diffing and
//! execution mean something.
//!
//! What it models, per region: VPCs (with their main route table and default
//! security group), subnets, route tables with associations and routes,
//! security groups with HTTPS ingress rules, S3 gateway and interface
//! endpoints, and peerings (one record seen from both the requester's and the
//! accepter's region). Dependencies are enforced (`DependencyViolation`),
//! client tokens are honoured, gateway endpoints own their prefix-list routes,
//! and deleted endpoints and peerings stay listed as `deleted`.
//!
//! Test hooks: a call log ([`MemoryCloud::calls`]), injected errors
//! ([`MemoryCloud::fail_next`]), lost responses
//! ([`MemoryCloud::lose_response_next`]), slow state transitions
//! ([`MemoryCloud::set_endpoint_pending_polls`],
//! [`MemoryCloud::set_peering_active_polls`]), resource counts
//! ([`MemoryCloud::count`]) and out-of-band changes that are not logged
//! ([`MemoryCloud::oob`] and the `oob_*` helpers) for drift tests.
//!
//! All state sits behind one `std::sync::Mutex`; every method is synchronous
//! inside, so the lock is never held across an `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use ipnet::Ipv4Net;
use serde_json::Value;

use super::{Cloud, CloudError, CloudResult, EndpointCreate, EndpointModify, Filter};
use crate::model::{
    EndpointType, LAssociation, LDnsEntry, LEndpoint, LPeering, LRoute, LRouteTable, LRule, LSecurityGroup,
    LSubnet, LVpc, RouteDest, RulePeer, Tags, TAG_PLAN,
};

/// Largest endpoint policy EC2 accepts, in characters.
const MAX_POLICY_CHARS: usize = 20_480;

/// The DNS-name suffix the in-memory cloud gives every interface endpoint.
pub const DNS_SUFFIX: &str = "abcd1234";

/// AWS's default endpoint policy: full access.
pub fn default_endpoint_policy() -> Value {
    serde_json::json!({
        "Version": "2008-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
        ]
    })
}

/// The S3 prefix-list id the in-memory cloud uses in `region`
/// (deterministic: `pl-` and 8 hex digits derived from the region name).
pub fn s3_prefix_list_id(region: &str) -> String {
    format!("pl-{:08x}", fnv1a(region) as u32)
}

/// The service name of S3 in `region`.
fn s3_service(region: &str) -> String {
    format!("com.amazonaws.{region}.s3")
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

// ---------------------------------------------------------------------------
// The public handle and its test hooks
// ---------------------------------------------------------------------------

/// An in-memory EC2. Clones share the same state (see [`MemoryCloud::oob`]).
#[derive(Clone)]
pub struct MemoryCloud {
    state: Arc<Mutex<Inner>>,
    /// Calls sleeping in their latency now, and the most ever at once.
    flight: Arc<AtomicUsize>,
    max_flight: Arc<AtomicUsize>,
    /// Whether calls through this handle are logged, subject to injected
    /// failures and advance pending/provisioning counters.
    record: bool,
}

impl Default for MemoryCloud {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCloud")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl MemoryCloud {
    /// An empty cloud: no resources in any region, nothing logged.
    pub fn new() -> Self {
        MemoryCloud {
            state: Arc::new(Mutex::new(Inner::default())),
            flight: Arc::default(),
            max_flight: Arc::default(),
            record: true,
        }
    }

    /// A handle on the same state whose calls are out of band: not logged in
    /// [`calls`](Self::calls), never hit by [`fail_next`](Self::fail_next) or
    /// [`lose_response_next`](Self::lose_response_next), and its describes
    /// do not advance pending/provisioning counters. Use it to set up or
    /// drift resources behind the back of the code under test.
    pub fn oob(&self) -> MemoryCloud {
        MemoryCloud {
            state: Arc::clone(&self.state),
            flight: Arc::clone(&self.flight),
            max_flight: Arc::clone(&self.max_flight),
            record: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every logged call takes `d` (tokio time) before it acts, so that
    /// steps run side by side overlap.
    pub fn set_latency(&self, d: Duration) {
        self.lock().latency = d;
    }

    /// The most logged calls ever in their latency at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_flight.load(Ordering::SeqCst)
    }

    /// Every logged call so far: (EC2 operation name, region), in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.lock().calls.clone()
    }

    /// How many logged calls of `op` (e.g. `"DescribeVpcs"`) there were.
    pub fn call_count(&self, op: &str) -> usize {
        self.lock().calls.iter().filter(|(o, _)| o == op).count()
    }

    /// Clears the call log.
    pub fn reset_calls(&self) {
        self.lock().calls.clear();
        self.max_flight.store(0, Ordering::SeqCst);
    }

    /// The next `times` calls of `op` fail with error `code` before taking
    /// effect. Queued after any failures already pending for `op`.
    pub fn fail_next(&self, op: &str, code: &str, times: usize) {
        let mut g = self.lock();
        let q = g.failures.entry(op.to_string()).or_default();
        q.extend(std::iter::repeat_n(code.to_string(), times));
    }

    /// The next call of `op` takes effect but its response is lost: it
    /// returns an error with no code and the message "connection reset".
    /// Calling this twice loses the next two responses.
    pub fn lose_response_next(&self, op: &str) {
        *self.lock().lost.entry(op.to_string()).or_default() += 1;
    }

    /// Endpoints created from now on show `pending` for the next `n`
    /// describes that return them, then `available`; endpoints deleted from
    /// now on show `deleting` for `n` describes, then `deleted`. 0 (the
    /// default) makes both immediate.
    pub fn set_endpoint_pending_polls(&self, n: usize) {
        self.lock().endpoint_polls = n;
    }

    /// Peerings accepted from now on show `provisioning` for the next `n`
    /// describes that return them, then `active` (default 0: immediate).
    pub fn set_peering_active_polls(&self, n: usize) {
        self.lock().peering_polls = n;
    }

    /// Number of live resources of `kind` in `region`: `"vpc"`, `"subnet"`,
    /// `"route_table"` (main tables excluded), `"security_group"` (default
    /// groups excluded), `"endpoint"` (not `deleted`) or `"peering"` (seen
    /// from `region`, not deleted or failed). Unknown kinds count 0.
    pub fn count(&self, kind: &str, region: &str) -> usize {
        let g = self.lock();
        if kind == "peering" {
            return g
                .peerings
                .values()
                .filter(|p| p.visible_from(region) && !p.status.is_gone())
                .count();
        }
        let Some(r) = g.regions.get(region) else {
            return 0;
        };
        match kind {
            "vpc" => r.vpcs.len(),
            "subnet" => r.subnets.len(),
            "route_table" => r.route_tables.values().filter(|t| !t.main).count(),
            "security_group" => r.groups.values().filter(|s| !s.default).count(),
            "endpoint" => r
                .endpoints
                .values()
                .filter(|e| e.state != EpState::Deleted)
                .count(),
            _ => 0,
        }
    }

    /// Drops deleted endpoints and peerings from every listing, as AWS does
    /// some time after the deletion.
    pub fn forget_deleted(&self) {
        let mut g = self.lock();
        for r in g.regions.values_mut() {
            r.endpoints.retain(|_, e| e.state != EpState::Deleted);
        }
        g.peerings.retain(|_, p| p.status != PcxState::Deleted);
    }

    /// Out of band: creates a VPC (with its main route table and default
    /// security group) without validating the CIDR.
    pub fn oob_create_vpc(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> String {
        self.lock().insert_vpc(region, cidr, tags)
    }

    /// Out of band: creates a subnet (same checks as `CreateSubnet`).
    pub fn oob_create_subnet(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.quiet("CreateSubnet", region, |s, cx| {
            s.create_subnet(cx, vpc_id, az, cidr, tags)
        })
    }

    /// Out of band: creates a route table (with its local route).
    pub fn oob_create_route_table(&self, region: &str, vpc_id: &str, tags: &Tags) -> CloudResult<String> {
        self.quiet("CreateRouteTable", region, |s, cx| {
            s.create_route_table(cx, vpc_id, tags, None)
        })
    }

    /// Out of band: associates a route table with a subnet; returns the
    /// association id.
    pub fn oob_associate_route_table(
        &self,
        region: &str,
        rtb_id: &str,
        subnet_id: &str,
    ) -> CloudResult<String> {
        self.quiet("AssociateRouteTable", region, |s, cx| {
            s.associate(cx, rtb_id, subnet_id)
        })
    }

    /// Out of band: creates a security group.
    pub fn oob_create_security_group(
        &self,
        region: &str,
        vpc_id: &str,
        name: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.quiet("CreateSecurityGroup", region, |s, cx| {
            s.create_group(cx, vpc_id, name, "created out of band", tags)
        })
    }

    /// Out of band: creates an endpoint, `available` at once.
    pub fn oob_create_endpoint(&self, region: &str, spec: &EndpointCreate) -> CloudResult<LEndpoint> {
        self.quiet("CreateVpcEndpoint", region, |s, cx| {
            s.create_endpoint(cx, spec, 0)
        })
    }

    /// Out of band: adds a route to `dest` with target `gateway_id` (e.g. an
    /// `igw-…` or a `vpce-…`); `RouteAlreadyExists` if `dest` is taken.
    pub fn oob_add_route(
        &self,
        region: &str,
        rtb_id: &str,
        dest: &RouteDest,
        gateway_id: &str,
    ) -> CloudResult<()> {
        self.quiet("CreateRoute", region, |s, cx| {
            let t = s.reg(region).rtb_mut(cx, rtb_id)?;
            if t.routes.iter().any(|r| &r.dest == dest) {
                return Err(route_exists(cx, rtb_id, dest));
            }
            t.routes.push(Route {
                dest: dest.clone(),
                target: Target::Gateway(gateway_id.to_string()),
            });
            Ok(())
        })
    }

    /// Out of band: deletes any route, including the local route and routes
    /// owned by gateway endpoints (which is how drift in those is made).
    pub fn oob_delete_route(&self, region: &str, rtb_id: &str, dest: &RouteDest) -> CloudResult<()> {
        self.quiet("DeleteRoute", region, |s, cx| {
            s.delete_route(cx, rtb_id, dest, true)
        })
    }

    /// Out of band: replaces (not merges) the tags of any resource by id
    /// (for a peering, the tags seen from `region`); an empty map removes
    /// them all.
    pub fn oob_set_tags(&self, region: &str, id: &str, tags: &Tags) -> CloudResult<()> {
        self.quiet("CreateTags", region, |s, cx| s.set_tags(cx, id, tags, false))
    }

    /// Runs `f` on the state as operation `op`: logs the call, applies
    /// injected failures and lost responses (when this handle records).
    fn run<T>(
        &self,
        op: &'static str,
        region: &str,
        f: impl FnOnce(&mut Inner, &Cx) -> CloudResult<T>,
    ) -> CloudResult<T> {
        let cx = Cx {
            op,
            region,
            observe: self.record,
        };
        let mut g = self.lock();
        let mut lost = false;
        if self.record {
            g.calls.push((op.to_string(), region.to_string()));
            if let Some(code) = g.failures.get_mut(op).and_then(VecDeque::pop_front) {
                return Err(cx.err(&code, "injected failure"));
            }
            if let Some(n) = g.lost.get_mut(op).filter(|n| **n > 0) {
                *n -= 1;
                lost = true;
            }
        }
        let result = f(&mut g, &cx);
        if lost {
            return Err(CloudError::no_response(op, region, "connection reset"));
        }
        result
    }

    /// [`run`](Self::run) after the latency set by
    /// [`set_latency`](Self::set_latency), counting calls in flight.
    async fn call<T>(
        &self,
        op: &'static str,
        region: &str,
        f: impl FnOnce(&mut Inner, &Cx) -> CloudResult<T>,
    ) -> CloudResult<T> {
        let latency = self.lock().latency;
        if self.record && !latency.is_zero() {
            let now = self.flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(latency).await;
            self.flight.fetch_sub(1, Ordering::SeqCst);
        }
        self.run(op, region, f)
    }

    /// Like [`run`](Self::run) but never logged nor failed.
    fn quiet<T>(
        &self,
        op: &'static str,
        region: &str,
        f: impl FnOnce(&mut Inner, &Cx) -> CloudResult<T>,
    ) -> CloudResult<T> {
        self.oob().run(op, region, f)
    }
}

#[async_trait]
impl Cloud for MemoryCloud {
    async fn describe_vpcs(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LVpc>> {
        self.call("DescribeVpcs", region, |s, cx| s.describe_vpcs(cx, filter))
            .await
    }

    async fn describe_subnets(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LSubnet>> {
        self.call("DescribeSubnets", region, |s, cx| s.describe_subnets(cx, filter))
            .await
    }

    async fn describe_route_tables(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LRouteTable>> {
        self.call("DescribeRouteTables", region, |s, cx| {
            s.describe_route_tables(cx, filter)
        })
        .await
    }

    async fn describe_security_groups(
        &self,
        region: &str,
        filter: &Filter,
    ) -> CloudResult<Vec<LSecurityGroup>> {
        self.call("DescribeSecurityGroups", region, |s, cx| {
            s.describe_groups(cx, filter)
        })
        .await
    }

    async fn describe_endpoints(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LEndpoint>> {
        self.call("DescribeVpcEndpoints", region, |s, cx| {
            s.describe_endpoints(cx, filter)
        })
        .await
    }

    async fn describe_peerings(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LPeering>> {
        self.call("DescribeVpcPeeringConnections", region, |s, cx| {
            s.describe_peerings(cx, filter)
        })
        .await
    }

    async fn s3_prefix_list(&self, region: &str) -> CloudResult<Option<String>> {
        self.call("DescribeManagedPrefixLists", region, |_, _| {
            Ok(Some(s3_prefix_list_id(region)))
        })
        .await
    }

    async fn create_vpc(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String> {
        self.call("CreateVpc", region, |s, cx| s.create_vpc(cx, cidr, tags))
            .await
    }

    async fn enable_dns_hostnames(&self, region: &str, vpc_id: &str) -> CloudResult<()> {
        self.call("ModifyVpcAttribute", region, |s, cx| {
            s.reg(cx.region).vpc(cx, vpc_id)?;
            Ok(())
        })
        .await
    }

    async fn delete_vpc(&self, region: &str, vpc_id: &str) -> CloudResult<()> {
        self.call("DeleteVpc", region, |s, cx| s.delete_vpc(cx, vpc_id))
            .await
    }

    async fn create_subnet(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.call("CreateSubnet", region, |s, cx| {
            s.create_subnet(cx, vpc_id, az, cidr, tags)
        })
        .await
    }

    async fn delete_subnet(&self, region: &str, subnet_id: &str) -> CloudResult<()> {
        self.call("DeleteSubnet", region, |s, cx| s.delete_subnet(cx, subnet_id))
            .await
    }

    async fn create_route_table(
        &self,
        region: &str,
        vpc_id: &str,
        tags: &Tags,
        client_token: Option<&str>,
    ) -> CloudResult<String> {
        self.call("CreateRouteTable", region, |s, cx| {
            s.create_route_table(cx, vpc_id, tags, client_token)
        })
        .await
    }

    async fn delete_route_table(&self, region: &str, rtb_id: &str) -> CloudResult<()> {
        self.call("DeleteRouteTable", region, |s, cx| {
            s.delete_route_table(cx, rtb_id)
        })
        .await
    }

    async fn associate_route_table(
        &self,
        region: &str,
        rtb_id: &str,
        subnet_id: &str,
    ) -> CloudResult<String> {
        self.call("AssociateRouteTable", region, |s, cx| {
            s.associate(cx, rtb_id, subnet_id)
        })
        .await
    }

    async fn disassociate_route_table(&self, region: &str, association_id: &str) -> CloudResult<()> {
        self.call("DisassociateRouteTable", region, |s, cx| {
            s.disassociate(cx, association_id)
        })
        .await
    }

    async fn create_peering_route(
        &self,
        region: &str,
        rtb_id: &str,
        dest: &RouteDest,
        peering_id: &str,
    ) -> CloudResult<()> {
        self.call("CreateRoute", region, |s, cx| {
            s.create_peering_route(cx, rtb_id, dest, peering_id)
        })
        .await
    }

    async fn delete_route(&self, region: &str, rtb_id: &str, dest: &RouteDest) -> CloudResult<()> {
        self.call("DeleteRoute", region, |s, cx| {
            s.delete_route(cx, rtb_id, dest, false)
        })
        .await
    }

    async fn create_endpoint_route(
        &self,
        region: &str,
        rtb_id: &str,
        dest: &RouteDest,
        endpoint_id: &str,
    ) -> CloudResult<()> {
        self.call("CreateRoute", region, |s, cx| {
            s.create_endpoint_route(cx, rtb_id, dest, endpoint_id)
        })
        .await
    }

    async fn set_tags(&self, region: &str, resource_id: &str, tags: &Tags) -> CloudResult<()> {
        self.call("CreateTags", region, |s, cx| {
            s.set_tags(cx, resource_id, tags, true)
        })
        .await
    }

    async fn create_security_group(
        &self,
        region: &str,
        vpc_id: &str,
        name: &str,
        description: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.call("CreateSecurityGroup", region, |s, cx| {
            s.create_group(cx, vpc_id, name, description, tags)
        })
        .await
    }

    async fn delete_security_group(&self, region: &str, sg_id: &str) -> CloudResult<()> {
        self.call("DeleteSecurityGroup", region, |s, cx| s.delete_group(cx, sg_id))
            .await
    }

    async fn authorize_https_ingress(
        &self,
        region: &str,
        sg_id: &str,
        peer: &RulePeer,
        _tags: &Tags,
    ) -> CloudResult<()> {
        self.call("AuthorizeSecurityGroupIngress", region, |s, cx| {
            s.authorize(cx, sg_id, peer)
        })
        .await
    }

    async fn revoke_https_ingress(&self, region: &str, sg_id: &str, peer: &RulePeer) -> CloudResult<()> {
        self.call("RevokeSecurityGroupIngress", region, |s, cx| {
            s.revoke(cx, sg_id, peer)
        })
        .await
    }

    async fn create_endpoint(&self, region: &str, spec: &EndpointCreate) -> CloudResult<LEndpoint> {
        self.call("CreateVpcEndpoint", region, |s, cx| {
            let polls = s.endpoint_polls;
            s.create_endpoint(cx, spec, polls)
        })
        .await
    }

    async fn modify_endpoint(
        &self,
        region: &str,
        endpoint_id: &str,
        change: &EndpointModify,
    ) -> CloudResult<()> {
        self.call("ModifyVpcEndpoint", region, |s, cx| {
            s.modify_endpoint(cx, endpoint_id, change)
        })
        .await
    }

    async fn delete_endpoint(&self, region: &str, endpoint_id: &str) -> CloudResult<()> {
        self.call("DeleteVpcEndpoints", region, |s, cx| {
            s.delete_endpoint(cx, endpoint_id)
        })
        .await
    }

    async fn create_peering(
        &self,
        region: &str,
        vpc_id: &str,
        peer_vpc_id: &str,
        peer_region: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.call("CreateVpcPeeringConnection", region, |s, cx| {
            s.create_peering(cx, vpc_id, peer_vpc_id, peer_region, tags)
        })
        .await
    }

    async fn accept_peering(&self, region: &str, peering_id: &str) -> CloudResult<()> {
        self.call("AcceptVpcPeeringConnection", region, |s, cx| {
            s.accept_peering(cx, peering_id)
        })
        .await
    }

    async fn delete_peering(&self, region: &str, peering_id: &str) -> CloudResult<()> {
        self.call("DeleteVpcPeeringConnection", region, |s, cx| {
            s.delete_peering(cx, peering_id)
        })
        .await
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

/// The context of one call: which operation, in which region, and whether
/// describes advance the pending counters.
struct Cx<'a> {
    op: &'static str,
    region: &'a str,
    observe: bool,
}

impl Cx<'_> {
    fn err(&self, code: &str, message: impl Into<String>) -> CloudError {
        CloudError::new(self.op, self.region, Some(code), message)
    }

    fn missing(&self, kind: &Kind, id: &str) -> CloudError {
        self.err(kind.code, format!("The {} ID '{id}' does not exist", kind.what))
    }

    fn invalid(&self, message: impl Into<String>) -> CloudError {
        self.err("InvalidParameterValue", message)
    }

    fn dependency(&self, what: &str, id: &str) -> CloudError {
        self.err(
            "DependencyViolation",
            format!("The {what} '{id}' has dependencies and cannot be deleted."),
        )
    }
}

fn route_exists(cx: &Cx, rtb_id: &str, dest: &RouteDest) -> CloudError {
    cx.err(
        "RouteAlreadyExists",
        format!("The route identified by {dest} already exists in route table {rtb_id}."),
    )
}

/// A resource kind's NotFound code and name.
struct Kind {
    code: &'static str,
    what: &'static str,
}

const VPC: Kind = Kind {
    code: "InvalidVpcID.NotFound",
    what: "vpc",
};
const SUBNET: Kind = Kind {
    code: "InvalidSubnetID.NotFound",
    what: "subnet",
};
const RTB: Kind = Kind {
    code: "InvalidRouteTableID.NotFound",
    what: "route table",
};
const SG: Kind = Kind {
    code: "InvalidGroup.NotFound",
    what: "security group",
};
const VPCE: Kind = Kind {
    code: "InvalidVpcEndpointId.NotFound",
    what: "VPC endpoint",
};
const PCX: Kind = Kind {
    code: "InvalidVpcPeeringConnectionID.NotFound",
    what: "vpc peering connection",
};

#[derive(Default)]
struct Inner {
    counters: HashMap<&'static str, u64>,
    regions: BTreeMap<String, Region>,
    /// Peerings are global: one record seen from both regions.
    peerings: BTreeMap<String, Peering>,
    calls: Vec<(String, String)>,
    failures: HashMap<String, VecDeque<String>>,
    lost: HashMap<String, usize>,
    latency: Duration,
    endpoint_polls: usize,
    peering_polls: usize,
}

#[derive(Default)]
struct Region {
    vpcs: BTreeMap<String, Vpc>,
    subnets: BTreeMap<String, Subnet>,
    route_tables: BTreeMap<String, RouteTable>,
    groups: BTreeMap<String, Group>,
    endpoints: BTreeMap<String, Endpoint>,
    /// CreateRouteTable client token → (vpc, tags, route table id).
    rtb_tokens: HashMap<String, (String, Tags, String)>,
    /// CreateVpcEndpoint client token → (request, endpoint id).
    endpoint_tokens: HashMap<String, (EndpointCreate, String)>,
}

struct Vpc {
    id: String,
    cidr: Ipv4Net,
    tags: Tags,
}

struct Subnet {
    id: String,
    vpc_id: String,
    az: String,
    cidr: Ipv4Net,
    tags: Tags,
}

struct RouteTable {
    id: String,
    vpc_id: String,
    main: bool,
    associations: Vec<LAssociation>,
    routes: Vec<Route>,
    tags: Tags,
}

struct Route {
    dest: RouteDest,
    target: Target,
}

enum Target {
    /// `local`, a `vpce-…` or any foreign gateway id.
    Gateway(String),
    Peering(String),
}

struct Group {
    id: String,
    vpc_id: String,
    name: String,
    default: bool,
    rules: Vec<LRule>,
    tags: Tags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EpState {
    /// Pending for this many more describes.
    Pending(usize),
    Available,
    /// Deleting for this many more describes.
    Deleting(usize),
    Deleted,
}

impl EpState {
    fn label(self) -> &'static str {
        match self {
            EpState::Pending(_) => "pending",
            EpState::Available => "available",
            EpState::Deleting(_) => "deleting",
            EpState::Deleted => "deleted",
        }
    }

    /// The state a describe shows, advancing the countdown.
    fn observe(&mut self) -> &'static str {
        match self {
            EpState::Pending(0) => *self = EpState::Available,
            EpState::Deleting(0) => *self = EpState::Deleted,
            EpState::Pending(n) => {
                *n -= 1;
                return "pending";
            }
            EpState::Deleting(n) => {
                *n -= 1;
                return "deleting";
            }
            EpState::Available | EpState::Deleted => {}
        }
        self.label()
    }
}

struct Endpoint {
    id: String,
    vpc_id: String,
    endpoint_type: EndpointType,
    service: String,
    state: EpState,
    route_table_ids: Vec<String>,
    subnet_ids: Vec<String>,
    security_group_ids: Vec<String>,
    private_dns: bool,
    policy: Value,
    tags: Tags,
}

impl Endpoint {
    fn view(&self, region: &str, state: &str) -> LEndpoint {
        let dns_entries = match self.endpoint_type {
            EndpointType::Gateway => Vec::new(),
            EndpointType::Interface => {
                let name = format!("{}-{DNS_SUFFIX}.s3.{region}.vpce.amazonaws.com", self.id);
                let zone = Some(format!("Z{:012X}", fnv1a(region) & 0xFFFF_FFFF_FFFF));
                vec![
                    LDnsEntry {
                        dns_name: format!("*.{name}"),
                        hosted_zone_id: zone.clone(),
                    },
                    LDnsEntry {
                        dns_name: name,
                        hosted_zone_id: zone,
                    },
                ]
            }
        };
        LEndpoint {
            id: self.id.clone(),
            region: region.to_string(),
            vpc_id: self.vpc_id.clone(),
            endpoint_type: self.endpoint_type,
            service: self.service.clone(),
            state: state.to_string(),
            route_table_ids: self.route_table_ids.clone(),
            subnet_ids: self.subnet_ids.clone(),
            security_group_ids: self.security_group_ids.clone(),
            private_dns: self.private_dns,
            policy: Some(self.policy.clone()),
            dns_entries,
            last_error: None,
            tags: self.tags.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PcxState {
    PendingAcceptance,
    /// Provisioning for this many more describes.
    Provisioning(usize),
    Active,
    Failed,
    Deleted,
}

impl PcxState {
    fn label(self) -> &'static str {
        match self {
            PcxState::PendingAcceptance => "pending-acceptance",
            PcxState::Provisioning(_) => "provisioning",
            PcxState::Active => "active",
            PcxState::Failed => "failed",
            PcxState::Deleted => "deleted",
        }
    }

    fn observe(&mut self) -> &'static str {
        match self {
            PcxState::Provisioning(0) => *self = PcxState::Active,
            PcxState::Provisioning(n) => {
                *n -= 1;
                return "provisioning";
            }
            _ => {}
        }
        self.label()
    }

    fn is_gone(self) -> bool {
        matches!(self, PcxState::Failed | PcxState::Deleted)
    }
}

struct Peering {
    id: String,
    requester_region: String,
    requester_vpc: String,
    accepter_region: String,
    accepter_vpc: String,
    status: PcxState,
    /// Tags seen from the requester's region (where they were given).
    requester_tags: Tags,
    /// Tags seen from the accepter's region: AWS does not copy tags across
    /// regions, so these start empty for a cross-region peering.
    accepter_tags: Tags,
}

impl Peering {
    fn visible_from(&self, region: &str) -> bool {
        self.requester_region == region || self.accepter_region == region
    }

    fn tags_from(&self, region: &str) -> &Tags {
        if region == self.requester_region {
            &self.requester_tags
        } else {
            &self.accepter_tags
        }
    }

    /// Whether the VPC `vpc_id` of `region` is one side of this peering.
    fn involves(&self, region: &str, vpc_id: &str) -> bool {
        (self.requester_region == region && self.requester_vpc == vpc_id)
            || (self.accepter_region == region && self.accepter_vpc == vpc_id)
    }
}

/// What a filter needs to know about one resource.
struct Meta<'a> {
    id: &'a str,
    tags: &'a Tags,
    vpcs: [&'a str; 2],
}

/// The ids of `items` that `filter` selects, sorted; unknown ids in
/// `Filter::Ids` fail the whole call like EC2 does.
fn pick(cx: &Cx, filter: &Filter, kind: &Kind, items: Vec<Meta>) -> CloudResult<Vec<String>> {
    let mut ids: Vec<String> = match filter {
        Filter::Plan(plan) => items
            .iter()
            .filter(|m| m.tags.get(TAG_PLAN) == Some(plan))
            .map(|m| m.id.to_string())
            .collect(),
        Filter::Ids(wanted) => {
            if let Some(unknown) = wanted.iter().find(|w| !items.iter().any(|m| m.id == *w)) {
                return Err(cx.missing(kind, unknown));
            }
            items
                .iter()
                .filter(|m| wanted.iter().any(|w| w == m.id))
                .map(|m| m.id.to_string())
                .collect()
        }
        Filter::Vpcs(vpcs) => items
            .iter()
            .filter(|m| m.vpcs.iter().any(|v| vpcs.iter().any(|w| w == v)))
            .map(|m| m.id.to_string())
            .collect(),
        // Route tables handle this filter themselves; it selects nothing else.
        Filter::RoutesVia(_) => Vec::new(),
    };
    ids.sort();
    ids.dedup();
    Ok(ids)
}

impl Region {
    fn vpc(&self, cx: &Cx, id: &str) -> CloudResult<&Vpc> {
        self.vpcs.get(id).ok_or_else(|| cx.missing(&VPC, id))
    }

    fn subnet(&self, cx: &Cx, id: &str) -> CloudResult<&Subnet> {
        self.subnets.get(id).ok_or_else(|| cx.missing(&SUBNET, id))
    }

    fn rtb(&self, cx: &Cx, id: &str) -> CloudResult<&RouteTable> {
        self.route_tables.get(id).ok_or_else(|| cx.missing(&RTB, id))
    }

    fn rtb_mut(&mut self, cx: &Cx, id: &str) -> CloudResult<&mut RouteTable> {
        self.route_tables.get_mut(id).ok_or_else(|| cx.missing(&RTB, id))
    }

    fn group(&self, cx: &Cx, id: &str) -> CloudResult<&Group> {
        self.groups.get(id).ok_or_else(|| cx.missing(&SG, id))
    }

    fn group_mut(&mut self, cx: &Cx, id: &str) -> CloudResult<&mut Group> {
        self.groups.get_mut(id).ok_or_else(|| cx.missing(&SG, id))
    }

    fn endpoint(&self, cx: &Cx, id: &str) -> CloudResult<&Endpoint> {
        self.endpoints.get(id).ok_or_else(|| cx.missing(&VPCE, id))
    }

    /// Endpoints that still hold their resources (anything but `deleted`).
    fn live_endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.values().filter(|e| e.state != EpState::Deleted)
    }

    /// Checks that every subnet exists, is in `vpc_id` and that no two share
    /// an AZ.
    fn check_subnets(&self, cx: &Cx, vpc_id: &str, ids: &[String]) -> CloudResult<()> {
        let mut azs = BTreeSet::new();
        for id in ids {
            let s = self.subnet(cx, id)?;
            if s.vpc_id != vpc_id {
                return Err(cx.invalid(format!("The subnet {id} is not in VPC {vpc_id}")));
            }
            if !azs.insert(s.az.as_str()) {
                return Err(cx.err(
                    "DuplicateSubnetsInSameZone",
                    format!("Found another VPC endpoint subnet in the availability zone of {id}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."),
                ));
            }
        }
        Ok(())
    }

    fn check_groups(&self, cx: &Cx, vpc_id: &str, ids: &[String]) -> CloudResult<()> {
        for id in ids {
            if self.group(cx, id)?.vpc_id != vpc_id {
                return Err(cx.invalid(format!("The security group {id} does not belong to VPC {vpc_id}")));
            }
        }
        Ok(())
    }

    /// Checks that each table exists in `vpc_id` and can take the S3
    /// prefix-list route.
    fn check_gateway_tables(&self, cx: &Cx, vpc_id: &str, ids: &[String]) -> CloudResult<()> {
        let pl = RouteDest::PrefixList(s3_prefix_list_id(cx.region));
        for id in ids {
            let t = self.rtb(cx, id)?;
            if t.vpc_id != vpc_id {
                return Err(cx.invalid(format!("The route table {id} does not belong to VPC {vpc_id}")));
            }
            if t.routes.iter().any(|r| r.dest == pl) {
                return Err(route_exists(cx, id, &pl));
            }
        }
        Ok(())
    }
}

fn dedup(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

fn check_policy(cx: &Cx, policy: &Value) -> CloudResult<()> {
    let len = serde_json::to_string(policy).map(|s| s.len()).unwrap_or(0);
    if !policy.is_object() || len > MAX_POLICY_CHARS {
        return Err(cx.err(
            "InvalidPolicyDocument",
            "The policy document must be a JSON object of at most 20480 characters",
        ));
    }
    Ok(())
}

fn check_cidr(cx: &Cx, cidr: Ipv4Net, range_code: &str, what: &str) -> CloudResult<()> {
    if cidr.trunc() != cidr {
        return Err(cx.invalid(format!(
            "Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        )));
    }
    if !(16..=28).contains(&cidr.prefix_len()) {
        return Err(cx.err(range_code, format!("The {what} CIDR '{cidr}' is invalid.")));
    }
    Ok(())
}

impl Inner {
    fn id(&mut self, prefix: &'static str) -> String {
        let n = self.counters.entry(prefix).or_insert(0);
        *n += 1;
        format!("{prefix}-{:017x}", *n)
    }

    fn reg(&mut self, region: &str) -> &mut Region {
        self.regions.entry(region.to_string()).or_default()
    }

    // --- describes ---

    fn describe_vpcs(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LVpc>> {
        let r = self.reg(cx.region);
        let metas = r
            .vpcs
            .values()
            .map(|v| Meta {
                id: &v.id,
                tags: &v.tags,
                vpcs: [&v.id, &v.id],
            })
            .collect();
        let ids = pick(cx, filter, &VPC, metas)?;
        Ok(ids
            .iter()
            .filter_map(|id| r.vpcs.get(id))
            .map(|v| LVpc {
                id: v.id.clone(),
                region: cx.region.to_string(),
                cidr: Some(v.cidr),
                state: "available".to_string(),
                tags: v.tags.clone(),
            })
            .collect())
    }

    fn describe_subnets(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LSubnet>> {
        let r = self.reg(cx.region);
        let metas = r
            .subnets
            .values()
            .map(|s| Meta {
                id: &s.id,
                tags: &s.tags,
                vpcs: [&s.vpc_id, &s.vpc_id],
            })
            .collect();
        let ids = pick(cx, filter, &SUBNET, metas)?;
        Ok(ids
            .iter()
            .filter_map(|id| r.subnets.get(id))
            .map(|s| LSubnet {
                id: s.id.clone(),
                region: cx.region.to_string(),
                vpc_id: s.vpc_id.clone(),
                az: s.az.clone(),
                cidr: Some(s.cidr),
                tags: s.tags.clone(),
            })
            .collect())
    }

    fn describe_route_tables(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LRouteTable>> {
        let peerings = &self.peerings;
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let metas = r
            .route_tables
            .values()
            .map(|t| Meta {
                id: &t.id,
                tags: &t.tags,
                vpcs: [&t.vpc_id, &t.vpc_id],
            })
            .collect();
        let ids = match filter {
            Filter::RoutesVia(pcx) => r
                .route_tables
                .values()
                .filter(|t| {
                    t.routes
                        .iter()
                        .any(|route| matches!(&route.target, Target::Peering(p) if pcx.contains(p)))
                })
                .map(|t| t.id.clone())
                .collect(),
            _ => pick(cx, filter, &RTB, metas)?,
        };
        Ok(ids
            .iter()
            .filter_map(|id| r.route_tables.get(id))
            .map(|t| LRouteTable {
                id: t.id.clone(),
                region: cx.region.to_string(),
                vpc_id: t.vpc_id.clone(),
                associations: t.associations.clone(),
                routes: t
                    .routes
                    .iter()
                    .map(|route| match &route.target {
                        Target::Gateway(g) => LRoute {
                            dest: route.dest.clone(),
                            gateway_id: Some(g.clone()),
                            peering_id: None,
                            state: Some("active".to_string()),
                        },
                        Target::Peering(p) => {
                            let live = peerings.get(p).is_some_and(|p| !p.status.is_gone());
                            LRoute {
                                dest: route.dest.clone(),
                                gateway_id: None,
                                peering_id: Some(p.clone()),
                                state: Some(if live { "active" } else { "blackhole" }.to_string()),
                            }
                        }
                    })
                    .collect(),
                tags: t.tags.clone(),
            })
            .collect())
    }

    fn describe_groups(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LSecurityGroup>> {
        let r = self.reg(cx.region);
        let metas = r
            .groups
            .values()
            .map(|g| Meta {
                id: &g.id,
                tags: &g.tags,
                vpcs: [&g.vpc_id, &g.vpc_id],
            })
            .collect();
        let ids = pick(cx, filter, &SG, metas)?;
        Ok(ids
            .iter()
            .filter_map(|id| r.groups.get(id))
            .map(|g| LSecurityGroup {
                id: g.id.clone(),
                region: cx.region.to_string(),
                vpc_id: g.vpc_id.clone(),
                name: g.name.clone(),
                ingress: g.rules.clone(),
                tags: g.tags.clone(),
            })
            .collect())
    }

    fn describe_endpoints(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LEndpoint>> {
        let r = self.reg(cx.region);
        let metas = r
            .endpoints
            .values()
            .map(|e| Meta {
                id: &e.id,
                tags: &e.tags,
                vpcs: [&e.vpc_id, &e.vpc_id],
            })
            .collect();
        let ids = pick(cx, filter, &VPCE, metas)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(e) = r.endpoints.get_mut(id) {
                let state = if cx.observe {
                    e.state.observe()
                } else {
                    e.state.label()
                };
                out.push(e.view(cx.region, state));
            }
        }
        Ok(out)
    }

    fn describe_peerings(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LPeering>> {
        let metas = self
            .peerings
            .values()
            .filter(|p| p.visible_from(cx.region))
            .map(|p| Meta {
                id: &p.id,
                tags: p.tags_from(cx.region),
                vpcs: [&p.requester_vpc, &p.accepter_vpc],
            })
            .collect();
        let ids = pick(cx, filter, &PCX, metas)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(p) = self.peerings.get_mut(id) {
                let status = if cx.observe {
                    p.status.observe()
                } else {
                    p.status.label()
                };
                out.push(LPeering {
                    id: p.id.clone(),
                    region: cx.region.to_string(),
                    requester_vpc_id: Some(p.requester_vpc.clone()),
                    requester_region: Some(p.requester_region.clone()),
                    accepter_vpc_id: Some(p.accepter_vpc.clone()),
                    accepter_region: Some(p.accepter_region.clone()),
                    status: status.to_string(),
                    tags: p.tags_from(cx.region).clone(),
                });
            }
        }
        Ok(out)
    }

    // --- VPCs and subnets ---

    /// Creates a VPC with its main route table and default security group.
    fn insert_vpc(&mut self, region: &str, cidr: Ipv4Net, tags: &Tags) -> String {
        let vpc_id = self.id("vpc");
        let rtb_id = self.id("rtb");
        let assoc_id = self.id("rtbassoc");
        let sg_id = self.id("sg");
        let r = self.reg(region);
        r.vpcs.insert(
            vpc_id.clone(),
            Vpc {
                id: vpc_id.clone(),
                cidr,
                tags: tags.clone(),
            },
        );
        r.route_tables.insert(
            rtb_id.clone(),
            RouteTable {
                id: rtb_id.clone(),
                vpc_id: vpc_id.clone(),
                main: true,
                associations: vec![LAssociation {
                    id: assoc_id,
                    subnet_id: None,
                    main: true,
                }],
                routes: vec![local_route(cidr)],
                tags: Tags::new(),
            },
        );
        r.groups.insert(
            sg_id.clone(),
            Group {
                id: sg_id.clone(),
                vpc_id: vpc_id.clone(),
                name: "default".to_string(),
                default: true,
                rules: vec![LRule {
                    protocol: "-1".to_string(),
                    from_port: None,
                    to_port: None,
                    peer: RulePeer::Group(sg_id),
                }],
                tags: Tags::new(),
            },
        );
        vpc_id
    }

    fn create_vpc(&mut self, cx: &Cx, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String> {
        check_cidr(cx, cidr, "InvalidVpc.Range", "VPC")?;
        Ok(self.insert_vpc(cx.region, cidr, tags))
    }

    fn delete_vpc(&mut self, cx: &Cx, vpc_id: &str) -> CloudResult<()> {
        let r = self.reg(cx.region);
        r.vpc(cx, vpc_id)?;
        let busy = r.subnets.values().any(|s| s.vpc_id == vpc_id)
            || r.route_tables.values().any(|t| t.vpc_id == vpc_id && !t.main)
            || r.groups.values().any(|g| g.vpc_id == vpc_id && !g.default)
            || r.live_endpoints().any(|e| e.vpc_id == vpc_id);
        if busy {
            return Err(cx.dependency("vpc", vpc_id));
        }
        r.vpcs.remove(vpc_id);
        r.route_tables.retain(|_, t| t.vpc_id != vpc_id);
        r.groups.retain(|_, g| g.vpc_id != vpc_id);
        for p in self.peerings.values_mut() {
            if p.involves(cx.region, vpc_id) && !p.status.is_gone() {
                p.status = PcxState::Deleted;
            }
        }
        Ok(())
    }

    fn create_subnet(
        &mut self,
        cx: &Cx,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        tags: &Tags,
    ) -> CloudResult<String> {
        let r = self.reg(cx.region);
        let vpc = r.vpc(cx, vpc_id)?;
        if az.len() <= cx.region.len() || !az.starts_with(cx.region) {
            return Err(cx.invalid(format!(
                "Value ({az}) for parameter availabilityZone is invalid. Subnets can currently only be created in availability zones of {}.",
                cx.region
            )));
        }
        check_cidr(cx, cidr, "InvalidSubnet.Range", "subnet")?;
        if !vpc.cidr.contains(&cidr) {
            return Err(cx.err(
                "InvalidSubnet.Range",
                format!("The CIDR '{cidr}' is invalid for VPC {vpc_id} ({}).", vpc.cidr),
            ));
        }
        if r.subnets
            .values()
            .any(|s| s.vpc_id == vpc_id && overlaps(&s.cidr, &cidr))
        {
            return Err(cx.err(
                "InvalidSubnet.Conflict",
                format!("The CIDR '{cidr}' conflicts with another subnet"),
            ));
        }
        let id = self.id("subnet");
        self.reg(cx.region).subnets.insert(
            id.clone(),
            Subnet {
                id: id.clone(),
                vpc_id: vpc_id.to_string(),
                az: az.to_string(),
                cidr,
                tags: tags.clone(),
            },
        );
        Ok(id)
    }

    fn delete_subnet(&mut self, cx: &Cx, subnet_id: &str) -> CloudResult<()> {
        let r = self.reg(cx.region);
        r.subnet(cx, subnet_id)?;
        if r.live_endpoints()
            .any(|e| e.subnet_ids.iter().any(|s| s == subnet_id))
        {
            return Err(cx.dependency("subnet", subnet_id));
        }
        r.subnets.remove(subnet_id);
        for t in r.route_tables.values_mut() {
            t.associations
                .retain(|a| a.subnet_id.as_deref() != Some(subnet_id));
        }
        Ok(())
    }

    // --- route tables ---

    fn create_route_table(
        &mut self,
        cx: &Cx,
        vpc_id: &str,
        tags: &Tags,
        token: Option<&str>,
    ) -> CloudResult<String> {
        let r = self.reg(cx.region);
        if let Some((tvpc, ttags, id)) = token.and_then(|t| r.rtb_tokens.get(t)) {
            if tvpc == vpc_id && ttags == tags {
                return Ok(id.clone());
            }
            return Err(cx.err(
                "IdempotentParameterMismatch",
                "The client token has been used with different parameters",
            ));
        }
        let cidr = r.vpc(cx, vpc_id)?.cidr;
        let id = self.id("rtb");
        let r = self.reg(cx.region);
        r.route_tables.insert(
            id.clone(),
            RouteTable {
                id: id.clone(),
                vpc_id: vpc_id.to_string(),
                main: false,
                associations: Vec::new(),
                routes: vec![local_route(cidr)],
                tags: tags.clone(),
            },
        );
        if let Some(t) = token {
            r.rtb_tokens
                .insert(t.to_string(), (vpc_id.to_string(), tags.clone(), id.clone()));
        }
        Ok(id)
    }

    fn delete_route_table(&mut self, cx: &Cx, rtb_id: &str) -> CloudResult<()> {
        let r = self.reg(cx.region);
        if !r.rtb(cx, rtb_id)?.associations.is_empty() {
            return Err(cx.dependency("routeTable", rtb_id));
        }
        r.route_tables.remove(rtb_id);
        for e in r.endpoints.values_mut() {
            e.route_table_ids.retain(|t| t != rtb_id);
        }
        Ok(())
    }

    fn associate(&mut self, cx: &Cx, rtb_id: &str, subnet_id: &str) -> CloudResult<String> {
        let r = self.reg(cx.region);
        let table_vpc = r.rtb(cx, rtb_id)?.vpc_id.clone();
        let subnet = r.subnet(cx, subnet_id)?;
        if subnet.vpc_id != table_vpc {
            return Err(cx.invalid(format!(
                "Route table {rtb_id} and subnet {subnet_id} belong to different networks"
            )));
        }
        let taken = r.route_tables.values().find(|t| {
            t.associations
                .iter()
                .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
        });
        if let Some(t) = taken {
            return Err(cx.err(
                "Resource.AlreadyAssociated",
                format!(
                    "the specified association for route table {} conflicts with an existing association",
                    t.id
                ),
            ));
        }
        let assoc_id = self.id("rtbassoc");
        self.reg(cx.region)
            .rtb_mut(cx, rtb_id)?
            .associations
            .push(LAssociation {
                id: assoc_id.clone(),
                subnet_id: Some(subnet_id.to_string()),
                main: false,
            });
        Ok(assoc_id)
    }

    fn disassociate(&mut self, cx: &Cx, association_id: &str) -> CloudResult<()> {
        let r = self.reg(cx.region);
        for t in r.route_tables.values_mut() {
            if let Some(pos) = t.associations.iter().position(|a| a.id == association_id) {
                if t.associations[pos].main {
                    return Err(cx.invalid(format!(
                        "cannot disassociate the main route table association {association_id}"
                    )));
                }
                t.associations.remove(pos);
                return Ok(());
            }
        }
        Err(cx.err(
            "InvalidAssociationID.NotFound",
            format!("The association ID '{association_id}' does not exist"),
        ))
    }

    fn create_peering_route(
        &mut self,
        cx: &Cx,
        rtb_id: &str,
        dest: &RouteDest,
        peering_id: &str,
    ) -> CloudResult<()> {
        let peerings = &self.peerings;
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let t = r.rtb(cx, rtb_id)?;
        let p = peerings
            .get(peering_id)
            .filter(|p| p.visible_from(cx.region) && p.status != PcxState::Deleted)
            .ok_or_else(|| cx.missing(&PCX, peering_id))?;
        if p.status != PcxState::Active {
            return Err(cx.invalid(format!(
                "The vpc peering connection {peering_id} is not active (status {})",
                p.status.label()
            )));
        }
        if !p.involves(cx.region, &t.vpc_id) {
            return Err(cx.invalid(format!(
                "The vpc peering connection {peering_id} does not involve the VPC {} of route table {rtb_id}",
                t.vpc_id
            )));
        }
        if let RouteDest::Cidr(c) = dest {
            let own = r.vpcs.get(&t.vpc_id).map(|v| v.cidr);
            if own.is_some_and(|own| own.contains(c)) {
                return Err(cx.invalid(format!(
                    "The destination CIDR block {c} is equal to or more specific than one of this VPC's CIDR blocks."
                )));
            }
        }
        if t.routes.iter().any(|route| &route.dest == dest) {
            return Err(route_exists(cx, rtb_id, dest));
        }
        r.rtb_mut(cx, rtb_id)?.routes.push(Route {
            dest: dest.clone(),
            target: Target::Peering(peering_id.to_string()),
        });
        Ok(())
    }

    /// CreateRoute with a gateway endpoint as the target: only into a table
    /// the endpoint is associated with.
    fn create_endpoint_route(
        &mut self,
        cx: &Cx,
        rtb_id: &str,
        dest: &RouteDest,
        endpoint_id: &str,
    ) -> CloudResult<()> {
        let r = self.reg(cx.region);
        let t = r.rtb(cx, rtb_id)?;
        let e = r
            .endpoints
            .get(endpoint_id)
            .filter(|e| e.state != EpState::Deleted)
            .ok_or_else(|| cx.missing(&VPCE, endpoint_id))?;
        if matches!(e.state, EpState::Deleting(_)) {
            return Err(cx.err(
                "IncorrectState",
                format!("The VPC endpoint {endpoint_id} is being deleted"),
            ));
        }
        if e.endpoint_type != EndpointType::Gateway || !e.route_table_ids.iter().any(|id| id == rtb_id) {
            return Err(cx.invalid(format!(
                "The route target {endpoint_id} is not a gateway endpoint associated with route table {rtb_id}"
            )));
        }
        if t.routes.iter().any(|route| &route.dest == dest) {
            return Err(route_exists(cx, rtb_id, dest));
        }
        r.rtb_mut(cx, rtb_id)?.routes.push(Route {
            dest: dest.clone(),
            target: Target::Gateway(endpoint_id.to_string()),
        });
        Ok(())
    }

    fn delete_route(
        &mut self,
        cx: &Cx,
        rtb_id: &str,
        dest: &RouteDest,
        allow_local: bool,
    ) -> CloudResult<()> {
        let t = self.reg(cx.region).rtb_mut(cx, rtb_id)?;
        let Some(pos) = t.routes.iter().position(|r| &r.dest == dest) else {
            return Err(cx.err(
                "InvalidRoute.NotFound",
                format!("no route with destination {dest} in route table {rtb_id}"),
            ));
        };
        if !allow_local && matches!(&t.routes[pos].target, Target::Gateway(g) if g == "local") {
            return Err(cx.invalid(format!(
                "cannot remove local route {dest} in route table {rtb_id}"
            )));
        }
        t.routes.remove(pos);
        Ok(())
    }

    // --- security groups ---

    fn create_group(
        &mut self,
        cx: &Cx,
        vpc_id: &str,
        name: &str,
        _description: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        let r = self.reg(cx.region);
        r.vpc(cx, vpc_id)?;
        if name.is_empty() || name.starts_with("sg-") {
            return Err(cx.invalid(format!("Invalid security group name '{name}'")));
        }
        if r.groups.values().any(|g| g.vpc_id == vpc_id && g.name == name) {
            return Err(cx.err(
                "InvalidGroup.Duplicate",
                format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
            ));
        }
        let id = self.id("sg");
        self.reg(cx.region).groups.insert(
            id.clone(),
            Group {
                id: id.clone(),
                vpc_id: vpc_id.to_string(),
                name: name.to_string(),
                default: false,
                rules: Vec::new(),
                tags: tags.clone(),
            },
        );
        Ok(id)
    }

    fn delete_group(&mut self, cx: &Cx, sg_id: &str) -> CloudResult<()> {
        let r = self.reg(cx.region);
        if r.group(cx, sg_id)?.default {
            return Err(cx.err(
                "CannotDelete",
                format!("the specified group: \"{sg_id}\" name: \"default\" cannot be deleted by a user"),
            ));
        }
        let used = r
            .live_endpoints()
            .any(|e| e.security_group_ids.iter().any(|g| g == sg_id))
            || r.groups.values().any(|g| {
                g.id != sg_id
                    && g.rules
                        .iter()
                        .any(|rule| matches!(&rule.peer, RulePeer::Group(p) if p == sg_id))
            });
        if used {
            return Err(cx.dependency("group", sg_id));
        }
        r.groups.remove(sg_id);
        Ok(())
    }

    fn authorize(&mut self, cx: &Cx, sg_id: &str, peer: &RulePeer) -> CloudResult<()> {
        let r = self.reg(cx.region);
        r.group(cx, sg_id)?;
        if let RulePeer::Group(other) = peer {
            r.group(cx, other)?;
        }
        let g = r.group_mut(cx, sg_id)?;
        if g.rules.iter().any(|rule| rule.is_https() && &rule.peer == peer) {
            return Err(cx.err(
                "InvalidPermission.Duplicate",
                format!("the specified rule \"peer: {peer}, TCP, from port: 443, to port: 443, ALLOW\" already exists"),
            ));
        }
        g.rules.push(LRule {
            protocol: "tcp".to_string(),
            from_port: Some(443),
            to_port: Some(443),
            peer: peer.clone(),
        });
        Ok(())
    }

    fn revoke(&mut self, cx: &Cx, sg_id: &str, peer: &RulePeer) -> CloudResult<()> {
        let g = self.reg(cx.region).group_mut(cx, sg_id)?;
        let Some(pos) = g
            .rules
            .iter()
            .position(|rule| rule.is_https() && &rule.peer == peer)
        else {
            return Err(cx.err(
                "InvalidPermission.NotFound",
                format!("The specified rule does not exist in this security group (peer {peer})."),
            ));
        };
        g.rules.remove(pos);
        Ok(())
    }

    // --- endpoints ---

    fn create_endpoint(&mut self, cx: &Cx, spec: &EndpointCreate, polls: usize) -> CloudResult<LEndpoint> {
        let r = self.reg(cx.region);
        if let Some((earlier, id)) = spec.client_token.as_ref().and_then(|t| r.endpoint_tokens.get(t)) {
            if earlier != spec {
                return Err(cx.err(
                    "IdempotentParameterMismatch",
                    "The client token has been used with different parameters",
                ));
            }
            let e = r.endpoint(cx, id)?;
            return Ok(e.view(cx.region, e.state.label()));
        }
        r.vpc(cx, &spec.vpc_id)?;
        if spec.service != s3_service(cx.region) {
            return Err(cx.err(
                "InvalidServiceName",
                format!("The Vpc Endpoint Service '{}' does not exist", spec.service),
            ));
        }
        let route_tables = dedup(&spec.route_table_ids);
        let subnets = dedup(&spec.subnet_ids);
        let mut groups = dedup(&spec.security_group_ids);
        match spec.endpoint_type {
            EndpointType::Gateway => {
                if !subnets.is_empty() || !groups.is_empty() {
                    return Err(cx.err(
                        "InvalidParameter",
                        "Subnets and security groups are not supported for gateway endpoints",
                    ));
                }
                r.check_gateway_tables(cx, &spec.vpc_id, &route_tables)?;
            }
            EndpointType::Interface => {
                if !route_tables.is_empty() {
                    return Err(cx.err(
                        "InvalidParameter",
                        "Route tables are not supported for interface endpoints",
                    ));
                }
                r.check_subnets(cx, &spec.vpc_id, &subnets)?;
                r.check_groups(cx, &spec.vpc_id, &groups)?;
                if groups.is_empty() {
                    // AWS attaches the VPC's default security group.
                    groups.extend(
                        r.groups
                            .values()
                            .filter(|g| g.vpc_id == spec.vpc_id && g.default)
                            .map(|g| g.id.clone()),
                    );
                }
            }
        }
        if let Some(p) = &spec.policy {
            check_policy(cx, p)?;
        }
        let id = self.id("vpce");
        let r = self.reg(cx.region);
        let pl = RouteDest::PrefixList(s3_prefix_list_id(cx.region));
        for t in &route_tables {
            r.rtb_mut(cx, t)?.routes.push(Route {
                dest: pl.clone(),
                target: Target::Gateway(id.clone()),
            });
        }
        let endpoint = Endpoint {
            id: id.clone(),
            vpc_id: spec.vpc_id.clone(),
            endpoint_type: spec.endpoint_type,
            service: spec.service.clone(),
            state: if polls > 0 {
                EpState::Pending(polls)
            } else {
                EpState::Available
            },
            route_table_ids: route_tables,
            subnet_ids: subnets,
            security_group_ids: groups,
            private_dns: spec.endpoint_type == EndpointType::Interface && spec.private_dns.unwrap_or(false),
            policy: spec.policy.clone().unwrap_or_else(default_endpoint_policy),
            tags: spec.tags.clone(),
        };
        let view = endpoint.view(cx.region, endpoint.state.label());
        r.endpoints.insert(id.clone(), endpoint);
        if let Some(t) = &spec.client_token {
            r.endpoint_tokens.insert(t.clone(), (spec.clone(), id));
        }
        Ok(view)
    }

    fn modify_endpoint(&mut self, cx: &Cx, id: &str, change: &EndpointModify) -> CloudResult<()> {
        let r = self.reg(cx.region);
        let e = r.endpoint(cx, id)?;
        match e.state {
            EpState::Deleted => return Err(cx.missing(&VPCE, id)),
            EpState::Deleting(_) => {
                return Err(cx.err(
                    "IncorrectState",
                    format!("The VPC endpoint {id} is being deleted"),
                ))
            }
            EpState::Pending(_) | EpState::Available => {}
        }
        let add_tables: Vec<String> = dedup(&change.add_route_table_ids)
            .into_iter()
            .filter(|t| !e.route_table_ids.contains(t))
            .collect();
        let mut subnets: Vec<String> = e
            .subnet_ids
            .iter()
            .filter(|s| !change.remove_subnet_ids.contains(s))
            .cloned()
            .collect();
        for s in &change.add_subnet_ids {
            if !subnets.contains(s) {
                subnets.push(s.clone());
            }
        }
        let mut groups: Vec<String> = e
            .security_group_ids
            .iter()
            .filter(|g| !change.remove_security_group_ids.contains(g))
            .cloned()
            .collect();
        for g in &change.add_security_group_ids {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        match e.endpoint_type {
            EndpointType::Gateway => {
                if !change.add_subnet_ids.is_empty()
                    || !change.remove_subnet_ids.is_empty()
                    || !change.add_security_group_ids.is_empty()
                    || !change.remove_security_group_ids.is_empty()
                    || change.private_dns.is_some()
                {
                    return Err(cx.err(
                        "InvalidParameter",
                        "Subnets, security groups and private DNS are not supported for gateway endpoints",
                    ));
                }
                r.check_gateway_tables(cx, &e.vpc_id, &add_tables)?;
            }
            EndpointType::Interface => {
                if !change.add_route_table_ids.is_empty() || !change.remove_route_table_ids.is_empty() {
                    return Err(cx.err(
                        "InvalidParameter",
                        "Route tables are not supported for interface endpoints",
                    ));
                }
                r.check_subnets(cx, &e.vpc_id, &subnets)?;
                r.check_groups(cx, &e.vpc_id, &groups)?;
            }
        }
        if let Some(Some(p)) = &change.policy {
            check_policy(cx, p)?;
        }
        // Everything checked: apply.
        let pl = RouteDest::PrefixList(s3_prefix_list_id(cx.region));
        let owned =
            |route: &Route| route.dest == pl && matches!(&route.target, Target::Gateway(g) if g == id);
        let removed: Vec<String> = e
            .route_table_ids
            .iter()
            .filter(|t| change.remove_route_table_ids.contains(t))
            .cloned()
            .collect();
        for t in &removed {
            if let Some(table) = r.route_tables.get_mut(t) {
                table.routes.retain(|route| !owned(route));
            }
        }
        for t in &add_tables {
            r.rtb_mut(cx, t)?.routes.push(Route {
                dest: pl.clone(),
                target: Target::Gateway(id.to_string()),
            });
        }
        let e = r.endpoints.get_mut(id).ok_or_else(|| cx.missing(&VPCE, id))?;
        e.route_table_ids.retain(|t| !removed.contains(t));
        e.route_table_ids.extend(add_tables);
        e.subnet_ids = subnets;
        e.security_group_ids = groups;
        match &change.policy {
            Some(Some(p)) => e.policy = p.clone(),
            Some(None) => e.policy = default_endpoint_policy(),
            None => {}
        }
        if let Some(dns) = change.private_dns {
            e.private_dns = dns;
        }
        Ok(())
    }

    fn delete_endpoint(&mut self, cx: &Cx, id: &str) -> CloudResult<()> {
        let polls = self.endpoint_polls;
        let r = self.reg(cx.region);
        match r.endpoint(cx, id)?.state {
            EpState::Deleting(_) | EpState::Deleted => return Ok(()),
            EpState::Pending(_) | EpState::Available => {}
        }
        for t in r.route_tables.values_mut() {
            t.routes
                .retain(|route| !matches!(&route.target, Target::Gateway(g) if g == id));
        }
        if let Some(e) = r.endpoints.get_mut(id) {
            e.state = if polls > 0 {
                EpState::Deleting(polls)
            } else {
                EpState::Deleted
            };
        }
        Ok(())
    }

    // --- peering ---

    fn create_peering(
        &mut self,
        cx: &Cx,
        vpc_id: &str,
        peer_vpc_id: &str,
        peer_region: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        let peer_region = if peer_region.is_empty() {
            cx.region
        } else {
            peer_region
        };
        let cidr = self.reg(cx.region).vpc(cx, vpc_id)?.cidr;
        let peer_cidr = self
            .regions
            .get(peer_region)
            .and_then(|r| r.vpcs.get(peer_vpc_id))
            .map(|v| v.cidr);
        if peer_region == cx.region {
            if peer_cidr.is_none() {
                return Err(cx.missing(&VPC, peer_vpc_id));
            }
            if peer_vpc_id == vpc_id {
                return Err(cx.invalid("A VPC cannot be peered with itself"));
            }
        }
        let status = match peer_cidr {
            Some(pc) if !overlaps(&pc, &cidr) => PcxState::PendingAcceptance,
            // Cross-region: an unknown peer VPC or overlapping CIDRs fail
            // the request asynchronously.
            _ => PcxState::Failed,
        };
        let id = self.id("pcx");
        self.peerings.insert(
            id.clone(),
            Peering {
                id: id.clone(),
                requester_region: cx.region.to_string(),
                requester_vpc: vpc_id.to_string(),
                accepter_region: peer_region.to_string(),
                accepter_vpc: peer_vpc_id.to_string(),
                status,
                requester_tags: tags.clone(),
                accepter_tags: Tags::new(),
            },
        );
        Ok(id)
    }

    fn accept_peering(&mut self, cx: &Cx, id: &str) -> CloudResult<()> {
        let polls = self.peering_polls;
        let p = self
            .peerings
            .get_mut(id)
            .filter(|p| p.visible_from(cx.region))
            .ok_or_else(|| cx.missing(&PCX, id))?;
        if p.accepter_region != cx.region {
            return Err(cx.err(
                "OperationNotPermitted",
                format!(
                    "The vpc peering connection {id} must be accepted in region {}",
                    p.accepter_region
                ),
            ));
        }
        match p.status {
            PcxState::PendingAcceptance => {
                p.status = if polls > 0 {
                    PcxState::Provisioning(polls)
                } else {
                    PcxState::Active
                };
                Ok(())
            }
            PcxState::Provisioning(_) | PcxState::Active => Ok(()),
            PcxState::Failed | PcxState::Deleted => Err(cx.err(
                "InvalidStateTransition",
                format!(
                    "The vpc peering connection {id} is in state {} and cannot be accepted",
                    p.status.label()
                ),
            )),
        }
    }

    fn delete_peering(&mut self, cx: &Cx, id: &str) -> CloudResult<()> {
        let p = self
            .peerings
            .get_mut(id)
            .filter(|p| p.visible_from(cx.region))
            .ok_or_else(|| cx.missing(&PCX, id))?;
        p.status = PcxState::Deleted;
        Ok(())
    }

    // --- tags ---

    /// CreateTags (`merge`) or an out-of-band replacement of all tags.
    fn set_tags(&mut self, cx: &Cx, id: &str, tags: &Tags, merge: bool) -> CloudResult<()> {
        let apply = |slot: &mut Tags| {
            if !merge {
                slot.clear();
            }
            slot.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        };
        if id.starts_with("pcx-") {
            let p = self
                .peerings
                .get_mut(id)
                .filter(|p| p.visible_from(cx.region))
                .ok_or_else(|| cx.missing(&PCX, id))?;
            if cx.region == p.requester_region {
                apply(&mut p.requester_tags);
            } else {
                apply(&mut p.accepter_tags);
            }
            return Ok(());
        }
        let r = self.reg(cx.region);
        let (slot, kind) = match id.split('-').next().unwrap_or("") {
            "vpc" => (r.vpcs.get_mut(id).map(|v| &mut v.tags), &VPC),
            "subnet" => (r.subnets.get_mut(id).map(|v| &mut v.tags), &SUBNET),
            "rtb" => (r.route_tables.get_mut(id).map(|v| &mut v.tags), &RTB),
            "sg" => (r.groups.get_mut(id).map(|v| &mut v.tags), &SG),
            "vpce" => (
                r.endpoints
                    .get_mut(id)
                    .filter(|e| e.state != EpState::Deleted)
                    .map(|v| &mut v.tags),
                &VPCE,
            ),
            _ => return Err(cx.err("InvalidID", format!("The ID '{id}' is not valid"))),
        };
        apply(slot.ok_or_else(|| cx.missing(kind, id))?);
        Ok(())
    }
}

fn local_route(cidr: Ipv4Net) -> Route {
    Route {
        dest: RouteDest::Cidr(cidr),
        target: Target::Gateway("local".to_string()),
    }
}

#[cfg(test)]
#[path = "tests/memory.rs"]
mod tests;
