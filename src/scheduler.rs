//! The refresh scheduler of the long-running mode.
//!
//! A refresh runs at start-up, then on every tick: every `CACHE_TTL_SECONDS`,
//! or on `SCHEDULE` (cron, UTC). Runs never overlap: a tick that arrives while
//! a refresh is still running is skipped and counted in
//! `copilot_exporter_refresh_ticks_skipped_total`. On shutdown the scheduler
//! stops taking ticks and waits, at most a grace period, for the refresh in
//! flight.
//!
//! Ticks come from [`croner`] (cron parsing) and `tokio::time`
//! (`interval`, `sleep`). The requested crate, `tokio-cron-scheduler` 0.15,
//! stops firing a repeated job for good once the process was frozen for
//! longer than the interval (upstream issue #113); the test
//! `tokio_cron_scheduler_stops_after_a_freeze` reproduces it and
//! `docs/scheduler.md` has the evidence.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use croner::parser::{CronParser, Seconds};
use croner::Cron;
use prometheus::{IntCounter, Registry};

/// Scheduler flags, flattened into [`crate::config::Cli`].
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
    /// The tick source could not be started.
    Failed,
}

type Job = Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Starts a run unless one is in flight.
#[derive(Clone)]
struct Gate {
    running: Arc<tokio::sync::Mutex<()>>,
    stopping: Arc<AtomicBool>,
    job: Job,
    metrics: SchedulerMetrics,
}

impl Gate {
    /// Called on every tick. Returns whether a run started.
    fn fire(&self, reason: &'static str) -> bool {
        if self.stopping.load(Ordering::SeqCst) {
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

    /// Waits for the run in flight, at most `grace`.
    async fn drain(&self, grace: Duration) -> Stopped {
        match tokio::time::timeout(grace, self.running.lock()).await {
            Ok(_) => Stopped::Clean,
            Err(_) => Stopped::GraceExpired,
        }
    }
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
    run_with(Engine::Tokio, schedule, metrics, job, stop, grace).await
}

/// Where ticks come from.
#[derive(Clone, Copy, Debug)]
enum Engine {
    /// `croner` + `tokio::time` (production).
    Tokio,
    /// `tokio-cron-scheduler` 0.15, kept to reproduce its defect.
    #[cfg(test)]
    TokioCronScheduler,
}

async fn run_with<F, Fut>(
    engine: Engine,
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
    let job: Job = Arc::new(move || Box::pin(job()));
    let gate = Gate {
        running: Arc::new(tokio::sync::Mutex::new(())),
        stopping: Arc::new(AtomicBool::new(false)),
        job,
        metrics,
    };
    gate.fire("start-up");

    let ticker = match engine {
        Engine::Tokio => Ticker::Tokio(tokio::spawn(tick_loop(schedule.clone(), gate.clone()))),
        #[cfg(test)]
        Engine::TokioCronScheduler => match tcs::start(schedule, gate.clone()).await {
            Ok(s) => Ticker::Tcs(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the scheduler");
                gate.stopping.store(true, Ordering::SeqCst);
                let _ = gate.drain(grace).await;
                return Stopped::Failed;
            }
        },
    };
    stop.await;
    gate.stopping.store(true, Ordering::SeqCst);
    match ticker {
        Ticker::Tokio(handle) => handle.abort(),
        #[cfg(test)]
        Ticker::Tcs(mut s) => {
            let _ = s.shutdown().await;
        }
    }
    gate.drain(grace).await
}

enum Ticker {
    Tokio(tokio::task::JoinHandle<()>),
    #[cfg(test)]
    Tcs(tokio_cron_scheduler::JobScheduler),
}

/// Longest single sleep while waiting for a cron occurrence: the wall clock
/// is read again after it, so clock steps and suspends are noticed.
const MAX_CRON_SLEEP: Duration = Duration::from_secs(30);

/// Fires `gate` on every tick, forever (the caller aborts the task).
async fn tick_loop(schedule: Schedule, gate: Gate) {
    match schedule {
        Schedule::Every(every) => {
            let every = every.max(Duration::from_millis(1));
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            // After a stall, fire once and continue one interval later.
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                gate.fire("interval");
            }
        }
        Schedule::Cron(cron) => {
            let mut next = cron.next_after(&chrono::Utc::now());
            while let Some(at) = next {
                let wait = (at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_CRON_SLEEP);
                tokio::time::sleep(wait).await;
                let now = chrono::Utc::now();
                if now >= at {
                    gate.fire("cron");
                    // Occurrences missed during a stall collapse into one.
                    next = cron.next_after(&now);
                }
            }
            tracing::warn!(schedule = %cron.original, "SCHEDULE has no further occurrence; no more refreshes");
        }
    }
}

/// Ticks from tokio-cron-scheduler (test-only: see the module docs).
#[cfg(test)]
mod tcs {
    use super::*;

