//! `s3ep outputs PLAN`: endpoint ids, states, DNS names, client settings.

use std::path::Path;

use crate::cli::Global;
use crate::render::outputs;

pub async fn run(g: &Global, path: &Path, json: bool) -> anyhow::Result<u8> {
    let ctx = super::read(g, path, crate::diff::Mode::Apply, &Default::default()).await?;
    // The CIDRs of each region's S3 prefix list, for gateway endpoints
    // (one GetManagedPrefixListEntries per region that has one).
    let mut cidrs = std::collections::BTreeMap::new();
    for (region, pl) in &ctx.live.s3_prefix_lists {
        let has_gateway = ctx.desired.endpoints.values().any(|e| {
            e.endpoint_type() == crate::model::EndpointType::Gateway
                && ctx.desired.vpcs.get(&e.vpc).is_some_and(|v| &v.region == region)
        });
        if has_gateway {
            cidrs.insert(region.clone(), ctx.cloud.prefix_list_cidrs(region, pl).await?);
        }
    }
    let list = outputs::collect_with(&ctx.desired, &ctx.live, &cidrs);
    if json {
        super::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&outputs::json(&ctx.desired.name, &list))?
        ))?;
    } else {
        super::out(&outputs::human(&ctx.desired.name, &list))?;
    }
    Ok(0)
}
