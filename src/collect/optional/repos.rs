//! Repository metrics (`REPO_METRICS`): `repos-1-day` of each day.

use serde_json::Value;

use super::{Day, OptionalFailure};
use crate::collect::ScopeReader;
use crate::github::reading::{Fresh, RowVerdict};
use crate::github::reports::ReportKind;
use crate::model::SampleSet;
use crate::report::repos::map_repo_row;

/// `repos-1-day` of one day.
pub(super) async fn collect(
    reader: &ScopeReader<'_>,
    day: Day,
) -> Result<SampleSet, OptionalFailure> {
    let scope_labels = reader.labels;
    let report = ReportKind::Repos1Day.name(reader.scope.kind);
    let day_text = day.date.to_string();
    let mut sink =
        Fresh::new(
            SampleSet::new,
            |out: &mut SampleSet, row: &[u8]| match serde_json::from_slice::<
                serde_json::Map<String, Value>,
            >(row)
            {
                Ok(row)
                    if row
                        .get("day")
                        .and_then(Value::as_str)
                        .is_some_and(|d| d != day_text) =>
                {
                    RowVerdict::Valid
                }
                Ok(row) => match map_repo_row(scope_labels, &row, out) {
                    Ok(()) => RowVerdict::Valid,
                    Err(why) => RowVerdict::Invalid(why.to_string()),
                },
                Err(e) => RowVerdict::Invalid(format!("not a JSON object: {e}")),
            },
        );
    let outcome = reader
        .fetch(ReportKind::Repos1Day, Some(day.date), &mut sink)
        .await?;
    reader.count_invalid(report, outcome.invalid_rows());
    let out = sink.into_inner();
    reader.metrics.duplicate_series.inc_by(out.duplicates());
    Ok(out)
}
