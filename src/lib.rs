//! s3ep: provisions Amazon S3 VPC endpoints end to end from a declarative plan.
//!
//! Data flows one way: `plan` (load + validate) → `state` (read live EC2
//! through `cloud`) → `diff` → `render` → `exec`. `commands` glues the steps
//! together per CLI verb. `stop` is the Ctrl-C switch both `exec` and
//! `cloud` (rate-limit pauses) listen to.

pub mod check;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod cost;
pub mod diff;
pub mod emulator;
pub mod exec;
pub mod graph;
pub mod model;
pub mod plan;
pub mod policy;
pub mod render;
pub mod saved;
pub mod state;
pub mod stop;
pub mod warnings;
