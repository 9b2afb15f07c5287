//! Endpoints, the security group s3ep creates for an interface endpoint,
//! and that group's inbound 443 rules.

use super::*;
use crate::model::IpAddressType;

impl<'a> Differ<'a> {
    pub(super) fn endpoints_and_groups(&mut self) -> Result<(), DiffError> {
        let live_eps: Vec<&LEndpoint> = self.live.endpoints.iter().filter(|e| !e.is_gone()).collect();
        let owned_eps = by_key(live_eps.iter().copied(), |e| &e.tags, |e| &e.id);
        let owned_sgs = by_key(self.live.security_groups.iter(), |g| &g.tags, |g| &g.id);
        let mut replaced_gateways: Vec<&String> = Vec::new();
        let mut kept_inbound_only: Vec<&String> = Vec::new();
        for (ename, ep) in &self.desired.endpoints {
            let region = self.region_of(&ep.vpc);
            let vpc_fate = self.vpcs.get(&ep.vpc).cloned().unwrap_or(Fate::New);
            // The endpoint's own security group and its rules come first.
            let mut group_ref = None;
            if let EndpointKind::Interface {
                security_group: Some(sg),
                ..
            } = &ep.kind
            {
                let address = Address::security_group(ename);
                let found: Option<&LSecurityGroup> = self.claim_in(
                    owned_sgs.get(address.as_str()),
                    |g| &g.id,
                    |g, kept| kept.contains(g.vpc_id.as_str()),
                );
                let group_name = format!("s3ep-{}-{}", self.desired.name, ename);
                let create = Step::create(
                    rank::SECURITY_GROUP,
                    Op::CreateSecurityGroup {
                        region: region.clone(),
                        vpc: vpc_fate.id_ref(&Address::vpc(&ep.vpc)),
                        name: group_name.clone(),
                        description: format!(
                            "s3ep {}: HTTPS (443) to S3 endpoint {ename}",
                            self.desired.name
                        ),
                        tags: self.desired.tags_for(&address),
                    },
                );
                let fate = self.resource(
                    &address,
                    &region,
                    found.map(|g| (g.id.as_str(), g.region.as_str(), &g.tags)),
                    |why, _| {
                        if let Some(g) = found {
                            why.extend(vpc_fate.moves(&g.vpc_id));
                        }
                    },
                    vec![AttrChange::new("name", None, Some(group_name))],
                    |id, region| Op::DeleteSecurityGroup {
                        region: region.to_string(),
                        id: id.to_string(),
                    },
                    create,
                    rank::SECURITY_GROUP,
                );
                self.ingress(ename, &region, &fate, found, &sg.allow_https_from)?;
                self.client_egress(ename, ep, &region, &fate, &sg.client_groups)?;
                group_ref = Some(fate.id_ref(&address));
                self.groups.insert(ename.clone(), fate);
            }
            let address = Address::endpoint(ename);
            let found: Option<&LEndpoint> = self.claim_in(
                owned_eps.get(address.as_str()),
                |e| &e.id,
                |e, kept| kept.contains(e.vpc_id.as_str()),
            );
            let fate = self.endpoint(ename, ep, &region, &vpc_fate, group_ref, found)?;
            if let (Some(l), Fate::Kept(_)) = (found, &fate) {
                if l.private_dns_mode() == PrivateDns::InboundOnly {
                    kept_inbound_only.push(ename);
                }
            }
            if found.is_some() && matches!(fate, Fate::New) && ep.endpoint_type() == EndpointType::Gateway {
                replaced_gateways.push(ename);
            }
            self.endpoints.insert(ename.clone(), fate);
        }
        self.check_inbound_only_gateways(&replaced_gateways, &kept_inbound_only)
    }

