//! `s3ep plan PLAN`: read, diff, show. Never mutates. With `--out FILE`, also
//! saves the plan for `s3ep apply FILE` (see `crate::saved`).

use std::path::Path;

use anyhow::Context as _;

use crate::cli::{CostArgs, Global};
use crate::diff::Mode;
use crate::render;
use crate::saved::{self, SavedPlan};
use crate::warnings;

pub async fn run(
    g: &Global,
    path: &Path,
    json: bool,
    detailed: bool,
    cost: &CostArgs,
    out: Option<&Path>,
) -> anyhow::Result<u8> {
    // Read the text once: what is saved is exactly what was planned.
    let saved_text = out.map(|_| std::fs::read_to_string(path).ok());
    let mut ctx = super::read(g, path, Mode::Apply, &Default::default()).await?;
    if out.is_some() {
        // The same fixed order `apply FILE` diffs with (see `saved::normalize`).
        ctx.live = saved::normalize(&ctx.live);
    }
    let changes = super::changes(&ctx, Mode::Apply)?;
    let warns = warnings::for_run(&ctx.desired, &ctx.live, &changes, Mode::Apply);
    let estimate = crate::cost::estimate(&ctx.desired, &ctx.live, Mode::Apply, cost.gb_per_month);
    let doc = render::json::plan(&ctx.desired.name, &changes, &warns);
    if let (Some(file), Some(text)) = (out, saved_text) {
        let text = text.with_context(|| format!("cannot read plan file {}", path.display()))?;
        let plan = SavedPlan {
            plan: ctx.desired.name.clone(),
            // Absolute, so that `apply FILE` run elsewhere reads the plan's
            // relative policy files from the same directory.
            plan_file: std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
                .to_string(),
            plan_content: text,
            emulator: ctx.emulator,
            live_digest: saved::live_digest(&ctx.live),
            changes_digest: saved::changes_digest(&changes),
            changes: doc.clone(),
        };
        let body = format!("{}\n", serde_json::to_string_pretty(&plan.to_json())?);
        std::fs::write(file, body).with_context(|| format!("cannot write saved plan {}", file.display()))?;
    }
    if json {
        let mut doc = doc;
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
        if let Some(file) = out {
            if !g.quiet {
                super::out(&format!(
                    "\nSaved this plan to {}. To apply exactly these changes: s3ep apply {}\n",
                    file.display(),
                    file.display()
                ))?;
            }
        }
    }
    Ok(if detailed && !changes.is_empty() { 2 } else { 0 })
}
