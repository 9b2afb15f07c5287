//! Route tables, their subnet associations, and routes (local, peering and
//! gateway-endpoint prefix-list routes).

use super::*;

pub(super) fn route_exists(cx: &Cx, rtb_id: &str, dest: &RouteDest) -> CloudError {
    cx.err(
        "RouteAlreadyExists",
        format!("The route identified by {dest} already exists in route table {rtb_id}."),
    )
}

pub(super) struct RouteTable {
    pub(super) id: String,
    pub(super) vpc_id: String,
    pub(super) main: bool,
    pub(super) associations: Vec<LAssociation>,
    pub(super) routes: Vec<Route>,
    pub(super) tags: Tags,
}

pub(super) struct Route {
    pub(super) dest: RouteDest,
    pub(super) target: Target,
}

pub(super) enum Target {
    /// `local`, a `vpce-…` or any foreign gateway id.
    Gateway(String),
    Peering(String),
}

impl Region {
    pub(super) fn rtb(&self, cx: &Cx, id: &str) -> CloudResult<&RouteTable> {
        self.route_tables.get(id).ok_or_else(|| cx.missing(&RTB, id))
    }

    pub(super) fn rtb_mut(&mut self, cx: &Cx, id: &str) -> CloudResult<&mut RouteTable> {
        self.route_tables.get_mut(id).ok_or_else(|| cx.missing(&RTB, id))
    }
}

impl Inner {
    pub(super) fn describe_route_tables(
        &mut self,
        cx: &Cx,
        filter: &Filter,
    ) -> CloudResult<Vec<LRouteTable>> {
        let peerings = &self.peerings;
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let metas = r
            .route_tables
            .values()
            .map(|t| Meta {
                id: &t.id,
                tags: &t.tags,
                vpcs: [&t.vpc_id, &t.vpc_id],
            })
            .collect();
        let ids = match filter {
            Filter::RoutesVia(pcx) => r
                .route_tables
                .values()
                .filter(|t| {
                    t.routes
                        .iter()
                        .any(|route| matches!(&route.target, Target::Peering(p) if pcx.contains(p)))
                })
                .map(|t| t.id.clone())
                .collect(),
            _ => pick(cx, filter, &RTB, metas, &mut self.lag)?,
        };
        Ok(ids
            .iter()
            .filter_map(|id| r.route_tables.get(id))
            .map(|t| LRouteTable {
                id: t.id.clone(),
                region: cx.region.to_string(),
                vpc_id: t.vpc_id.clone(),
                associations: t.associations.clone(),
                routes: t
                    .routes
                    .iter()
                    .map(|route| match &route.target {
                        Target::Gateway(g) => LRoute {
                            dest: route.dest.clone(),
                            gateway_id: Some(g.clone()),
                            peering_id: None,
                            state: Some("active".to_string()),
                        },
                        Target::Peering(p) => {
                            let live = peerings.get(p).is_some_and(|p| !p.status.is_gone());
                            LRoute {
                                dest: route.dest.clone(),
                                gateway_id: None,
                                peering_id: Some(p.clone()),
                                state: Some(if live { "active" } else { "blackhole" }.to_string()),
                            }
                        }
                    })
                    .collect(),
                tags: t.tags.clone(),
            })
            .collect())
    }

    // --- route tables ---

    pub(super) fn create_route_table(
        &mut self,
        cx: &Cx,
        vpc_id: &str,
        tags: &Tags,
        token: Option<&str>,
    ) -> CloudResult<String> {
        let r = self.regions.entry(cx.region.to_string()).or_default();
        if let Some((tvpc, ttags, id)) = token.and_then(|t| r.rtb_tokens.get(t)) {
            if tvpc == vpc_id && ttags == tags {
                return Ok(id.clone());
            }
            return Err(cx.err(
                "IdempotentParameterMismatch",
                "The client token has been used with different parameters",
            ));
        }
        let cidr = r.vpc(cx, vpc_id)?.cidr;
        let id = self.id("rtb");
        let r = self.reg(cx.region);
        r.route_tables.insert(
            id.clone(),
            RouteTable {
                id: id.clone(),
                vpc_id: vpc_id.to_string(),
                main: false,
                associations: Vec::new(),
                routes: vec![local_route(cidr)],
                tags: tags.clone(),
            },
        );
        if let Some(t) = token {
            r.rtb_tokens
                .insert(t.to_string(), (vpc_id.to_string(), tags.clone(), id.clone()));
        }
        Ok(id)
    }

    pub(super) fn delete_route_table(&mut self, cx: &Cx, rtb_id: &str) -> CloudResult<()> {
        let r = self.reg(cx.region);
        if !r.rtb(cx, rtb_id)?.associations.is_empty() {
            return Err(cx.dependency("routeTable", rtb_id));
        }
        r.route_tables.remove(rtb_id);
        for e in r.endpoints.values_mut() {
            e.route_table_ids.retain(|t| t != rtb_id);
        }
        Ok(())
    }

