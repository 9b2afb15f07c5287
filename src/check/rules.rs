//! The reachability rules: a pure function of the plan and a [`Snapshot`].
//!
//! Interface endpoint, per `allow_https_from` source and per
//! `security_group.client_groups` group (not listed there already; a client
//! group stands for the plan subnets of its VPC, like a group source, and
//! when its VPC is not one of the plan's only the endpoint side is checked:
//! the endpoint's inbound rules and the group's outbound rules): the endpoint exists and
//! is `available`; with private DNS, the VPC's `enableDnsSupport` and
//! `enableDnsHostnames`; across VPCs, the plan's peering is `active` and the
//! route tables of both sides send the other side's subnets through it
//! (longest prefix wins, as in a VPC route table: "Route priority", Amazon
//! VPC User Guide); an inbound TCP 443 rule of one of the endpoint's security
//! groups admits the source; for a security-group source, that group's
//! outbound rules let TCP 443 out to the endpoint; the network ACLs of the
//! source and endpoint subnets pass TCP 443 one way and the replies
//! (TCP 1024–65535, the ephemeral ports "Ephemeral ports", Amazon VPC User
//! Guide, network ACLs) the other way. Network ACLs are stateless and filter
//! traffic that enters or leaves a subnet, so two sides in the same subnet
//! skip them; security groups are stateful, so their replies need nothing.
//!
//! Gateway endpoint, per planned route table: the endpoint exists and is
//! `available`, the table has the endpoint's prefix-list route, and the
//! network ACLs of the table's subnets pass TCP 443 out to every CIDR of the
//! prefix list and the replies back in.

use ipnet::Ipv4Net;

use super::read::{vpc_id, Snapshot};
use super::{Block, PathResult, Report};
use crate::model::{
    owned_by, Address, DEndpoint, Desired, EndpointKind, HttpsSource, LAclEntry, LEndpoint, LNetworkAcl,
    LPeering, LRoute, LRouteTable, LRule, LSecurityGroup, LSubnet, Ref, RouteDest, RulePeer, Source, TAG_KEY,
};

/// The ephemeral ports replies go to ("Ephemeral ports", network ACLs,
/// Amazon VPC User Guide: 1024–65535 covers every client).
const EPHEMERAL: (i32, i32) = (1024, 65535);
const HTTPS: (i32, i32) = (443, 443);

/// Every path of the plan, checked against `snap`.
pub fn check(desired: &Desired, snap: &Snapshot) -> Report {
    let cx = Cx { desired, snap };
    let mut paths = Vec::new();
    for (name, ep) in &desired.endpoints {
        match &ep.kind {
            EndpointKind::Interface { security_group, .. } => {
                let sources = security_group
                    .as_ref()
                    .map(|g| g.allow_https_from.as_slice())
                    .unwrap_or_default();
                for rule in sources {
                    paths.push(cx.interface_path(name, ep, &rule.written, &rule.source));
                }
                // `client_groups`: each group is a source of its own, unless
                // `allow_https_from` names it already (that path checks the
                // same things, its outbound 443 included).
                for gid in ep.client_groups() {
                    let listed = sources
                        .iter()
                        .any(|r| matches!(&r.source, HttpsSource::Group(g) if g == gid));
                    if !listed {
                        paths.push(cx.interface_path(name, ep, gid, &HttpsSource::Group(gid.clone())));
                    }
                }
            }
            EndpointKind::Gateway { route_tables } => {
                for t in route_tables {
                    paths.push(cx.gateway_path(name, ep, t));
                }
            }
        }
    }
    Report {
        plan: desired.name.clone(),
        paths,
    }
}

/// Problems found on one path, without duplicates, in the order found.
#[derive(Default)]
struct Blocks(Vec<Block>);

impl Blocks {
    fn add(&mut self, kind: &'static str, id: impl Into<String>, detail: impl Into<String>) {
        let b = Block {
            kind,
            id: id.into(),
            detail: detail.into(),
        };
        if !self.0.contains(&b) {
            self.0.push(b);
        }
    }
}

