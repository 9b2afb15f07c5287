//! `s3ep apply` and `s3ep destroy`: plan, show, confirm, execute.
//! Without `--yes` and without a terminal they refuse and change nothing.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::bail;

use crate::cli::Global;
use crate::diff::Mode;
use crate::exec::{self, ExecOptions, RetryPolicy};
use crate::render::{self, progress};
use crate::warnings::{self, GATEWAY_ROUTE_SWITCH};

pub async fn run(g: &Global, path: &Path, mode: Mode, yes: bool, dry_run: bool) -> anyhow::Result<u8> {
    let verb = if mode == Mode::Apply { "apply" } else { "destroy" };
    let ctx = super::read(g, path, mode).await?;
    let changes = super::changes(&ctx, mode)?;
    let warns = if mode == Mode::Apply {
        warnings::for_apply(&ctx.desired, &changes)
    } else {
        Vec::new()
    };
    let show_preview = !(g.quiet && yes);
    if show_preview {
        super::out(&render::human::plan(&ctx.desired.name, &changes, &warns))?;
    }
    if changes.is_empty() {
        return Ok(0);
    }
    if dry_run {
        if !g.quiet {
            super::out("Dry run: nothing was changed.\n")?;
        }
        return Ok(0);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("refusing to {verb} plan {} without confirmation: standard input is not a terminal; nothing was changed (re-run with --yes to {verb} without asking)", ctx.desired.name);
        }
        let switch: Vec<_> = warns.iter().filter(|w| w.code == GATEWAY_ROUTE_SWITCH).collect();
        let mut err = std::io::stderr().lock();
        if !switch.is_empty() {
            let _ = writeln!(err);
            for w in switch {
                let _ = writeln!(err, "WARNING [{}] {}: {}", w.code, w.address, w.message);
            }
        }
        let _ = write!(
            err,
            "\nDo you want to {verb} these changes to plan {}? Only 'yes' is accepted: ",
            ctx.desired.name
        );
        let _ = err.flush();
        drop(err);
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            eprintln!("{verb} cancelled: nothing was changed.");
            return Ok(1);
        }
    }
    let mode_p = if g.quiet {
        progress::Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        progress::Mode::Bars
    } else {
        progress::Mode::Lines
    };
    let reporter = progress::Progress::new(mode_p);
    let opts = ExecOptions {
        policy: RetryPolicy {
            wait_timeout: super::wait_timeout(g),
            ..RetryPolicy::default()
        },
    };
    let report = exec::execute(ctx.cloud.as_ref(), &changes, &reporter, &opts).await;
    reporter.finish();
    if let Some(f) = &report.failed {
        eprintln!(
            "\n{verb} failed at {}: {}\n{} step(s) done, {} not attempted:",
            f.address,
            f.message,
            report.done.len(),
            report.not_attempted.len()
        );
        for n in &report.not_attempted {
            eprintln!("  not attempted: {n}");
        }
        eprintln!("Re-run `s3ep {verb}` to continue from here.");
        return Ok(1);
    }
    if !g.quiet {
        let n = changes.summary();
        super::out(&format!(
            "{} complete: {} created, {} updated, {} replaced, {} deleted.\n",
            if mode == Mode::Apply { "Apply" } else { "Destroy" },
            n.create,
            n.update,
            n.replace,
            n.delete
        ))?;
    }
    Ok(0)
}
