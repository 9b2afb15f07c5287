//! Progress while `apply` and `destroy` run: an indicatif spinner per step
//! and an overall bar on a terminal; one plain line per finished step when
//! stderr is not a terminal; nothing with `-q`.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::Reporter;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars and spinners on stderr (a terminal).
    Bars,
    /// One line per finished step on stderr.
    Lines,
    /// Nothing.
    Quiet,
}

/// The terminal `Reporter`.
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    overall: Mutex<Option<ProgressBar>>,
    bars: Mutex<Vec<(usize, ProgressBar)>>,
}

impl Progress {
    pub fn new(mode: Mode) -> Self {
        let multi = MultiProgress::with_draw_target(match mode {
            Mode::Bars => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        });
        Progress {
            mode,
            multi,
            overall: Mutex::new(None),
            bars: Mutex::new(Vec::new()),
        }
    }

    fn bar(&self, index: usize) -> Option<ProgressBar> {
        self.bars
            .lock()
            .ok()?
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b.clone())
    }

    /// Clears the overall bar when the run ends.
    pub fn finish(&self) {
        if let Ok(mut o) = self.overall.lock() {
            if let Some(b) = o.take() {
                b.finish_and_clear();
            }
        }
    }
}

impl Reporter for Progress {
    fn started(&self, index: usize, total: usize, label: &str) {
        if self.mode != Mode::Bars {
            return;
        }
        if let Ok(mut o) = self.overall.lock() {
            if o.is_none() {
                let b = self.multi.add(ProgressBar::new(total as u64));
                b.set_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                *o = Some(b);
            }
        }
        let b = self.multi.insert_from_back(1, ProgressBar::new_spinner());
        b.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_prefix(label.to_string());
        b.set_message(match label.split(' ').next() {
            Some("create") => "creating",
            Some("delete") => "deleting",
            _ => "updating",
        });
        b.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            bars.push((index, b));
        }
    }

    fn status(&self, index: usize, message: &str) {
        if let Some(b) = self.bar(index) {
            b.set_message(message.to_string());
        }
    }

    fn finished(&self, index: usize, label: &str, outcome: Result<&str, &str>, elapsed: Duration) {
        let line = match outcome {
            Ok(detail) => format!("done   {label} ({detail}) in {:.1}s", elapsed.as_secs_f64()),
            Err(e) => format!("FAILED {label}: {e}"),
        };
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => eprintln!("{line}"),
            Mode::Bars => {
                if let Some(b) = self.bar(index) {
                    b.finish_and_clear();
                }
                let _ = self.multi.println(line);
                if let Ok(o) = self.overall.lock() {
                    if let Some(b) = o.as_ref() {
                        b.inc(1);
                    }
                }
            }
        }
    }
}
