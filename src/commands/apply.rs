//! `s3ep apply` and `s3ep destroy`: plan, show, confirm, execute.
//! Without `--yes` and without a terminal they refuse and change nothing.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::bail;

use crate::cli::{CostArgs, Global};
use crate::diff::Mode;
use crate::exec::{self, ExecOptions, Report, RetryPolicy, Stop};
use crate::render::{self, progress};
use crate::saved::SavedPlan;
use crate::warnings::{self, GATEWAY_ROUTE_SWITCH};

pub async fn run(
    g: &Global,
    path: &Path,
    mode: Mode,
    yes: bool,
    dry_run: bool,
    cost: &CostArgs,
) -> anyhow::Result<u8> {
    if mode == Mode::Apply {
        if let Some(saved) = crate::saved::read(path)? {
            return run_saved(g, path, saved, dry_run, cost).await;
        }
    }
    let stop = Stop::new();
    let ctx = super::read(g, path, mode, &stop).await?;
    let changes = super::changes(&ctx, mode)?;
    execute(g, ctx, changes, mode, yes, dry_run, cost, stop).await
}

/// `s3ep apply FILE` with a saved plan: the plan text comes from FILE; live
/// state is read again and must have the saved digest, and the changes
/// computed from it the saved one; then they run without confirmation.
async fn run_saved(
    g: &Global,
    path: &Path,
    saved: SavedPlan,
    dry_run: bool,
    cost: &CostArgs,
) -> anyhow::Result<u8> {
    let file = path.display();
    if saved.emulator != g.emulator {
        bail!(
            "{file}: this saved plan was computed with --emulator {}, not {}: apply it with the same setting; nothing was changed",
            saved.emulator,
            g.emulator
        );
    }
    let base_dir = match Path::new(&saved.plan_file).parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let desired = crate::plan::load_str(&saved.plan_content, &saved.plan_file, &base_dir)
        .map_err(|e| anyhow::anyhow!("{file}: the plan saved in this file is no longer valid:\n{e}"))?;
    let stop = Stop::new();
    let mut ctx = super::read_desired(g, desired, Mode::Apply, &stop).await?;
    ctx.live = crate::saved::normalize(&ctx.live);
    let again = format!(
        "run `s3ep plan {} --out {file}` again, review it, and apply that; nothing was changed",
        saved.plan_file
    );
    if crate::saved::live_digest(&ctx.live) != saved.live_digest {
        bail!(
            "stale plan: live state of plan {} has changed since {file} was saved; {again}",
            saved.plan
        );
    }
    let changes = super::changes(&ctx, Mode::Apply)?;
    if crate::saved::changes_digest(&changes) != saved.changes_digest {
        bail!(
            "stale plan: the changes computed now for plan {} differ from those saved in {file} (did a policy file the plan names change?); {again}",
            saved.plan
        );
    }
    execute(g, ctx, changes, Mode::Apply, true, dry_run, cost, stop).await
}

