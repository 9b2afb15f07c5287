//! Peerings, the routes through them, and gateway-endpoint routes found
//! missing from their tables.

use super::*;

impl<'a> Differ<'a> {
    pub(super) fn peerings(&mut self) -> Result<(), DiffError> {
        let live: Vec<&LPeering> = self.live.peerings.iter().filter(|p| !p.is_gone()).collect();
        let owned = by_key(live.iter().copied(), |p| &p.tags, |p| &p.id);
        for (pname, p) in &self.desired.peerings {
            let address = Address::peering(pname);
            let req_region = self.region_of(&p.requester);
            let acc_region = self.region_of(&p.accepter);
            let req = self.vpcs.get(&p.requester).cloned().unwrap_or(Fate::New);
            let acc = self.vpcs.get(&p.accepter).cloned().unwrap_or(Fate::New);
            if let (Some(a), Some(b)) = (self.vpc_cidrs.get(&p.requester), self.vpc_cidrs.get(&p.accepter)) {
                if a.contains(&b.network()) || b.contains(&a.network()) {
                    return Err(err(
                        &address,
                        format!(
                            "VPC {} ({a}) and VPC {} ({b}) have overlapping CIDRs: EC2 cannot peer them",
                            p.requester, p.accepter
                        ),
                    ));
                }
            }
            let found: Option<&LPeering> = self.claim_in(
                owned.get(address.as_str()),
                |p| &p.id,
                |p, kept| {
                    [&p.requester_vpc_id, &p.accepter_vpc_id]
                        .into_iter()
                        .all(|v| v.as_deref().is_some_and(|v| kept.contains(v)))
                },
            );
            let create = Step::create(
                rank::PEERING,
                Op::CreatePeering {
                    region: req_region.clone(),
                    requester: req.id_ref(&Address::vpc(&p.requester)),
                    accepter: acc.id_ref(&Address::vpc(&p.accepter)),
                    accepter_region: acc_region.clone(),
                    tags: self.desired.tags_for(&address),
                },
            );
            let fate = self.resource(
                &address,
                &req_region,
                found.map(|l| {
                    (
                        l.id.as_str(),
                        l.requester_region.as_deref().unwrap_or(l.region.as_str()),
                        &l.tags,
                    )
                }),
                |why, attrs| {
                    if let Some(l) = found {
                        if req.kept() != l.requester_vpc_id.as_deref() {
                            why.push("requester VPC changes".into());
                            attrs.push(AttrChange::new(
                                "requester",
                                l.requester_vpc_id.clone(),
                                req.kept().map(str::to_string),
                            ));
                        }
                        if acc.kept() != l.accepter_vpc_id.as_deref() {
                            why.push("accepter VPC changes".into());
                            attrs.push(AttrChange::new(
                                "accepter",
                                l.accepter_vpc_id.clone(),
                                acc.kept().map(str::to_string),
                            ));
                        }
                    }
                },
                vec![
                    AttrChange::new("requester", None, Some(format!("{} ({req_region})", p.requester))),
                    AttrChange::new("accepter", None, Some(format!("{} ({acc_region})", p.accepter))),
                ],
                |id, region| Op::DeletePeering {
                    region: region.to_string(),
                    id: id.to_string(),
                },
                create,
                rank::PEERING,
            );
            if let (Fate::Kept(id), Some(l)) = (&fate, found) {
                if l.status != "active" {
                    self.push(Change {
                        scope: Vec::new(),
                        address: address.clone(),
                        action: Action::Update,
                        reason: format!("status is {}, not active", l.status),
                        region: req_region.clone(),
                        id: Some(id.clone()),
                        attrs: vec![AttrChange::new(
                            "status",
                            Some(l.status.clone()),
                            Some("active".into()),
                        )],
                        steps: vec![Step::create(
                            rank::PEERING,
                            Op::AcceptPeering {
                                region: req_region.clone(),
                                accepter_region: acc_region.clone(),
                                id: id.clone(),
                            },
                        )],
                    });
                }
            }
            self.peerings.insert(pname.clone(), fate);
        }
        Ok(())
    }

