//! The overlap guard every tick goes through.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{SchedulerMetrics, Stopped};

/// The refresh, boxed.
pub(super) type Job = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Starts a run unless one is in flight.
#[derive(Clone)]
pub(super) struct Gate {
    /// Held by the run in flight.
    running: Arc<tokio::sync::Mutex<()>>,
    /// Set on shutdown: no more runs, no more ticks scheduled.
    stopping: Arc<AtomicBool>,
    /// Notified when the tick source cannot schedule the next tick.
    failed: Arc<tokio::sync::Notify>,
    job: Job,
    metrics: SchedulerMetrics,
}

impl Gate {
    pub(super) fn new(job: Job, metrics: SchedulerMetrics) -> Gate {
        Gate {
            running: Arc::new(tokio::sync::Mutex::new(())),
            stopping: Arc::new(AtomicBool::new(false)),
            failed: Arc::new(tokio::sync::Notify::new()),
            job,
            metrics,
        }
    }

    /// Called on every tick. Returns whether a run started.
    pub(super) fn fire(&self, reason: &'static str) -> bool {
        if self.is_stopping() {
            return false;
        }
        match self.running.clone().try_lock_owned() {
            Ok(guard) => {
                self.metrics.runs.inc();
                tracing::debug!(reason, "refresh starting");
                let run = (self.job)();
                tokio::spawn(async move {
                    run.await;
                    drop(guard);
                });
                true
            }
            Err(_) => {
                self.metrics.ticks_skipped.inc();
                tracing::warn!(
                    reason,
                    "tick skipped: the previous refresh is still running (it takes longer than the schedule interval)"
                );
                false
            }
        }
    }

    /// Whether shutdown has begun.
    pub(super) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Takes no more ticks.
    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The tick source is dead: the scheduler stops as if asked to.
    pub(super) fn fail(&self) {
        self.failed.notify_one();
    }

    /// Resolves once [`Gate::fail`] was called.
    pub(super) async fn failed(&self) {
        self.failed.notified().await
    }

    /// Waits for the run in flight, at most `grace`.
    pub(super) async fn drain(&self, grace: Duration) -> Stopped {
        match tokio::time::timeout(grace, self.running.lock()).await {
            Ok(_) => Stopped::Clean,
            Err(_) => Stopped::GraceExpired,
        }
    }
}