    /// A gateway endpoint that must be replaced while an interface endpoint
    /// that stays keeps `private_dns: inbound-only` on it: EC2 refuses to
    /// delete a gateway endpoint an inbound-only interface endpoint relies on
    /// ("Private DNS for interface endpoints", AWS PrivateLink guide:
    /// inbound-resolver-only private DNS needs a gateway endpoint in the VPC;
    /// cloudposse terraform-aws-vpc #153), and switching the interface
    /// endpoint off and on again around it would make its DNS flip twice. So
    /// `plan` refuses and says what to change, rather than fail halfway.
    fn check_inbound_only_gateways(
        &self,
        replaced: &[&String],
        kept_inbound: &[&String],
    ) -> Result<(), DiffError> {
        for gw in replaced {
            let Some(g) = self.desired.endpoints.get(*gw) else {
                continue;
            };
            for itf in kept_inbound {
                let Some(i) = self.desired.endpoints.get(*itf) else {
                    continue;
                };
                let inbound = matches!(&i.kind, EndpointKind::Interface { private_dns, .. } if *private_dns == PrivateDns::InboundOnly);
                if !inbound || i.vpc != g.vpc {
                    continue;
                }
                return Err(err_at(
                    &Address::endpoint(gw),
                    &format!("endpoints.{gw}"),
                    format!(
                        "gateway endpoint {gw} must be replaced, but interface endpoint {itf} keeps `private_dns: inbound-only`, which relies on it, and EC2 refuses to delete a gateway endpoint while an inbound-only interface endpoint uses it; set `private_dns` of {itf} to `true` or `false` for one apply (s3ep switches it before replacing {gw}), then back to `inbound-only`"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn ingress(
        &mut self,
        ename: &str,
        region: &str,
        group: &Fate,
        found: Option<&LSecurityGroup>,
        rules: &[crate::model::HttpsRule],
    ) -> Result<(), DiffError> {
        let sg_address = Address::security_group(ename);
        let live_rules: Vec<RulePeer> = match (group, found) {
            (Fate::Kept(_), Some(g)) => g
                .ingress
                .iter()
                .filter(|r| r.is_https())
                .map(|r| r.peer.clone())
                .collect(),
            _ => Vec::new(),
        };
        let mut wanted = Vec::new();
        for rule in rules {
            let address = Address::ingress(ename, &rule.written);
            let peer = match &rule.source {
                HttpsSource::Cidr(c) => RulePeer::Cidr(*c),
                HttpsSource::Group(g) => RulePeer::Group(g.clone()),
                HttpsSource::Vpc(v) => RulePeer::Cidr(
                    *self
                        .vpc_cidrs
                        .get(v)
                        .ok_or_else(|| err(&address, format!("VPC {v} has no known CIDR")))?,
                ),
            };
            wanted.push(peer.clone());
            if live_rules.contains(&peer) {
                continue;
            }
            let attrs = vec![AttrChange::new(
                "rule",
                None,
                Some(format!("tcp/443 from {peer}")),
            )];
            let step = Step::create(
                rank::INGRESS,
                Op::AuthorizeIngress {
                    region: region.to_string(),
                    group: group.id_ref(&sg_address),
                    peer,
                    tags: self.desired.tags_for(&address),
                },
            );
            self.push(created(address, region, attrs, vec![step]));
        }
        if let (Fate::Kept(gid), Some(_)) = (group, found) {
            for peer in live_rules.iter().filter(|p| !wanted.contains(p)) {
                self.push(Change {
                    scope: Vec::new(),
                    address: Address::ingress(ename, &peer.to_string()),
                    action: Action::Delete,
                    reason: "not in plan".into(),
                    region: region.to_string(),
                    id: Some(gid.clone()),
                    attrs: vec![AttrChange::new(
                        "rule",
                        Some(format!("tcp/443 from {peer}")),
                        None,
                    )],
                    steps: vec![Step::delete(
                        rank::INGRESS,
                        Op::RevokeIngress {
                            region: region.to_string(),
                            group: gid.clone(),
                            peer: peer.clone(),
                        },
                    )],
                });
            }
        }
        Ok(())
    }

    fn endpoint(
        &mut self,
        ename: &str,
        ep: &DEndpoint,
        region: &str,
        vpc_fate: &Fate,
        group_ref: Option<IdRef>,
        found: Option<&LEndpoint>,
    ) -> Result<Fate, DiffError> {
        let address = Address::endpoint(ename);
        self.check_endpoint_refs(&address, ep, vpc_fate)?;
        self.check_vpc_dns(&address, ep)?;
        let (tables, subnets, groups, private_dns) = match &ep.kind {
            EndpointKind::Gateway { route_tables } => (
                route_tables
                    .iter()
                    .map(|r| self.table_ref(&ep.vpc, r))
                    .collect::<Vec<_>>(),
                Vec::new(),
                Vec::new(),
                None,
            ),
            EndpointKind::Interface {
                subnets,
                security_groups,
                private_dns,
                ..
            } => {
                let mut groups: Vec<IdRef> = group_ref.into_iter().collect();
                groups.extend(security_groups.iter().map(|g| IdRef::Id(g.clone())));
                (
                    Vec::new(),
                    subnets.iter().map(|s| self.subnet_ref(&ep.vpc, s)).collect(),
                    groups,
                    Some(*private_dns),
                )
            }
        };
        let create = Step::create(
            rank::ENDPOINT,
            Op::CreateEndpoint {
                region: region.to_string(),
                vpc: vpc_fate.id_ref(&Address::vpc(&ep.vpc)),
                service: ep.service.clone(),
                endpoint_type: ep.endpoint_type(),
                route_tables: tables.clone(),
                subnets: subnets.clone(),
                security_groups: groups.clone(),
                private_dns,
                policy: ep.policy.clone(),
                ip_address_type: ep.ip_address_type,
                dns_record_ip_type: ep.dns_record_ip_type,
                tags: self.desired.tags_for(&address),
                service_region: ep.service_region.clone(),
            },
        );
        let mut create_attrs = vec![
            AttrChange::new("type", None, Some(ep.endpoint_type().to_string())),
            AttrChange::new("service", None, Some(ep.service.clone())),
        ];
        let show = |refs: &[IdRef]| refs.iter().map(IdRef::to_string).collect::<Vec<_>>();
        if !tables.is_empty() {
            create_attrs.push(AttrChange::new("route_tables", None, Some(list(&show(&tables)))));
        }
        if !subnets.is_empty() {
            create_attrs.push(AttrChange::new("subnets", None, Some(list(&show(&subnets)))));
        }
        if !groups.is_empty() {
            create_attrs.push(AttrChange::new(
                "security_groups",
                None,
                Some(list(&show(&groups))),
            ));
        }
        if let Some(r) = &ep.service_region {
            create_attrs.push(AttrChange::new("service_region", None, Some(r.clone())));
        }
        if let Some(p) = private_dns {
            create_attrs.push(AttrChange::new("private_dns", None, Some(p.to_string())));
        }
        if ep.ip_address_type != IpAddressType::Ipv4 {
            create_attrs.push(AttrChange::new(
                "ip_address_type",
                None,
                Some(ep.ip_address_type.to_string()),
            ));
        }
        if let Some(d) = ep
            .dns_record_ip_type
            .filter(|d| *d != ep.ip_address_type.default_dns())
        {
            create_attrs.push(AttrChange::new("dns_record_ip_type", None, Some(d.to_string())));
        }
        create_attrs.push(AttrChange::new(
            "policy",
            None,
            Some(if ep.policy.is_some() {
                "(from plan)".into()
            } else {
                "(AWS default: full access)".into()
            }),
        ));
        let fate = self.resource(
            &address,
            region,
            found.map(|e| (e.id.as_str(), e.region.as_str(), &e.tags)),
            |why, attrs| {
                if let Some(l) = found {
                    if let Some(reason) = vpc_fate.moves(&l.vpc_id) {
                        why.push(reason);
                        attrs.push(AttrChange::new(
                            "vpc_id",
                            Some(l.vpc_id.clone()),
                            vpc_fate.kept().map(str::to_string),
                        ));
                    }
                    if l.endpoint_type != ep.endpoint_type() {
                        why.push("type changes".into());
                        attrs.push(AttrChange::new(
                            "type",
                            Some(l.endpoint_type.to_string()),
                            Some(ep.endpoint_type().to_string()),
                        ));
                    }
                    if l.service != ep.service {
                        why.push("service changes".into());
                        attrs.push(AttrChange::new(
                            "service",
                            Some(l.service.clone()),
                            Some(ep.service.clone()),
                        ));
                    } else if let Some(live_sr) = &l.service_region {
                        // EC2 cannot move an endpoint to another service
                        // region (ModifyVpcEndpoint has no ServiceRegion).
                        let want = ep.service_region.as_deref().unwrap_or(region);
                        if l.endpoint_type == EndpointType::Interface && live_sr != want {
                            why.push("service_region changes".into());
                            attrs.push(AttrChange::new(
                                "service_region",
                                Some(live_sr.clone()),
                                Some(want.to_string()),
                            ));
                        }
                    }
                    // ipv4 <-> dualstack is a ModifyVpcEndpoint; to or from
                    // ipv6 the endpoint's addresses change family, which
                    // s3ep does with a new endpoint (PLAN-FORMAT.md).
                    let live_ip = live_ip_address_type(l);
                    if (live_ip == IpAddressType::Ipv6) != (ep.ip_address_type == IpAddressType::Ipv6) {
                        why.push(format!(
                            "ip_address_type changes from {live_ip} to {} (to or from ipv6 needs a new endpoint)",
                            ep.ip_address_type
                        ));
                        attrs.push(AttrChange::new(
                            "ip_address_type",
                            Some(live_ip.to_string()),
                            Some(ep.ip_address_type.to_string()),
                        ));
                    }
                    if matches!(l.state.as_str(), "failed" | "rejected" | "expired") {
                        why.push(format!(
                            "it is {}{}",
                            l.state,
                            l.last_error
                                .as_deref()
                                .map(|e| format!(" ({e})"))
                                .unwrap_or_default()
                        ));
                    }
                }
            },
            create_attrs,
            |id, region| Op::DeleteEndpoint {
                region: region.to_string(),
                id: id.to_string(),
                endpoint_type: found.map(|l| l.endpoint_type).unwrap_or(ep.endpoint_type()),
            },
            create,
            rank::ENDPOINT,
        );
        if let (Fate::Kept(id), Some(l)) = (&fate, found) {
            self.endpoint_update(
                &address,
                region,
                id,
                ep,
                l,
                &tables,
                &subnets,
                &groups,
                private_dns,
            );
        }
        Ok(fate)
    }

    /// Checks what only live state can tell: subnets and route tables given
    /// by id belong to the endpoint's VPC, and an interface endpoint has at
    /// most one subnet per AZ (EC2 answers DuplicateSubnetsInSameZone; some
    /// emulators accept it silently).
    fn check_endpoint_refs(
        &self,
        address: &Address,
        ep: &DEndpoint,
        vpc_fate: &Fate,
    ) -> Result<(), DiffError> {
        let vpc = self.desired.vpcs.get(&ep.vpc);
        let live_id = |r: &Ref| -> Option<String> {
            match r {
                Ref::Id(id) => Some(id.clone()),
                Ref::Name(n) => vpc
                    .and_then(|v| {
                        v.subnets
                            .get(n)
                            .and_then(|s| s.source.adopted_id())
                            .or_else(|| v.route_tables.get(n).and_then(|t| t.source.adopted_id()))
                    })
                    .map(str::to_string),
            }
        };
        match &ep.kind {
            EndpointKind::Gateway { route_tables } => {
                for (i, r) in route_tables.iter().enumerate() {
                    let key = format!("endpoints.{}.route_tables[{i}]", ep.name);
                    let Some(id) = live_id(r) else { continue };
                    let live_vpc = self.live_table(&id).map(|t| t.vpc_id.as_str());
                    let by_id = matches!(r, Ref::Id(_));
                    check_in_vpc(
                        address,
                        &key,
                        "route table",
                        &id,
                        by_id,
                        live_vpc,
                        &ep.vpc,
                        vpc_fate,
                    )?;
                }
            }
            EndpointKind::Interface { subnets, .. } => {
                let mut by_az: BTreeMap<String, String> = BTreeMap::new();
                for (i, r) in subnets.iter().enumerate() {
                    let key = format!("endpoints.{}.subnets[{i}]", ep.name);
                    let (label, az, az_id) = match (r, live_id(r)) {
                        (_, Some(id)) => {
                            let l = self.live.subnets.iter().find(|s| s.id == id);
                            let live_vpc = l.map(|l| l.vpc_id.as_str());
                            let by_id = matches!(r, Ref::Id(_));
                            check_in_vpc(address, &key, "subnet", &id, by_id, live_vpc, &ep.vpc, vpc_fate)?;
                            let Some(l) = l else { continue };
                            // An adopted subnet's IPv6 is known only now
                            // (CreateVpcEndpoint: dualstack needs subnets
                            // with IPv4 and IPv6 ranges, ipv6 IPv6-only ones).
                            let problem = match ep.ip_address_type {
                                IpAddressType::Dualstack if l.ipv6_cidr.is_none() || l.cidr.is_none() => {
                                    Some("has no IPv6 CIDR (dualstack needs IPv4 and IPv6 in every subnet)")
                                }
                                IpAddressType::Ipv6 if l.ipv6_cidr.is_none() || l.cidr.is_some() => {
                                    Some("is not IPv6-only (ipv6 needs subnets with an IPv6 CIDR and no IPv4 CIDR)")
                                }
                                _ => None,
                            };
                            if let Some(p) = problem {
                                return Err(err_at(
                                    address,
                                    &format!("endpoints.{}.ip_address_type", ep.name),
                                    format!(
                                        "ip_address_type {}: subnet {} {p}; associate an IPv6 CIDR with it, or use another ip_address_type",
                                        ep.ip_address_type,
                                        match r {
                                            Ref::Name(n) => format!("{n} ({id})"),
                                            Ref::Id(_) => id.clone(),
                                        }
                                    ),
                                ));
                            }
                            (id, l.az.clone(), l.az_id.clone())
                        }
                        (Ref::Name(n), None) => match vpc.and_then(|v| v.subnets.get(n)).map(|s| &s.source) {
                            Some(Source::Create(spec)) => {
                                // Created and kept: its live AZ id.
                                let az_id = match self.subnets.get(&(ep.vpc.clone(), n.clone())) {
                                    Some(Fate::Kept(id)) => self
                                        .live
                                        .subnets
                                        .iter()
                                        .find(|s| &s.id == id && s.az == spec.az)
                                        .and_then(|s| s.az_id.clone()),
                                    _ => None,
                                };
                                (n.clone(), spec.az.clone(), az_id)
                            }
                            _ => continue,
                        },
                        (Ref::Id(_), None) => continue,
                    };
                    // EC2 refuses a subnet in an AZ where the service is not
                    // offered; ask before anything is built (PrivateLink
                    // guide: DescribeVpcEndpointServices lists the AZs).
                    // Compared by AZ id when the service and the (live)
                    // subnet both have ids, else by name
                    // (`ServiceZones::offers`).
                    let region = vpc.map(|v| v.region.clone()).unwrap_or_default();
                    if let Some(zones) = self.live.service_zones.get(&(region.clone(), ep.service.clone())) {
                        if !zones.offers(&az, az_id.as_deref()) {
                            let (at, supported) = match &az_id {
                                Some(id) if !zones.ids.is_empty() => (
                                    format!("{az} ({id})"),
                                    format!("{} (ids {})", zones.names.join(", "), zones.ids.join(", ")),
                                ),
                                _ => (az.clone(), zones.names.join(", ")),
                            };
                            return Err(err_at(
                                address,
                                &key,
                                format!(
                                    "subnet {label} is in {at}, where {} is not offered to {region}; supported availability zones: {supported}",
                                    ep.service,
                                ),
                            ));
                        }
                    }
                    if let Some(other) = by_az.insert(az.clone(), label.clone()) {
                        let message = if other == label {
                            format!("subnet {label} is listed twice")
                        } else {
                            format!("subnets {other} and {label} are both in {az}: an interface endpoint takes at most one subnet per availability zone")
                        };
                        return Err(err_at(address, &key, message));
                    }
                }
            }
        }
        Ok(())
    }

    /// Private DNS (true or inbound-only) in an adopted VPC needs its
    /// `enableDnsSupport` and `enableDnsHostnames` (PrivateLink guide, "DNS
    /// attributes for your VPC"; EC2 otherwise answers InvalidParameter at
    /// create). s3ep never modifies an adopted VPC, so `plan` refuses and
    /// names the attribute to turn on.
    fn check_vpc_dns(&self, address: &Address, ep: &DEndpoint) -> Result<(), DiffError> {
        if !ep.private_dns().enabled() {
            return Ok(());
        }
        let Some(vpc_id) = self.desired.vpcs.get(&ep.vpc).and_then(|v| v.source.adopted_id()) else {
            return Ok(());
        };
        let Some(dns) = self.live.vpc_dns.get(vpc_id) else {
            return Ok(());
        };
        let mut off = Vec::new();
        if !dns.dns_support {
            off.push(("enableDnsSupport", "--enable-dns-support"));
        }
        if !dns.dns_hostnames {
            off.push(("enableDnsHostnames", "--enable-dns-hostnames"));
        }
        if off.is_empty() {
            return Ok(());
        }
        Err(err_at(
            address,
            &format!("endpoints.{}.private_dns", ep.name),
            format!(
                "private_dns {} needs {} of adopted VPC {vpc_id} ({}) turned on; s3ep does not modify adopted VPCs: turn {} on (aws ec2 modify-vpc-attribute --vpc-id {vpc_id} {}), or set private_dns false",
                ep.private_dns(),
                off.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(" and "),
                ep.vpc,
                if off.len() == 1 { "it" } else { "each" },
                off.iter().map(|(_, f)| *f).collect::<Vec<_>>().join(" / "),
            ),
        ))
    }

    /// In-place endpoint changes: ModifyVpcEndpoint with add/remove lists.
    /// Removals run in the delete phase (before what they referenced goes
    /// away), additions in the create phase (after what they reference exists).
    #[allow(clippy::too_many_arguments)]
    fn endpoint_update(
        &mut self,
        address: &Address,
        region: &str,
        id: &str,
        ep: &DEndpoint,
        l: &LEndpoint,
        tables: &[IdRef],
        subnets: &[IdRef],
        groups: &[IdRef],
        private_dns: Option<PrivateDns>,
    ) {
        let mut attrs = Vec::new();
        let mut add = ops::EndpointEdit::default();
        let mut remove = ops::EndpointEdit::default();
        let mut set_diff =
            |name: &str, want: &[IdRef], have: &[String], add: &mut Vec<IdRef>, remove: &mut Vec<String>| {
                let plus: Vec<IdRef> = want
                    .iter()
                    .filter(|r| !matches!(r, IdRef::Id(i) if have.contains(i)))
                    .cloned()
                    .collect();
                let minus: Vec<String> = have
                    .iter()
                    .filter(|h| !want.iter().any(|r| matches!(r, IdRef::Id(i) if i == *h)))
                    .cloned()
                    .collect();
                if !plus.is_empty() {
                    attrs.push(AttrChange::new(
                        name,
                        None,
                        Some(format!(
                            "+{}",
                            list(&plus.iter().map(IdRef::to_string).collect::<Vec<_>>())
                        )),
                    ));
                }
                if !minus.is_empty() {
                    attrs.push(AttrChange::new(name, Some(format!("-{}", list(&minus))), None));
                }
                add.extend(plus);
                remove.extend(minus);
            };
        match ep.endpoint_type() {
            crate::model::EndpointType::Gateway => {
                set_diff(
                    "route_tables",
                    tables,
                    &l.route_table_ids,
                    &mut add.route_tables,
                    &mut remove.route_table_ids,
                );
            }
            crate::model::EndpointType::Interface => {
                set_diff(
                    "subnets",
                    subnets,
                    &l.subnet_ids,
                    &mut add.subnets,
                    &mut remove.subnet_ids,
                );
                // With no group in the plan, EC2 attaches the VPC's default
                // group: that is not drift.
                if !groups.is_empty() {
                    set_diff(
                        "security_groups",
                        groups,
                        &l.security_group_ids,
                        &mut add.security_groups,
                        &mut remove.security_group_ids,
                    );
                }
            }
        }
        // Both values are compared: drift in either is a change (s3ep always
        // sends both). Leaving inbound-only runs in the delete phase, before
        // a gateway endpoint this run deletes; entering it in the create
        // phase, after the gateway is available (see exec::graph).
        let live_inbound = l.private_dns_inbound_only.unwrap_or(false);
        if let Some(p) = private_dns {
            if p.enabled() != l.private_dns || p.inbound_only() != live_inbound {
                let old = match (l.private_dns, live_inbound) {
                    (false, true) => "false (PrivateDnsOnlyForInboundResolverEndpoint true)".to_string(),
                    _ => l.private_dns_mode().to_string(),
                };
                attrs.push(AttrChange::new("private_dns", Some(old), Some(p.to_string())));
                if live_inbound && !p.inbound_only() {
                    remove.private_dns = Some(p);
                } else {
                    add.private_dns = Some(p);
                }
            }
        }
        let live_ip = live_ip_address_type(l);
        if live_ip != ep.ip_address_type {
            attrs.push(AttrChange::new(
                "ip_address_type",
                Some(live_ip.to_string()),
                Some(ep.ip_address_type.to_string()),
            ));
            add.ip_address_type = Some(ep.ip_address_type);
        }
        if let Some(want) = ep.dns_record_ip_type {
            // Not reported (some emulators): EC2's default for the live
            // address type, which is what s3ep would have sent.
            let have = l
                .dns_record_ip_type
                .clone()
                .unwrap_or_else(|| live_ip.default_dns().to_string());
            if have != want.as_str() {
                attrs.push(AttrChange::new(
                    "dns_record_ip_type",
                    Some(have),
                    Some(want.to_string()),
                ));
                add.dns_record_ip_type = Some(want);
            }
        }
        if !policies_equal(ep.policy.as_ref(), l.policy.as_ref()) {
            let show = |p: Option<&serde_json::Value>| match p {
                None => "(AWS default: full access)".to_string(),
                Some(v) => serde_json::to_string(v).unwrap_or_default(),
            };
            attrs.push(AttrChange::new(
                "policy",
                Some(show(l.policy.as_ref())),
                Some(show(ep.policy.as_ref())),
            ));
            // The default is sent as a document rather than ResetPolicy, which
            // some EC2 emulators ignore; AWS treats both alike.
            add.policy = Some(Some(ep.policy.clone().unwrap_or_else(default_policy)));
        }
        if attrs.is_empty() {
            return;
        }
        let prefix_list = match ep.endpoint_type() {
            crate::model::EndpointType::Gateway => self
                .live
                .prefix_lists
                .get(&(region.to_string(), ep.service.clone()))
                .cloned(),
            _ => None,
        };
        let mut steps = Vec::new();
        let adds_exist = add
            .route_tables
            .iter()
            .chain(&add.subnets)
            .chain(&add.security_groups)
            .all(|r| matches!(r, IdRef::Id(_)));
        if adds_exist && !remove.is_empty() {
            // One ModifyVpcEndpoint with both lists: swapping a subnet or the
            // only group never leaves the endpoint without one. It runs in the
            // delete phase, before anything it stops using is deleted.
            // Entering inbound-only stays in the create phase (it needs a
            // gateway endpoint this run may create).
            let entering = add.private_dns.filter(|p| p.inbound_only());
            if entering.is_some() {
                add.private_dns = None;
            }
            add.route_table_ids = std::mem::take(&mut remove.route_table_ids);
            add.subnet_ids = std::mem::take(&mut remove.subnet_ids);
            add.security_group_ids = std::mem::take(&mut remove.security_group_ids);
            if remove.private_dns.is_some() {
                add.private_dns = remove.private_dns.take();
            }
            let merged = std::mem::take(&mut add);
            add.private_dns = entering;
            steps.push(Step::delete(
                rank::ENDPOINT,
                Op::ModifyEndpoint {
                    region: region.to_string(),
                    id: id.to_string(),
                    edit: merged,
                    prefix_list: prefix_list.clone(),
                },
            ));
        }
        if !remove.is_empty() {
            steps.push(Step::delete(
                rank::ENDPOINT,
                Op::ModifyEndpoint {
                    region: region.to_string(),
                    id: id.to_string(),
                    edit: remove,
                    prefix_list: prefix_list.clone(),
                },
            ));
        }
        if !add.is_empty() {
            steps.push(Step::create(
                rank::ENDPOINT,
                Op::ModifyEndpoint {
                    region: region.to_string(),
                    id: id.to_string(),
                    edit: add,
                    prefix_list: prefix_list.clone(),
                },
            ));
        }
        self.push(Change {
            scope: Vec::new(),
            address: address.clone(),
            action: Action::Update,
            reason: "attributes differ from the plan".into(),
            region: region.to_string(),
            id: Some(id.to_string()),
            attrs,
            steps,
        });
    }
}

/// The endpoint's IpAddressType as EC2 reports it; `ipv4` (EC2's default,
/// CreateVpcEndpoint API reference) when the answer has none or one s3ep
/// does not know.
pub(super) fn live_ip_address_type(l: &LEndpoint) -> IpAddressType {
    l.ip_address_type
        .as_deref()
        .and_then(IpAddressType::parse)
        .unwrap_or_default()
}