/// Where the traffic of an interface path comes from.
struct Origin<'a> {
    /// Plan VPC name of the source, when it is in one.
    vpc: Option<String>,
    /// The source's subnets (their route tables and network ACLs are checked).
    subnets: Vec<&'a LSubnet>,
    /// The addresses traffic comes from.
    cidrs: Vec<Ipv4Net>,
    /// A security-group source.
    group: Option<String>,
}

struct Cx<'a> {
    desired: &'a Desired,
    snap: &'a Snapshot,
}

impl<'a> Cx<'a> {
    fn region_of(&self, vpc: &str) -> String {
        self.desired
            .vpcs
            .get(vpc)
            .map(|v| v.region.clone())
            .unwrap_or_default()
    }

    fn vpc_id(&self, vpc: &str) -> Option<String> {
        vpc_id(self.desired, &self.snap.live, vpc)
    }

    fn owned_with_key(&self, tags: &crate::model::Tags, address: &Address) -> bool {
        owned_by(tags, &self.desired.name) && tags.get(TAG_KEY).map(String::as_str) == Some(address.as_str())
    }

    fn endpoint(&self, name: &str) -> Option<&'a LEndpoint> {
        let address = Address::endpoint(name);
        self.snap
            .live
            .endpoints
            .iter()
            .find(|e| !e.is_gone() && self.owned_with_key(&e.tags, &address))
    }

    fn peering(&self, name: &str) -> Option<&'a LPeering> {
        let address = Address::peering(name);
        self.snap
            .live
            .peerings
            .iter()
            .find(|p| !p.is_gone() && self.owned_with_key(&p.tags, &address))
    }

    fn subnet(&self, id: &str) -> Option<&'a LSubnet> {
        self.snap
            .subnets
            .iter()
            .chain(&self.snap.live.subnets)
            .find(|s| s.id == id)
    }

    /// The live subnet of plan reference `r` in VPC `vpc`.
    fn subnet_ref(&self, vpc: &str, r: &Ref) -> Option<&'a LSubnet> {
        match r {
            Ref::Id(id) => self.subnet(id),
            Ref::Name(n) => match &self.desired.vpcs.get(vpc)?.subnets.get(n)?.source {
                Source::Adopt(id) => self.subnet(id),
                Source::Create(_) => {
                    let address = Address::subnet(vpc, n);
                    self.snap
                        .subnets
                        .iter()
                        .chain(&self.snap.live.subnets)
                        .find(|s| self.owned_with_key(&s.tags, &address))
                }
            },
        }
    }

    fn table(&self, id: &str) -> Option<&'a LRouteTable> {
        self.snap
            .route_tables
            .iter()
            .chain(&self.snap.live.route_tables)
            .find(|t| t.id == id)
    }

    /// The live route table of plan reference `r` in VPC `vpc`.
    fn table_ref(&self, vpc: &str, r: &Ref) -> Option<&'a LRouteTable> {
        match r {
            Ref::Id(id) => self.table(id),
            Ref::Name(n) => match &self.desired.vpcs.get(vpc)?.route_tables.get(n)?.source {
                Source::Adopt(id) => self.table(id),
                Source::Create(_) => {
                    let address = Address::route_table(vpc, n);
                    self.snap
                        .route_tables
                        .iter()
                        .chain(&self.snap.live.route_tables)
                        .find(|t| self.owned_with_key(&t.tags, &address))
                }
            },
        }
    }

    /// The route table a subnet uses: its explicit association, else its
    /// VPC's main table ("Subnet route tables", Amazon VPC User Guide).
    fn table_of_subnet(&self, s: &LSubnet) -> Option<&'a LRouteTable> {
        let tables = || self.snap.route_tables.iter().filter(|t| t.vpc_id == s.vpc_id);
        tables()
            .find(|t| {
                t.associations
                    .iter()
                    .any(|a| a.subnet_id.as_deref() == Some(s.id.as_str()))
            })
            .or_else(|| tables().find(|t| t.associations.iter().any(|a| a.main)))
    }

    /// The subnets that use table `t`.
    fn subnets_of_table(&self, t: &LRouteTable) -> Vec<&'a LSubnet> {
        self.snap
            .subnets
            .iter()
            .filter(|s| s.vpc_id == t.vpc_id)
            .filter(|s| self.table_of_subnet(s).map(|x| x.id.as_str()) == Some(t.id.as_str()))
            .collect()
    }

    /// The network ACL a subnet uses: the one associated with it, else its
    /// VPC's default ACL ("Network ACL basics", Amazon VPC User Guide).
    fn nacl_of_subnet(&self, s: &LSubnet) -> Option<&'a LNetworkAcl> {
        let acls = || self.snap.nacls.iter().filter(|a| a.vpc_id == s.vpc_id);
        acls()
            .find(|a| a.subnet_ids.contains(&s.id))
            .or_else(|| acls().find(|a| a.is_default))
    }

    fn group(&self, id: &str) -> Option<&'a LSecurityGroup> {
        self.snap
            .groups
            .iter()
            .chain(&self.snap.live.security_groups)
            .chain(&self.snap.live.client_groups)
            .find(|g| g.id == id)
    }

    /// Subnets of plan VPC `vpc`: those the plan names, else every live one.
    fn vpc_subnets(&self, vpc: &str) -> Vec<&'a LSubnet> {
        let Some(d) = self.desired.vpcs.get(vpc) else {
            return Vec::new();
        };
        let named: Vec<&LSubnet> = d
            .subnets
            .keys()
            .filter_map(|n| self.subnet_ref(vpc, &Ref::Name(n.clone())))
            .collect();
        if !named.is_empty() {
            return named;
        }
        let Some(id) = self.vpc_id(vpc) else {
            return Vec::new();
        };
        self.snap.subnets.iter().filter(|s| s.vpc_id == id).collect()
    }

    /// The plan VPC (by live id) a CIDR or live VPC id belongs to.
    fn plan_vpc_of_id(&self, id: &str) -> Option<String> {
        self.desired
            .vpcs
            .keys()
            .find(|n| self.vpc_id(n).as_deref() == Some(id))
            .cloned()
    }

    fn origin(&self, source: &HttpsSource) -> Origin<'a> {
        match source {
            HttpsSource::Vpc(v) => {
                let subnets = self.vpc_subnets(v);
                let mut cidrs: Vec<Ipv4Net> = subnets.iter().filter_map(|s| s.cidr).collect();
                if cidrs.is_empty() {
                    let id = self.vpc_id(v);
                    cidrs.extend(
                        self.snap
                            .live
                            .vpcs
                            .iter()
                            .filter(|x| Some(&x.id) == id.as_ref())
                            .filter_map(|x| x.cidr),
                    );
                }
                Origin {
                    vpc: Some(v.clone()),
                    subnets,
                    cidrs,
                    group: None,
                }
            }
            HttpsSource::Cidr(c) => {
                let vpc = self
                    .snap
                    .live
                    .vpcs
                    .iter()
                    .find(|v| v.cidr.is_some_and(|vc| vc.contains(c)));
                let vpc_name = vpc.and_then(|v| self.plan_vpc_of_id(&v.id));
                let subnets = match (&vpc_name, vpc) {
                    (Some(name), Some(_)) => self
                        .vpc_subnets(name)
                        .into_iter()
                        .filter(|s| s.cidr.is_some_and(|sc| crate::model::cidrs_overlap(&sc, c)))
                        .collect(),
                    _ => Vec::new(),
                };
                Origin {
                    vpc: vpc_name,
                    subnets,
                    cidrs: vec![*c],
                    group: None,
                }
            }
            HttpsSource::Group(g) => {
                let vpc_name = self.group(g).and_then(|grp| self.plan_vpc_of_id(&grp.vpc_id));
                let subnets = vpc_name
                    .as_deref()
                    .map(|v| self.vpc_subnets(v))
                    .unwrap_or_default();
                Origin {
                    vpc: vpc_name,
                    cidrs: subnets.iter().filter_map(|s| s.cidr).collect(),
                    subnets,
                    group: Some(g.clone()),
                }
            }
        }
    }

    fn interface_path(&self, name: &str, ep: &DEndpoint, written: &str, source: &HttpsSource) -> PathResult {
        let from = match source {
            HttpsSource::Vpc(v) => Address::vpc(v).to_string(),
            _ => written.to_string(),
        };
        let to = Address::endpoint(name).to_string();
        let mut b = Blocks::default();
        let Some(live) = self.endpoint(name) else {
            b.add("endpoint", &to, "does not exist: run `s3ep apply`");
            return PathResult::new(from, to, b.0);
        };
        endpoint_state(&mut b, live);
        let private_dns = matches!(
            ep.kind,
            EndpointKind::Interface { private_dns, .. } if private_dns.enabled()
        );
        if private_dns {
            if let Some(d) = self.snap.dns.get(&live.vpc_id) {
                for (on, attr, flag) in [
                    (d.support, "enableDnsSupport", "--enable-dns-support"),
                    (d.hostnames, "enableDnsHostnames", "--enable-dns-hostnames"),
                ] {
                    if !on {
                        b.add(
                            "vpc-attribute",
                            &live.vpc_id,
                            format!(
                                "{attr} is off, and private DNS needs it: \
                                 `aws ec2 modify-vpc-attribute --vpc-id {} {flag} --region {}`",
                                live.vpc_id, live.region
                            ),
                        );
                    }
                }
            }
        }
        let ep_subnets: Vec<&LSubnet> = live.subnet_ids.iter().filter_map(|s| self.subnet(s)).collect();
        let origin = self.origin(source);
        self.routes(&mut b, ep, &origin, &ep_subnets);
        self.ingress(&mut b, live, &origin);
        if let Some(g) = &origin.group {
            self.egress(&mut b, g, ep, live, &ep_subnets);
        }
        self.interface_acls(&mut b, &origin, &ep_subnets);
        PathResult::new(from, to, b.0)
    }

    /// Routes between the source's subnets and the endpoint's, both ways,
    /// through the plan's peering when the VPCs differ.
    fn routes(&self, b: &mut Blocks, ep: &DEndpoint, origin: &Origin, ep_subnets: &[&LSubnet]) {
        let Some(src_vpc) = &origin.vpc else {
            return; // outside the plan's VPCs: its routing is not ours to see
        };
        if *src_vpc == ep.vpc {
            return; // the local route
        }
        let peering = self.desired.peerings.iter().find(|(_, p)| {
            (p.requester == *src_vpc && p.accepter == ep.vpc)
                || (p.accepter == *src_vpc && p.requester == ep.vpc)
        });
        let Some((pname, _)) = peering else {
            b.add(
                "route",
                Address::vpc(src_vpc).to_string(),
                format!(
                    "vpc.{src_vpc} and vpc.{} are different VPCs and no peering of the plan connects them: \
                     add one under `peerings:` with routes on both sides",
                    ep.vpc
                ),
            );
            return;
        };
        let Some(pcx) = self.peering(pname) else {
            b.add(
                "peering",
                Address::peering(pname).to_string(),
                "does not exist: run `s3ep apply`",
            );
            return;
        };
        if pcx.status != "active" {
            b.add(
                "peering",
                &pcx.id,
                format!(
                    "status is {}, not active: no traffic crosses it until the accepter accepts it \
                     (`s3ep apply` accepts the plan's peerings)",
                    pcx.status
                ),
            );
        }
        let ep_vpc = ep.vpc.as_str();
        for s in &origin.subnets {
            for e in ep_subnets {
                self.route_via(b, s, e, &pcx.id, ep_vpc);
                self.route_via(b, e, s, &pcx.id, src_vpc);
            }
        }
    }

    /// The route table of subnet `from` sends `to`'s CIDR through `pcx`.
    fn route_via(&self, b: &mut Blocks, from: &LSubnet, to: &LSubnet, pcx: &str, to_vpc: &str) {
        let Some(dest) = to.cidr else {
            return;
        };
        let Some(table) = self.table_of_subnet(from) else {
            b.add(
                "route",
                &from.id,
                format!(
                    "subnet {} has no route table (no association and no main table)",
                    from.id
                ),
            );
            return;
        };
        let fix = format!(
            "add a route to {dest} (or vpc.{to_vpc}'s CIDR) through {pcx} to {} (the plan's `peerings.<name>.routes`), then `s3ep apply`",
            table.id
        );
        match longest_match(&table.routes, &dest) {
            None => b.add(
                "route",
                &table.id,
                format!(
                    "no route to {dest} ({} of vpc.{to_vpc}) for subnet {}: {fix}",
                    to.id, from.id
                ),
            ),
            Some(r) if r.peering_id.as_deref() != Some(pcx) => b.add(
                "route",
                &table.id,
                format!(
                    "the route to {} goes to {}, not {pcx}, so {dest} ({} of vpc.{to_vpc}) is not reached from subnet {}: {fix}",
                    r.dest,
                    route_target(r),
                    to.id,
                    from.id
                ),
            ),
            Some(r) if r.state.as_deref() == Some("blackhole") => b.add(
                "route",
                &table.id,
                format!(
                    "the route to {} through {pcx} is a blackhole (the peering is gone or not active)",
                    r.dest
                ),
            ),
            Some(_) => {}
        }
    }

    /// An inbound TCP 443 rule of one of the endpoint's groups admits the source.
    fn ingress(&self, b: &mut Blocks, live: &LEndpoint, origin: &Origin) {
        let groups: Vec<&LSecurityGroup> = live
            .security_group_ids
            .iter()
            .filter_map(|g| self.group(g))
            .collect();
        let ids = live.security_group_ids.join(", ");
        if groups.is_empty() {
            b.add(
                "security-group-ingress",
                &live.id,
                "the endpoint has no security group that could be read: attach one that allows TCP 443",
            );
            return;
        }
        let rules = || groups.iter().flat_map(|g| &g.ingress);
        if let Some(g) = &origin.group {
            let by_group = rules().any(|r| covers(r, HTTPS) && r.peer == RulePeer::Group(g.clone()));
            let by_cidr =
                !origin.cidrs.is_empty() && origin.cidrs.iter().all(|c| rules().any(|r| admits_cidr(r, c)));
            if !by_group && !by_cidr {
                b.add(
                    "security-group-ingress",
                    &ids,
                    format!(
                        "no inbound rule allows TCP 443 from security group {g}: \
                         add it to `allow_https_from` and `s3ep apply`"
                    ),
                );
            }
            return;
        }
        for c in &origin.cidrs {
            if !rules().any(|r| admits_cidr(r, c)) {
                b.add(
                    "security-group-ingress",
                    &ids,
                    format!(
                        "no inbound rule allows TCP 443 from {c}: s3ep's rule is missing or was revoked; \
                         `s3ep apply` restores the plan's `allow_https_from` rules"
                    ),
                );
            }
        }
    }

    /// The client group's outbound rules let TCP 443 out to the endpoint.
    fn egress(&self, b: &mut Blocks, group: &str, ep: &DEndpoint, live: &LEndpoint, ep_subnets: &[&LSubnet]) {
        let Some(g) = self.group(group) else {
            b.add(
                "security-group-egress",
                group,
                "security group not found in the plan's VPCs",
            );
            return;
        };
        let to_group = g.egress.iter().any(|r| {
            covers(r, HTTPS) && matches!(&r.peer, RulePeer::Group(x) if live.security_group_ids.contains(x))
        });
        if to_group {
            return;
        }
        // A client group of the plan gets s3ep's own rule back from `apply`.
        let fix = if ep.client_groups().iter().any(|c| c == group) {
            format!(
                "`s3ep apply` restores s3ep's rule {} (TCP 443 to the endpoint's security group)",
                Address::egress(&ep.name, group)
            )
        } else {
            format!(
                "add an outbound TCP 443 rule to {}, or list the group under `security_group.client_groups`",
                live.security_group_ids
                    .first()
                    .map(String::as_str)
                    .unwrap_or("the endpoint's group")
            )
        };
        for e in ep_subnets {
            let Some(c) = e.cidr else {
                continue;
            };
            if !g.egress.iter().any(|r| admits_cidr(r, &c)) {
                b.add(
                    "security-group-egress",
                    group,
                    format!(
                        "no outbound rule lets TCP 443 out to {c} (subnet {} of the endpoint) nor to the \
                         endpoint's security group: {fix}",
                        e.id,
                    ),
                );
            }
        }
    }

    fn interface_acls(&self, b: &mut Blocks, origin: &Origin, ep_subnets: &[&LSubnet]) {
        for e in ep_subnets {
            let Some(e_cidr) = e.cidr else {
                continue;
            };
            let e_acl = self.nacl_of_subnet(e);
            if origin.subnets.is_empty() {
                // A source outside the plan's subnets: the endpoint side only.
                for c in &origin.cidrs {
                    acl_pass(b, e_acl, e, false, c, HTTPS);
                    acl_pass(b, e_acl, e, true, c, EPHEMERAL);
                }
                continue;
            }
            for s in &origin.subnets {
                let Some(s_cidr) = s.cidr else {
                    continue;
                };
                if s.id == e.id {
                    continue; // never leaves the subnet
                }
                let s_acl = self.nacl_of_subnet(s);
                acl_pass(b, s_acl, s, true, &e_cidr, HTTPS);
                acl_pass(b, e_acl, e, false, &s_cidr, HTTPS);
                acl_pass(b, e_acl, e, true, &s_cidr, EPHEMERAL);
                acl_pass(b, s_acl, s, false, &e_cidr, EPHEMERAL);
            }
        }
    }

    fn gateway_path(&self, name: &str, ep: &DEndpoint, t: &Ref) -> PathResult {
        let from = Address::route_table(&ep.vpc, &t.to_string()).to_string();
        let to = Address::endpoint(name).to_string();
        let mut b = Blocks::default();
        let live = self.endpoint(name);
        match live {
            None => b.add("endpoint", &to, "does not exist: run `s3ep apply`"),
            Some(l) => endpoint_state(&mut b, l),
        }
        let Some(table) = self.table_ref(&ep.vpc, t) else {
            b.add("route-table", &from, "does not exist: run `s3ep apply`");
            return PathResult::new(from, to, b.0);
        };
        let region = self.region_of(&ep.vpc);
        let pl = self.snap.live.prefix_lists.get(&(region, ep.service.clone()));
        if let Some(l) = live {
            let route = table.routes.iter().find(|r| {
                r.gateway_id.as_deref() == Some(l.id.as_str()) && matches!(r.dest, RouteDest::PrefixList(_))
            });
            let pl_text = pl.map(String::as_str).unwrap_or("the S3 prefix list");
            match route {
                None => b.add(
                    "route",
                    &table.id,
                    format!(
                        "no route to {pl_text} through {}: {}",
                        l.id,
                        if l.route_table_ids.contains(&table.id) {
                            "the endpoint lists the table but its route is gone; `s3ep apply` restores it"
                        } else {
                            "the endpoint is not associated with this table; `s3ep apply` adds it"
                        }
                    ),
                ),
                Some(r) if r.state.as_deref() == Some("blackhole") => b.add(
                    "route",
                    &table.id,
                    format!("the route to {} through {} is a blackhole", r.dest, l.id),
                ),
                Some(_) => {}
            }
        }
        let cidrs = pl.and_then(|p| self.snap.prefix_list_cidrs.get(p));
        if let Some(cidrs) = cidrs {
            for s in self.subnets_of_table(table) {
                let acl = self.nacl_of_subnet(s);
                for c in cidrs {
                    acl_pass(&mut b, acl, s, true, c, HTTPS);
                    acl_pass(&mut b, acl, s, false, c, EPHEMERAL);
                }
            }
        }
        PathResult::new(from, to, b.0)
    }
}

