//! Security groups (each VPC's default group included) and their HTTPS
//! ingress rules.

use super::*;

/// Inbound rules per security group, the default quota ("Inbound or
/// outbound rules per security group: 60", Amazon VPC quotas,
/// https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups).
/// One more is `RulesPerSecurityGroupLimitExceeded` (EC2 API error codes,
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
pub(super) const MAX_INGRESS_RULES: usize = 60;

pub(super) struct Group {
    pub(super) id: String,
    pub(super) vpc_id: String,
    pub(super) name: String,
    pub(super) default: bool,
    pub(super) rules: Vec<LRule>,
    /// Outbound rules, each with its `sgr-` id and tags.
    pub(super) egress: Vec<EgressRule>,
    pub(super) tags: Tags,
}

/// One outbound rule of a group.
#[derive(Clone)]
pub(super) struct EgressRule {
    pub(super) id: String,
    pub(super) rule: LRule,
    pub(super) tags: Tags,
}

/// The outbound rule every new VPC security group starts with: all traffic
/// to 0.0.0.0/0 ("When you create a security group, it has an outbound rule
/// that allows all outbound traffic", VPC user guide, "Security group
/// rules", https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html;
/// the default group has it too).
pub(super) fn all_traffic_out(id: String) -> EgressRule {
    EgressRule {
        id,
        rule: LRule {
            protocol: "-1".to_string(),
            from_port: None,
            to_port: None,
            peer: RulePeer::Cidr(Ipv4Net::new(std::net::Ipv4Addr::UNSPECIFIED, 0).unwrap_or_default()),
        },
        tags: Tags::new(),
    }
}

impl Region {
    pub(super) fn group(&self, cx: &Cx, id: &str) -> CloudResult<&Group> {
        self.groups.get(id).ok_or_else(|| cx.missing(&SG, id))
    }

    pub(super) fn group_mut(&mut self, cx: &Cx, id: &str) -> CloudResult<&mut Group> {
        self.groups.get_mut(id).ok_or_else(|| cx.missing(&SG, id))
    }

    pub(super) fn check_groups(&self, cx: &Cx, vpc_id: &str, ids: &[String]) -> CloudResult<()> {
        for id in ids {
            if self.group(cx, id)?.vpc_id != vpc_id {
                return Err(cx.invalid(format!("The security group {id} does not belong to VPC {vpc_id}")));
            }
        }
        Ok(())
    }
}

