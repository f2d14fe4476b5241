//! Collection: for one scope, fetch its reports and build its [`ScopeData`].
//!
//! The collector knows where reports come from (GitHub or the built-in demo)
//! but nothing about sinks.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use chrono::NaiveDate;

use crate::demo::DemoSource;
use crate::github::ndjson::{is_blank, Line};
use crate::github::reports::{fetch_report, ReportKind, ReportOutcome};
use crate::github::{GithubClient, GithubError};
use crate::mapping::{add_report_day, entity_days, map_object, PREFIX};
use crate::model::{Labels, SampleSet, ScopeData};
use crate::scope::Scope;
use crate::selfmetrics::SelfMetrics;

/// Where reports come from.
pub enum Source {
    /// The GitHub REST API and its signed links.
    Github(Arc<GithubClient>),
    /// Built-in sample reports (`--demo`).
    Demo(DemoSource),
}

impl Source {
    /// Fetches one report, feeding its NDJSON lines to `on_line`.
    pub async fn fetch(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        max_report_bytes: u64,
        on_line: &mut (dyn FnMut(Line<'_>) + Send),
    ) -> Result<ReportOutcome, GithubError> {
        match self {
            Source::Github(client) => {
                fetch_report(client, scope, kind, day, max_report_bytes, on_line).await
            }
            Source::Demo(demo) => Ok(demo.fetch(scope, kind, day, on_line)),
        }
    }
}

/// What a refresh asks of the collector beyond the newest data.
#[derive(Clone, Copy, Debug, Default)]
pub struct CollectRequest {
    /// Oldest report day wanted (remote-write `report-day` backfill). Days
    /// older than the 28-day report are fetched from 1-day reports.
    pub history_from: Option<NaiveDate>,
    /// Today (UTC); days after it are never requested.
    pub today: Option<NaiveDate>,
}

/// A scope's collection failed; the message says which report and why.
#[derive(Debug, thiserror::Error)]
#[error("{scope}: {report}: {source}")]
pub struct CollectError {
    /// The scope.
    pub scope: Scope,
    /// The report that failed.
    pub report: String,
    /// The GitHub failure.
    #[source]
    pub source: GithubError,
}

/// Builds [`ScopeData`] from the reports of one scope.
pub struct Collector {
    source: Source,
    metrics: Arc<SelfMetrics>,
    max_report_bytes: u64,
}

impl Collector {
    /// A collector reading from `source`.
    pub fn new(source: Source, metrics: Arc<SelfMetrics>, max_report_bytes: u64) -> Self {
        Collector {
            source,
            metrics,
            max_report_bytes,
        }
    }

    /// The report source.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Collects one scope: the 28-day entity report (every day in it), plus
    /// 1-day entity reports for older days when `request.history_from` asks.
    pub async fn collect(
        &self,
        scope: &Scope,
        request: &CollectRequest,
    ) -> Result<ScopeData, CollectError> {
        let started = Instant::now();
        let mut data = ScopeData::new(scope.clone());
        let scope_labels: Labels = vec![scope.label()];

        let mut acc = EntityAccumulator::new(scope_labels.clone());
        self.read_report(scope, ReportKind::Entity28Day, None, &mut acc)
            .await?;

        if let Some(from) = request.history_from {
            let first_known = acc.days.keys().next().copied();
            let today = request
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            let until = first_known.unwrap_or(today);
            let mut day = from;
            while day < until {
                self.read_report(scope, ReportKind::Entity1Day, Some(day), &mut acc)
                    .await?;
                day = day.succ_opt().unwrap_or(until);
            }
        }

        for (day, mut set) in acc.days {
            add_report_day(day, &scope_labels, &mut set);
            self.metrics.duplicate_series.inc_by(set.duplicates());
            data.days.insert(day, set);
        }
        data.invalid_lines = acc.invalid;
        data.duration = started.elapsed();
        data.collected_at = SystemTime::now();
        Ok(data)
    }

    async fn read_report(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        acc: &mut EntityAccumulator,
    ) -> Result<(), CollectError> {
        let report = kind.name(scope.kind);
        let invalid_counter = self
            .metrics
            .invalid_report_lines
            .with_label_values(&[report]);
        let mut on_line = |line: Line<'_>| {
            if let Some(problem) = acc.take(line) {
                invalid_counter.inc();
                let (line_no, why) = problem;
                if acc.invalid <= 20 {
                    tracing::warn!(%scope, report, line = line_no, reason = %why, "skipping malformed report line");
                }
            }
        };
        let outcome = self
            .source
            .fetch(scope, kind, day, self.max_report_bytes, &mut on_line)
            .await
            .map_err(|source| CollectError {
                scope: scope.clone(),
                report: match day {
                    Some(d) => format!("{report} {d}"),
                    None => report.to_string(),
                },
                source,
            })?;
        match outcome {
            ReportOutcome::NoReport => {
                tracing::info!(%scope, report, ?day, "no report for this day yet (204)")
            }
            ReportOutcome::Delivered {
                files,
                bytes,
                lines,
                end_day,
            } => {
                tracing::debug!(%scope, report, ?day, files, bytes, lines, ?end_day, "report read")
            }
        }
        Ok(())
    }
}

/// Folds entity-report lines into per-day sample sets.
struct EntityAccumulator {
    labels: Labels,
    days: std::collections::BTreeMap<NaiveDate, SampleSet>,
    invalid: u64,
}

impl EntityAccumulator {
    fn new(labels: Labels) -> Self {
        EntityAccumulator {
            labels,
            days: Default::default(),
            invalid: 0,
        }
    }

    /// Takes one line; returns `(line number, reason)` when it was malformed.
    fn take(&mut self, line: Line<'_>) -> Option<(u64, String)> {
        let (line_no, bytes) = match line {
            Line::Complete(n, b) => (n, b),
            Line::TooLong(n) => {
                self.invalid += 1;
                return Some((n, "line longer than MAX_LINE_BYTES".into()));
            }
        };
        if is_blank(bytes) {
            return None;
        }
        let row: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.invalid += 1;
                return Some((line_no, format!("not JSON: {e}")));
            }
        };
        if !row.is_object() {
            self.invalid += 1;
            return Some((line_no, "not a JSON object".into()));
        }
        let (days, skipped) = entity_days(&row);
        for (day, object) in days {
            let set = self.days.entry(day).or_default();
            map_object(PREFIX, &self.labels, object, set);
        }
        if skipped > 0 {
            self.invalid += 1;
            return Some((
                line_no,
                format!("{skipped} day object(s) without a valid `day`"),
            ));
        }
        None
    }
}
