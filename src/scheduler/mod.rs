//! The refresh scheduler of the long-running mode.
//!
//! A refresh runs at start-up, then on every tick: every `CACHE_TTL_SECONDS`,
//! or on `SCHEDULE` (cron, UTC). Runs never overlap: a tick that arrives while
//! a refresh is still running is skipped and counted in
//! `copilot_exporter_refresh_ticks_skipped_total`. On shutdown the scheduler
//! stops taking ticks and waits, at most a grace period, for the refresh in
//! flight.
//!
//! This module owns its settings ([`SchedulerArgs`], [`Schedule`]) and
//! validates `SCHEDULE` with [`croner`]. Ticks come from
//! `tokio-cron-scheduler` jobs (`jobs.rs`): its cron jobs for `SCHEDULE`, and
//! re-armed one-shot jobs for the fixed interval, because its repeated jobs
//! stop for good once the process was frozen for longer than the interval
//! (upstream issue #113). `docs/scheduler.md` has the evidence.

mod gate;
mod jobs;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use croner::parser::{CronParser, Seconds};
use croner::Cron;
use gate::Gate;
use prometheus::{IntCounter, Registry};

/// Scheduler flags, flattened into the command line of the exporter.
#[derive(clap::Args, Clone, Debug)]
pub struct SchedulerArgs {
    /// Cron schedule of the refreshes, in UTC, instead of every
    /// CACHE_TTL_SECONDS: 5 fields (`min hour dom mon dow`), 6 with seconds
    /// first, 7 with a year last, or @hourly / @daily / @weekly / @monthly.
    #[arg(long, env = "SCHEDULE", value_name = "CRON")]
    pub schedule: Option<String>,

    /// On SIGTERM / SIGINT, how long a refresh (and push) in flight may take
    /// to finish before the process exits anyway, in seconds.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value = "30", value_parser = parse_grace)]
    pub shutdown_grace_seconds: u64,
}

fn parse_grace(raw: &str) -> Result<u64, String> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| format!("`{}` is not a whole number of seconds", raw.trim()))
}

/// When refreshes run.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// A fixed interval (`CACHE_TTL_SECONDS`).
    Every(Duration),
    /// A cron expression in UTC, normalised to the 6/7-field form (seconds
    /// first).
    Cron(Box<CronSchedule>),
}

/// A validated cron expression.
#[derive(Clone, Debug, PartialEq)]
pub struct CronSchedule {
    /// The expression as configured.
    pub original: String,
    /// The expression with seconds (`0 ` prepended to a 5-field form).
    pub normalized: String,
    cron: Cron,
}

impl CronSchedule {
    /// The next occurrence strictly after `after`.
    pub fn next_after(
        &self,
        after: &chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.cron.find_next_occurrence(after, false).ok()
    }

    /// The occurrence a tick at `now` belongs to: the latest one at or
    /// before `now` (whole seconds, as occurrences are).
    fn occurrence_at(
        &self,
        now: &chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let now = chrono::DateTime::from_timestamp(now.timestamp(), 0)?;
        self.cron.find_previous_occurrence(&now, true).ok()
    }

    /// The expressions of the `tokio-cron-scheduler` cron jobs whose union is
    /// this schedule. That crate combines day-of-month and day-of-week with
    /// AND; when both are restricted, the expression becomes two jobs, one
    /// per field (the other one `*`), which together fire on either, as in
    /// Vixie cron. A `+` in front of day-of-week asks for AND: kept as is.
    fn job_expressions(&self) -> Vec<String> {
        let fields: Vec<&str> = self.normalized.split_whitespace().collect();
        let unrestricted = |f: &str| f.replace('?', "*") == "*";
        match fields.as_slice() {
            [_, _, _, dom, _, dow, ..]
                if !unrestricted(dom) && !unrestricted(dow) && !dow.starts_with('+') =>
            {
                let with = |index: usize| {
                    let mut job = fields.clone();
                    job[index] = "*";
                    job.join(" ")
                };
                vec![with(5), with(3)]
            }
            _ => vec![self.normalized.clone()],
        }
    }
}

impl Schedule {
    /// Builds the schedule from `SCHEDULE` (if set and not blank) or the
    /// refresh interval. Errors name `SCHEDULE`.
    pub fn from_settings(schedule: Option<&str>, interval: Duration) -> Result<Schedule, String> {
        match schedule.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Schedule::Every(interval)),
            Some(raw) => parse_cron(raw).map(|c| Schedule::Cron(Box::new(c))),
        }
    }
}

