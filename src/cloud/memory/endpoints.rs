//! S3 gateway and interface endpoints: their states, client tokens, the
//! prefix-list routes gateway endpoints own, and the checks CreateVpcEndpoint
//! and ModifyVpcEndpoint make.

use super::*;

/// Largest endpoint policy EC2 accepts, in characters.
pub(super) const MAX_POLICY_CHARS: usize = 20_480;

/// The DNS-name suffix the in-memory cloud gives every interface endpoint.
pub const DNS_SUFFIX: &str = "abcd1234";

/// AWS's default endpoint policy (full access): the same document `diff`
/// compares live policies against, so the two cannot drift apart.
pub use crate::diff::default_policy as default_endpoint_policy;

/// The S3 prefix-list id the in-memory cloud uses in `region`
/// (deterministic: `pl-` and 8 hex digits derived from the region name).
pub fn s3_prefix_list_id(region: &str) -> String {
    format!("pl-{:08x}", fnv1a(region) as u32)
}

/// The service name of S3's gateway in `region` (the partition rule lives
/// in `model::service_name`).
pub(super) fn s3_service(region: &str) -> String {
    crate::model::service_name(region, "s3", crate::model::EndpointType::Gateway)
}

/// The gateway services the in-memory cloud offers in `region`: S3 and
/// S3 Express One Zone (`com.amazonaws.<region>.s3express`, a gateway
/// service: S3 user guide, "Configure a gateway VPC endpoint to reach S3
/// Express One Zone directory buckets").
pub(super) fn gateway_services(region: &str) -> [String; 2] {
    [
        s3_service(region),
        crate::model::service_name(region, "s3express", crate::model::EndpointType::Gateway),
    ]
}

/// The id of the managed prefix list of gateway service `service` in
/// `region`, if the in-memory cloud offers that service there. S3 keeps
/// [`s3_prefix_list_id`]; S3 Express One Zone has a list of its own (VPC
/// user guide, "AWS-managed prefix lists": `com.amazonaws.<region>.s3express`),
/// its id derived from the service name.
pub fn prefix_list_id(region: &str, service: &str) -> Option<String> {
    let [s3, s3express] = gateway_services(region);
    if service == s3 {
        Some(s3_prefix_list_id(region))
    } else if service == s3express {
        Some(format!("pl-{:08x}", fnv1a(service) as u32))
    } else {
        None
    }
}

/// The AZ id of AZ `name` (`<region><letter>`) in the in-memory cloud.
/// Names map to ids per account (AWS RAM guide, "Availability Zone IDs for
/// your AWS resources"); this one uses moto's us-east-1 mapping (us-east-1a
/// is use1-az6, us-east-1e is use1-az3, as in moto's
/// availability_zones_and_regions.py, which the strict emulator's
/// S3EP_STRICT_UNSUPPORTED_AZS=use1-az3 relies on) shifted to every region:
/// the `<letter>`-th of az6, az1, az2, az4, az3, az5 after a short region
/// code (`use1`, `apne2`, `euw1`).
pub fn az_id(region: &str, name: &str) -> Option<String> {
    const IDS: [u8; 6] = [6, 1, 2, 4, 3, 5];
    let letter = name.strip_prefix(region)?.chars().next()?;
    let n = IDS.get((letter as usize).checked_sub('a' as usize)?)?;
    let parts: Vec<&str> = region.split('-').collect();
    let (first, last) = (parts.first()?, parts.last()?);
    let middle: String = parts[1..parts.len().saturating_sub(1)]
        .iter()
        .map(|w| {
            ["north", "south", "east", "west", "central"]
                .iter()
                .filter(|d| w.contains(*d))
                .map(|d| &d[..1])
                .collect::<String>()
        })
        .collect();
    Some(format!("{first}{middle}{last}-az{n}"))
}

pub(super) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EpState {
    /// Pending for this many more describes.
    Pending(usize),
    Available,
    /// Deleting for this many more describes.
    Deleting(usize),
    Deleted,
}

