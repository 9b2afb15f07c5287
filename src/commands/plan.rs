//! `s3ep plan PLAN`: read, diff, show. Never mutates.

use std::path::Path;

use crate::cli::Global;
use crate::diff::Mode;
use crate::render;
use crate::warnings;

pub async fn run(g: &Global, path: &Path, json: bool, detailed: bool) -> anyhow::Result<u8> {
    let ctx = super::read(g, path, Mode::Apply, &Default::default()).await?;
    let changes = super::changes(&ctx, Mode::Apply)?;
    let warns = warnings::for_apply(&ctx.desired, &changes);
    if json {
        let doc = render::json::plan(&ctx.desired.name, &changes, &warns);
        super::out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else {
        super::out(&render::human::plan_colored(
            &ctx.desired.name,
            &changes,
            &warns,
            g.color.for_stdout(),
        ))?;
    }
    Ok(if detailed && !changes.is_empty() { 2 } else { 0 })
}
