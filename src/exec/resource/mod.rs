//! One module per resource kind, the way terraform-provider-aws keeps each
//! resource's find, status, wait and "gone" rules side by side
//! (`internal/service/ec2/vpc_endpoint.go`, `find.go`, `status.go`,
//! `wait.go`). Each module holds, for its kind:
//! * `GONE`: the NotFound codes that mean the resource no longer exists,
//!   which a delete takes as done;
//! * its create (create-or-find for tokenless creates, client tokens for
//!   the others), its delete and its waits.
//!
//! The walk (`exec::execute`) only dispatches to these functions.

pub mod endpoint;
pub mod peering;
pub mod route;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod vpc;

/// Reports what a running step is doing ("waiting for available").
pub type Status<'s> = &'s (dyn Fn(&str) + Sync);
