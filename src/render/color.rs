//! Colour in the preview: create green, delete red, update yellow, replace
//! magenta (PLAN-FORMAT.md, "Output conventions"). `--color auto` (the
//! default) colours only when stdout is a terminal and `NO_COLOR` is not set
//! to a non-empty value (<https://no-color.org>); `--color always` colours
//! regardless (a command-line flag overrides the environment, as no-color.org
//! asks); `--color never` never does.

use std::ffi::OsStr;

use anstyle::{AnsiColor, Style};

use crate::diff::Action;

/// The `--color` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset or empty.
    #[default]
    Auto,
    /// Always colour, even into a pipe or with NO_COLOR set.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given NO_COLOR's value and whether stdout is a
    /// terminal.
    pub fn decide(self, no_color: Option<&OsStr>, stdout_is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => no_color.is_none_or(OsStr::is_empty) && stdout_is_terminal,
        }
    }

    /// Whether to colour what this process writes to stdout.
    pub fn for_stdout(self) -> bool {
        use std::io::IsTerminal;
        self.decide(
            std::env::var_os("NO_COLOR").as_deref(),
            std::io::stdout().is_terminal(),
        )
    }
}

/// The style of an action's lines in the preview.
pub fn action_style(action: Action) -> Style {
    let color = match action {
        Action::Create => AnsiColor::Green,
        Action::Delete => AnsiColor::Red,
        Action::Update => AnsiColor::Yellow,
        Action::Replace => AnsiColor::Magenta,
    };
    color.on_default()
}

/// `text` in `style` when `on`, else `text` as it is.
pub fn paint(text: &str, style: Style, on: bool) -> String {
    if on {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}
