//! The tick source: `tokio-cron-scheduler` jobs that fire the [`Gate`].
//!
//! - `SCHEDULE`: its cron jobs. After each tick they compute the next one
//!   from the current time, so they resume after a freeze, and occurrences
//!   missed during it collapse into one tick. Day-of-month and day-of-week
//!   stay OR ([`CronSchedule::job_expressions`]); when that takes two jobs,
//!   both firing for one occurrence is one tick, not a skipped one.
//! - `CACHE_TTL_SECONDS`: one-shot jobs; each, when it fires, adds the next
//!   one, due one interval after it was due itself, or one interval from now
//!   when a freeze made it late (fire once, then continue). The crate's
//!   repeated jobs are not used: once a tick is processed more than one
//!   interval late they never fire again (upstream #113, reproduced by
//!   `repeated_jobs_stop_after_a_freeze`).
//!
//! The crate checks its jobs every 500 ms and keeps due times in whole
//! seconds, so a tick comes up to about 0.5 s late.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use super::{CronSchedule, Gate, Schedule};

/// The job kind that drives a fixed interval.
#[derive(Clone, Copy, Debug)]
pub(super) enum IntervalJobs {
    /// One-shot jobs, each adding the next (production).
    OneShot,
    /// The crate's repeated jobs, kept to reproduce upstream #113.
    #[cfg(test)]
    Repeated,
}

type Tick = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Creates and starts the jobs of `schedule`.
pub(super) async fn start(
    schedule: &Schedule,
    gate: Gate,
    interval_jobs: IntervalJobs,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    match (schedule, interval_jobs) {
        (Schedule::Cron(cron), _) => {
            let ticks = Arc::new(CronTicks {
                cron: (**cron).clone(),
                last: Mutex::new(None),
                gate,
            });
            for expression in cron.job_expressions() {
                let ticks = ticks.clone();
                let job = Job::new_async(expression, move |_, _| {
                    let ticks = ticks.clone();
                    Box::pin(async move { ticks.tick(Utc::now()) }) as Tick
                })?;
                scheduler.add(job).await?;
            }
        }
        (Schedule::Every(every), IntervalJobs::OneShot) => {
            let every = whole_seconds(*every);
            let job = one_shot(Utc::now().timestamp() + every, every, gate)?;
            scheduler.add(job).await?;
        }
        #[cfg(test)]
        (Schedule::Every(every), IntervalJobs::Repeated) => {
            let job = Job::new_repeated_async(*every, move |_, _| {
                let gate = gate.clone();
                Box::pin(async move {
                    gate.fire("interval");
                }) as Tick
            })?;
            scheduler.add(job).await?;
        }
    }
    scheduler.start().await?;
    Ok(scheduler)
}

/// Cron ticks, one per occurrence however many jobs fire for it.
struct CronTicks {
    cron: CronSchedule,
    /// The occurrence of the last tick.
    last: Mutex<Option<DateTime<Utc>>>,
    gate: Gate,
}

impl CronTicks {
    fn tick(&self, now: DateTime<Utc>) {
        if let Some(occurrence) = self.cron.occurrence_at(&now) {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if *last == Some(occurrence) {
                return;
            }
            *last = Some(occurrence);
        }
        self.gate.fire("cron");
    }
}

/// The interval in whole seconds (the crate's resolution), at least 1.
fn whole_seconds(every: Duration) -> i64 {
    let secs = every.as_secs() + u64::from(every.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX / 2).max(1)
}

/// When the tick after one due at `due` is due, at `now` (Unix seconds):
/// one interval later, or one interval from now if that is already past.
fn next_due(due: i64, every: i64, now: i64) -> i64 {
    match due.saturating_add(every) {
        next if next > now => next,
        _ => now.saturating_add(every),
    }
}

/// A one-shot job due at `due` (Unix seconds) that fires `gate` and adds the
/// next one-shot job.
fn one_shot(due: i64, every: i64, gate: Gate) -> Result<Job, JobSchedulerError> {
    let mut job = Job::new_one_shot_async(Duration::ZERO, move |_, scheduler| {
        let gate = gate.clone();
        Box::pin(async move {
            gate.fire("interval");
            if gate.is_stopping() {
                return;
            }
            let next = next_due(due, every, Utc::now().timestamp());
            let added = match one_shot(next, every, gate.clone()) {
                Ok(job) => scheduler.add(job).await.map(drop),
                Err(e) => Err(e),
            };
            if let Err(error) = added {
                tracing::error!(%error, "cannot schedule the next refresh; stopping");
                gate.fail();
            }
        }) as Tick
    })?;
    // The constructor takes a delay in whole seconds from its own clock
    // reading; the due time it stores is set here exactly instead.
    let mut data = job.job_data()?;
    data.next_tick = u64::try_from(due).map_err(|_| JobSchedulerError::CantAdd)?;
    job.set_job_data(data)?;
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_ticks_are_due_one_interval_apart_or_one_interval_from_now() {
        assert_eq!(next_due(100, 60, 100), 160);
        assert_eq!(next_due(100, 60, 159), 160);
        // Late by a whole interval (a freeze): once now, then one later.
        assert_eq!(next_due(100, 60, 160), 220);
        assert_eq!(next_due(100, 60, 1000), 1060);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_secs(300)), 300);
    }
}
