//! The in-process half of the critical-path measurement (BENCHMARKS.md,
//! "Critical-path bounds"): `s3ep apply --yes -q PLAN` with s3ep's defaults,
//! through the same library functions the CLI runs (plan load, state read,
//! diff, `exec::execute` with the default `ExecOptions` and apply's settle), against the
//! in-memory EC2 with a fixed latency per call and s3ep's default rate
//! buckets (`RateLimits::default()`, per region and action as `AwsCloud`
//! keeps them). The emulator costs nothing but that latency; there is no
//! process start-up, HTTP or SDK serialization in the figure.
//!
//! ```text
//! cargo run --example critical_path -- plans/cross-region-lab.yaml --repeat 5
//! cargo run --example critical_path -- --json --latency-ms 50 PLAN
//! ```
//!
//! Each run uses a fresh `MemoryCloud` and real (not paused) tokio time. The
//! wall time runs from the start of the state read to the end of the settle.
//! After each run (untimed, no latency) the plan is read and diffed again:
//! it must show no changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio::time::Instant;

use clap::Parser;
use s3ep::cloud::memory::MemoryCloud;
use s3ep::cloud::rate::RateLimits;
use s3ep::commands::{diff_live, load, read_live};
use s3ep::diff::Mode;
use s3ep::emulator::Emulator;
use s3ep::exec::{self, ExecOptions};
use s3ep::model::Desired;
use s3ep::render::progress::{self, Progress};
use serde_json::json;

/// Times a fresh apply of PLAN against the in-memory EC2.
#[derive(Parser)]
struct Args {
    /// The plan file.
    plan: PathBuf,
    /// Latency of every EC2 call, in milliseconds.
    #[arg(long, default_value_t = 50.0)]
    latency_ms: f64,
    /// Runs (each with a fresh in-memory cloud).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// One JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Steps in flight at once (a diagnosis knob; the measurement uses
    /// s3ep's default, as `apply` without --parallelism does).
    #[arg(long, default_value_t = exec::DEFAULT_PARALLELISM)]
    parallelism: usize,
    /// Text output: also list every call with the time it was sent.
    #[arg(long)]
    calls: bool,
    /// Turn the client-side rate buckets off (default: s3ep's defaults).
    #[arg(long)]
    no_rate_limits: bool,
}

/// One timed apply.
struct Run {
    wall: Duration,
    read: Duration,
    diff: Duration,
    /// `exec::execute`, its settle included (it runs inside the walk).
    execute: Duration,
    changes: usize,
    calls: Vec<(String, String)>,
    /// Seconds from t0 to the sending of each call (after its rate token).
    sent: Vec<f64>,
    calls_read: usize,
    calls_execute: usize,
    /// Most calls in their latency at once during the read, and during
    /// execute + settle.
    max_in_flight_read: usize,
    max_in_flight_apply: usize,
    not_listed_after_settle: usize,
}

async fn one_run(
    desired: &Desired,
    latency: Duration,
    rates: Option<RateLimits>,
    parallelism: usize,
) -> anyhow::Result<Run> {
    let cloud = MemoryCloud::new();
    cloud.set_latency(latency);
    cloud.set_rate_limits(rates);
    // `s3ep apply --yes -q` with no other flag: default parallelism,
    // attempts and wait timeout (src/cli.rs defaults = ExecOptions::default()).
    // As src/commands/apply.rs: the settle runs inside the walk.
    let opts = ExecOptions {
        parallelism: parallelism.max(1),
        settle: Some(exec::settle::Settle {
            plan: desired.name.clone(),
            timeout: exec::settle::TIMEOUT,
        }),
        ..ExecOptions::default()
    };
    let reporter = Progress::new(progress::Mode::Quiet);

    let t0 = Instant::now();
    let live = read_live(&cloud, desired, Mode::Apply).await?;
    let read = t0.elapsed();
    // The read's calls and peak, then the log restarts for execute + settle.
    let mut calls = cloud.calls();
    let mut times = cloud.call_times();
    let calls_read = calls.len();
    let max_in_flight_read = cloud.max_in_flight();
    cloud.reset_calls();
    let changes = diff_live(desired, &live, Mode::Apply, Emulator::Off)?;
    let t_diff = t0.elapsed();
    let report = exec::execute(&cloud, &changes, &reporter, &opts).await;
    reporter.finish();
    let t_exec = t0.elapsed();
    let calls_execute = cloud.calls().len();
    let late = report.unlisted.clone();
    let wall = t0.elapsed();
    if !report.ok() {
        let f: Vec<String> = report
            .failed
            .iter()
            .map(|f| format!("{}: {}", f.label, f.message))
            .collect();
        anyhow::bail!("apply failed: {}", f.join("; "));
    }
    calls.extend(cloud.calls());
    times.extend(cloud.call_times());
    // Seconds after t0 at which each call was sent (it acts after its latency).
    let sent: Vec<f64> = times
        .iter()
        .map(|t| t.saturating_duration_since(t0).as_secs_f64() - latency.as_secs_f64())
        .collect();
    let max_in_flight_apply = cloud.max_in_flight();

    // Untimed: the apply converged (a second plan shows nothing to do).
    cloud.set_latency(Duration::ZERO);
    cloud.set_rate_limits(None);
    let again = read_live(&cloud, desired, Mode::Apply).await?;
    let left = diff_live(desired, &again, Mode::Apply, Emulator::Off)?;
    if !left.is_empty() {
        anyhow::bail!(
            "the plan still shows {} change(s) after the apply",
            left.changes.len()
        );
    }
    Ok(Run {
        wall,
        read,
        diff: t_diff - read,
        execute: t_exec - t_diff,
        changes: changes.changes.len(),
        calls,
        sent,
        calls_read,
        calls_execute,
        max_in_flight_read,
        max_in_flight_apply,
        not_listed_after_settle: late.len(),
    })
}

