//! VPCs, subnets, route tables and their subnet associations.

use super::*;

impl<'a> Differ<'a> {
    /// Appends `step` to the change just made at `address` when that change
    /// creates the resource (a create or a replace): a later step of the
    /// same create, which only what needs it waits for.
    fn then(&mut self, address: &Address, step: Step) {
        if let Some(c) = self.out.iter_mut().rev().find(|c| c.address == *address) {
            if matches!(c.action, Action::Create | Action::Replace) {
                c.steps.push(step);
            }
        }
    }

    pub(super) fn vpcs(&mut self) -> Result<(), DiffError> {
        let live: Vec<&LVpc> = self.live.vpcs.iter().collect();
        let owned = by_key(live.iter().copied(), |v| &v.tags, |v| &v.id);
        for (name, vpc) in &self.desired.vpcs {
            let address = Address::vpc(name);
            match &vpc.source {
                Source::Adopt(id) => {
                    let found = self.live.vpcs.iter().find(|v| &v.id == id);
                    let cidr = found.and_then(|v| v.cidr).ok_or_else(|| {
                        err(&address, format!("adopted VPC {id} has no readable IPv4 CIDR"))
                    })?;
                    self.vpc_cidrs.insert(name.clone(), cidr);
                    self.vpcs.insert(name.clone(), Fate::Kept(id.clone()));
                }
                Source::Create(cidr) => {
                    self.vpc_cidrs.insert(name.clone(), *cidr);
                    // Among duplicates, first one peered (through an owned
                    // peering) with a VPC already kept.
                    let peerings = &self.live.peerings;
                    let found = self.claim_in(
                        owned.get(address.as_str()),
                        |v| &v.id,
                        |v: &LVpc, kept| {
                            kept.is_empty()
                                || peerings.iter().any(|p| {
                                    let (r, a) =
                                        (p.requester_vpc_id.as_deref(), p.accepter_vpc_id.as_deref());
                                    !p.is_gone()
                                        && ((r == Some(v.id.as_str()) && a.is_some_and(|a| kept.contains(a)))
                                            || (a == Some(v.id.as_str())
                                                && r.is_some_and(|r| kept.contains(r))))
                                })
                        },
                    );
                    let tags = self.desired.tags_for(&address);
                    let create = Step::create(
                        rank::VPC,
                        Op::CreateVpc {
                            region: vpc.region.clone(),
                            cidr: *cidr,
                            ipv6: vpc.ipv6,
                            tags,
                        },
                    );
                    let fate = self.resource(
                        &address,
                        &vpc.region,
                        found.map(|l| (l.id.as_str(), l.region.as_str(), &l.tags)),
                        |why, attrs| {
                            if let Some(l) = found {
                                if l.cidr != Some(*cidr) {
                                    why.push("cidr changes".to_string());
                                    attrs.push(AttrChange::new(
                                        "cidr",
                                        l.cidr.map(|c| c.to_string()),
                                        Some(cidr.to_string()),
                                    ));
                                }
                                // s3ep asks for the /56 only at CreateVpc:
                                // gaining or losing it is a new VPC.
                                if l.ipv6_cidr.is_some() != vpc.ipv6 {
                                    why.push("ipv6 changes".to_string());
                                    attrs.push(AttrChange::new(
                                        "ipv6",
                                        Some(l.ipv6_cidr.map_or("none".into(), |c| c.to_string())),
                                        Some(if vpc.ipv6 { "amazon" } else { "none" }.to_string()),
                                    ));
                                }
                            }
                        },
                        {
                            let mut a = vec![
                                AttrChange::new("region", None, Some(vpc.region.clone())),
                                AttrChange::new("cidr", None, Some(cidr.to_string())),
                            ];
                            if vpc.ipv6 {
                                a.push(AttrChange::new("ipv6", None, Some("amazon (a /56)".into())));
                            }
                            a
                        },
                        |id, region| Op::DeleteVpc {
                            region: region.to_string(),
                            id: id.to_string(),
                        },
                        create,
                        rank::VPC,
                    );
                    self.then(
                        &address,
                        Step::create(
                            rank::VPC,
                            Op::EnableDnsHostnames {
                                region: vpc.region.clone(),
                                vpc: IdRef::Addr(address.clone()),
                            },
                        ),
                    );
                    if let (Fate::Kept(id), Some(l)) = (&fate, found) {
                        if !l.tags.contains_key(TAG_DNS) {
                            self.push(Change {
                                scope: Vec::new(),
                                address: address.clone(),
                                action: Action::Update,
                                reason:
                                    "DNS hostnames not confirmed on (a run stopped after creating the VPC)"
                                        .into(),
                                region: l.region.clone(),
                                id: Some(id.clone()),
                                attrs: vec![AttrChange::new(
                                    "enable_dns_hostnames",
                                    None,
                                    Some("true".into()),
                                )],
                                steps: vec![Step::create(
                                    rank::VPC,
                                    Op::EnableDnsHostnames {
                                        region: l.region.clone(),
                                        vpc: IdRef::Id(id.clone()),
                                    },
                                )],
                            });
                        }
                    }
                    self.vpcs.insert(name.clone(), fate);
                }
            }
        }
        Ok(())
    }