impl EpState {
    pub(super) fn label(self) -> &'static str {
        match self {
            EpState::Pending(_) => "pending",
            EpState::Available => "available",
            EpState::Deleting(_) => "deleting",
            EpState::Deleted => "deleted",
        }
    }

    /// The state a describe shows, advancing the countdown.
    pub(super) fn observe(&mut self) -> &'static str {
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

pub(super) struct Endpoint {
    pub(super) id: String,
    pub(super) vpc_id: String,
    pub(super) endpoint_type: EndpointType,
    pub(super) service: String,
    pub(super) state: EpState,
    pub(super) route_table_ids: Vec<String>,
    pub(super) subnet_ids: Vec<String>,
    pub(super) security_group_ids: Vec<String>,
    pub(super) private_dns: bool,
    /// DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint (interface only).
    pub(super) inbound_only: bool,
    /// `ServiceRegion` (interface only): the service's region.
    pub(super) service_region: Option<String>,
    pub(super) ip_address_type: IpAddressType,
    /// Interface endpoints only.
    pub(super) dns_record_ip_type: Option<DnsRecordIpType>,
    pub(super) policy: Value,
    pub(super) tags: Tags,
}

impl Endpoint {
    pub(super) fn view(&self, region: &str, state: &str) -> LEndpoint {
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
            // DescribeVpcEndpoints returns DnsOptions for interface endpoints.
            private_dns_inbound_only: match self.endpoint_type {
                EndpointType::Interface => Some(self.inbound_only),
                EndpointType::Gateway => None,
            },
            service_region: self.service_region.clone(),
            ip_address_type: Some(self.ip_address_type.as_str().to_string()),
            dns_record_ip_type: self.dns_record_ip_type.map(|t| t.as_str().to_string()),
            policy: Some(self.policy.clone()),
            dns_entries,
            last_error: None,
            tags: self.tags.clone(),
        }
    }
}

impl Region {
    /// An interface endpoint's IpAddressType against its subnets and its
    /// DnsRecordIpType (CreateVpcEndpoint / DnsOptionsSpecification, EC2 API
    /// reference: dualstack needs subnets with IPv4 and IPv6 ranges, ipv6
    /// IPv6-only subnets; the DNS record type must fit the address type).
    /// Subnets here always have IPv4, so `ipv6` is always refused.
    pub(super) fn check_ip_types(
        &self,
        cx: &Cx,
        subnets: &[String],
        ip: IpAddressType,
        dns: Option<DnsRecordIpType>,
    ) -> CloudResult<()> {
        if let Some(d) = dns {
            if !ip.allows(d) {
                return Err(cx.invalid(format!(
                    "DnsRecordIpType {d} is not supported for IpAddressType {ip}."
                )));
            }
        }
        for id in subnets {
            let ok = match ip {
                IpAddressType::Ipv4 => true,
                IpAddressType::Dualstack => self.subnets.get(id).is_some_and(|s| s.ipv6.is_some()),
                IpAddressType::Ipv6 => false,
            };
            if !ok {
                return Err(cx.invalid(format!(
                    "The subnet {id} does not support the IpAddressType {ip}."
                )));
            }
        }
        Ok(())
    }

    pub(super) fn endpoint(&self, cx: &Cx, id: &str) -> CloudResult<&Endpoint> {
        self.endpoints.get(id).ok_or_else(|| cx.missing(&VPCE, id))
    }

    /// Drops `deleted` endpoints: EC2 stops listing them some time after the
    /// deletion (their client tokens still answer, see `create_endpoint`).
    pub(super) fn purge_deleted_endpoints(&mut self) {
        self.endpoints.retain(|_, e| e.state != EpState::Deleted);
    }

