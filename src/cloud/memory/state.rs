//! The shared state of the in-memory EC2: the lock's contents (`Inner`, one
//! `Region` per region), the context of one call (`Cx`), NotFound codes per
//! kind, the filter every Describe applies, and CreateTags across kinds.

use super::*;

/// Resource ids as EC2 makes them: `<prefix>-` and 17 hex digits ("From
/// January 2016 to June 2018, we changed the IDs of these resource types to
/// use 17 characters after the hyphen", EC2 User Guide, Resource IDs:
/// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html).
/// EC2's ids carry no order, so neither do these: code that picks "the
/// lowest id" among duplicates picks at random, as it would on EC2.
///
/// The digits come from SipHash under `RandomState`'s per-process random
/// keys over a counter: no dependency, and a fresh sequence per cloud.
pub(super) struct IdSource {
    keys: std::collections::hash_map::RandomState,
    seq: u64,
    issued: std::collections::HashSet<String>,
}

impl Default for IdSource {
    fn default() -> Self {
        IdSource {
            keys: std::collections::hash_map::RandomState::new(),
            seq: 0,
            issued: Default::default(),
        }
    }
}

impl IdSource {
    fn draw(&mut self) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        self.seq += 1;
        let mut h = self.keys.build_hasher();
        h.write_u64(self.seq);
        h.finish()
    }

    /// `<prefix>-` and 17 random lower-case hex digits, never issued before
    /// by this cloud.
    pub(super) fn next(&mut self, prefix: &str) -> String {
        loop {
            let (hi, lo) = (self.draw() & 0xf, self.draw());
            let id = format!("{prefix}-{hi:x}{lo:016x}");
            if self.issued.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// The context of one call: which operation, in which region, and whether
/// describes advance the pending counters.
pub(super) struct Cx<'a> {
    pub(super) op: &'static str,
    pub(super) region: &'a str,
    pub(super) observe: bool,
}

impl Cx<'_> {
    pub(super) fn err(&self, code: &str, message: impl Into<String>) -> CloudError {
        CloudError::new(self.op, self.region, Some(code), message)
    }

    pub(super) fn missing(&self, kind: &Kind, id: &str) -> CloudError {
        self.err(kind.code, format!("The {} ID '{id}' does not exist", kind.what))
    }

    pub(super) fn invalid(&self, message: impl Into<String>) -> CloudError {
        self.err("InvalidParameterValue", message)
    }

    pub(super) fn dependency(&self, what: &str, id: &str) -> CloudError {
        self.err(
            "DependencyViolation",
            format!("The {what} '{id}' has dependencies and cannot be deleted."),
        )
    }
}

/// A resource kind's NotFound code and name.
pub(super) struct Kind {
    pub(super) code: &'static str,
    pub(super) what: &'static str,
}

pub(super) const VPC: Kind = Kind {
    code: "InvalidVpcID.NotFound",
    what: "vpc",
};
pub(super) const SUBNET: Kind = Kind {
    code: "InvalidSubnetID.NotFound",
    what: "subnet",
};
pub(super) const RTB: Kind = Kind {
    code: "InvalidRouteTableID.NotFound",
    what: "route table",
};
pub(super) const SG: Kind = Kind {
    code: "InvalidGroup.NotFound",
    what: "security group",
};
pub(super) const VPCE: Kind = Kind {
    code: "InvalidVpcEndpointId.NotFound",
    what: "VPC endpoint",
};
pub(super) const PCX: Kind = Kind {
    code: "InvalidVpcPeeringConnectionID.NotFound",
    what: "vpc peering connection",
};

#[derive(Default)]
pub(super) struct Inner {
    pub(super) ids: IdSource,
    pub(super) regions: BTreeMap<String, Region>,
    /// Peerings are global: one record seen from both regions.
    pub(super) peerings: BTreeMap<String, Peering>,
    pub(super) calls: Vec<(String, String)>,
    /// When each logged call acted (after its latency), aligned with `calls`.
    pub(super) call_at: Vec<tokio::time::Instant>,
    pub(super) failures: HashMap<String, VecDeque<String>>,
    pub(super) lost: HashMap<String, usize>,
    pub(super) latency: Duration,
    /// Client-side rate buckets taken before the latency
    /// (`MemoryCloud::set_rate_limits`); `None`: off.
    pub(super) limiter: Option<std::sync::Arc<crate::cloud::rate::RateLimiter>>,
    pub(super) endpoint_polls: usize,
    /// Overrides `endpoint_polls` for deletions when set.
    pub(super) endpoint_deleting_polls: Option<usize>,
    pub(super) peering_polls: usize,
    /// Deleted endpoints vanish from Describe (see `MemoryCloud::purge_deleted`).
    pub(super) purge: bool,
    /// AZ names where interface services are not offered
    /// (`MemoryCloud::set_unsupported_azs`).
    pub(super) unsupported_azs: std::collections::BTreeSet<String>,
    /// Eventual consistency: lags given to resources created from now on.
    pub(super) tag_lag: usize,
    pub(super) id_lag: usize,
    /// Per new id, the lag it has left.
    pub(super) lag: HashMap<String, Lag>,
}