    pub(super) fn subnets(&mut self) -> Result<(), DiffError> {
        let owned = by_key(self.live.subnets.iter(), |s| &s.tags, |s| &s.id);
        for (vname, vpc) in &self.desired.vpcs {
            let vpc_fate = self.vpcs.get(vname).cloned().unwrap_or(Fate::New);
            for (sname, subnet) in &vpc.subnets {
                let address = Address::subnet(vname, sname);
                match &subnet.source {
                    Source::Adopt(id) => {
                        let l = self.live.subnets.iter().find(|s| &s.id == id);
                        if let (Some(l), Some(vid)) = (l, vpc_fate.kept()) {
                            if l.vpc_id != vid {
                                return Err(err(
                                    &address,
                                    format!("adopted subnet {id} is in {}, not in {vid}", l.vpc_id),
                                ));
                            }
                        }
                        self.subnets
                            .insert((vname.clone(), sname.clone()), Fate::Kept(id.clone()));
                    }
                    Source::Create(spec) => {
                        let found: Option<&LSubnet> = self.claim_in(
                            owned.get(address.as_str()),
                            |s| &s.id,
                            |s, kept| kept.contains(s.vpc_id.as_str()),
                        );
                        let create = Step::create(
                            rank::SUBNET,
                            Op::CreateSubnet {
                                region: vpc.region.clone(),
                                vpc: vpc_fate.id_ref(&Address::vpc(vname)),
                                az: spec.az.clone(),
                                cidr: spec.cidr,
                                ipv6_index: spec.ipv6_index,
                                tags: self.desired.tags_for(&address),
                            },
                        );
                        let live_vpcs = &self.live.vpcs;
                        let fate = self.resource(
                            &address,
                            &vpc.region,
                            found.map(|l| (l.id.as_str(), l.region.as_str(), &l.tags)),
                            |why, attrs| {
                                if let Some(l) = found {
                                    why.extend(vpc_fate.moves(&l.vpc_id));
                                    if l.az != spec.az {
                                        why.push("az changes".to_string());
                                        attrs.push(AttrChange::new(
                                            "az",
                                            Some(l.az.clone()),
                                            Some(spec.az.clone()),
                                        ));
                                    }
                                    if l.cidr != Some(spec.cidr) {
                                        why.push("cidr changes".to_string());
                                        attrs.push(AttrChange::new(
                                            "cidr",
                                            l.cidr.map(|c| c.to_string()),
                                            Some(spec.cidr.to_string()),
                                        ));
                                    }
                                    // The /64 the index means in the live
                                    // VPC's /56 (when that is known).
                                    let block = live_vpcs
                                        .iter()
                                        .find(|v| v.id == l.vpc_id)
                                        .and_then(|v| v.ipv6_cidr);
                                    let want =
                                        spec.ipv6_index.map(|i| block.and_then(|b| ipv6_subnet(&b, i)));
                                    let differs = match (want, l.ipv6_cidr) {
                                        (None, None) => false,
                                        (Some(Some(w)), Some(have)) => w != have,
                                        (Some(None), Some(_)) => false, // VPC's block unknown
                                        _ => true,
                                    };
                                    if differs {
                                        why.push("ipv6_index changes".to_string());
                                        attrs.push(AttrChange::new(
                                            "ipv6_cidr",
                                            Some(l.ipv6_cidr.map_or("none".into(), |c| c.to_string())),
                                            Some(match (spec.ipv6_index, want.flatten()) {
                                                (None, _) => "none".to_string(),
                                                (Some(_), Some(w)) => w.to_string(),
                                                (Some(i), None) => format!("/64 #{i} of the VPC's /56"),
                                            }),
                                        ));
                                    }
                                }
                            },
                            {
                                let mut a = vec![
                                    AttrChange::new("az", None, Some(spec.az.clone())),
                                    AttrChange::new("cidr", None, Some(spec.cidr.to_string())),
                                ];
                                if let Some(i) = spec.ipv6_index {
                                    a.push(AttrChange::new(
                                        "ipv6_cidr",
                                        None,
                                        Some(format!("/64 #{i} of the VPC's /56")),
                                    ));
                                }
                                a
                            },
                            |l_id, l_region| Op::DeleteSubnet {
                                region: l_region.to_string(),
                                id: l_id.to_string(),
                            },
                            create,
                            rank::SUBNET,
                        );
                        self.subnets.insert((vname.clone(), sname.clone()), fate);
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn route_tables(&mut self) -> Result<(), DiffError> {
        let owned = by_key(self.live.route_tables.iter(), |t| &t.tags, |t| &t.id);
        for (vname, vpc) in &self.desired.vpcs {
            let vpc_fate = self.vpcs.get(vname).cloned().unwrap_or(Fate::New);
            for (tname, table) in &vpc.route_tables {
                let address = Address::route_table(vname, tname);
                let spec = match &table.source {
                    Source::Adopt(id) => {
                        if let (Some(l), Some(vid)) = (self.live_table(id), vpc_fate.kept()) {
                            if l.vpc_id != vid {
                                return Err(err(
                                    &address,
                                    format!("adopted route table {id} is in {}, not in {vid}", l.vpc_id),
                                ));
                            }
                        }
                        self.route_tables
                            .insert((vname.clone(), tname.clone()), Fate::Kept(id.clone()));
                        continue;
                    }
                    Source::Create(spec) => spec,
                };
                let subnet_refs: Vec<IdRef> = spec
                    .subnets
                    .iter()
                    .map(|s| self.subnet_ref(vname, &Ref::Name(s.clone())))
                    .collect();
                let found: Option<&LRouteTable> = self.claim_in(
                    owned.get(address.as_str()),
                    |t| &t.id,
                    |t, kept| kept.contains(t.vpc_id.as_str()),
                );
                let assocs = found.map(explicit_associations).unwrap_or_default();
                let create = Step::create(
                    rank::ROUTE_TABLE,
                    Op::CreateRouteTable {
                        region: vpc.region.clone(),
                        vpc: vpc_fate.id_ref(&Address::vpc(vname)),
                        tags: self.desired.tags_for(&address),
                    },
                );
                let fate = self.resource(
                    &address,
                    &vpc.region,
                    found.map(|l| (l.id.as_str(), l.region.as_str(), &l.tags)),
                    |why, _| {
                        if let Some(l) = found {
                            why.extend(vpc_fate.moves(&l.vpc_id));
                        }
                    },
                    vec![AttrChange::new("subnets", None, Some(list(&spec.subnets)))],
                    |id, region| Op::DeleteRouteTable {
                        region: region.to_string(),
                        id: id.to_string(),
                        associations: assocs,
                    },
                    create,
                    rank::ROUTE_TABLE,
                );
                for subnet in &subnet_refs {
                    self.then(
                        &address,
                        Step::create(
                            rank::ROUTE_TABLE,
                            Op::Associate {
                                region: vpc.region.clone(),
                                route_table: IdRef::Addr(address.clone()),
                                subnet: subnet.clone(),
                            },
                        ),
                    );
                }
                if let (Fate::Kept(id), Some(l)) = (&fate, found) {
                    self.associations(&address, &vpc.region, id, l, &spec.subnets, &subnet_refs);
                }
                self.route_tables.insert((vname.clone(), tname.clone()), fate);
            }
        }
        Ok(())
    }

    /// Subnet associations of a kept route table: add and remove one by one.
    fn associations(
        &mut self,
        address: &Address,
        region: &str,
        id: &str,
        l: &LRouteTable,
        names: &[String],
        refs: &[IdRef],
    ) {
        let live_subnets: BTreeMap<&str, &str> = l
            .associations
            .iter()
            .filter(|a| !a.main)
            .filter_map(|a| a.subnet_id.as_deref().map(|s| (s, a.id.as_str())))
            .collect();
        let mut steps = Vec::new();
        let mut added = Vec::new();
        for (name, r) in names.iter().zip(refs) {
            let present = matches!(r, IdRef::Id(sid) if live_subnets.contains_key(sid.as_str()));
            if !present {
                added.push(name.clone());
                steps.push(Step::create(
                    rank::ROUTE_TABLE,
                    Op::Associate {
                        region: region.to_string(),
                        route_table: IdRef::Id(id.to_string()),
                        subnet: r.clone(),
                    },
                ));
            }
        }
        let wanted: BTreeSet<&str> = refs
            .iter()
            .filter_map(|r| match r {
                IdRef::Id(s) => Some(s.as_str()),
                IdRef::Addr(_) => None,
            })
            .collect();
        let mut removed = Vec::new();
        for (subnet, assoc) in &live_subnets {
            if !wanted.contains(subnet) {
                removed.push(subnet.to_string());
                steps.push(Step::delete(
                    rank::ROUTE_TABLE,
                    Op::Disassociate {
                        region: region.to_string(),
                        association_id: assoc.to_string(),
                    },
                ));
            }
        }
        if steps.is_empty() {
            return;
        }
        let mut attrs = Vec::new();
        if !added.is_empty() {
            attrs.push(AttrChange::new(
                "subnets",
                None,
                Some(format!("+{}", list(&added))),
            ));
        }
        if !removed.is_empty() {
            attrs.push(AttrChange::new(
                "subnets",
                Some(format!("-{}", list(&removed))),
                None,
            ));
        }
        self.push(Change {
            scope: Vec::new(),
            address: address.clone(),
            action: Action::Update,
            reason: "subnet associations differ".into(),
            region: region.to_string(),
            id: Some(id.to_string()),
            attrs,
            steps,
        });
    }
}