    pub(super) fn associate(&mut self, cx: &Cx, rtb_id: &str, subnet_id: &str) -> CloudResult<String> {
        let r = self.reg(cx.region);
        let table_vpc = r.rtb(cx, rtb_id)?.vpc_id.clone();
        let subnet = r.subnet(cx, subnet_id)?;
        if subnet.vpc_id != table_vpc {
            return Err(cx.invalid(format!(
                "Route table {rtb_id} and subnet {subnet_id} belong to different networks"
            )));
        }
        let taken = r.route_tables.values().find(|t| {
            t.associations
                .iter()
                .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
        });
        if let Some(t) = taken {
            return Err(cx.err(
                "Resource.AlreadyAssociated",
                format!(
                    "the specified association for route table {} conflicts with an existing association",
                    t.id
                ),
            ));
        }
        let assoc_id = self.id("rtbassoc");
        self.reg(cx.region)
            .rtb_mut(cx, rtb_id)?
            .associations
            .push(LAssociation {
                id: assoc_id.clone(),
                subnet_id: Some(subnet_id.to_string()),
                main: false,
            });
        Ok(assoc_id)
    }

    pub(super) fn disassociate(&mut self, cx: &Cx, association_id: &str) -> CloudResult<()> {
        let r = self.reg(cx.region);
        for t in r.route_tables.values_mut() {
            if let Some(pos) = t.associations.iter().position(|a| a.id == association_id) {
                if t.associations[pos].main {
                    return Err(cx.invalid(format!(
                        "cannot disassociate the main route table association {association_id}"
                    )));
                }
                t.associations.remove(pos);
                return Ok(());
            }
        }
        Err(cx.err(
            "InvalidAssociationID.NotFound",
            format!("The association ID '{association_id}' does not exist"),
        ))
    }

    pub(super) fn create_peering_route(
        &mut self,
        cx: &Cx,
        rtb_id: &str,
        dest: &RouteDest,
        peering_id: &str,
    ) -> CloudResult<()> {
        let peerings = &self.peerings;
        let r = self.regions.entry(cx.region.to_string()).or_default();
        let t = r.rtb(cx, rtb_id)?;
        let p = peerings
            .get(peering_id)
            .filter(|p| p.visible_from(cx.region) && p.status != PcxState::Deleted)
            .ok_or_else(|| cx.missing(&PCX, peering_id))?;
        if p.status != PcxState::Active {
            return Err(cx.invalid(format!(
                "The vpc peering connection {peering_id} is not active (status {})",
                p.status.label()
            )));
        }
        if !p.involves(cx.region, &t.vpc_id) {
            return Err(cx.invalid(format!(
                "The vpc peering connection {peering_id} does not involve the VPC {} of route table {rtb_id}",
                t.vpc_id
            )));
        }
        if let RouteDest::Cidr(c) = dest {
            let own = r.vpcs.get(&t.vpc_id).map(|v| v.cidr);
            if own.is_some_and(|own| own.contains(c)) {
                return Err(cx.invalid(format!(
                    "The destination CIDR block {c} is equal to or more specific than one of this VPC's CIDR blocks."
                )));
            }
        }
        if t.routes.iter().any(|route| &route.dest == dest) {
            return Err(route_exists(cx, rtb_id, dest));
        }
        r.rtb_mut(cx, rtb_id)?.routes.push(Route {
            dest: dest.clone(),
            target: Target::Peering(peering_id.to_string()),
        });
        Ok(())
    }

    /// CreateRoute with a gateway endpoint as the target: only into a table
    /// the endpoint is associated with.
    pub(super) fn create_endpoint_route(
        &mut self,
        cx: &Cx,
        rtb_id: &str,
        dest: &RouteDest,
        endpoint_id: &str,
    ) -> CloudResult<()> {
        let r = self.reg(cx.region);
        let t = r.rtb(cx, rtb_id)?;
        let e = r
            .endpoints
            .get(endpoint_id)
            .filter(|e| e.state != EpState::Deleted)
            .ok_or_else(|| cx.missing(&VPCE, endpoint_id))?;
        if matches!(e.state, EpState::Deleting(_)) {
            return Err(cx.err(
                "IncorrectState",
                format!("The VPC endpoint {endpoint_id} is being deleted"),
            ));
        }
        if e.endpoint_type != EndpointType::Gateway || !e.route_table_ids.iter().any(|id| id == rtb_id) {
            return Err(cx.invalid(format!(
                "The route target {endpoint_id} is not a gateway endpoint associated with route table {rtb_id}"
            )));
        }
        if t.routes.iter().any(|route| &route.dest == dest) {
            return Err(route_exists(cx, rtb_id, dest));
        }
        r.rtb_mut(cx, rtb_id)?.routes.push(Route {
            dest: dest.clone(),
            target: Target::Gateway(endpoint_id.to_string()),
        });
        Ok(())
    }

    pub(super) fn delete_route(
        &mut self,
        cx: &Cx,
        rtb_id: &str,
        dest: &RouteDest,
        allow_local: bool,
    ) -> CloudResult<()> {
        let t = self.reg(cx.region).rtb_mut(cx, rtb_id)?;
        let Some(pos) = t.routes.iter().position(|r| &r.dest == dest) else {
            return Err(cx.err(
                "InvalidRoute.NotFound",
                format!("no route with destination {dest} in route table {rtb_id}"),
            ));
        };
        if !allow_local && matches!(&t.routes[pos].target, Target::Gateway(g) if g == "local") {
            return Err(cx.invalid(format!(
                "cannot remove local route {dest} in route table {rtb_id}"
            )));
        }
        t.routes.remove(pos);
        Ok(())
    }
}

pub(super) fn local_route(cidr: Ipv4Net) -> Route {
    Route {
        dest: RouteDest::Cidr(cidr),
        target: Target::Gateway("local".to_string()),
    }
}
