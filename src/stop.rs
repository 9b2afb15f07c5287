//! The interrupt switch: after Ctrl-C nothing new starts, calls in flight
//! finish, and pauses (retry backoff, polls of a wait, waits for a rate
//! token) end at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// A cloneable handle; every clone sees the same switch.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    fired: AtomicBool,
    notify: Notify,
}

impl Stop {
    pub fn new() -> Self {
        Stop::default()
    }

    /// Flips the switch and wakes every pause.
    pub fn fire(&self) {
        self.0.fired.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_fired(&self) -> bool {
        self.0.fired.load(Ordering::SeqCst)
    }

    /// Sleeps for `d`; `false` when the switch ended the pause early (or
    /// was already flipped).
    pub async fn sleep(&self, d: Duration) -> bool {
        let notified = self.0.notify.notified();
        tokio::pin!(notified);
        // Registered before the check, so a fire() in between still wakes us.
        notified.as_mut().enable();
        if self.is_fired() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = notified => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_ends_when_the_switch_flips() {
        let stop = Stop::new();
        assert!(stop.sleep(Duration::from_secs(1)).await);
        let s2 = stop.clone();
        let t = tokio::time::Instant::now();
        let h = tokio::spawn(async move { s2.sleep(Duration::from_secs(600)).await });
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.fire();
        assert!(!h.await.unwrap());
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(!stop.sleep(Duration::from_secs(1)).await);
    }
}
