//! VPC peering connections: one record seen from the requester's and the
//! accepter's region, request, accept and delete.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PcxState {
    PendingAcceptance,
    /// Provisioning for this many more describes.
    Provisioning(usize),
    Active,
    Failed,
    Deleted,
}

impl PcxState {
    pub(super) fn label(self) -> &'static str {
        match self {
            PcxState::PendingAcceptance => "pending-acceptance",
            PcxState::Provisioning(_) => "provisioning",
            PcxState::Active => "active",
            PcxState::Failed => "failed",
            PcxState::Deleted => "deleted",
        }
    }

    pub(super) fn observe(&mut self) -> &'static str {
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

    pub(super) fn is_gone(self) -> bool {
        matches!(self, PcxState::Failed | PcxState::Deleted)
    }
}

pub(super) struct Peering {
    pub(super) id: String,
    pub(super) requester_region: String,
    pub(super) requester_vpc: String,
    pub(super) accepter_region: String,
    pub(super) accepter_vpc: String,
    pub(super) status: PcxState,
    /// Tags seen from the requester's region (where they were given).
    pub(super) requester_tags: Tags,
    /// Tags seen from the accepter's region: AWS does not copy tags across
    /// regions, so these start empty for a cross-region peering.
    pub(super) accepter_tags: Tags,
}

impl Peering {
    pub(super) fn visible_from(&self, region: &str) -> bool {
        self.requester_region == region || self.accepter_region == region
    }

    pub(super) fn tags_from(&self, region: &str) -> &Tags {
        if region == self.requester_region {
            &self.requester_tags
        } else {
            &self.accepter_tags
        }
    }

    /// Whether the VPC `vpc_id` of `region` is one side of this peering.
    pub(super) fn involves(&self, region: &str, vpc_id: &str) -> bool {
        (self.requester_region == region && self.requester_vpc == vpc_id)
            || (self.accepter_region == region && self.accepter_vpc == vpc_id)
    }
}

impl Inner {
    pub(super) fn describe_peerings(&mut self, cx: &Cx, filter: &Filter) -> CloudResult<Vec<LPeering>> {
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
        let ids = pick(cx, filter, &PCX, metas, &mut self.lag)?;
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

    // --- peering ---

    pub(super) fn create_peering(
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
            Some(pc) if !cidrs_overlap(&pc, &cidr) => PcxState::PendingAcceptance,
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

    pub(super) fn accept_peering(&mut self, cx: &Cx, id: &str) -> CloudResult<()> {
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

    pub(super) fn delete_peering(&mut self, cx: &Cx, id: &str) -> CloudResult<()> {
        let p = self
            .peerings
            .get_mut(id)
            .filter(|p| p.visible_from(cx.region))
            .ok_or_else(|| cx.missing(&PCX, id))?;
        p.status = PcxState::Deleted;
        Ok(())
    }
}
