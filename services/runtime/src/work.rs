//! Work in progress and the drain, as the workers that take it count them
//! (a SIP gateway its calls, a recorder its jobs): [`WorkCount`] admits new
//! work up to a limit unless the worker drains, and says when the last
//! piece has ended; [`serve_until_drained`] is a worker's life from its
//! internal API's start to its stop on SIGTERM.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Work in progress against a limit, and whether the worker drains.
#[derive(Debug, Default)]
pub struct WorkCount {
    limit: Option<usize>,
    active: AtomicUsize,
    draining: AtomicBool,
    /// Woken whenever the last piece of work in progress ends.
    idle: Notify,
}

impl WorkCount {
    /// A count taking at most `limit` pieces of work at once (`None`: no limit).
    pub fn new(limit: Option<usize>) -> WorkCount {
        WorkCount {
            limit,
            ..WorkCount::default()
        }
    }

    /// A piece of work begins, unless the limit is reached: whether it may.
    /// (Whether the worker drains is the caller's to check: a draining
    /// gateway still counts the calls it answers 503.)
    pub fn try_begin(&self) -> bool {
        let limit = self.limit.unwrap_or(usize::MAX);
        self.active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok()
    }

    /// A piece of work that began has ended; the last one wakes whoever
    /// waits in [`WorkCount::idle`].
    pub fn end(&self) {
        if self.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// A piece of work that begins now and ends when the [`Begun`] is
    /// dropped; `None` when the limit is reached.
    pub fn begin(self: &Arc<Self>) -> Option<Begun> {
        self.try_begin().then(|| Begun(Arc::clone(self)))
    }

    /// Work in progress now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Takes nothing new from now on; true the first time.
    pub fn drain(&self) -> bool {
        !self.draining.swap(true, Ordering::SeqCst)
    }

    /// Whether [`WorkCount::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Waits until no work is in progress, at most `within`; whether it
    /// got there.
    pub async fn idle(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            // Made before the check, so an end in between still wakes it.
            let ended = self.idle.notified();
            if self.active() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return self.active() == 0;
            }
        }
    }
}

/// One piece of work of a [`WorkCount`], ended when dropped (also when its
/// task is cancelled or panics).
#[derive(Debug)]
pub struct Begun(Arc<WorkCount>);

impl Drop for Begun {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Serves `router` on `listener` until `shutdown` (SIGTERM; made by
/// [`crate::shutdown_signal`] before the listener serves), then `drain`s
/// the worker and waits for `work` to end, at most `within`. The API
/// serves on meanwhile: probes see the drain, and the event streams of the
/// work in progress go on. `unit` names the work in the log ("calls").
pub async fn serve_until_drained(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = &'static str>,
    drain: impl FnOnce(),
    work: &WorkCount,
    within: Duration,
    unit: &'static str,
) -> std::io::Result<()> {
    let mut server = tokio::spawn(axum::serve(listener, router).into_future());
    tokio::select! {
        ended = &mut server => {
            return ended.map_err(std::io::Error::other)?;
        }
        _ = shutdown => {}
    }
    drain();
    if work.idle(within).await {
        tracing::info!("drained: every one of the {unit} has ended");
    } else {
        tracing::warn!(
            left = work.active(),
            seconds = within.as_secs(),
            "the drain timeout passed with {unit} in progress: they end now"
        );
    }
    // The last events of the work that ended reach their streams' readers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_is_admitted_up_to_its_limit_and_the_last_end_makes_it_idle() {
        let work = Arc::new(WorkCount::new(Some(2)));
        let first = work.begin().expect("room for one");
        assert!(work.try_begin(), "room for two");
        assert!(work.begin().is_none(), "the limit is two");
        assert_eq!(work.active(), 2);
        assert!(!work.idle(Duration::from_millis(20)).await);
        work.end();
        let waiting = {
            let work = Arc::clone(&work);
            tokio::spawn(async move { work.idle(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert!(waiting.await.unwrap(), "the last end wakes the waiter");
        assert!(work.drain(), "the first drain");
        assert!(!work.drain(), "only once");
        assert!(work.is_draining());
    }
}
