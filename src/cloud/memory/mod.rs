//! An in-memory EC2 that implements [`Cloud`] the way real AWS behaves (not
//! the way moto does), so offline tests of state reading, diffing and
//! execution mean something.
//!
//! What it models, per region: VPCs (with their main route table and default
//! security group), subnets, route tables with associations and routes,
//! security groups with HTTPS ingress rules, S3 gateway and interface
//! endpoints, and peerings (one record seen from both the requester's and the
//! accepter's region). Dependencies are enforced (`DependencyViolation`),
//! client tokens are honoured (also after deletion), gateway endpoints own
//! their prefix-list routes, ids are random (`vpc-` and 17 hex digits), and
//! deleted endpoints and peerings stay listed as `deleted` until purged.
//! DeleteVpcEndpoints on a gone endpoint fails `InvalidVpcEndpoint.NotFound`
//! like EC2's `Unsuccessful` item; security groups take 60 inbound rules.
//!
//! Test hooks: a call log ([`MemoryCloud::calls`]), latency and EC2's rate
//! buckets ([`MemoryCloud::set_latency`], [`MemoryCloud::set_rate_limits`]), injected errors
//! ([`MemoryCloud::fail_next`]), lost responses
//! ([`MemoryCloud::lose_response_next`]), slow state transitions
//! ([`MemoryCloud::set_endpoint_pending_polls`],
//! [`MemoryCloud::set_endpoint_deleting_polls`],
//! [`MemoryCloud::set_peering_active_polls`]), eventual consistency
//! ([`MemoryCloud::set_tag_lag`], [`MemoryCloud::set_id_lag`]), purged
//! endpoints ([`MemoryCloud::purge_deleted`]), resource counts
//! ([`MemoryCloud::count`]) and out-of-band changes that are not logged
//! ([`MemoryCloud::oob`] and the `oob_*` helpers) for drift tests.
//!
//! All state sits behind one `std::sync::Mutex`; every method is synchronous
//! inside, so the lock is never held across an `.await`.

mod endpoints;
mod groups;
mod network;
mod peering;
mod reach;
mod routes;
mod state;

use endpoints::*;
pub use endpoints::{az_id, default_endpoint_policy, prefix_list_id, s3_prefix_list_id, DNS_SUFFIX};
use groups::*;
use network::*;
use peering::*;
use reach::*;
use routes::*;
use state::*;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::Value;

