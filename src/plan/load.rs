//! Reading a plan: file size and encoding checks, YAML parsing, decoding
//! and validation, in that order.

use std::io::Read;
use std::path::Path;

use super::error::{PlanError, PlanErrors, Pos, Sink};
use super::schema::Decoder;
use super::{tree, validate};
use crate::model::Desired;

/// Largest plan file s3ep reads: 1 MiB. Larger files are refused before parsing.
pub const MAX_PLAN_BYTES: usize = 1024 * 1024;

/// Load and validate the plan file at `path`. Policy files named in the plan
/// are read relative to the plan file's directory.
pub fn load_file(path: &Path) -> Result<Desired, PlanErrors> {
    let file = path.display().to_string();
    let fail = |msg: String| PlanErrors::from(PlanError::new(file.clone(), "", None, msg));
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_PLAN_BYTES).unwrap_or(u64::MAX);
    std::fs::File::open(path)
        .and_then(|f| {
            if let Ok(meta) = f.metadata() {
                if meta.is_dir() {
                    return Err(std::io::Error::other("is a directory"));
                }
                if meta.len() > limit {
                    return Err(std::io::Error::other(too_large(meta.len())));
                }
            }
            f.take(limit + 1).read_to_end(&mut bytes)
        })
        .map_err(|e| fail(format!("cannot read plan file: {e}")))?;
    if bytes.len() > MAX_PLAN_BYTES {
        return Err(fail(too_large(bytes.len() as u64)));
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            return Err(PlanErrors::from(PlanError::new(
                file,
                "",
                Some(Pos { line, column }),
                format!(
                    "the plan file is not valid UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                ),
            )));
        }
    };
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    load_str(text, &file, base_dir)
}

fn too_large(len: u64) -> String {
    format!("the plan file is {len} bytes; plans are limited to {MAX_PLAN_BYTES} bytes (1 MiB)")
}

/// Load and validate a plan given as text. `file` names it in errors;
/// `base_dir` is where relative policy `file:` paths are read from.
pub fn load_str(text: &str, file: &str, base_dir: &Path) -> Result<Desired, PlanErrors> {
    let mut sink = Sink::new(file);
    if text.len() > MAX_PLAN_BYTES {
        sink.at("", None, too_large(text.len() as u64));
        return Err(sink.finish());
    }
    let root = match tree::parse(text) {
        Ok(root) => root,
        Err((pos, msg)) => {
            sink.at("", pos, msg);
            return Err(sink.finish());
        }
    };
    let Some(raw) = Decoder::new(text, &mut sink).plan(&root) else {
        return Err(sink.finish());
    };
    match validate::validate(&raw, base_dir, &mut sink) {
        Some(desired) if !sink.has_errors() => Ok(desired),
        _ => {
            if !sink.has_errors() {
                sink.at("", None, "the plan is invalid");
            }
            Err(sink.finish())
        }
    }
}
