//! The entity reports (28-day and 1-day): read completely into a fresh
//! per-day accumulator, or the scope fails.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{CollectError, ScopeReader};
use crate::github::reading::{Fresh, RowVerdict};
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::model::{Labels, SampleSet};
use crate::report::naming::{entity_days, map_object, PREFIX};

/// Reads one entity report into a fresh accumulator.
pub(super) async fn read(
    reader: &ScopeReader<'_>,
    kind: ReportKind,
    day: Option<NaiveDate>,
) -> Result<EntityAccumulator, CollectError> {
    let scope = reader.scope;
    let report = kind.name(scope.kind);
    let mut sink = Fresh::new(
        || EntityAccumulator::new(reader.labels.clone()),
        EntityAccumulator::row,
    );
    let outcome = reader
        .fetch(kind, day, &mut sink)
        .await
        .map_err(|source| CollectError {
            scope: scope.clone(),
            report: match day {
                Some(d) => format!("{report} {d}"),
                None => report.to_string(),
            },
            source,
        })?;
    let mut acc = sink.into_inner();
    match outcome {
        ReportOutcome::NoReport => {
            tracing::info!(%scope, report, ?day, "no report for this day yet")
        }
        ReportOutcome::Delivered { tally, end_day } => {
            acc.invalid = tally.invalid;
            reader.count_invalid(report, tally.invalid);
            tracing::debug!(%scope, report, ?day, files = tally.files, bytes = tally.bytes, rows = tally.rows, ?end_day, "report read")
        }
    }
    Ok(acc)
}

/// Folds entity-report rows into per-day sample sets.
pub(super) struct EntityAccumulator {
    labels: Labels,
    /// The samples of each report day.
    pub(super) days: BTreeMap<NaiveDate, SampleSet>,
    /// Invalid rows skipped.
    pub(super) invalid: u64,
}

impl EntityAccumulator {
    fn new(labels: Labels) -> Self {
        EntityAccumulator {
            labels,
            days: Default::default(),
            invalid: 0,
        }
    }

    /// Takes one row.
    fn row(&mut self, bytes: &[u8]) -> RowVerdict {
        let row: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => return RowVerdict::Invalid(format!("not JSON: {e}")),
        };
        if !row.is_object() {
            return RowVerdict::Invalid("not a JSON object".into());
        }
        let (days, skipped) = entity_days(&row);
        for (day, object) in days {
            let set = self.days.entry(day).or_default();
            map_object(PREFIX, &self.labels, object, set);
        }
        if skipped > 0 {
            return RowVerdict::Invalid(format!("{skipped} day object(s) without a valid `day`"));
        }
        RowVerdict::Valid
    }

    /// Adds the days of another report (1-day history before the 28 days).
    pub(super) fn merge(&mut self, other: EntityAccumulator) {
        self.invalid += other.invalid;
        for (day, set) in other.days {
            self.days.entry(day).or_default().absorb(set);
        }
    }
}
