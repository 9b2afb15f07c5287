//! `s3ep plan PLAN`: read, diff, show. Never mutates.

use std::path::Path;

use crate::cli::{CostArgs, Global};
use crate::diff::Mode;
use crate::render;
use crate::warnings;

pub async fn run(g: &Global, path: &Path, json: bool, detailed: bool, cost: &CostArgs) -> anyhow::Result<u8> {
    let ctx = super::read(g, path, Mode::Apply, &Default::default()).await?;
    let changes = super::changes(&ctx, Mode::Apply)?;
    let warns = warnings::for_run(&ctx.desired, &ctx.live, &changes, Mode::Apply);
    let estimate = crate::cost::estimate(&ctx.desired, &ctx.live, Mode::Apply, cost.gb_per_month);
    if json {
        let mut doc = render::json::plan(&ctx.desired.name, &changes, &warns);
        doc["cost"] = estimate.json();
        super::out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else {
        super::out(&render::human::plan_with(
            &ctx.desired.name,
            &changes,
            &warns,
            Some(&estimate),
            g.color.for_stdout(),
        ))?;
    }
    Ok(if detailed && !changes.is_empty() { 2 } else { 0 })
}