    /// Endpoints that still hold their resources (anything but `deleted`):
    /// an endpoint's network interfaces stay in its subnets and groups until
    /// it is `deleted`, so DeleteSubnet and DeleteSecurityGroup answer
    /// DependencyViolation meanwhile (API_DeleteSubnet.html: "You must
    /// terminate all running instances in the subnet before you can delete
    /// the subnet"; API_DeleteSecurityGroup.html: a group "associated with
    /// an instance or network interface" fails with DependencyViolation).
    pub(super) fn live_endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.values().filter(|e| e.state != EpState::Deleted)
    }

    /// Checks that every subnet exists, is in `vpc_id` and that no two share
    /// an AZ.
    pub(super) fn check_subnets(&self, cx: &Cx, vpc_id: &str, ids: &[String]) -> CloudResult<()> {
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

    /// The private DNS rules of CreateVpcEndpoint and ModifyVpcEndpoint
    /// for S3 (PrivateLink guide, "DNS attributes for your VPC": private
    /// DNS needs enableDnsSupport and enableDnsHostnames; "Private DNS for
    /// S3 interface endpoints" and the DnsOptionsSpecification API
    /// reference: PrivateDnsOnlyForInboundResolverEndpoint needs a gateway
    /// endpoint for the service in the VPC). Both answer InvalidParameter.
    pub(super) fn check_private_dns(
        &self,
        cx: &Cx,
        vpc_id: &str,
        dns: crate::model::PrivateDns,
    ) -> CloudResult<()> {
        if dns.enabled() {
            let v = self.vpc(cx, vpc_id)?;
            if !(v.dns_support && v.dns_hostnames) {
                return Err(cx.err(
                    "InvalidParameter",
                    format!("Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {vpc_id}"),
                ));
            }
        }
        if dns.inbound_only() {
            let gateway = self.endpoints.values().any(|e| {
                e.endpoint_type == EndpointType::Gateway
                    && e.vpc_id == vpc_id
                    && matches!(e.state, EpState::Pending(_) | EpState::Available)
            });
            if !gateway {
                return Err(cx.err(
                    "InvalidParameter",
                    format!("To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC {vpc_id} must have a Gateway endpoint for the service."),
                ));
            }
        }
        Ok(())
    }

    /// An interface endpoint with inbound-only private DNS in the VPC of
    /// gateway endpoint `id`: EC2 refuses to delete the gateway while there
    /// is one (cloudposse/terraform-aws-vpc #153: "Gateway endpoint cannot
    /// be deleted while Interface endpoint … has
    /// PrivateDnsOnlyForInboundResolverEndpoint set to true").
    pub(super) fn inbound_only_blocker(&self, id: &str) -> Option<String> {
        let g = self
            .endpoints
            .get(id)
            .filter(|g| g.endpoint_type == EndpointType::Gateway)?;
        self.endpoints
            .values()
            .find(|e| {
                e.endpoint_type == EndpointType::Interface
                    && e.vpc_id == g.vpc_id
                    && e.inbound_only
                    && e.state != EpState::Deleted
            })
            .map(|e| e.id.clone())
    }

    /// Checks that each table exists in `vpc_id` and can take the route to
    /// prefix list `pl` (the gateway service's).
    pub(super) fn check_gateway_tables(
        &self,
        cx: &Cx,
        vpc_id: &str,
        ids: &[String],
        pl: &RouteDest,
    ) -> CloudResult<()> {
        for id in ids {
            let t = self.rtb(cx, id)?;
            if t.vpc_id != vpc_id {
                return Err(cx.invalid(format!("The route table {id} does not belong to VPC {vpc_id}")));
            }
            if t.routes.iter().any(|r| &r.dest == pl) {
                return Err(route_exists(cx, id, pl));
            }
        }
        Ok(())
    }
}

