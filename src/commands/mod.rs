//! One module per verb: thin glue over load → read → diff → render →
//! confirm → execute.

mod apply;
mod check;
mod completions;
mod graph;
mod man;
mod outputs;
mod plan;
mod policy;
mod schema;
mod validate;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::{Cli, Command, Global};
use crate::cloud::aws::{AwsCloud, AwsSettings};
use crate::cloud::Cloud;
use crate::diff::{self, Changes, Mode};
use crate::emulator::Emulator;
use crate::model::{Desired, Live};
use crate::state::StateError;
use crate::stop::Stop;

/// Runs the parsed command line; returns the exit status.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = &cli.global;
    match &cli.command {
        Command::Validate { plan } => validate::run(plan),
        Command::Plan {
            plan,
            json,
            detailed_exitcode,
            cost,
            out,
        } => plan::run(g, plan, *json, *detailed_exitcode, cost, out.as_deref()).await,
        Command::Apply {
            plan,
            yes,
            dry_run,
            cost,
        } => apply::run(g, plan, Mode::Apply, *yes, *dry_run, cost).await,
        Command::Destroy {
            plan,
            yes,
            dry_run,
            cost,
        } => apply::run(g, plan, Mode::Destroy, *yes, *dry_run, cost).await,
        Command::Outputs { plan, json } => outputs::run(g, plan, *json).await,
        Command::Check { plan, json } => check::run(g, plan, *json).await,
        Command::Policy { command } => policy::run(g, command).await,
        Command::Graph {
            plan,
            format,
            offline,
        } => graph::run(g, plan, *format, *offline).await,
        Command::Schema => schema::run(),
        Command::Completions { shell } => completions::run(*shell),
        Command::Man { command } => man::run(command.as_deref()),
    }
}

/// Loads and validates a plan; errors are printed one per line.
pub fn load(path: &Path) -> anyhow::Result<Desired> {
    crate::plan::load_file(path).map_err(|e| anyhow::anyhow!("invalid plan:\n{e}"))
}

/// Connects one EC2 client per region of the plan.
async fn connect(g: &Global, desired: &Desired, stop: &Stop) -> Arc<dyn Cloud> {
    let settings = AwsSettings {
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        max_attempts: g.max_attempts.max(1),
        rates: g.rates(),
        stop: stop.clone(),
        ..AwsSettings::default()
    };
    Arc::new(AwsCloud::new(&settings, &desired.regions()).await)
}

/// Everything a command needs after reading live state.
struct Context {
    desired: Desired,
    cloud: Arc<dyn Cloud>,
    live: Live,
    /// Emulator workarounds in the diff (`Emulator::Off` for real EC2).
    emulator: Emulator,
}

/// Loads the plan and reads live state. For `destroy`, adopted resources
/// that no longer exist do not stop the read.
/// `stop` is the run's Ctrl-C switch (only `apply`/`destroy` flip it).
async fn read(g: &Global, path: &Path, mode: Mode, stop: &Stop) -> anyhow::Result<Context> {
    read_desired(g, load(path)?, mode, stop).await
}

/// [`read`] for a plan already loaded (a saved plan's text).
async fn read_desired(g: &Global, desired: Desired, mode: Mode, stop: &Stop) -> anyhow::Result<Context> {
    let emulator = g.emulator;
    let cloud = connect(g, &desired, stop).await;
    let live = read_live(cloud.as_ref(), &desired, mode).await?;
    Ok(Context {
        desired,
        cloud,
        live,
        emulator,
    })
}

/// Reads the live state of `desired` from `cloud` as `apply` (or, for
/// `Mode::Destroy`, `destroy`) does; public for examples/critical_path.rs,
/// which runs the same flow against the in-memory cloud.
pub async fn read_live(cloud: &dyn Cloud, desired: &Desired, mode: Mode) -> anyhow::Result<Live> {
    let live = match mode {
        Mode::Apply => crate::state::read(cloud, desired).await,
        Mode::Destroy => crate::state::read_lenient(cloud, desired).await,
    };
    match live {
        Ok(l) => Ok(l),
        // An adopted id that does not exist is a mistake in the plan: say where.
        Err(StateError::Adopted { key, message }) => {
            let at = desired
                .key_for_id(&key)
                .map(|k| format!("{}: {k}", desired.origin.locate(&k)))
                .unwrap_or_else(|| desired.origin.file.clone());
            anyhow::bail!("{at}: {message}");
        }
        Err(e) => Err(e).context("reading live state"),
    }
}

/// Diffs; an error is reported at the plan key it is about.
fn changes(ctx: &Context, mode: Mode) -> anyhow::Result<Changes> {
    diff_live(&ctx.desired, &ctx.live, mode, ctx.emulator)
}

/// The changes `plan`/`apply` compute from `desired` and `live` (public for
/// examples/critical_path.rs); an error is reported at its plan key.
pub fn diff_live(desired: &Desired, live: &Live, mode: Mode, emulator: Emulator) -> anyhow::Result<Changes> {
    diff::diff(desired, live, mode, emulator).map_err(|e| {
        let origin = &desired.origin;
        if e.key.is_empty() {
            anyhow::anyhow!("{}: {e}", origin.file)
        } else {
            anyhow::anyhow!("{}: {}: {e}", origin.locate(&e.key), e.key)
        }
    })
}

fn wait_timeout(g: &Global) -> Duration {
    Duration::from_secs(g.wait_timeout)
}

/// Writes to stdout. A closed stdout (`s3ep plan | head`) ends the output
/// quietly instead of panicking; other write errors are reported.
pub(crate) fn out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