/// How long a new resource stays out of sight, counted in logged Describe
/// calls that would have returned it. EC2: "if you run a command to modify
/// or describe the resource that you just created, its ID might not have
/// propagated throughout the system, and you will get an error responding
/// that the resource does not exist" (Eventual consistency in the Amazon EC2
/// API, https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html);
/// tag filters lag behind creates the same way.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Lag {
    /// Tag-filtered (`Filter::Plan`) Describes that still leave it out.
    pub(super) tag: usize,
    /// Describes by id that still answer NotFound.
    pub(super) id: usize,
}

#[derive(Default)]
pub(super) struct Region {
    /// What only `check` reads: network ACLs, outbound rules, DNS attributes.
    pub(super) reach: Reach,
    pub(super) vpcs: BTreeMap<String, Vpc>,
    pub(super) subnets: BTreeMap<String, Subnet>,
    pub(super) route_tables: BTreeMap<String, RouteTable>,
    pub(super) groups: BTreeMap<String, Group>,
    pub(super) endpoints: BTreeMap<String, Endpoint>,
    /// CreateRouteTable client token → (vpc, tags, route table id).
    pub(super) rtb_tokens: HashMap<String, (String, Tags, String)>,
    /// CreateVpcEndpoint client token → (request, the endpoint as first
    /// created: answered again, as `deleted`, once the endpoint is purged).
    pub(super) endpoint_tokens: HashMap<String, (EndpointCreate, LEndpoint)>,
}

/// What a filter needs to know about one resource.
pub(super) struct Meta<'a> {
    pub(super) id: &'a str,
    pub(super) tags: &'a Tags,
    pub(super) vpcs: [&'a str; 2],
}

/// The ids of `items` that `filter` selects, sorted; unknown ids in
/// `Filter::Ids` fail the whole call like EC2 does. Logged calls (not out of
/// band ones) also honour and use up each new resource's [`Lag`].
pub(super) fn pick(
    cx: &Cx,
    filter: &Filter,
    kind: &Kind,
    items: Vec<Meta>,
    lag: &mut HashMap<String, Lag>,
) -> CloudResult<Vec<String>> {
    // Whether `id` is still hidden from this call, using up one unit of it.
    let mut hidden = |id: &str, field: fn(&mut Lag) -> &mut usize| -> bool {
        match lag.get_mut(id).map(field) {
            Some(n) if cx.observe && *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    };
    let mut ids: Vec<String> = match filter {
        Filter::Plan(plan) => items
            .iter()
            .filter(|m| m.tags.get(TAG_PLAN) == Some(plan))
            .filter(|m| !hidden(m.id, |l| &mut l.tag))
            .map(|m| m.id.to_string())
            .collect(),
        Filter::Ids(wanted) => {
            if let Some(unknown) = wanted.iter().find(|w| !items.iter().any(|m| m.id == *w)) {
                return Err(cx.missing(kind, unknown));
            }
            let lagging: Vec<&String> = wanted.iter().filter(|w| hidden(w, |l| &mut l.id)).collect();
            if let Some(first) = lagging.first() {
                return Err(cx.missing(kind, first));
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

impl Inner {
    /// A new id with `prefix`, random like EC2's (see [`IdSource`]), given
    /// the eventual-consistency lag set by `set_tag_lag`/`set_id_lag`.
    pub(super) fn id(&mut self, prefix: &'static str) -> String {
        let id = self.ids.next(prefix);
        if self.tag_lag > 0 || self.id_lag > 0 {
            let lag = Lag {
                tag: self.tag_lag,
                id: self.id_lag,
            };
            self.lag.insert(id.clone(), lag);
        }
        id
    }

    pub(super) fn reg(&mut self, region: &str) -> &mut Region {
        self.regions.entry(region.to_string()).or_default()
    }

    // --- tags ---

    /// CreateTags (`merge`) or an out-of-band replacement of all tags.
    pub(super) fn set_tags(&mut self, cx: &Cx, id: &str, tags: &Tags, merge: bool) -> CloudResult<()> {
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