pub(super) fn dedup(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

pub(super) fn check_policy(cx: &Cx, policy: &Value) -> CloudResult<()> {
    let len = serde_json::to_string(policy).map(|s| s.len()).unwrap_or(0);
    if !policy.is_object() || len > MAX_POLICY_CHARS {
        return Err(cx.err(
            "InvalidPolicyDocument",
            "The policy document must be a JSON object of at most 20480 characters",
        ));
    }
    Ok(())
}

impl Inner {
    pub(super) fn describe_endpoints(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LEndpoint>> {
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let metas = r
            .endpoints
            .values()
            .map(|e| Meta {
                id: &e.id,
                tags: &e.tags,
                vpcs: [&e.vpc_id, &e.vpc_id],
            })
            .collect();
        let ids = pick(cx, filter, &VPCE, metas, &mut self.lag)?;
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
        if self.purge {
            out.retain(|e| e.state != "deleted");
            r.purge_deleted_endpoints();
        }
        Ok(out)
    }

    // --- endpoints ---

    pub(super) fn create_endpoint(
        &mut self,
        cx: &Cx,
        spec: &EndpointCreate,
        polls: usize,
    ) -> CloudResult<LEndpoint> {
        let r = self.reg(cx.region);
        // "If you repeat a request with the same client token and the same
        // parameters, the request completes without creating anything and
        // returns the original result, which might contain updated
        // information"; the same token with other parameters is
        // IdempotentParameterMismatch (Ensuring idempotency in Amazon EC2
        // API requests,
        // https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
        // That holds after the endpoint is deleted, even once it is purged
        // from Describe: the answer then names the old endpoint, `deleted`.
        if let Some((earlier, first)) = spec.client_token.as_ref().and_then(|t| r.endpoint_tokens.get(t)) {
            if earlier != spec {
                return Err(cx.err(
                    "IdempotentParameterMismatch",
                    "The client token has been used with different parameters",
                ));
            }
            return Ok(match r.endpoints.get(&first.id) {
                Some(e) => e.view(cx.region, e.state.label()),
                None => LEndpoint {
                    state: EpState::Deleted.label().to_string(),
                    ..first.clone()
                },
            });
        }
        r.vpc(cx, &spec.vpc_id)?;
        let home = spec.service_region.as_deref().unwrap_or(cx.region);
        let known = match spec.endpoint_type {
            EndpointType::Gateway => gateway_services(cx.region).contains(&spec.service),
            EndpointType::Interface => {
                spec.service == crate::model::service_name(home, "s3", EndpointType::Interface)
            }
        };
        if !known {
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
                let pl = RouteDest::PrefixList(prefix_list_id(cx.region, &spec.service).unwrap_or_default());
                r.check_gateway_tables(cx, &spec.vpc_id, &route_tables, &pl)?;
            }
            EndpointType::Interface => {
                if !route_tables.is_empty() {
                    return Err(cx.err(
                        "InvalidParameter",
                        "Route tables are not supported for interface endpoints",
                    ));
                }
                r.check_subnets(cx, &spec.vpc_id, &subnets)?;
                r.check_ip_types(
                    cx,
                    &subnets,
                    spec.ip_address_type.unwrap_or_default(),
                    spec.dns_record_ip_type,
                )?;
                r.check_groups(cx, &spec.vpc_id, &groups)?;
                if let Some(dns) = spec.private_dns {
                    r.check_private_dns(cx, &spec.vpc_id, dns)?;
                }
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
        let pl = RouteDest::PrefixList(prefix_list_id(cx.region, &spec.service).unwrap_or_default());
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
            // CreateVpcEndpoint: PrivateDnsEnabled defaults to true for an
            // AWS service; s3ep always sends it, so the default is not
            // modelled.
            private_dns: spec.endpoint_type == EndpointType::Interface
                && spec.private_dns.is_some_and(|p| p.enabled()),
            inbound_only: spec.endpoint_type == EndpointType::Interface
                && spec.private_dns.is_some_and(|p| p.inbound_only()),
            service_region: match spec.endpoint_type {
                EndpointType::Interface => Some(home.to_string()),
                EndpointType::Gateway => None,
            },
            ip_address_type: spec.ip_address_type.unwrap_or_default(),
            dns_record_ip_type: (spec.endpoint_type == EndpointType::Interface).then(|| {
                spec.dns_record_ip_type
                    .unwrap_or_else(|| spec.ip_address_type.unwrap_or_default().default_dns())
            }),
            policy: spec.policy.clone().unwrap_or_else(default_endpoint_policy),
            tags: spec.tags.clone(),
        };
        let view = endpoint.view(cx.region, endpoint.state.label());
        r.endpoints.insert(id.clone(), endpoint);
        if let Some(t) = &spec.client_token {
            r.endpoint_tokens.insert(t.clone(), (spec.clone(), view.clone()));
        }
        Ok(view)
    }

    pub(super) fn modify_endpoint(&mut self, cx: &Cx, id: &str, change: &EndpointModify) -> CloudResult<()> {
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
        let pl = RouteDest::PrefixList(prefix_list_id(cx.region, &e.service).unwrap_or_default());
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
                r.check_gateway_tables(cx, &e.vpc_id, &add_tables, &pl)?;
            }
            EndpointType::Interface => {
                if !change.add_route_table_ids.is_empty() || !change.remove_route_table_ids.is_empty() {
                    return Err(cx.err(
                        "InvalidParameter",
                        "Route tables are not supported for interface endpoints",
                    ));
                }
                r.check_subnets(cx, &e.vpc_id, &subnets)?;
                let ip = change.ip_address_type.unwrap_or(e.ip_address_type);
                let dns = change.dns_record_ip_type.or(e.dns_record_ip_type);
                r.check_ip_types(cx, &subnets, ip, dns)?;
                r.check_groups(cx, &e.vpc_id, &groups)?;
                if let Some(dns) = change.private_dns {
                    r.check_private_dns(cx, &e.vpc_id, dns)?;
                }
            }
        }
        if let Some(Some(p)) = &change.policy {
            check_policy(cx, p)?;
        }
        // Everything checked: apply.
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
            e.private_dns = dns.enabled();
            e.inbound_only = dns.inbound_only();
        }
        if let Some(t) = change.ip_address_type {
            e.ip_address_type = t;
        }
        if let (Some(t), EndpointType::Interface) = (change.dns_record_ip_type, e.endpoint_type) {
            e.dns_record_ip_type = Some(t);
        }
        Ok(())
    }

    /// DeleteVpcEndpoints for one id. EC2 answers HTTP 200 and reports a
    /// per-endpoint failure in `Unsuccessful`; a missing or already deleted
    /// endpoint is `InvalidVpcEndpoint.NotFound` there (DeleteVpcEndpoints,
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpcEndpoints.html;
    /// terraform-provider-aws handles that code, internal/service/ec2/errors.go).
    /// `Cloud::delete_endpoint` turns such an item into an error with that
    /// code (see `AwsCloud::delete_endpoint`), which is what this returns.
    pub(super) fn delete_endpoint(&mut self, cx: &Cx, id: &str) -> CloudResult<()> {
        let polls = self.endpoint_deleting_polls.unwrap_or(self.endpoint_polls);
        let purge = self.purge;
        let r = self.reg(cx.region);
        match r.endpoints.get(id).map(|e| e.state) {
            None | Some(EpState::Deleted) => {
                return Err(cx.err(
                    "InvalidVpcEndpoint.NotFound",
                    format!("The VpcEndpoint Id '{id}' does not exist"),
                ))
            }
            Some(EpState::Deleting(_)) => return Ok(()),
            Some(EpState::Pending(_) | EpState::Available) => {}
        }
        if let Some(blocker) = r.inbound_only_blocker(id) {
            return Err(cx.err(
                "InvalidParameter",
                format!("Gateway endpoint cannot be deleted while Interface endpoint {blocker} for the service has PrivateDnsOnlyForInboundResolverEndpoint set to true."),
            ));
        }
        for t in r.route_tables.values_mut() {
            t.routes
                .retain(|route| !matches!(&route.target, Target::Gateway(g) if g == id));
        }
        // Deletion takes a while: until the endpoint is `deleted` its subnets
        // and security groups still answer DependencyViolation (see
        // `Region::live_endpoints`).
        if let Some(e) = r.endpoints.get_mut(id) {
            e.state = if polls > 0 {
                EpState::Deleting(polls)
            } else {
                EpState::Deleted
            };
        }
        if purge {
            r.purge_deleted_endpoints();
        }
        Ok(())
    }
}