/// Normalises a cron expression to the form with seconds: 5 fields get `0 `
/// prepended; 6 and 7 fields and `@` macros are kept.
pub fn normalize_cron(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.starts_with('@') {
        return Ok(raw.to_string());
    }
    let fields: Vec<&str> = raw.split_whitespace().collect();
    match fields.len() {
        5 => Ok(format!("0 {}", fields.join(" "))),
        6 | 7 => Ok(fields.join(" ")),
        n => Err(format!(
            "SCHEDULE: `{}` has {n} fields; expected 5 (`min hour dom mon dow`, e.g. `0 6 * * *`), \
             6 with seconds first, or 7 with a year last",
            raw.escape_debug()
        )),
    }
}

/// Parses and validates a cron expression (UTC). Day-of-month and
/// day-of-week combine with OR, as in Vixie cron.
pub fn parse_cron(raw: &str) -> Result<CronSchedule, String> {
    let normalized = normalize_cron(raw)?;
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(false)
        .build()
        .parse(&normalized)
        .map_err(|e| {
            format!(
                "SCHEDULE: `{}` is not a valid cron expression ({e})",
                raw.trim().escape_debug()
            )
        })?;
    let schedule = CronSchedule {
        original: raw.trim().to_string(),
        normalized,
        cron,
    };
    if schedule.next_after(&chrono::Utc::now()).is_none() {
        return Err(format!(
            "SCHEDULE: `{}` never fires again",
            raw.trim().escape_debug()
        ));
    }
    Ok(schedule)
}

/// The scheduler's own metrics.
#[derive(Clone)]
pub struct SchedulerMetrics {
    /// Ticks skipped because a refresh was still running.
    pub ticks_skipped: IntCounter,
    /// Refreshes started (the start-up one included).
    pub runs: IntCounter,
}

impl SchedulerMetrics {
    /// Creates the counters and registers them in `registry` (a second
    /// registration in the same registry reuses nothing and is ignored).
    pub fn register(registry: &Registry) -> SchedulerMetrics {
        let ticks_skipped = IntCounter::new(
            "copilot_exporter_refresh_ticks_skipped_total",
            "Scheduler ticks skipped because the previous refresh was still running.",
        )
        .expect("valid metric name");
        let runs = IntCounter::new(
            "copilot_exporter_refresh_runs_total",
            "Refreshes started by the scheduler (the start-up one included).",
        )
        .expect("valid metric name");
        let _ = registry.register(Box::new(ticks_skipped.clone()));
        let _ = registry.register(Box::new(runs.clone()));
        SchedulerMetrics {
            ticks_skipped,
            runs,
        }
    }
}

/// How the scheduler stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// No refresh was running, or the one in flight finished in time.
    Clean,
    /// The refresh in flight was still running when the grace period ended.
    GraceExpired,
    /// The tick source could not be started, or could not schedule the next
    /// tick; the refresh in flight was given the grace period.
    Failed,
}

/// Runs `job` at start-up and then on `schedule` until `stop` resolves;
/// then stops taking ticks and waits at most `grace` for the run in flight.
pub async fn run<F, Fut>(
    schedule: &Schedule,
    metrics: SchedulerMetrics,
    job: F,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> Stopped
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let gate = Gate::new(Arc::new(move || Box::pin(job())), metrics);
    run_with(jobs::IntervalJobs::OneShot, schedule, gate, stop, grace).await
}

/// [`run`], with the job kind that drives a fixed interval.
async fn run_with(
    interval_jobs: jobs::IntervalJobs,
    schedule: &Schedule,
    gate: Gate,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> Stopped {
    gate.fire("start-up");

    let mut scheduler = match jobs::start(schedule, gate.clone(), interval_jobs).await {
        Ok(scheduler) => scheduler,
        Err(error) => {
            tracing::error!(%error, "cannot start the scheduler");
            gate.stop();
            let _ = gate.drain(grace).await;
            return Stopped::Failed;
        }
    };
    let failed = tokio::select! {
        () = stop => false,
        () = gate.failed() => true,
    };
    gate.stop();
    if let Err(error) = scheduler.shutdown().await {
        tracing::warn!(%error, "scheduler shutdown");
    }
    let drained = gate.drain(grace).await;
    if failed {
        Stopped::Failed
    } else {
        drained
    }
}