impl Inner {
    pub(super) fn describe_groups(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LSecurityGroup>> {
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let metas = r
            .groups
            .values()
            .map(|g| Meta {
                id: &g.id,
                tags: &g.tags,
                vpcs: [&g.vpc_id, &g.vpc_id],
            })
            .collect();
        let ids = pick(cx, filter, &SG, metas, &mut self.lag)?;
        Ok(ids
            .iter()
            .filter_map(|id| r.groups.get(id))
            .map(|g| LSecurityGroup {
                id: g.id.clone(),
                region: cx.region.to_string(),
                vpc_id: g.vpc_id.clone(),
                name: g.name.clone(),
                ingress: g.rules.clone(),
                egress: r.egress_of(&g.id),
                tags: g.tags.clone(),
            })
            .collect())
    }

    // --- security groups ---

    pub(super) fn create_group(
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
        let egress = vec![all_traffic_out(self.ids.next("sgr"))];
        self.reg(cx.region).groups.insert(
            id.clone(),
            Group {
                id: id.clone(),
                vpc_id: vpc_id.to_string(),
                name: name.to_string(),
                default: false,
                rules: Vec::new(),
                egress,
                tags: tags.clone(),
            },
        );
        Ok(id)
    }

    pub(super) fn delete_group(&mut self, cx: &Cx, sg_id: &str) -> CloudResult<()> {
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
                    // Another group's outbound rule naming it is a dependency
                    // too (DeleteSecurityGroup: "you can't delete a security
                    // group that is referenced by a rule in another security
                    // group in the same VPC", EC2 API reference).
                    || g.egress
                        .iter()
                        .any(|e| matches!(&e.rule.peer, RulePeer::Group(p) if p == sg_id))
            });
        if used {
            return Err(cx.dependency("group", sg_id));
        }
        r.groups.remove(sg_id);
        Ok(())
    }

    pub(super) fn authorize(&mut self, cx: &Cx, sg_id: &str, peer: &RulePeer) -> CloudResult<()> {
        let r = self.reg(cx.region);
        r.group(cx, sg_id)?;
        if let RulePeer::Group(other) = peer {
            r.group(cx, other)?;
        }
        let g = r.group_mut(cx, sg_id)?;
        if g.rules.len() >= MAX_INGRESS_RULES {
            return Err(cx.err(
                "RulesPerSecurityGroupLimitExceeded",
                "The maximum number of rules per security group has been reached.",
            ));
        }
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

    pub(super) fn revoke(&mut self, cx: &Cx, sg_id: &str, peer: &RulePeer) -> CloudResult<()> {
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

    // --- outbound rules ---

    /// DescribeSecurityGroupRules, outbound rules only: `Plan` by the rule's
    /// own `s3ep:plan` tag, `Ids` the rules of these groups.
    pub(super) fn describe_egress(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LEgressRule>> {
        let r = self.reg(cx.region);
        let pick = |g: &Group, e: &EgressRule| match filter {
            Filter::Plan(name) => e.tags.get(TAG_PLAN) == Some(name),
            Filter::Ids(ids) => ids.contains(&g.id),
            _ => false,
        };
        let mut out = Vec::new();
        for g in r.groups.values() {
            for e in g.egress.iter().filter(|e| pick(g, e)) {
                out.push(LEgressRule {
                    id: e.id.clone(),
                    region: cx.region.to_string(),
                    group_id: g.id.clone(),
                    protocol: e.rule.protocol.clone(),
                    from_port: e.rule.from_port,
                    to_port: e.rule.to_port,
                    peer: Some(e.rule.peer.clone()),
                    tags: e.tags.clone(),
                });
            }
        }
        Ok(out)
    }

    /// AuthorizeSecurityGroupEgress: TCP 443 to group `peer_group`, tagged.
    /// The destination group must exist in the region (a peered VPC's group
    /// is referenced the same way); the same rule twice is
    /// `InvalidPermission.Duplicate`; 60 outbound rules at most.
    pub(super) fn authorize_egress(
        &mut self,
        cx: &Cx,
        sg_id: &str,
        peer_group: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        let rule_id = self.ids.next("sgr");
        let r = self.reg(cx.region);
        r.group(cx, peer_group)?;
        let g = r.group_mut(cx, sg_id)?;
        let peer = RulePeer::Group(peer_group.to_string());
        if g.egress.iter().any(|e| e.rule.is_https() && e.rule.peer == peer) {
            return Err(cx.err(
                "InvalidPermission.Duplicate",
                format!("the specified rule \"peer: {peer}, TCP, from port: 443, to port: 443, ALLOW\" already exists"),
            ));
        }
        if g.egress.len() >= MAX_INGRESS_RULES {
            return Err(cx.err(
                "RulesPerSecurityGroupLimitExceeded",
                "The maximum number of rules per security group has been reached.",
            ));
        }
        g.egress.push(EgressRule {
            id: rule_id.clone(),
            rule: LRule {
                protocol: "tcp".to_string(),
                from_port: Some(443),
                to_port: Some(443),
                peer,
            },
            tags: tags.clone(),
        });
        Ok(rule_id)
    }

    /// RevokeSecurityGroupEgress by rule id: that rule only.
    pub(super) fn revoke_egress(&mut self, cx: &Cx, sg_id: &str, rule_id: &str) -> CloudResult<()> {
        let g = self.reg(cx.region).group_mut(cx, sg_id)?;
        let before = g.egress.len();
        g.egress.retain(|e| e.id != rule_id);
        if g.egress.len() == before {
            return Err(cx.err(
                "InvalidSecurityGroupRuleId.NotFound",
                format!("The security group rule ID '{rule_id}' does not exist"),
            ));
        }
        Ok(())
    }

    /// Out of band: replaces every outbound rule of `sg_id` with `rules`
    /// (untagged).
    pub(super) fn replace_egress(&mut self, cx: &Cx, sg_id: &str, rules: &[LRule]) -> CloudResult<()> {
        let ids: Vec<String> = rules.iter().map(|_| self.ids.next("sgr")).collect();
        let g = self.reg(cx.region).group_mut(cx, sg_id)?;
        g.egress = ids
            .into_iter()
            .zip(rules)
            .map(|(id, rule)| EgressRule {
                id,
                rule: rule.clone(),
                tags: Tags::new(),
            })
            .collect();
        Ok(())
    }
}
