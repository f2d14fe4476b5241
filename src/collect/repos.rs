//! Repository series of one day (`repos-1-day`).

use chrono::NaiveDate;
use serde_json::Value;

use crate::github::reports::ReportKind;
use crate::model::scope::Scope;
use crate::model::{Labels, SampleSet};
use crate::report::repos::map_repo_row;

use super::optional::{row_bytes, OptionalFailure};
use super::Collector;

impl Collector {
    /// `repos-1-day` of one day.
    pub(super) async fn collect_repos(
        &self,
        scope: &Scope,
        scope_labels: &Labels,
        day: NaiveDate,
    ) -> Result<SampleSet, OptionalFailure> {
        let mut out = SampleSet::new();
        let mut bad = 0u64;
        let report = ReportKind::Repos1Day.name(scope.kind);
        let day_text = day.to_string();
        self.source
            .fetch_report(
                scope,
                ReportKind::Repos1Day,
                Some(day),
                self.max_report_bytes,
                &mut |line| {
                    let Some(bytes) = row_bytes(line, &mut bad) else {
                        return;
                    };
                    match serde_json::from_slice::<serde_json::Map<String, Value>>(bytes) {
                        Ok(row)
                            if row
                                .get("day")
                                .and_then(Value::as_str)
                                .is_some_and(|d| d != day_text) => {}
                        Ok(row) => {
                            if map_repo_row(scope_labels, &row, &mut out).is_err() {
                                bad += 1;
                            }
                        }
                        Err(_) => bad += 1,
                    }
                },
            )
            .await?;
        self.count_invalid(scope, report, bad);
        self.metrics.duplicate_series.inc_by(out.duplicates());
        Ok(out)
    }
}