use super::{Cloud, CloudError, CloudResult, EndpointCreate, EndpointModify, Filter};
use crate::model::{
    cidrs_overlap, DnsRecordIpType, EndpointType, IpAddressType, LAssociation, LDnsEntry, LEgressRule,
    LEndpoint, LPeering, LRoute, LRouteTable, LRule, LSecurityGroup, LSubnet, LVpc, RouteDest, RulePeer,
    Tags, TAG_PLAN,
};
use crate::model::{LAclEntry, LNetworkAcl, LVpcDns};

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

    /// Every logged call first takes a token from the bucket of its region
    /// and action, as [`AwsCloud`](crate::cloud::aws::AwsCloud) does before
    /// each EC2 call (src/cloud/rate.rs: EC2 throttles per account, region
    /// and action, "Request throttling for the Amazon EC2 API", EC2
    /// Developer Guide), then sleeps its latency. `None` (the default) turns
    /// the buckets off. Waiting for a token does not count as in flight.
    pub fn set_rate_limits(&self, limits: Option<crate::cloud::rate::RateLimits>) {
        self.lock().limiter = limits.map(|l| Arc::new(crate::cloud::rate::RateLimiter::new(l)));
    }

    /// The most logged calls ever in their latency at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_flight.load(Ordering::SeqCst)
    }

    /// Every logged call so far: (EC2 operation name, region), in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.lock().calls.clone()
    }

    /// When each call of [`calls`](Self::calls) acted: after its rate-token
    /// wait and its latency (tokio time).
    pub fn call_times(&self) -> Vec<tokio::time::Instant> {
        self.lock().call_at.clone()
    }

    /// How many logged calls of `op` (e.g. `"DescribeVpcs"`) there were.
    pub fn call_count(&self, op: &str) -> usize {
        self.lock().calls.iter().filter(|(o, _)| o == op).count()
    }

    /// Clears the call log.
    pub fn reset_calls(&self) {
        let mut g = self.lock();
        g.calls.clear();
        g.call_at.clear();
        drop(g);
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
    /// Interface services are not offered in these AZs (by name,
    /// `us-east-1e`, or id, `use1-az3`): EC2 does not offer every service in
    /// every AZ (PrivateLink guide, "Availability Zones";
    /// DescribeVpcEndpointServices lists where it is).
    pub fn set_unsupported_azs(&self, azs: &[&str]) {
        self.lock().unsupported_azs = azs.iter().map(|a| a.to_string()).collect();
    }

    pub fn set_endpoint_pending_polls(&self, n: usize) {
        self.lock().endpoint_polls = n;
    }

    /// Endpoints deleted from now on show `deleting` for the next `n`
    /// describes that return them, then `deleted`, whatever
    /// [`set_endpoint_pending_polls`](Self::set_endpoint_pending_polls)
    /// says. Meanwhile their subnets and security groups answer
    /// `DependencyViolation` to deletion, as on EC2.
    pub fn set_endpoint_deleting_polls(&self, n: usize) {
        self.lock().endpoint_deleting_polls = Some(n);
    }

    /// From now on deleted endpoints vanish from every Describe (by plan,
    /// VPC or id: by id they answer `InvalidVpcEndpointId.NotFound`) as soon
    /// as they reach `deleted`, as EC2 stops listing them some time after
    /// the deletion. A CreateVpcEndpoint that reuses one's client token still
    /// answers with its old id, state `deleted`. Unlike
    /// [`forget_deleted`](Self::forget_deleted), a mode rather than a
    /// one-off, and endpoints only.
    pub fn purge_deleted(&self) {
        let mut g = self.lock();
        g.purge = true;
        for r in g.regions.values_mut() {
            r.purge_deleted_endpoints();
        }
    }

    /// Eventual consistency of tag filters: every resource created from now
    /// on is missing from the next `n` logged tag-filtered
    /// ([`Filter::Plan`]) Describes that would have returned it. 0 (the
    /// default) turns it off for new resources.
    pub fn set_tag_lag(&self, n: usize) {
        self.lock().tag_lag = n;
    }

    /// Eventual consistency of ids: every resource created from now on
    /// answers `*.NotFound` to the next `n` logged Describes by its id
    /// ([`Filter::Ids`]). 0 (the default) turns it off for new resources.
    /// Out-of-band describes see through both lags and do not use them up.
    pub fn set_id_lag(&self, n: usize) {
        self.lock().id_lag = n;
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
    /// Such a VPC has DNS support and DNS hostnames on (as a VPC made for
    /// endpoints usually has; see `oob_set_vpc_dns`).
    pub fn oob_create_vpc(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> String {
        let mut s = self.lock();
        let id = s.insert_vpc(region, cidr, tags);
        if let Some(v) = s.reg(region).vpcs.get_mut(&id) {
            v.dns_hostnames = true;
        }
        id
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
            s.create_subnet(cx, vpc_id, az, cidr, None, tags)
        })
    }

    /// Out of band: gives a VPC its Amazon-provided /56 (as
    /// AssociateVpcCidrBlock would); returns it.
    pub fn oob_give_vpc_ipv6(&self, region: &str, vpc_id: &str) -> Option<Ipv6Net> {
        let mut s = self.lock();
        s.give_ipv6(region, vpc_id);
        s.reg(region).vpcs.get(vpc_id).and_then(|v| v.ipv6)
    }

    /// Out of band: creates a dual-stack subnet (same checks as `CreateSubnet`).
    pub fn oob_create_subnet_ipv6(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        ipv6: Ipv6Net,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.quiet("CreateSubnet", region, |s, cx| {
            s.create_subnet(cx, vpc_id, az, cidr, Some(ipv6), tags)
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

    /// Out of band: replaces every outbound rule of a group with `rules`
    /// (untagged; an empty list leaves the group no outbound rule at all).
    pub fn oob_replace_egress(&self, region: &str, sg_id: &str, rules: &[LRule]) -> CloudResult<()> {
        self.quiet("RevokeSecurityGroupEgress", region, |s, cx| {
            s.replace_egress(cx, sg_id, rules)
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
            g.call_at.push(tokio::time::Instant::now());
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
        let (latency, limiter) = {
            let g = self.lock();
            (g.latency, g.limiter.clone())
        };
        if let Some(l) = limiter.filter(|_| self.record) {
            // Nothing fires this Stop: the memory cloud has no Ctrl-C.
            l.acquire(region, op, &crate::stop::Stop::new()).await;
        }
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

    async fn endpoint_service_zones(
        &self,
        region: &str,
        service: &str,
        service_region: Option<&str>,
    ) -> CloudResult<Option<crate::model::ServiceZones>> {
        self.call("DescribeVpcEndpointServices", region, |s, _| {
            let home = crate::model::service_region(service).unwrap_or(region);
            if service_region.unwrap_or(region) != home || !service.ends_with(".s3") {
                return Ok(None);
            }
            // Six AZs per region, a to f, less those set as unsupported (by
            // name or id); AvailabilityZoneIds alongside, as EC2 sends them.
            let zones: Vec<(String, String)> = ('a'..='f')
                .map(|c| format!("{region}{c}"))
                .filter_map(|az| Some((az_id(region, &az)?, az)))
                .filter(|(id, az)| !s.unsupported_azs.contains(az) && !s.unsupported_azs.contains(id))
                .collect();
            Ok(Some(crate::model::ServiceZones {
                names: zones.iter().map(|(_, n)| n.clone()).collect(),
                ids: zones.into_iter().map(|(i, _)| i).collect(),
            }))
        })
        .await
    }

    async fn prefix_list(&self, region: &str, service: &str) -> CloudResult<Option<String>> {
        self.call("DescribeManagedPrefixLists", region, |_, _| {
            // Found under either spelling in cn-* regions, as the filter does.
            Ok(crate::model::prefix_list_names(service)
                .iter()
                .find_map(|n| prefix_list_id(region, n)))
        })
        .await
    }

    async fn describe_network_acls(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LNetworkAcl>> {
        self.call("DescribeNetworkAcls", region, |s, cx| {
            s.describe_nacls(cx, filter)
        })
        .await
    }

    async fn describe_vpc_dns(&self, region: &str, vpc_id: &str) -> CloudResult<LVpcDns> {
        // One attribute per DescribeVpcAttribute call, as on EC2.
        let support = self
            .call("DescribeVpcAttribute", region, |s, cx| s.vpc_dns(cx, vpc_id))
            .await?
            .support;
        let hostnames = self
            .call("DescribeVpcAttribute", region, |s, cx| s.vpc_dns(cx, vpc_id))
            .await?
            .hostnames;
        Ok(LVpcDns {
            vpc_id: vpc_id.to_string(),
            support,
            hostnames,
        })
    }

    async fn prefix_list_cidrs(&self, region: &str, prefix_list_id: &str) -> CloudResult<Vec<Ipv4Net>> {
        self.call("GetManagedPrefixListEntries", region, |s, cx| {
            s.prefix_list_cidrs(cx, prefix_list_id)
        })
        .await
    }

    async fn create_vpc(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String> {
        self.call("CreateVpc", region, |s, cx| s.create_vpc(cx, cidr, false, tags))
            .await
    }

    async fn create_vpc_ipv6(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String> {
        self.call("CreateVpc", region, |s, cx| s.create_vpc(cx, cidr, true, tags))
            .await
    }

    async fn create_subnet_ipv6(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        ipv6: Ipv6Net,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.call("CreateSubnet", region, |s, cx| {
            s.create_subnet(cx, vpc_id, az, cidr, Some(ipv6), tags)
        })
        .await
    }

    async fn enable_dns_hostnames(&self, region: &str, vpc_id: &str) -> CloudResult<()> {
        self.call("ModifyVpcAttribute", region, |s, cx| {
            s.reg(cx.region).vpc(cx, vpc_id)?;
            s.set_vpc_dns(cx, vpc_id, None, Some(true));
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
            s.create_subnet(cx, vpc_id, az, cidr, None, tags)
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

    async fn describe_egress_rules(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LEgressRule>> {
        self.call("DescribeSecurityGroupRules", region, |s, cx| {
            s.describe_egress(cx, filter)
        })
        .await
    }

    async fn authorize_https_egress(
        &self,
        region: &str,
        sg_id: &str,
        peer_group: &str,
        tags: &Tags,
    ) -> CloudResult<Option<String>> {
        self.call("AuthorizeSecurityGroupEgress", region, |s, cx| {
            s.authorize_egress(cx, sg_id, peer_group, tags).map(Some)
        })
        .await
    }

    async fn revoke_https_egress(&self, region: &str, sg_id: &str, rule_id: &str) -> CloudResult<()> {
        self.call("RevokeSecurityGroupEgress", region, |s, cx| {
            s.revoke_egress(cx, sg_id, rule_id)
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

#[cfg(test)]
#[path = "../tests/memory.rs"]
mod tests;
