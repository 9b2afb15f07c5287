//! The plan as people read it: one block per change with Terraform's
//! symbols, the attributes that change, the reason for each replace, the
//! warnings, and the summary line.

use std::fmt::Write;

use super::color::{action_style, paint};
use crate::cost::CostReport;
use crate::diff::{Action, Changes};
use crate::warnings::Warning;

/// Renders the preview without colour.
pub fn plan(plan_name: &str, changes: &Changes, warnings: &[Warning]) -> String {
    plan_with(plan_name, changes, warnings, None, false)
}

/// Renders the preview: with `cost`, the monthly cost of the interface
/// endpoints before the summary line; with `color`, each change's heading
/// line (symbol, address, id, region) coloured by its action (see
/// `render::color`).
pub fn plan_with(
    plan_name: &str,
    changes: &Changes,
    warnings: &[Warning],
    cost: Option<&CostReport>,
    color: bool,
) -> String {
    let mut s = String::new();
    if changes.is_empty() {
        let _ = writeln!(s, "No changes: live state matches plan {plan_name}.");
    } else {
        let _ = writeln!(s, "Plan {plan_name}: s3ep will perform these actions:");
        let _ = writeln!(s);
        for c in &changes.changes {
            let id = c.id.as_deref().map(|i| format!(" ({i})")).unwrap_or_default();
            let head = format!("{} {}{}  [{}]", c.action.symbol(), c.address, id, c.region);
            let _ = writeln!(s, "  {}", paint(&head, action_style(c.action), color));
            let why = match c.action {
                Action::Replace => format!("must be replaced: {}", c.reason),
                _ => c.reason.clone(),
            };
            let _ = writeln!(s, "      # {why}");
            for a in &c.attrs {
                let line = match (&a.old, &a.new) {
                    (Some(o), Some(n)) => format!("{}: {o} -> {n}", a.name),
                    (None, Some(n)) => format!("{}: {n}", a.name),
                    (Some(o), None) => format!("{}: {o}", a.name),
                    (None, None) => a.name.clone(),
                };
                let _ = writeln!(s, "      {line}");
            }
        }
    }
    if !warnings.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Warnings:");
        for w in warnings {
            let _ = writeln!(s, "  ! [{}] {}: {}", w.code, w.address, w.message);
        }
    }
    if let Some(c) = cost {
        let _ = writeln!(s);
        s.push_str(&c.human());
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", summary_line(changes));
    s
}

/// "N to create, N to update, N to replace, N to delete".
pub fn summary_line(changes: &Changes) -> String {
    let n = changes.summary();
    format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete.",
        n.create, n.update, n.replace, n.delete
    )
}
