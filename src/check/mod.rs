//! `s3ep check`: static reachability of the plan's endpoints from live
//! state, read-only. [`read`] takes one snapshot (batched Describe calls),
//! [`rules::check`] decides every path from it without further calls, and
//! [`human`] / [`json`] print the result.

pub mod read;
pub mod rules;

use serde::Serialize;
use serde_json::{json, Value};

pub use read::{read, Snapshot};
pub use rules::check;

/// What blocks a path: the kind of thing (`route`, `peering`,
/// `security-group-ingress`, `security-group-egress`, `network-acl`,
/// `endpoint`, `endpoint-state`, `vpc-attribute`, `route-table`), its id
/// (an AWS id, or a plan address when it does not exist), and what is wrong
/// and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    pub kind: &'static str,
    pub id: String,
    pub detail: String,
}

/// One path: from a source (`vpc.<name>`, a CIDR, an `sg-` id, or a route
/// table address) to an endpoint address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathResult {
    pub from: String,
    pub to: String,
    pub ok: bool,
    pub blocked_by: Vec<Block>,
}

impl PathResult {
    pub fn new(from: String, to: String, blocked_by: Vec<Block>) -> Self {
        PathResult {
            from,
            to,
            ok: blocked_by.is_empty(),
            blocked_by,
        }
    }
}

/// Every path of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub plan: String,
    pub paths: Vec<PathResult>,
}

impl Report {
    /// Whether every path is open.
    pub fn ok(&self) -> bool {
        self.paths.iter().all(|p| p.ok)
    }

    /// The exit status: 0 every path open, 3 at least one blocked.
    pub fn exit_code(&self) -> u8 {
        if self.ok() {
            0
        } else {
            3
        }
    }
}

/// The report as text: ✓ or ✗ per path, and under a blocked path what
/// blocks it.
pub fn human(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "Reachability of plan {}:", r.plan);
    if r.paths.is_empty() {
        let _ = writeln!(s, "  (no paths: the plan has no endpoints to reach)");
    }
    for p in &r.paths {
        let mark = if p.ok { "✓" } else { "✗" };
        let _ = writeln!(s, "  {mark} {} -> {}", p.from, p.to);
        for b in &p.blocked_by {
            let _ = writeln!(s, "      {} {}: {}", b.kind, b.id, b.detail);
        }
    }
    let blocked = r.paths.iter().filter(|p| !p.ok).count();
    let _ = writeln!(
        s,
        "{} path(s): {} open, {blocked} blocked.",
        r.paths.len(),
        r.paths.len() - blocked
    );
    s
}

/// The report as the contract's JSON (`format_version` 1).
pub fn json(r: &Report) -> Value {
    json!({
        "format_version": 1,
        "plan": r.plan,
        "paths": r.paths,
    })
}
