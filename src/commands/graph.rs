//! `s3ep graph PLAN [--format mermaid|dot] [--offline]`.

use std::path::Path;

use crate::cli::Global;
use crate::diff::Mode;
use crate::graph::{self, Format};

pub async fn run(g: &Global, path: &Path, format: Format, offline: bool) -> anyhow::Result<u8> {
    if offline {
        // No client is even built: no credential lookup, no call.
        let desired = super::load(path)?;
        super::out(&graph::render(&desired, None, format))?;
    } else {
        let ctx = super::read(g, path, Mode::Apply, &Default::default()).await?;
        super::out(&graph::render(&ctx.desired, Some(&ctx.live), format))?;
    }
    Ok(0)
}