fn endpoint_state(b: &mut Blocks, live: &LEndpoint) {
    if live.state != "available" {
        let why = live
            .last_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        b.add(
            "endpoint-state",
            &live.id,
            format!(
                "state is {}{why}, not available: it carries no traffic until it is; \
                 wait for pending, and for failed or rejected delete it and `s3ep apply` again",
                live.state
            ),
        );
    }
}

/// The most specific CIDR route that contains `dest`.
fn longest_match<'r>(routes: &'r [LRoute], dest: &Ipv4Net) -> Option<&'r LRoute> {
    routes
        .iter()
        .filter_map(|r| match &r.dest {
            RouteDest::Cidr(c) if c.contains(dest) => Some((c.prefix_len(), r)),
            _ => None,
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, r)| r)
}

fn route_target(r: &LRoute) -> String {
    r.peering_id
        .clone()
        .or_else(|| r.gateway_id.clone())
        .unwrap_or_else(|| "another target".to_string())
}

/// Whether security group rule `r` covers TCP ports `ports`.
fn covers(r: &LRule, ports: (i32, i32)) -> bool {
    match r.protocol.as_str() {
        "-1" | "all" => true,
        "tcp" => match (r.from_port, r.to_port) {
            (Some(f), Some(t)) => (f == -1 && t == -1) || (f <= ports.0 && ports.1 <= t),
            _ => true,
        },
        _ => false,
    }
}