    /// Names a live route table for route addresses: `(vpc, table)` from the
    /// plan or the table's own key, else its id.
    fn table_label(&self, t: &LRouteTable) -> (String, String) {
        if let Some(key) = key_of(&t.tags) {
            if crate::model::owned_by(&t.tags, &self.desired.name) {
                if let Some(rest) = key.strip_prefix("route_table.") {
                    if let Some((v, n)) = rest.split_once('.') {
                        return (v.to_string(), n.to_string());
                    }
                }
            }
        }
        for (vname, vpc) in &self.desired.vpcs {
            for (tname, table) in &vpc.route_tables {
                if table.source.adopted_id() == Some(t.id.as_str()) {
                    return (vname.clone(), tname.clone());
                }
            }
        }
        let vpc = self
            .desired
            .vpcs
            .iter()
            .find(|(_, v)| v.source.adopted_id() == Some(t.vpc_id.as_str()))
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| t.vpc_id.clone());
        (vpc, t.id.clone())
    }

    /// Routes through peerings, and (on an emulator only) gateway-endpoint
    /// routes missing from tables the endpoint is associated with.
    pub(super) fn peering_routes(&mut self) -> Result<(), DiffError> {
        let owned_pcx: BTreeSet<&str> = self
            .live
            .peerings
            .iter()
            .filter(|p| !p.is_gone())
            .map(|p| p.id.as_str())
            .collect();
        let mut wanted: BTreeSet<(String, RouteDest)> = BTreeSet::new();
        if self.mode == Mode::Apply {
            for (pname, p) in &self.desired.peerings {
                let pcx_address = Address::peering(pname);
                let pcx = self.peerings.get(pname).cloned().unwrap_or(Fate::New);
                for (vname, tables) in &p.routes {
                    let other = if vname == &p.requester {
                        &p.accepter
                    } else {
                        &p.requester
                    };
                    let Some(cidr) = self.vpc_cidrs.get(other).copied() else {
                        return Err(err(&pcx_address, format!("VPC {other} has no known CIDR")));
                    };
                    let dest = RouteDest::Cidr(cidr);
                    let region = self.region_of(vname);
                    for (i, t) in tables.iter().enumerate() {
                        let key = format!("peerings.{pname}.routes.{vname}[{i}]");
                        let tref = self.table_ref(vname, t);
                        let label = t.to_string();
                        let address = Address::route(vname, &label, &dest.to_string());
                        let create = Step::create(
                            rank::ROUTE,
                            Op::CreateRoute {
                                region: region.clone(),
                                route_table: tref.clone(),
                                dest: dest.clone(),
                                target: ops::RouteTarget::Peering(pcx.id_ref(&pcx_address)),
                            },
                        );
                        let attrs = vec![AttrChange::new(
                            "target",
                            None,
                            Some(format!("{} ({})", pcx_address, pcx.kept().unwrap_or("new"))),
                        )];
                        let tid = match &tref {
                            IdRef::Id(t) => Some(t.clone()),
                            IdRef::Addr(_) => None,
                        };
                        if let Some(tid) = &tid {
                            let fate = self.vpcs.get(vname).cloned().unwrap_or(Fate::New);
                            let live_vpc = self.live_table(tid).map(|t| t.vpc_id.as_str());
                            let by_id = matches!(t, Ref::Id(_));
                            check_in_vpc(&address, &key, "route table", tid, by_id, live_vpc, vname, &fate)?;
                            wanted.insert((tid.clone(), dest.clone()));
                        }
                        let existing = tid
                            .as_deref()
                            .and_then(|t| self.live_table(t))
                            .and_then(|lt| lt.routes.iter().find(|r| r.dest == dest))
                            .zip(tid);
                        match existing {
                            None => self.push(created(address, &region, attrs, vec![create])),
                            Some((r, tid)) => {
                                // A route is ours to replace when its target is a
                                // peering this plan owns (even one gone since), or
                                // when it is a blackhole in a table the plan owns.
                                let ours = r
                                    .peering_id
                                    .as_deref()
                                    .is_some_and(|p| self.live.peerings.iter().any(|x| x.id == p))
                                    || (r.state.as_deref() == Some("blackhole")
                                        && self.live_table(&tid).is_some_and(|lt| {
                                            crate::model::owned_by(&lt.tags, &self.desired.name)
                                        }));
                                let same = pcx.kept().is_some() && r.peering_id.as_deref() == pcx.kept();
                                let blackhole = r.state.as_deref() == Some("blackhole");
                                if same && !blackhole {
                                    continue;
                                }
                                if !ours {
                                    let target = r
                                        .peering_id
                                        .clone()
                                        .or_else(|| r.gateway_id.clone())
                                        .unwrap_or_else(|| "another target".into());
                                    let state = if blackhole { " (a blackhole)" } else { "" };
                                    return Err(err_at(&address, &key, format!(
                                        "route table {tid} already routes {dest} to {target}{state}, which this plan does not own; remove that route or choose another table"
                                    )));
                                }
                                let reason = if blackhole {
                                    "route is a blackhole (its target is gone)"
                                } else {
                                    "target changes (forces replacement)"
                                };
                                let old = r.peering_id.clone().or_else(|| r.gateway_id.clone());
                                let attrs =
                                    vec![AttrChange::new("target", old, Some(pcx_address.to_string()))];
                                let steps = vec![
                                    Step::delete(
                                        rank::ROUTE,
                                        Op::DeleteRoute {
                                            region: region.clone(),
                                            route_table: tid.clone(),
                                            dest: dest.clone(),
                                        },
                                    ),
                                    create,
                                ];
                                self.push(route_change(
                                    address,
                                    Action::Replace,
                                    reason,
                                    &region,
                                    Some(tid.clone()),
                                    attrs,
                                    steps,
                                ));
                            }
                        }
                    }
                }
            }
            if self.emulator.is_moto() {
                self.gateway_routes();
            }
        }
        // Routes through peerings this plan owns that the plan no longer wants.
        let mut deletes = Vec::new();
        for t in &self.live.route_tables {
            for r in &t.routes {
                let Some(pcx) = r.peering_id.as_deref() else {
                    continue;
                };
                if !owned_pcx.contains(pcx) || wanted.contains(&(t.id.clone(), r.dest.clone())) {
                    continue;
                }
                let (v, n) = self.table_label(t);
                deletes.push(route_change(
                    Address::route(&v, &n, &r.dest.to_string()),
                    Action::Delete,
                    if self.mode == Mode::Destroy {
                        "its target is owned by this plan (destroy)"
                    } else {
                        "not in plan"
                    },
                    &t.region,
                    Some(t.id.clone()),
                    vec![AttrChange::new("target", Some(pcx.to_string()), None)],
                    vec![Step::delete(
                        rank::ROUTE,
                        Op::DeleteRoute {
                            region: t.region.clone(),
                            route_table: t.id.clone(),
                            dest: r.dest.clone(),
                        },
                    )],
                ));
            }
        }
        self.out.extend(deletes);
        Ok(())
    }

    /// moto only: a gateway endpoint kept in place must have its prefix-list
    /// route in every route table it is associated with; a missing one is
    /// restored by CreateRoute. moto's ModifyVpcEndpoint never adds or removes
    /// those routes, so on moto a missing one is drift s3ep must repair.
    ///
    /// Never on real EC2: there the endpoint's routes are EC2's own. EC2 adds
    /// them when the endpoint is created or a table is added to it (a moment
    /// after the call returns: a missing one is propagation in progress, not
    /// drift), and they cannot be created by hand ("Gateway endpoints", AWS
    /// PrivateLink guide: the routes are managed through the endpoint's route
    /// tables; see `crate::emulator`).
    fn gateway_routes(&mut self) {
        let mut add = Vec::new();
        for (ename, ep) in &self.desired.endpoints {
            let Some(Fate::Kept(eid)) = self.endpoints.get(ename) else {
                continue;
            };
            let Some(l) = self.live.endpoints.iter().find(|e| &e.id == eid) else {
                continue;
            };
            let region = self.region_of(&ep.vpc);
            let Some(pl) = self.live.prefix_lists.get(&(region.clone(), ep.service.clone())) else {
                continue;
            };
            if l.endpoint_type != crate::model::EndpointType::Gateway {
                continue;
            }
            for tid in &l.route_table_ids {
                let Some(t) = self.live_table(tid) else {
                    continue;
                };
                let dest = RouteDest::PrefixList(pl.clone());
                if t.routes.iter().any(|r| r.dest == dest) {
                    continue;
                }
                let (v, n) = self.table_label(t);
                add.push(route_change(
                    Address::route(&v, &n, pl),
                    Action::Create,
                    "route to the gateway endpoint is missing (deleted out of band)",
                    &region,
                    None,
                    vec![AttrChange::new("target", None, Some(eid.clone()))],
                    vec![Step::create(
                        rank::ROUTE,
                        Op::CreateRoute {
                            region: region.clone(),
                            route_table: IdRef::Id(tid.clone()),
                            dest,
                            target: ops::RouteTarget::Endpoint(eid.clone()),
                        },
                    )],
                ));
            }
        }
        self.out.extend(add);
    }
}

fn route_change(
    address: Address,
    action: Action,
    reason: &str,
    region: &str,
    id: Option<String>,
    attrs: Vec<AttrChange>,
    steps: Vec<Step>,
) -> Change {
    Change {
        scope: Vec::new(),
        address,
        action,
        reason: reason.to_string(),
        region: region.to_string(),
        id,
        attrs,
        steps,
    }
}
