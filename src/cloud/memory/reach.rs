//! What `s3ep check` reads besides the resources s3ep manages: network ACLs
//! (a default one per VPC, entries, subnet associations), security groups'
//! outbound rules, the VPC DNS attributes and the S3 prefix list's CIDRs.
//! Outbound rules and DNS attributes live on the groups and VPCs themselves
//! (one store for `apply` and `check`); this file reads them for `check`.

use super::*;

/// The state behind `check`'s reads, per region.
#[derive(Default)]
pub(super) struct Reach {
    /// Network ACLs by id. Each VPC's default ACL is made the first time
    /// anything looks at the VPC's ACLs.
    pub(super) nacls: BTreeMap<String, Nacl>,
}

pub(super) struct Nacl {
    pub(super) id: String,
    pub(super) vpc_id: String,
    pub(super) default: bool,
    pub(super) entries: Vec<LAclEntry>,
    /// Explicitly associated subnets (the default ACL also has every subnet
    /// of its VPC that no other ACL has).
    pub(super) subnets: BTreeSet<String>,
}

pub(super) const NACL: Kind = Kind {
    code: "InvalidNetworkAclID.NotFound",
    what: "network ACL",
};

/// The default network ACL's entries: inbound and outbound, rule 100 allows
/// all IPv4 traffic and `*` (32767) denies ("Default network ACL", Amazon
/// VPC User Guide, https://docs.aws.amazon.com/vpc/latest/userguide/default-network-acl.html).
fn default_entries() -> Vec<LAclEntry> {
    let mut out = Vec::new();
    for egress in [false, true] {
        for (rule_number, allow) in [(100, true), (32767, false)] {
            out.push(LAclEntry {
                rule_number,
                egress,
                protocol: "-1".to_string(),
                allow,
                cidr: Some(Ipv4Net::default()),
                ports: None,
            });
        }
    }
    out
}

