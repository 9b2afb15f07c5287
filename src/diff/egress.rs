//! `security_group.client_groups`: an outbound TCP 443 rule from each
//! client group (a group s3ep does not own) to the endpoint's own group,
//! tagged with the plan so that s3ep owns that one rule
//! (`egress.<endpoint>.<sg-id>`), or nothing where a rule of the client
//! group already allows it. Rules that leave the plan, and every one on
//! `destroy`, are revoked by id in `cleanup.rs` with the other owned
//! resources.

use serde::Serialize;

use super::*;
use crate::model::{owned_by, DEndpoint, LEgressRule};

/// Something the preview says that is not a change: a client group that
/// already allows outbound TCP 443 to the endpoint, so s3ep adds no rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    /// The address s3ep's own rule would have (`egress.<endpoint>.<sg-id>`).
    pub address: String,
    pub message: String,
}

impl<'a> Differ<'a> {
    /// The outbound rules of `client_groups` towards endpoint `ename`'s
    /// group (`group`: kept, or created or replaced by this run).
    pub(super) fn client_egress(
        &mut self,
        ename: &str,
        ep: &DEndpoint,
        region: &str,
        group: &Fate,
        client_groups: &[String],
    ) -> Result<(), DiffError> {
        let plan = self.desired.name.clone();
        let sg_address = Address::security_group(ename);
        for (i, gid) in client_groups.iter().enumerate() {
            let key = format!("endpoints.{ename}.security_group.client_groups[{i}]");
            let address = Address::egress(ename, gid);
            let Some(client) = self
                .live
                .client_groups
                .iter()
                .find(|g| &g.id == gid && g.region == region)
            else {
                return Err(err_at(
                    &address,
                    &key,
                    format!("client security group {gid} not found in {region}"),
                ));
            };
            self.check_client_vpc(&address, &key, ep, &client.vpc_id)?;
            let rules: Vec<&'a LEgressRule> = self
                .live
                .egress_rules
                .iter()
                .filter(|r| &r.group_id == gid && r.region == region)
                .collect();
            // s3ep's own rule, still pointing at the endpoint's group as it
            // stays: kept. One pointing at a group this run replaces is
            // left unclaimed (revoked) and a new one made.
            let ours = rules.iter().copied().find(|r| {
                owned_by(&r.tags, &plan)
                    && key_of(&r.tags) == Some(address.as_str())
                    && is_https_to_group(r, group)
            });
            if let Some(r) = ours {
                self.claimed.insert(r.id.clone());
                continue;
            }
            if let Some(r) = self.already_allows(&rules, ep, group) {
                self.notes.push(Note {
                    address: address.to_string(),
                    message: format!(
                        "client group {gid} already allows outbound TCP 443 to endpoint {ename} by rule {}: s3ep adds no rule",
                        r.describe()
                    ),
                });
                continue;
            }
            let attrs = vec![
                AttrChange::new("group", None, Some(gid.clone())),
                AttrChange::new(
                    "rule",
                    None,
                    Some(format!("tcp/443 to {}", group.id_ref(&sg_address))),
                ),
            ];
            let step = Step::create(
                rank::EGRESS,
                Op::AuthorizeEgress {
                    region: region.to_string(),
                    group: gid.clone(),
                    peer: group.id_ref(&sg_address),
                    tags: self.desired.tags_for(&address),
                },
            );
            self.push(created(address, region, attrs, vec![step]));
        }
        Ok(())
    }

    /// A rule of the client group, not s3ep's (those may go in this very
    /// run), that already lets TCP 443 out to the endpoint: all traffic or
    /// TCP ports covering 443, to 0.0.0.0/0, to a CIDR holding the endpoint
    /// VPC's CIDR, or to the endpoint's group (when it stays). The lowest
    /// rule id of those, so that the note is stable.
    fn already_allows(
        &self,
        rules: &[&'a LEgressRule],
        ep: &DEndpoint,
        group: &Fate,
    ) -> Option<&'a LEgressRule> {
        let vpc_cidr = self.vpc_cidrs.get(&ep.vpc);
        let mut found: Vec<&'a LEgressRule> = rules
            .iter()
            .copied()
            .filter(|r| !owned_by(&r.tags, &self.desired.name) && r.covers_tcp_443())
            .filter(|r| match &r.peer {
                Some(RulePeer::Cidr(c)) => {
                    c.prefix_len() == 0
                        || vpc_cidr
                            .is_some_and(|v| c.contains(&v.network()) && c.prefix_len() <= v.prefix_len())
                }
                Some(RulePeer::Group(g)) => group.kept() == Some(g.as_str()),
                None => false,
            })
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.first().copied()
    }

    /// A rule can name the endpoint's group only from a group of the same
    /// VPC or of a VPC peered with it in the same region ("You can't
    /// reference the security group of a peer VPC that's in a different
    /// Region", and the peering must be active: VPC Peering guide, "Update
    /// your security groups to reference peer security groups",
    /// https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html).
    /// A peering counts when the plan has it (s3ep makes it active in the
    /// same apply, before the rule). The client group was read in the
    /// endpoint's region, so it is in that region.
    fn check_client_vpc(
        &self,
        address: &Address,
        key: &str,
        ep: &DEndpoint,
        client_vpc: &str,
    ) -> Result<(), DiffError> {
        let fate = |v: &str| self.vpcs.get(v).and_then(Fate::kept).map(str::to_string);
        if fate(&ep.vpc).as_deref() == Some(client_vpc) {
            return Ok(());
        }
        let region = self.region_of(&ep.vpc);
        let peered = self.desired.peerings.values().any(|p| {
            let other = if p.requester == ep.vpc {
                &p.accepter
            } else if p.accepter == ep.vpc {
                &p.requester
            } else {
                return false;
            };
            fate(other).as_deref() == Some(client_vpc) && self.region_of(other) == region
        });
        if peered {
            return Ok(());
        }
        Err(err_at(
            address,
            key,
            format!(
                "client security group {} is in {client_vpc}, not in VPC {} of endpoint {}: a security group rule can reference the endpoint's group only from the same VPC or from a VPC peered with it in the same region (add such a peering to the plan, or use the client group of that VPC)",
                address.as_str().rsplit('.').next().unwrap_or(""),
                ep.vpc,
                ep.name
            ),
        ))
    }
}

/// Whether `r` is TCP 443 (exactly) to the endpoint's group as it stays.
fn is_https_to_group(r: &LEgressRule, group: &Fate) -> bool {
    r.protocol == "tcp"
        && r.from_port == Some(443)
        && r.to_port == Some(443)
        && matches!((&r.peer, group.kept()), (Some(RulePeer::Group(g)), Some(k)) if g == k)
}