/// Shows the preview, asks (unless YES), executes and settles.
#[allow(clippy::too_many_arguments)]
async fn execute(
    g: &Global,
    ctx: super::Context,
    changes: crate::diff::Changes,
    mode: Mode,
    yes: bool,
    dry_run: bool,
    cost: &CostArgs,
    stop: Stop,
) -> anyhow::Result<u8> {
    let verb: &'static str = if mode == Mode::Apply { "apply" } else { "destroy" };
    // `destroy` shows its warnings too (a gateway endpoint's routes go).
    let warns = warnings::for_run(&ctx.desired, &ctx.live, &changes, mode);
    let show_preview = !(g.quiet && yes);
    if show_preview {
        let estimate = crate::cost::estimate(&ctx.desired, &ctx.live, mode, cost.gb_per_month);
        super::out(&render::human::plan_with(
            &ctx.desired.name,
            &changes,
            &warns,
            Some(&estimate),
            g.color.for_stdout(),
        ))?;
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
            attempts: g.max_attempts.max(1),
            stop: stop.clone(),
            ..RetryPolicy::default()
        },
        parallelism: g.parallelism as usize,
        emulator: g.emulator,
        // The next `plan` (or the re-run after a failure or Ctrl-C) finds
        // what this run creates by its tags: wait until EC2 lists it that
        // way (eventual consistency), so it sees it and does not make it
        // again. Each kind and region as soon as its last create has ended,
        // alongside the rest of the run.
        settle: (mode == Mode::Apply).then(|| exec::settle::Settle {
            plan: ctx.desired.name.clone(),
            timeout: SETTLE_TIMEOUT,
        }),
    };
    let signals = tokio::spawn(interrupts(stop.clone(), verb));
    let report = exec::execute(ctx.cloud.as_ref(), &changes, &reporter, &opts).await;
    reporter.finish();
    let mut unlisted = report.unlisted.clone();
    if report.stopped && !unlisted.is_empty() {
        // After Ctrl-C only briefly, and a second Ctrl-C still exits at
        // once (`interrupts` runs until the end of this wait).
        eprintln!(
            "Waiting up to {}s for EC2 to list what this run created, so a re-run sees it (Ctrl-C again to exit now).",
            SETTLE_AFTER_STOP.as_secs()
        );
        let policy = RetryPolicy {
            stop: Stop::default(),
            ..opts.policy.clone()
        };
        let created = report
            .created
            .iter()
            .filter(|(a, _)| unlisted.contains(a))
            .map(|(a, id)| (a.clone(), id.clone()))
            .collect();
        let settled = exec::settle::settle(
            ctx.cloud.as_ref(),
            &ctx.desired.name,
            &changes,
            &created,
            &policy,
            SETTLE_AFTER_STOP,
        )
        .await;
        match settled {
            Ok(late) => unlisted = late,
            Err(e) => eprintln!("warning: could not check that EC2 lists what was created: {e}"),
        }
    }
    if !unlisted.is_empty() {
        let names: Vec<String> = unlisted.iter().map(|a| a.to_string()).collect();
        eprintln!(
            "warning: EC2 does not list {} by its tags yet; a `plan` run now may not see it",
            names.join(", ")
        );
    }
    for e in &report.settle_errors {
        eprintln!("warning: could not check that EC2 lists what was created: {e}");
    }
    signals.abort();
    if !report.ok() {
        eprint!("{}", summary(verb, &report));
        return Ok(if report.stopped { 130 } else { 1 });
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

/// How long `apply` waits for EC2's tag-filtered Describe results to list
/// what it created (see `exec::settle`).
const SETTLE_TIMEOUT: std::time::Duration = exec::settle::TIMEOUT;

/// The same wait after Ctrl-C: short (the user asked to stop), enough for
/// the tag filters' usual lag of a few seconds.
const SETTLE_AFTER_STOP: std::time::Duration = std::time::Duration::from_secs(5);

/// First Ctrl-C: start nothing new, let calls in flight finish. Second:
/// exit at once with 130.
async fn interrupts(stop: Stop, verb: &'static str) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    stop.fire();
    eprintln!(
        "\nInterrupted: starting nothing new and letting calls in flight finish (Ctrl-C again to exit at once). Re-run `s3ep {verb}` to continue."
    );
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("Interrupted again: exiting now; re-run `s3ep {verb}` to converge.");
        std::process::exit(130);
    }
}

/// What a run that did not finish did and did not do.
fn summary(verb: &str, r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let head = if r.stopped { "interrupted" } else { "failed" };
    let _ = writeln!(
        s,
        "\n{verb} {head}: {} step(s) done, {} failed, {} interrupted, {} not attempted.",
        r.done.len(),
        r.failed.len(),
        r.interrupted.len(),
        r.not_attempted.len()
    );
    for f in &r.failed {
        let _ = writeln!(s, "  failed: {}: {}", f.label, f.message);
    }
    for f in &r.interrupted {
        let _ = writeln!(s, "  interrupted: {}: {}", f.label, f.message);
    }
    for n in &r.not_attempted {
        let _ = writeln!(s, "  not attempted: {}: {}", n.label, n.reason);
    }
    let _ = writeln!(s, "Re-run `s3ep {verb}` to continue from here.");
    s
}
