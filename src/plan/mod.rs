//! Loading and validating plan files into `model::Desired`.
//!
//! A plan goes through four steps, each in its own module:
//! 1. `load`: size (at most 1 MiB) and UTF-8 checks;
//! 2. `tree`: YAML parsing with serde-saphyr under hard limits (alias
//!    bombs, deep nesting and huge inputs fail fast), into a tree whose
//!    every node knows its line and column;
//! 3. `schema`: decoding that tree into raw structs, rejecting unknown keys
//!    and values of the wrong shape;
//! 4. `validate`: every rule of the plan format that needs no AWS call,
//!    producing the `Desired` state.
//!
//! Every error names the dotted key concerned and, where it has a place in
//! the file, its line and column; all errors found are reported together.

mod error;
mod json_schema;
mod load;
mod policy;
pub mod schema;
mod tree;
mod validate;

pub use error::{PlanError, PlanErrors, Pos};
pub use json_schema::{json_schema, json_schema_text};
pub use load::{load_file, load_str, MAX_PLAN_BYTES};
pub use policy::{bucket_name_problem, bucket_policy, document_problem, MAX_POLICY_CHARS};
pub use validate::{is_aws_id, is_region, is_valid_name, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS};
