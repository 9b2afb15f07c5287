//! Plan errors: what is wrong, under which key, and where in which file.
//!
//! Every problem found while loading or validating a plan becomes one
//! [`PlanError`]; loading collects them into [`PlanErrors`] so a user sees all
//! of them at once.

use std::fmt;

/// A 1-based line and column in a plan file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

/// One problem with a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    /// The plan file as given by the user (or the name passed to `load_str`).
    pub file: String,
    /// 1-based line of the offending key or value, when it has a place in the file.
    pub line: Option<usize>,
    /// 1-based column of the offending key or value, when it has a place in the file.
    pub column: Option<usize>,
    /// Dotted path of the key concerned, e.g. `vpcs.seoul.cidr`; empty when the
    /// problem concerns the whole file.
    pub key: String,
    /// What is wrong, in words.
    pub message: String,
}

impl PlanError {
    /// An error at `pos` (if known) about `key`.
    pub fn new(
        file: impl Into<String>,
        key: impl Into<String>,
        pos: Option<Pos>,
        message: impl Into<String>,
    ) -> Self {
        PlanError {
            file: file.into(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanError {}

/// All problems found in a plan, in file order. Never empty when returned
/// as an error by `load_file` / `load_str`.
#[derive(Debug, Clone)]
pub struct PlanErrors(pub Vec<PlanError>);

impl PlanErrors {
    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no error at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, PlanError> {
        self.0.iter()
    }
}

impl From<PlanError> for PlanErrors {
    fn from(e: PlanError) -> Self {
        PlanErrors(vec![e])
    }
}

impl<'a> IntoIterator for &'a PlanErrors {
    type Item = &'a PlanError;
    type IntoIter = std::slice::Iter<'a, PlanError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

/// Collects errors for one plan file while it is decoded and validated.
#[derive(Debug)]
pub(crate) struct Sink {
    file: String,
    errors: Vec<PlanError>,
}

impl Sink {
    /// A sink for errors about `file`.
    pub(crate) fn new(file: &str) -> Self {
        Sink {
            file: file.to_string(),
            errors: Vec::new(),
        }
    }

    /// Record an error about `key` at `pos`.
    pub(crate) fn at(&mut self, key: &str, pos: Option<Pos>, message: impl Into<String>) {
        self.errors
            .push(PlanError::new(self.file.clone(), key, pos, message));
    }

    /// The plan file errors are about.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// Whether an error about exactly `key` was recorded.
    pub(crate) fn has_error_for(&self, key: &str) -> bool {
        self.errors.iter().any(|e| e.key == key)
    }

    /// Whether any error was recorded.
    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors sorted by position (errors without a position first),
    /// keeping discovery order among equals.
    pub(crate) fn finish(mut self) -> PlanErrors {
        self.errors
            .sort_by_key(|e| (e.line.unwrap_or(0), e.column.unwrap_or(0)));
        PlanErrors(self.errors)
    }
}

/// Echoed values longer than this many characters are shortened.
const MAX_ECHO_CHARS: usize = 80;
/// How many characters of a shortened value are kept.
const ECHO_KEEP_CHARS: usize = 60;

/// The first [`ECHO_KEEP_CHARS`] characters of `s` followed by `…`, and its
/// length in characters, when `s` is longer than [`MAX_ECHO_CHARS`];
/// `None` when it is short enough to echo whole.
fn shortened(s: &str) -> Option<(&str, usize)> {
    // Cheap test first: a string of at most 80 bytes has at most 80 characters.
    if s.len() <= MAX_ECHO_CHARS {
        return None;
    }
    let n = s.chars().count();
    if n <= MAX_ECHO_CHARS {
        return None;
    }
    let cut = s.char_indices().nth(ECHO_KEEP_CHARS).map_or(s.len(), |(i, _)| i);
    Some((&s[..cut], n))
}

/// User text for a message, unquoted, control characters escaped; a value
/// longer than 80 characters becomes its first 60 characters, `…` and
/// `(N characters)`, so that errors never echo megabytes.
pub(crate) fn clip(s: &str) -> String {
    match shortened(s) {
        Some((head, n)) => format!("{}… ({n} characters)", head.escape_debug()),
        None => s.escape_debug().to_string(),
    }
}

/// Quote user text for a message: backticks, control characters escaped,
/// shortened like [`clip`] when longer than 80 characters.
pub(crate) fn q(s: &str) -> String {
    match shortened(s) {
        Some((head, n)) => format!("`{}…` ({n} characters)", head.escape_debug()),
        None => format!("`{}`", s.escape_debug()),
    }
}

/// Longest message from another library (the YAML parser) passed on whole.
const MAX_FOREIGN_MESSAGE_CHARS: usize = 400;

/// A message written by another library (the YAML parser), which may quote
/// plan text in backticks: quoted text longer than 80 characters is
/// shortened like [`q`] does, and what is still longer than 400 characters
/// is cut there.
pub(crate) fn shorten_message(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            break;
        };
        out.push_str(&rest[..=open]);
        match shortened(&after[..close]) {
            Some((head, n)) => {
                out.push_str(head);
                out.push_str(&format!("…` ({n} characters)"));
            }
            None => {
                out.push_str(&after[..close]);
                out.push('`');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    match out.char_indices().nth(MAX_FOREIGN_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

/// A key path segment (a name as written): control characters escaped,
/// and shortened to its first 60 characters and `…` when longer than
/// `max` characters.
pub(crate) fn key_segment(s: &str, max: usize) -> String {
    if s.len() > max && s.chars().count() > max {
        let cut = s.char_indices().nth(ECHO_KEEP_CHARS).map_or(s.len(), |(i, _)| i);
        format!("{}…", s[..cut].escape_debug())
    } else {
        s.escape_debug().to_string()
    }
}
