//! `s3ep outputs PLAN`: endpoint ids, states, DNS names, client settings.

use std::path::Path;

use crate::cli::Global;
use crate::render::outputs;

pub async fn run(g: &Global, path: &Path, json: bool) -> anyhow::Result<u8> {
    let ctx = super::read(g, path, crate::diff::Mode::Apply, &Default::default()).await?;
    let list = outputs::collect(&ctx.desired, &ctx.live);
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
