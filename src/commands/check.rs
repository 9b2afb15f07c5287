//! `s3ep check PLAN`: static reachability from live state, read-only.
//! Exit 0 when every path is open, 3 when one is blocked, 1 on error.

use std::path::Path;

use anyhow::Context as _;

use crate::cli::Global;
use crate::state::StateError;

pub async fn run(g: &Global, path: &Path, json: bool) -> anyhow::Result<u8> {
    let desired = super::load(path)?;
    let cloud = super::connect(g, &desired, &Default::default()).await;
    let snap = match crate::check::read(cloud.as_ref(), &desired).await {
        Ok(s) => s,
        Err(StateError::Adopted { key, message }) => {
            let at = desired
                .key_for_id(&key)
                .map(|k| format!("{}: {k}", desired.origin.locate(&k)))
                .unwrap_or_else(|| desired.origin.file.clone());
            anyhow::bail!("{at}: {message}");
        }
        Err(e) => return Err(e).context("reading live state"),
    };
    let report = crate::check::check(&desired, &snap);
    if json {
        super::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&crate::check::json(&report))?
        ))?;
    } else {
        super::out(&crate::check::human(&report))?;
    }
    Ok(report.exit_code())
}