/// Per region, when each CreateVpcEndpoint was sent (s after t0).
fn endpoint_creates(r: &Run) -> BTreeMap<&str, Vec<f64>> {
    let mut m: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((op, region), t) in r.calls.iter().zip(&r.sent) {
        if op == "CreateVpcEndpoint" {
            m.entry(region.as_str()).or_default().push(*t);
        }
    }
    for v in m.values_mut() {
        v.sort_by(f64::total_cmp);
    }
    m
}

/// When the first call that changes something was sent (s after t0).
fn first_mutating(r: &Run) -> Option<f64> {
    r.calls
        .iter()
        .zip(&r.sent)
        .filter(|((op, _), _)| !op.starts_with("Describe") && !op.starts_with("Get"))
        .map(|(_, t)| *t)
        .min_by(f64::total_cmp)
}

fn by_op(calls: &[(String, String)]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for (op, _) in calls {
        *m.entry(op.as_str()).or_insert(0) += 1;
    }
    m
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    if !(args.latency_ms.is_finite() && args.latency_ms >= 0.0) {
        anyhow::bail!("--latency-ms must be a number >= 0");
    }
    let desired = load(&args.plan)?;
    let latency = Duration::from_secs_f64(args.latency_ms / 1000.0);
    let rates = (!args.no_rate_limits).then(RateLimits::default);
    let mut runs = Vec::new();
    for i in 0..args.repeat.max(1) {
        let r = one_run(&desired, latency, rates, args.parallelism).await?;
        if !args.json {
            print_run(i + 1, &r);
            if args.calls {
                let mut log: Vec<_> = r.sent.iter().zip(&r.calls).collect();
                log.sort_by(|a, b| a.0.total_cmp(b.0));
                for (t, (op, region)) in log {
                    println!("  {t:>8.3} s  {op} ({region})");
                }
            }
        }
        runs.push(r);
    }
    if args.json {
        let runs: Vec<_> = runs
            .iter()
            .map(|r| {
                json!({
                    "wall_s": r.wall.as_secs_f64(),
                    "read_s": r.read.as_secs_f64(),
                    "diff_s": r.diff.as_secs_f64(),
                    "execute_s": r.execute.as_secs_f64(),
                    "changes": r.changes,
                    "calls": r.calls.len(),
                    "calls_read": r.calls_read,
                    "calls_execute": r.calls_execute,
                    "calls_by_op": by_op(&r.calls),
                    "max_in_flight": r.max_in_flight_read.max(r.max_in_flight_apply),
                    "max_in_flight_read": r.max_in_flight_read,
                    "max_in_flight_execute_settle": r.max_in_flight_apply,
                    "not_listed_after_settle": r.not_listed_after_settle,
                    "first_mutating_sent_s": first_mutating(r),
                    "endpoint_creates_sent_s": endpoint_creates(r),
                })
            })
            .collect();
        let doc = json!({
            "plan": args.plan.display().to_string(),
            "plan_name": desired.name,
            "latency_ms": args.latency_ms,
            "rate_limits": if rates.is_some() { "default" } else { "off" },
            "parallelism": args.parallelism,
            "runs": runs,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(())
}

fn print_run(n: usize, r: &Run) {
    println!(
        "run {n}: {:.3} s (read {:.3} s, diff {:.3} s, execute with its settle {:.3} s); {} changes; {} calls \
         ({} read, {} execute and settle); at most {} in flight (read {}, execute + settle {})",
        r.wall.as_secs_f64(),
        r.read.as_secs_f64(),
        r.diff.as_secs_f64(),
        r.execute.as_secs_f64(),
        r.changes,
        r.calls.len(),
        r.calls_read,
        r.calls_execute,
        r.max_in_flight_read.max(r.max_in_flight_apply),
        r.max_in_flight_read,
        r.max_in_flight_apply
    );
    for (op, n) in by_op(&r.calls) {
        println!("  {op:<32} {n:>5}");
    }
    if let Some(t) = first_mutating(r) {
        println!("  first mutating call sent at {t:.3} s");
    }
    for (region, ts) in endpoint_creates(r) {
        let last = ts.last().copied().unwrap_or_default();
        println!(
            "  CreateVpcEndpoint in {region}: {} sent, first at {:.3} s, last at {last:.3} s",
            ts.len(),
            ts[0]
        );
    }
    if r.not_listed_after_settle > 0 {
        println!(
            "  warning: {} resource(s) not listed by tags when the settle gave up",
            r.not_listed_after_settle
        );
    }
}
