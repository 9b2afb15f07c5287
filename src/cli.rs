//! Command-line types (clap derive) and their resolution into settings.
//! Global options are accepted before or after the subcommand.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::cloud::rate::{Rate, RateLimits};

/// Provision Amazon S3 VPC endpoints (gateway and interface) end to end from
/// a declarative plan: VPCs, subnets, route tables, prefix-list routes,
/// security-group 443 rules, peering and its routes.
#[derive(Debug, Parser)]
#[command(name = "s3ep", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// EC2 endpoint URL for every region (AWS_ENDPOINT_URL works too).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Named profile from the AWS config and credentials files.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Log each API call (-v), and the SDK's own debug logs (-vv).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// No progress output and no preview with --yes; errors still go to stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Longest wait for an endpoint or peering to reach its state, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,
    /// Attempts per API call in the SDK's standard retry (throttling, 5xx).
    #[arg(long, global = true, value_name = "N", default_value_t = 8)]
    pub max_attempts: u32,
    /// Steps in flight at once during apply and destroy (apply's settle
    /// Describes, one per kind and region, run beside them).
    #[arg(long, global = true, value_name = "N", env = "S3EP_PARALLELISM",
          default_value_t = crate::exec::DEFAULT_PARALLELISM as u64,
          value_parser = clap::value_parser!(u64).range(1..=256))]
    pub parallelism: u64,
    /// Emulator workarounds: `moto` turns on what only moto needs (gateway
    /// prefix-list routes fixed by hand); `off` (the default) for real EC2.
    #[arg(
        long,
        global = true,
        value_name = "off|moto",
        env = "S3EP_EMULATOR",
        default_value = "off"
    )]
    pub emulator: crate::emulator::Emulator,
    /// Client-side rate bucket per region for CreateVpcEndpoint,
    /// ModifyVpcEndpoint and DeleteVpcEndpoints: BURST/REFILL_PER_SECOND, or off.
    #[arg(
        long,
        global = true,
        value_name = "B/R",
        env = "S3EP_RATE_ENDPOINT",
        default_value = "4/0.3"
    )]
    pub rate_endpoint: Rate,
    /// Client-side rate bucket per region for the other mutating calls.
    #[arg(
        long,
        global = true,
        value_name = "B/R",
        env = "S3EP_RATE_MUTATING",
        default_value = "50/5"
    )]
    pub rate_mutating: Rate,
    /// Client-side rate bucket per region for Describe calls.
    #[arg(
        long,
        global = true,
        value_name = "B/R",
        env = "S3EP_RATE_DESCRIBE",
        default_value = "100/20"
    )]
    pub rate_describe: Rate,
    /// Colour the preview (create green, delete red, update yellow, replace
    /// magenta): auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: crate::render::color::ColorChoice,
}

impl Global {
    /// The rate buckets these options ask for.
    pub fn rates(&self) -> RateLimits {
        RateLimits {
            endpoint: self.rate_endpoint,
            mutating: self.rate_mutating,
            describe: self.rate_describe,
        }
    }
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a plan without calling AWS; exit 0 or 1.
    Validate {
        /// The plan file (YAML).
        plan: PathBuf,
    },
    /// Read live state and show the changes and warnings; never mutates.
    Plan {
        plan: PathBuf,
        /// One JSON object on stdout (format_version 1).
        #[arg(long)]
        json: bool,
        /// Exit 0 when there are no changes, 2 when changes are pending, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        #[command(flatten)]
        cost: CostArgs,
        /// Also save the plan (its changes and a digest of the live state they
        /// come from) to FILE, for `s3ep apply FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Plan, show, confirm, execute; or apply a saved plan (`plan --out`)
    /// exactly, without confirmation, refusing it when live state changed.
    Apply {
        /// The plan file (YAML), or a saved plan written by `plan --out`.
        plan: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Stop before execution: no mutating call.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        cost: CostArgs,
    },
    /// Delete everything the plan owns, in reverse dependency order.
    Destroy {
        plan: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Stop before execution: no mutating call.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        cost: CostArgs,
    },
    /// Endpoint ids, states, DNS names and ready-to-paste client settings.
    Outputs {
        plan: PathBuf,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Static reachability of the plan's endpoints from live state
    /// (routes, peering, security groups, network ACLs, endpoint state, VPC
    /// DNS); read-only. Exit 0 every path open, 3 one blocked, 1 error.
    Check {
        plan: PathBuf,
        /// One JSON object on stdout (format_version 1).
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema (draft 2020-12) of the plan format.
    Schema,
    /// Print shell completions for bash, zsh, fish, powershell or elvish.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: s3ep(1), or a subcommand's
    /// page, s3ep-COMMAND(1).
    Man {
        /// A subcommand whose page to print.
        command: Option<String>,
    },
    /// Bucket policies: write one that allows only this plan's endpoints, or lint one.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The topology as a Mermaid or Graphviz DOT graph on stdout.
    Graph {
        plan: PathBuf,
        /// `mermaid` (default) or `dot`.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: crate::graph::Format,
        /// No AWS call: plan names only, no live ids.
        #[arg(long)]
        offline: bool,
    },
}

/// The cost estimate in the preview of `plan`, `apply` and `destroy`.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct CostArgs {
    /// GB processed per month by each interface endpoint, for the cost estimate.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gb_per_month: u64,
}

/// `s3ep policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print a bucket policy that denies access to BUCKET except through this
    /// plan's endpoints (their live ids) and the given principals. Read-only.
    Bucket {
        plan: PathBuf,
        /// The bucket the policy protects.
        #[arg(long, value_name = "NAME")]
        bucket: String,
        /// A principal ARN (role, user, account root) the Deny exempts; repeatable.
        #[arg(long = "allow-principal", value_name = "ARN")]
        allow_principal: Vec<String>,
    },
    /// Lint a bucket or endpoint policy (JSON): exit 0 clean, 3 findings, 1 error.
    Lint {
        /// The policy file.
        file: PathBuf,
    },
}
