//! `s3ep outputs PLAN`: endpoint ids, states, DNS names, client settings.

use std::path::Path;

use crate::cli::Global;
use crate::render::outputs;

pub async fn run(g: &Global, path: &Path, json: bool) -> anyhow::Result<u8> {
    let ctx = super::read(g, path, crate::diff::Mode::Apply, &Default::default()).await?;
    let cidrs = outputs::prefix_cidrs(ctx.cloud.as_ref(), &ctx.desired, &ctx.live).await?;
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
