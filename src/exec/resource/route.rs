//! Routes: peering routes s3ep owns (CreateRoute/DeleteRoute), and, on
//! emulators only, a gateway endpoint's prefix-list route restored by hand.

use crate::diff::ops::RouteTarget;
use crate::diff::IdRef;
use crate::exec::{Ctx, StepError};
use crate::model::RouteDest;

/// DeleteRoute of a route that does not exist, or in a table that does not
/// (a route goes with its table).
pub const GONE: &[&str] = &["InvalidRoute.NotFound", "InvalidRouteTableID.NotFound"];

/// Creates the route; one already there (`RouteAlreadyExists`, a resent
/// call whose answer was lost) is success.
pub async fn create(
    cx: &Ctx<'_>,
    region: &str,
    route_table: &IdRef,
    dest: &RouteDest,
    target: &RouteTarget,
) -> Result<String, StepError> {
    let c = cx.cloud;
    let p = cx.policy();
    let (rt, f1) = cx.resolve(route_table)?;
    let result = match target {
        RouteTarget::Peering(pcx) => {
            let (pcx, f2) = cx.resolve(pcx)?;
            p.fresh(f1 || f2, || c.create_peering_route(region, &rt, dest, &pcx))
                .await
        }
        // EC2 adds and removes these routes itself and refuses them by hand;
        // the diff asks for one only with the moto switch on (see
        // `crate::emulator`).
        RouteTarget::Endpoint(vpce) => {
            p.fresh(f1, || c.create_endpoint_route(region, &rt, dest, vpce))
                .await
        }
    };
    match result {
        Err(e) if e.is_duplicate() => Ok(format!("{rt}: already present")),
        r => r.map(|_| rt),
    }
}

pub async fn delete(
    cx: &Ctx<'_>,
    region: &str,
    route_table: &str,
    dest: &RouteDest,
) -> Result<(), StepError> {
    let c = cx.cloud;
    cx.policy()
        .delete(GONE, || c.delete_route(region, route_table, dest))
        .await
}
