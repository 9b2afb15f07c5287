//! `s3ep policy bucket PLAN --bucket NAME` and `s3ep policy lint FILE`.

use std::path::Path;

use crate::cli::{Global, PolicyCommand};
use crate::diff::Mode;

pub async fn run(g: &Global, command: &PolicyCommand) -> anyhow::Result<u8> {
    match command {
        PolicyCommand::Bucket {
            plan,
            bucket,
            allow_principal,
        } => bucket_policy(g, plan, bucket, allow_principal).await,
        PolicyCommand::Lint { file } => lint(file),
    }
}

/// Prints the bucket policy (stdout) and the lock-out warning (stderr).
/// The arguments are checked before any AWS call; then live state is read
/// the normal way (read-only).
async fn bucket_policy(g: &Global, path: &Path, bucket: &str, principals: &[String]) -> anyhow::Result<u8> {
    let desired = super::load(path)?;
    crate::policy::check_bucket_args(&desired, bucket, principals)?;
    let ctx = super::read(g, path, Mode::Apply, &Default::default()).await?;
    let (doc, warning) = crate::policy::bucket_policy_for(&ctx.desired, &ctx.live, bucket, principals)?;
    super::out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    eprintln!("{warning}");
    Ok(0)
}

/// Exit 0 clean, 3 findings, 1 error.
fn lint(file: &Path) -> anyhow::Result<u8> {
    let findings = crate::policy::lint_file(file)?;
    if findings.is_empty() {
        super::out(&format!("{}: no findings\n", file.display()))?;
        return Ok(0);
    }
    let mut s = String::new();
    for f in &findings {
        let at = if f.at.is_empty() {
            String::new()
        } else {
            format!(" {}", f.at)
        };
        s.push_str(&format!("{}:{at} [{}] {}\n", file.display(), f.code, f.message));
    }
    s.push_str(&format!("{} finding(s)\n", findings.len()));
    super::out(&s)?;
    Ok(3)
}
