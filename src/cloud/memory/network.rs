//! VPCs (with the main route table and default security group they come
//! with) and subnets: Describe, Create and Delete, CIDR checks.

use super::*;

pub(super) struct Vpc {
    pub(super) id: String,
    pub(super) cidr: Ipv4Net,
    /// The Amazon-provided /56, when asked for at create.
    pub(super) ipv6: Option<Ipv6Net>,
    pub(super) tags: Tags,
    /// `enableDnsSupport`: true for a new VPC (VPC user guide, "DNS
    /// attributes for your VPC": "enableDnsSupport … default true").
    pub(super) dns_support: bool,
    /// `enableDnsHostnames`: false for a new non-default VPC until turned on.
    pub(super) dns_hostnames: bool,
}

pub(super) struct Subnet {
    pub(super) id: String,
    pub(super) vpc_id: String,
    pub(super) az: String,
    pub(super) cidr: Ipv4Net,
    pub(super) ipv6: Option<Ipv6Net>,
    pub(super) tags: Tags,
}

/// The Amazon-provided /56 of the VPC with id `vpc_id`: one per VPC, from
/// 2600:1f18::/32 (an Amazon range), numbered by the id's digits so that it
/// is unique and the same on every run. EC2 assigns a /56 from its pool
/// (CreateVpc `AmazonProvidedIpv6CidrBlock`, EC2 API reference).
pub(super) fn amazon_ipv6_block(vpc_id: &str) -> Option<Ipv6Net> {
    let n = u128::from_str_radix(vpc_id.strip_prefix("vpc-")?, 16).ok()? & 0xff_ffff;
    let base: u128 = 0x2600_1f18 << 96;
    Ipv6Net::new((base | (n << 72)).into(), 56).ok()
}

impl Region {
    pub(super) fn vpc(&self, cx: &Cx, id: &str) -> CloudResult<&Vpc> {
        self.vpcs.get(id).ok_or_else(|| cx.missing(&VPC, id))
    }

    pub(super) fn subnet(&self, cx: &Cx, id: &str) -> CloudResult<&Subnet> {
        self.subnets.get(id).ok_or_else(|| cx.missing(&SUBNET, id))
    }
}

pub(super) fn check_cidr(cx: &Cx, cidr: Ipv4Net, range_code: &str, what: &str) -> CloudResult<()> {
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
    pub(super) fn describe_vpcs(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LVpc>> {
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let metas = r
            .vpcs
            .values()
            .map(|v| Meta {
                id: &v.id,
                tags: &v.tags,
                vpcs: [&v.id, &v.id],
            })
            .collect();
        let ids = pick(cx, filter, &VPC, metas, &mut self.lag)?;
        Ok(ids
            .iter()
            .filter_map(|id| r.vpcs.get(id))
            .map(|v| LVpc {
                id: v.id.clone(),
                region: cx.region.to_string(),
                cidr: Some(v.cidr),
                ipv6_cidr: v.ipv6,
                state: "available".to_string(),
                tags: v.tags.clone(),
            })
            .collect())
    }

    pub(super) fn describe_subnets(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LSubnet>> {
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let metas = r
            .subnets
            .values()
            .map(|s| Meta {
                id: &s.id,
                tags: &s.tags,
                vpcs: [&s.vpc_id, &s.vpc_id],
            })
            .collect();
        let ids = pick(cx, filter, &SUBNET, metas, &mut self.lag)?;
        Ok(ids
            .iter()
            .filter_map(|id| r.subnets.get(id))
            .map(|s| LSubnet {
                id: s.id.clone(),
                region: cx.region.to_string(),
                vpc_id: s.vpc_id.clone(),
                az: s.az.clone(),
                az_id: az_id(cx.region, &s.az),
                cidr: Some(s.cidr),
                ipv6_cidr: s.ipv6,
                tags: s.tags.clone(),
            })
            .collect())
    }

    // --- VPCs and subnets ---

    /// Creates a VPC with its main route table and default security group.
    pub(super) fn insert_vpc(&mut self, region: &str, cidr: Ipv4Net, tags: &Tags) -> String {
        let vpc_id = self.id("vpc");
        let rtb_id = self.id("rtb");
        let assoc_id = self.id("rtbassoc");
        let sg_id = self.id("sg");
        let egress = vec![all_traffic_out(self.ids.next("sgr"))];
        let r = self.reg(region);
        r.vpcs.insert(
            vpc_id.clone(),
            Vpc {
                id: vpc_id.clone(),
                cidr,
                ipv6: None,
                tags: tags.clone(),
                dns_support: true,
                dns_hostnames: false,
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
                egress,
                tags: Tags::new(),
            },
        );
        vpc_id
    }

    pub(super) fn create_vpc(
        &mut self,
        cx: &Cx,
        cidr: Ipv4Net,
        ipv6: bool,
        tags: &Tags,
    ) -> CloudResult<String> {
        check_cidr(cx, cidr, "InvalidVpc.Range", "VPC")?;
        let id = self.insert_vpc(cx.region, cidr, tags);
        if ipv6 {
            self.give_ipv6(cx.region, &id);
        }
        Ok(id)
    }

    /// Gives VPC `vpc_id` its Amazon-provided /56.
    pub(super) fn give_ipv6(&mut self, region: &str, vpc_id: &str) {
        let block = amazon_ipv6_block(vpc_id);
        if let Some(v) = self.reg(region).vpcs.get_mut(vpc_id) {
            v.ipv6 = block;
        }
    }

    pub(super) fn delete_vpc(&mut self, cx: &Cx, vpc_id: &str) -> CloudResult<()> {
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

    pub(super) fn create_subnet(
        &mut self,
        cx: &Cx,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        ipv6: Option<Ipv6Net>,
        tags: &Tags,
    ) -> CloudResult<String> {
        let r = self.reg(cx.region);
        let vpc = r.vpc(cx, vpc_id)?;
        // CreateSubnet `Ipv6CidrBlock`: a /64 inside the VPC's IPv6 block,
        // overlapping no other subnet's (EC2 API reference, CreateSubnet).
        if let Some(v6) = ipv6 {
            let inside = vpc.ipv6.is_some_and(|b| b.contains(&v6));
            if v6.prefix_len() != 64 || !inside {
                return Err(cx.err(
                    "InvalidSubnet.Range",
                    format!("The IPv6 CIDR '{v6}' is invalid for VPC {vpc_id}."),
                ));
            }
            if r.subnets.values().any(|s| s.ipv6 == Some(v6)) {
                return Err(cx.err(
                    "InvalidSubnet.Conflict",
                    format!("The IPv6 CIDR '{v6}' conflicts with another subnet"),
                ));
            }
        }
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
            .any(|s| s.vpc_id == vpc_id && cidrs_overlap(&s.cidr, &cidr))
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
                ipv6,
                tags: tags.clone(),
            },
        );
        Ok(id)
    }

    pub(super) fn delete_subnet(&mut self, cx: &Cx, subnet_id: &str) -> CloudResult<()> {
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
}