/// Whether rule `r` lets TCP 443 to or from all of `c`.
fn admits_cidr(r: &LRule, c: &Ipv4Net) -> bool {
    covers(r, HTTPS) && matches!(&r.peer, RulePeer::Cidr(p) if p.contains(c))
}

/// Whether ACL entry `e` applies to TCP traffic on `ports` with peer `c`
/// (`full`: to all of it; otherwise to some of it).
fn acl_applies(e: &LAclEntry, c: &Ipv4Net, ports: (i32, i32), full: bool) -> bool {
    let proto = matches!(e.protocol.as_str(), "-1" | "all" | "tcp");
    let Some(ec) = e.cidr else {
        return false; // IPv6 entry
    };
    let (lo, hi) = e.ports.unwrap_or((0, 65535));
    let (lo, hi) = if e.protocol == "-1" || e.protocol == "all" {
        (0, 65535)
    } else {
        (lo, hi)
    };
    if full {
        proto && ec.contains(c) && lo <= ports.0 && ports.1 <= hi
    } else {
        proto && crate::model::cidrs_overlap(&ec, c) && lo <= ports.1 && ports.0 <= hi
    }
}

/// Evaluates `acl` for TCP `ports` to (`egress`) or from peer `c`, in rule
/// number order; the first entry that applies to the traffic decides. An
/// allow entry that covers only part of it (some addresses or ports) lets
/// the evaluation go on for the rest, so the verdict is for all of it.
/// A blocking entry, or the final `*`, is added to `b`.
fn acl_pass(
    b: &mut Blocks,
    acl: Option<&LNetworkAcl>,
    subnet: &LSubnet,
    egress: bool,
    c: &Ipv4Net,
    ports: (i32, i32),
) {
    let Some(acl) = acl else {
        return; // no ACL read for this subnet: nothing to say
    };
    let mut entries: Vec<&LAclEntry> = acl.entries.iter().filter(|e| e.egress == egress).collect();
    entries.sort_by_key(|e| e.rule_number);
    let (dir, prep) = if egress {
        ("outbound", "to")
    } else {
        ("inbound", "from")
    };
    let what = if ports == HTTPS {
        "TCP 443".to_string()
    } else {
        format!("TCP {}-{} (the replies)", ports.0, ports.1)
    };
    let blocker = entries
        .iter()
        .find(|e| acl_applies(e, c, ports, false) && (!e.allow || acl_applies(e, c, ports, true)))
        .filter(|e| !e.allow);
    let decided_allow = entries
        .iter()
        .find(|e| acl_applies(e, c, ports, false) && (!e.allow || acl_applies(e, c, ports, true)))
        .is_some_and(|e| e.allow);
    if decided_allow {
        return;
    }
    let detail = match blocker {
        Some(e) if e.rule_number < 32767 => format!(
            "{dir} rule {} denies {what} {prep} {c} for subnet {}: remove it, or add an allow rule with a lower number",
            e.rule_number, subnet.id
        ),
        _ => format!(
            "no {dir} rule allows {what} {prep} {c} for subnet {}, so the final `*` rule denies it: \
             add an {dir} allow rule for it",
            subnet.id
        ),
    };
    b.add("network-acl", &acl.id, detail);
}