    pub(super) async fn start(
        schedule: &Schedule,
        gate: Gate,
    ) -> Result<tokio_cron_scheduler::JobScheduler, String> {
        use tokio_cron_scheduler::{Job as TcsJob, JobScheduler};
        let scheduler = JobScheduler::new().await.map_err(|e| e.to_string())?;
        let tick = move |_id, _sched| {
            let gate = gate.clone();
            Box::pin(async move {
                gate.fire("tick");
            }) as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
        };
        let job = match schedule {
            Schedule::Every(d) => TcsJob::new_repeated_async(*d, tick),
            Schedule::Cron(c) => TcsJob::new_async(c.normalized.as_str(), tick),
        }
        .map_err(|e| e.to_string())?;
        scheduler.add(job).await.map_err(|e| e.to_string())?;
        scheduler.start().await.map_err(|e| e.to_string())?;
        Ok(scheduler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    #[test]
    fn cron_forms() {
        assert_eq!(normalize_cron("15 6 * * *").unwrap(), "0 15 6 * * *");
        assert_eq!(normalize_cron(" 0 15 6 * * * ").unwrap(), "0 15 6 * * *");
        assert_eq!(
            normalize_cron("0 15 6 * * * 2030").unwrap(),
            "0 15 6 * * * 2030"
        );
        assert_eq!(normalize_cron("@daily").unwrap(), "@daily");
        let e = normalize_cron("* * *").unwrap_err();
        assert!(e.starts_with("SCHEDULE"), "{e}");
        let e = parse_cron("61 * * * *").unwrap_err();
        assert!(e.starts_with("SCHEDULE"), "{e}");
        let e = parse_cron("0 0 0 1 1 * 2020").unwrap_err();
        assert!(e.contains("never"), "{e}");
        for ok in [
            "15 6 * * *",
            "*/5 * * * * *",
            "@hourly",
            "0 0 9 * * MON-FRI",
        ] {
            parse_cron(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert_eq!(
            Schedule::from_settings(Some("  "), Duration::from_secs(5)).unwrap(),
            Schedule::Every(Duration::from_secs(5))
        );
    }

    #[test]
    fn cron_is_utc_and_dom_dow_is_or() {
        use chrono::{TimeZone, Utc};
        let s = parse_cron("30 6 * * *").unwrap();
        let from = Utc.with_ymd_and_hms(2025, 10, 1, 7, 0, 0).unwrap();
        assert_eq!(
            s.next_after(&from).unwrap(),
            Utc.with_ymd_and_hms(2025, 10, 2, 6, 30, 0).unwrap()
        );
        // Vixie cron: "the 1st, or any Monday". 2025-10-06 is a Monday.
        let s = parse_cron("0 0 1 * MON").unwrap();
        let from = Utc.with_ymd_and_hms(2025, 10, 2, 0, 0, 0).unwrap();
        assert_eq!(
            s.next_after(&from).unwrap(),
            Utc.with_ymd_and_hms(2025, 10, 6, 0, 0, 0).unwrap()
        );
    }

    struct Probe {
        starts: Arc<std::sync::Mutex<Vec<Instant>>>,
        active: Arc<AtomicUsize>,
        max_active: Arc<AtomicUsize>,
    }

    fn probe(
        work: Duration,
    ) -> (
        Probe,
        impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static,
    ) {
        let p = Probe {
            starts: Arc::default(),
            active: Arc::default(),
            max_active: Arc::default(),
        };
        let (starts, active, max_active) =
            (p.starts.clone(), p.active.clone(), p.max_active.clone());
        let job = move || {
            let (starts, active, max_active) = (starts.clone(), active.clone(), max_active.clone());
            Box::pin(async move {
                starts.lock().unwrap().push(Instant::now());
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                max_active.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(work).await;
                active.fetch_sub(1, Ordering::SeqCst);
            }) as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
        };
        (p, job)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ticks_keep_coming_every_second() {
        let (p, job) = probe(Duration::from_millis(10));
        let metrics = SchedulerMetrics::register(&Registry::new());
        let stopped = run(
            &Schedule::Every(Duration::from_secs(1)),
            metrics.clone(),
            job,
            tokio::time::sleep(Duration::from_millis(5600)),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(stopped, Stopped::Clean);
        let n = p.starts.lock().unwrap().len();
        // Start-up run + one per second (the engine polls every 500 ms).
        assert!((5..=7).contains(&n), "{n} runs in 5.6 s");
        assert_eq!(metrics.ticks_skipped.get(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cron_with_seconds_keeps_firing() {
        let (p, job) = probe(Duration::from_millis(10));
        let metrics = SchedulerMetrics::register(&Registry::new());
        run(
            &Schedule::Cron(Box::new(parse_cron("* * * * * *").unwrap())),
            metrics,
            job,
            tokio::time::sleep(Duration::from_millis(4600)),
            Duration::from_secs(5),
        )
        .await;
        let n = p.starts.lock().unwrap().len();
        assert!((4..=6).contains(&n), "{n} runs in 4.6 s");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_runs_never_overlap_and_skips_are_counted() {
        let (p, job) = probe(Duration::from_millis(2500));
        let metrics = SchedulerMetrics::register(&Registry::new());
        let stopped = run(
            &Schedule::Every(Duration::from_secs(1)),
            metrics.clone(),
            job,
            tokio::time::sleep(Duration::from_millis(6200)),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(stopped, Stopped::Clean);
        assert_eq!(p.max_active.load(Ordering::SeqCst), 1);
        assert_eq!(
            p.active.load(Ordering::SeqCst),
            0,
            "shutdown waited for the run in flight"
        );
        let n = p.starts.lock().unwrap().len();
        assert!((2..=3).contains(&n), "{n} runs");
        assert!(
            metrics.ticks_skipped.get() >= 2,
            "skipped {}",
            metrics.ticks_skipped.get()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grace_period_is_bounded() {
        let (p, job) = probe(Duration::from_secs(30));
        let metrics = SchedulerMetrics::register(&Registry::new());
        let started = Instant::now();
        let stopped = run(
            &Schedule::Every(Duration::from_secs(3600)),
            metrics,
            job,
            tokio::time::sleep(Duration::from_millis(200)),
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(stopped, Stopped::GraceExpired);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(p.starts.lock().unwrap().len(), 1);
    }

    /// Runs the schedule on a single-threaded runtime that is frozen for 3 s
    /// after 2.2 s (CPU throttling, a stopped container, a suspended VM),
    /// and returns how many runs started in the 4 s after the freeze.
    fn runs_after_a_freeze(engine: Engine, schedule: Schedule) -> usize {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (p, job) = probe(Duration::from_millis(10));
            let metrics = SchedulerMetrics::register(&Registry::new());
            let frozen_until = Instant::now() + Duration::from_millis(5200);
            let stop = async {
                tokio::time::sleep(Duration::from_millis(2200)).await;
                // Blocks the only runtime thread: nothing runs for 3 s.
                std::thread::sleep(Duration::from_secs(3));
                tokio::time::sleep(Duration::from_millis(4000)).await;
            };
            run_with(
                engine,
                &schedule,
                metrics,
                job,
                stop,
                Duration::from_secs(5),
            )
            .await;
            let after = p
                .starts
                .lock()
                .unwrap()
                .iter()
                .filter(|t| **t > frozen_until)
                .count();
            after
        })
    }

    #[test]
    fn ticks_resume_after_the_process_was_frozen() {
        let n = runs_after_a_freeze(Engine::Tokio, Schedule::Every(Duration::from_secs(1)));
        assert!((3..=5).contains(&n), "{n} runs in the 4 s after the freeze");
        let n = runs_after_a_freeze(
            Engine::Tokio,
            Schedule::Cron(Box::new(parse_cron("* * * * * *").unwrap())),
        );
        assert!(
            (3..=5).contains(&n),
            "cron: {n} runs in the 4 s after the freeze"
        );
    }

    /// Evidence for docs/scheduler.md: tokio-cron-scheduler 0.15.1 never
    /// fires a repeated job again once a freeze made it miss a whole
    /// interval (upstream #113: `next_tick` = old `next_tick` + interval
    /// stays in the past, behind `last_tick`). Run with `--ignored`; when
    /// this starts failing, upstream fixed it.
    #[test]
    #[ignore = "reproduces an upstream defect; see docs/scheduler.md"]
    fn tokio_cron_scheduler_stops_after_a_freeze() {
        let n = runs_after_a_freeze(
            Engine::TokioCronScheduler,
            Schedule::Every(Duration::from_secs(1)),
        );
        assert!(
            n <= 1,
            "tokio-cron-scheduler resumed ({n} runs): upstream #113 is fixed"
        );
        // Its cron jobs recompute from `now` and do resume.
        let n = runs_after_a_freeze(
            Engine::TokioCronScheduler,
            Schedule::Cron(Box::new(parse_cron("* * * * * *").unwrap())),
        );
        assert!(n >= 3, "cron: {n}");
    }
}