/// The CIDRs of the in-memory S3 prefix list (the same in every region: a
/// model, not AWS's list).
pub(super) fn s3_prefix_list_cidrs() -> Vec<Ipv4Net> {
    ["52.216.0.0/15", "54.231.0.0/16", "3.5.0.0/19"]
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// The CIDRs of the in-memory S3 Express One Zone prefix list (a model,
/// disjoint from the S3 one so that tests can tell them apart).
pub(super) fn s3express_prefix_list_cidrs() -> Vec<Ipv4Net> {
    ["18.97.0.0/16"].iter().filter_map(|c| c.parse().ok()).collect()
}

impl Inner {
    /// Makes the default ACL of every VPC of `region` that has none yet.
    fn ensure_default_nacls(&mut self, region: &str) {
        let vpcs: Vec<String> = self.reg(region).vpcs.keys().cloned().collect();
        for vpc in vpcs {
            if self
                .reg(region)
                .reach
                .nacls
                .values()
                .any(|n| n.default && n.vpc_id == vpc)
            {
                continue;
            }
            let id = self.ids.next("acl");
            self.reg(region).reach.nacls.insert(
                id.clone(),
                Nacl {
                    id,
                    vpc_id: vpc,
                    default: true,
                    entries: default_entries(),
                    subnets: BTreeSet::new(),
                },
            );
        }
    }

    pub(super) fn describe_nacls(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LNetworkAcl>> {
        self.ensure_default_nacls(cx.region);
        let r = self.regions.entry(cx.region.to_string()).or_default();
        // A VPC's ACLs go with it.
        r.reach.nacls.retain(|_, n| r.vpcs.contains_key(&n.vpc_id));
        let metas = r
            .reach
            .nacls
            .values()
            .map(|n| Meta {
                id: &n.id,
                tags: &EMPTY_TAGS,
                vpcs: [&n.vpc_id, &n.vpc_id],
            })
            .collect();
        let ids = pick(cx, filter, &NACL, metas, &mut self.lag)?;
        let explicit: BTreeSet<&String> = r
            .reach
            .nacls
            .values()
            .filter(|n| !n.default)
            .flat_map(|n| &n.subnets)
            .collect();
        Ok(ids
            .iter()
            .filter_map(|id| r.reach.nacls.get(id))
            .map(|n| {
                let mut subnet_ids: Vec<String> = r
                    .subnets
                    .values()
                    .filter(|s| s.vpc_id == n.vpc_id)
                    .filter(|s| match n.default {
                        true => !explicit.contains(&s.id),
                        false => n.subnets.contains(&s.id),
                    })
                    .map(|s| s.id.clone())
                    .collect();
                subnet_ids.sort();
                let mut entries = n.entries.clone();
                entries.sort_by_key(|e| (e.egress, e.rule_number));
                LNetworkAcl {
                    id: n.id.clone(),
                    region: cx.region.to_string(),
                    vpc_id: n.vpc_id.clone(),
                    is_default: n.default,
                    entries,
                    subnet_ids,
                    tags: Tags::new(),
                }
            })
            .collect())
    }

    /// DNS attributes: support on and hostnames off unless changed, EC2's
    /// defaults for a VPC that is not a default VPC ("DNS attributes for
    /// your VPC", Amazon VPC User Guide).
    pub(super) fn vpc_dns(&mut self, cx: &Cx, vpc_id: &str) -> CloudResult<LVpcDns> {
        let v = self.reg(cx.region).vpc(cx, vpc_id)?;
        Ok(LVpcDns {
            vpc_id: vpc_id.to_string(),
            support: v.dns_support,
            hostnames: v.dns_hostnames,
        })
    }

    pub(super) fn set_vpc_dns(
        &mut self,
        cx: &Cx,
        vpc_id: &str,
        support: Option<bool>,
        hostnames: Option<bool>,
    ) {
        if let Some(v) = self.reg(cx.region).vpcs.get_mut(vpc_id) {
            v.dns_support = support.unwrap_or(v.dns_support);
            v.dns_hostnames = hostnames.unwrap_or(v.dns_hostnames);
        }
    }

    pub(super) fn prefix_list_cidrs(&mut self, cx: &Cx, id: &str) -> CloudResult<Vec<Ipv4Net>> {
        let [_, s3express] = super::endpoints::gateway_services(cx.region);
        if id == s3_prefix_list_id(cx.region) {
            Ok(s3_prefix_list_cidrs())
        } else if prefix_list_id(cx.region, &s3express).as_deref() == Some(id) {
            Ok(s3express_prefix_list_cidrs())
        } else {
            Err(cx.err(
                "InvalidPrefixListID.NotFound",
                format!("The prefix list ID '{id}' does not exist"),
            ))
        }
    }
}

static EMPTY_TAGS: Tags = Tags::new();

impl Region {
    /// A group's outbound rules.
    pub(super) fn egress_of(&self, sg_id: &str) -> Vec<LRule> {
        self.groups
            .get(sg_id)
            .map(|g| g.egress.iter().map(|e| e.rule.clone()).collect())
            .unwrap_or_default()
    }
}

/// Test hooks (out of band: never logged).
impl MemoryCloud {
    /// Out of band: adds `entry` to the network ACL of `subnet_id` (the
    /// VPC's default ACL unless the subnet has its own), replacing the
    /// entry with the same direction and rule number. Returns the ACL id.
    pub fn oob_add_nacl_entry(&self, region: &str, subnet_id: &str, entry: LAclEntry) -> CloudResult<String> {
        self.quiet("CreateNetworkAclEntry", region, |s, cx| {
            let vpc = s.reg(cx.region).subnet(cx, subnet_id)?.vpc_id.clone();
            s.ensure_default_nacls(cx.region);
            let r = s.reg(cx.region);
            let acl = r
                .reach
                .nacls
                .values_mut()
                .filter(|n| n.vpc_id == vpc)
                .find(|n| n.subnets.contains(subnet_id))
                .map(|n| n.id.clone());
            let acl = match acl {
                Some(a) => a,
                None => r
                    .reach
                    .nacls
                    .values()
                    .find(|n| n.default && n.vpc_id == vpc)
                    .map(|n| n.id.clone())
                    .ok_or_else(|| cx.missing(&NACL, &vpc))?,
            };
            if let Some(n) = r.reach.nacls.get_mut(&acl) {
                n.entries
                    .retain(|e| !(e.egress == entry.egress && e.rule_number == entry.rule_number));
                n.entries.push(entry);
            }
            Ok(acl)
        })
    }

    /// Out of band: replaces the outbound rules of security group `sg_id`.
    pub fn oob_set_egress(&self, region: &str, sg_id: &str, rules: Vec<LRule>) -> CloudResult<()> {
        self.quiet("RevokeSecurityGroupEgress", region, |s, cx| {
            s.replace_egress(cx, sg_id, &rules)
        })
    }

    /// Out of band: sets a VPC's DNS attributes.
    pub fn oob_set_vpc_dns(
        &self,
        region: &str,
        vpc_id: &str,
        support: bool,
        hostnames: bool,
    ) -> CloudResult<()> {
        self.quiet("ModifyVpcAttribute", region, |s, cx| {
            s.reg(cx.region).vpc(cx, vpc_id)?;
            s.set_vpc_dns(cx, vpc_id, Some(support), Some(hostnames));
            Ok(())
        })
    }

    /// Out of band: the endpoint shows `pending` for the next `polls`
    /// describes that return it (as while EC2 provisions it).
    pub fn oob_set_endpoint_pending(&self, region: &str, endpoint_id: &str, polls: usize) -> CloudResult<()> {
        self.quiet("ModifyVpcEndpoint", region, |s, cx| {
            let r = s.reg(cx.region);
            let e = r
                .endpoints
                .get_mut(endpoint_id)
                .ok_or_else(|| cx.missing(&VPCE, endpoint_id))?;
            e.state = EpState::Pending(polls);
            Ok(())
        })
    }
}

impl MemoryCloud {
    /// Out of band: the peering goes back to `pending-acceptance` (as a
    /// request nobody accepted yet).
    pub fn oob_set_peering_pending(&self, region: &str, peering_id: &str) -> CloudResult<()> {
        self.quiet("RejectVpcPeeringConnection", region, |s, cx| {
            let p = s
                .peerings
                .get_mut(peering_id)
                .ok_or_else(|| cx.missing(&PCX, peering_id))?;
            p.status = PcxState::PendingAcceptance;
            Ok(())
        })
    }
}
