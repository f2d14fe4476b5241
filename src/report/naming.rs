//! The naming rule: pure functions from report rows (JSON) to series.
//!
//! This is the public contract of the exporter's metric names:
//! - prefix `copilot_`; a leaf field loses a trailing `_count` or `_sum`
//!   (`loc_added_sum` → `copilot_loc_added`);
//! - a nested object becomes a path segment, a leading `totals_by_` dropped
//!   (`totals_by_cli.token_usage.output_tokens_sum` →
//!   `copilot_cli_token_usage_output_tokens`);
//! - an array named `<p>_by_<dims>`: each element's string fields become
//!   labels and each numeric field `f` becomes `<f'>_by_<dims>`
//!   (`totals_by_ide[]` → `copilot_code_generation_activity_by_ide{ide=…}`);
//!   an array of objects without `_by_` in its name becomes a path segment
//!   and its elements' string fields labels;
//! - an element's identifying `*_id` ([`is_element_id`]) with a string or
//!   integer value is a label too, so elements that differ only by it never
//!   collapse (`totals_by_3rd_party_agent[].agent_id`);
//! - every name segment is cleaned by [`name_segment`]: no name has a
//!   doubled underscore (`…_by_3rd_party_agent`);
//! - identifiers and bookkeeping elsewhere (`*_id`, `*_partition`, `etl_id`,
//!   `day`), strings, booleans and nulls produce no series; numeric fields
//!   the API adds later are exported by the same rule;
//! - each leaf says whether its field is a quantity
//!   ([`crate::report::quantity`]), the only values ever summed over rows.
//!
//! The fast row walker (`report::rowwalk`) computes names with these same
//! functions; a property test requires both to give identical samples.
//! Nothing here does I/O, so every rule is unit-tested on literal JSON.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::model::{day_start_unix, LabelSetId, Labels, SampleSet, SeriesKey};
use crate::report::breakdowns::Breakdowns;
use crate::report::quantity::is_quantity;

/// Name of the series that carries the report day of a set of values.
pub const REPORT_DAY_METRIC: &str = "copilot_report_day_timestamp_seconds";

/// Prefix of every data metric.
pub const PREFIX: &str = "copilot_";

/// True for fields that identify or partition a row rather than measure it.
pub fn is_bookkeeping(field: &str) -> bool {
    field == "day" || field == "etl_id" || field.ends_with("_id") || field.ends_with("_partition")
}

/// True for a field that identifies an element of a breakdown array
/// (`agent_id` in `totals_by_3rd_party_agent[]`): any `*_id` but the ETL's
/// `etl_id`. In an array element, such a field with a string or integer
/// value is a label, so elements that differ only by it stay apart.
pub fn is_element_id(field: &str) -> bool {
    field.ends_with("_id") && field != "etl_id"
}

/// Makes any string a valid Prometheus metric or label name
/// (`[a-zA-Z_][a-zA-Z0-9_]*`): other characters become `_`, a leading digit
/// gets a `_` in front, an empty string becomes `_`.
pub fn sanitize_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 1);
    for (i, c) in raw.chars().enumerate() {
        if i == 0 && c.is_ascii_digit() {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// One segment of a metric name (a field name placed after the prefix):
/// characters outside `[a-zA-Z0-9_]` become `_`, runs of `_` become one,
/// and leading and trailing `_` are dropped, so segments join without
/// doubled underscores (`3rd_party_agent`, not `_3rd_party_agent`). A
/// segment needs no leading-digit fix: every name starts with the prefix.
/// Empty when the field name has no letter or digit.
pub fn name_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    if out.ends_with('_') {
        out.pop();
    }
    out
}

/// A leaf field name without its trailing `_count` / `_sum`.
pub fn leaf_name(field: &str) -> &str {
    field
        .strip_suffix("_count")
        .or_else(|| field.strip_suffix("_sum"))
        .filter(|s| !s.is_empty())
        .unwrap_or(field)
}

/// Prometheus wants base units: a leaf measured in minutes or hours (a
/// `minutes` / `hours` word in its name) is exported in seconds, the word
/// replaced by `seconds`. Returns the new leaf and the factor for its value.
pub fn base_unit(leaf: &str) -> (String, f64) {
    let mut factor = 1.0;
    let words: Vec<&str> = leaf
        .split('_')
        .map(|w| match w {
            "minutes" if factor == 1.0 => {
                factor = 60.0;
                "seconds"
            }
            "hours" if factor == 1.0 => {
                factor = 3600.0;
                "seconds"
            }
            other => other,
        })
        .collect();
    (words.join("_"), factor)
}

/// The metric name of a numeric leaf `field` under `path` (which ends in
/// `_`) with `suffix` (`_by_<dims>` inside arrays), and the factor for its
/// value; `None` when the field name has no letter or digit.
pub(crate) fn leaf_metric(path: &str, field: &str, suffix: &str) -> Option<(String, f64)> {
    let (leaf, factor) = base_unit(leaf_name(field));
    let leaf = name_segment(&leaf);
    (!leaf.is_empty()).then(|| (format!("{path}{leaf}{suffix}"), factor))
}

/// The path of a nested object `field` under `path`: its name without a
/// leading `totals_by_` as one more segment.
pub(crate) fn object_path(path: &str, field: &str) -> String {
    let segment = name_segment(
        field
            .strip_prefix("totals_by_")
            .filter(|s| !s.is_empty())
            .unwrap_or(field),
    );
    if segment.is_empty() {
        path.to_string()
    } else {
        format!("{path}{segment}_")
    }
}

/// The name prefix and suffix of the elements of an array `field` under
/// `path`: `<p>_by_<dims>` gives (`path`, `_by_<dims>`), any other name
/// gives (`path` + segment, no suffix).
pub(crate) fn array_parts(path: &str, field: &str) -> (String, String) {
    let dims = field
        .rfind("_by_")
        .map(|i| &field[i + 4..])
        .filter(|d| !d.is_empty())
        .or_else(|| field.strip_prefix("by_").filter(|d| !d.is_empty()))
        .map(name_segment)
        .filter(|d| !d.is_empty());
    match dims {
        Some(dims) => (path.to_string(), format!("_by_{dims}")),
        None => {
            let segment = name_segment(field);
            if segment.is_empty() {
                (path.to_string(), String::new())
            } else {
                (format!("{path}{segment}_"), String::new())
            }
        }
    }
}

/// A JSON number as a finite `f64`; anything else (strings such as "NaN",
/// booleans, nulls) is not a measurement.
fn number(value: &Value) -> Option<f64> {
    value.as_f64().filter(|v| v.is_finite())
}

/// One numeric leaf of a row as the naming rule maps it.
#[derive(Debug)]
pub struct MappedLeaf<'a> {
    /// The metric name.
    pub name: String,
    /// Its labels, sorted by name, none with an empty value (shared by the
    /// leaves of one object or array element).
    pub labels: &'a Labels,
    /// The value, in base units.
    pub value: f64,
    /// The report path of the field's container (`totals_by_ide[]`) and
    /// the field (`loc_added_sum`); see [`MappedLeaf::source`].
    parent: &'a str,
    field: &'a str,
}

impl MappedLeaf<'_> {
    /// The series key (an owned copy of the name and labels).
    pub fn key(&self) -> SeriesKey {
        SeriesKey {
            name: self.name.clone(),
            labels: self.labels.clone(),
        }
    }

    /// Whether the field is a quantity ([`is_quantity`]): only quantities
    /// are ever summed over rows.
    pub fn quantity(&self) -> bool {
        is_quantity(self.field)
    }

    /// The report field it comes from (`totals_by_ide[].loc_added_sum`).
    pub fn source(&self) -> String {
        report_path(self.parent, self.field)
    }
}

/// The report path of `field` inside the container at `parent` (the row
/// itself when `parent` is empty).
fn report_path(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// Turns one day-level object (an element of `day_totals[]`, a flat 1-day
/// record, or a per-user row) into series named `<prefix><path>…`, each
/// carrying `base_labels`. The first value of a duplicated series wins and
/// the duplicate is counted by the set.
pub fn map_object(
    prefix: &str,
    base_labels: &Labels,
    object: &Map<String, Value>,
    out: &mut SampleSet,
) {
    // Leaves of one array element share a label set: intern it once.
    let mut last: Option<(Labels, LabelSetId)> = None;
    map_leaves(prefix, base_labels, object, &mut |leaf| {
        let labels = match &last {
            Some((labels, id)) if labels == leaf.labels => *id,
            _ => {
                let id =
                    out.intern_labels(leaf.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                last = Some((leaf.labels.clone(), id));
                id
            }
        };
        // The set keeps the first help text of a name: only built then.
        out.insert_in_with(&leaf.name, labels, leaf.value, || {
            field_help(&leaf.source())
        });
    });
}

/// The exact naming rule, leaf by leaf: calls `emit` for every numeric leaf
/// of `object` in the order [`map_object`] inserts them.
pub fn map_leaves(
    prefix: &str,
    base_labels: &Labels,
    object: &Map<String, Value>,
    emit: &mut dyn FnMut(MappedLeaf<'_>),
) {
    walk_object(prefix, "", base_labels, object, Breakdowns::ALL, emit);
}

/// [`map_leaves`] of a per-user row with only the `breakdowns` that are on:
/// a top-level breakdown field that is off is skipped whatever its value,
/// like bookkeeping ([`Breakdowns::skips_field`]).
pub fn map_row_leaves(
    prefix: &str,
    base_labels: &Labels,
    row: &Map<String, Value>,
    breakdowns: Breakdowns,
    emit: &mut dyn FnMut(MappedLeaf<'_>),
) {
    walk_object(prefix, "", base_labels, row, breakdowns, emit);
}

/// The labels a leaf carries: sorted by name, empty values dropped (as
/// [`SeriesKey::new`] makes them).
fn leaf_labels(labels: &Labels) -> Labels {
    SeriesKey::new("", labels.clone()).labels
}

/// Walks `object`; its own fields named by a breakdown that is off in
/// `breakdowns` are skipped (nested objects keep every field).
fn walk_object(
    path: &str,
    source: &str,
    labels: &Labels,
    object: &Map<String, Value>,
    breakdowns: Breakdowns,
    emit: &mut dyn FnMut(MappedLeaf<'_>),
) {
    let own_labels = leaf_labels(labels);
    for (field, value) in object {
        if is_bookkeeping(field) || breakdowns.skips_field(field) {
            continue;
        }
        match value {
            Value::Number(_) => {
                if let (Some(v), Some((name, factor))) =
                    (number(value), leaf_metric(path, field, ""))
                {
                    emit(MappedLeaf {
                        name,
                        labels: &own_labels,
                        value: v * factor,
                        parent: source,
                        field,
                    });
                }
            }
            Value::Object(inner) => walk_object(
                &object_path(path, field),
                &report_path(source, field),
                labels,
                inner,
                Breakdowns::ALL,
                emit,
            ),
            Value::Array(items) => walk_array(
                path,
                &report_path(source, field),
                field,
                labels,
                items,
                emit,
            ),
            _ => {}
        }
    }
}

/// The label value of an element's identifying `*_id` field: a string, or
/// an integer's decimal digits.
fn id_label(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

fn walk_array(
    path: &str,
    source: &str,
    field: &str,
    labels: &Labels,
    items: &[Value],
    emit: &mut dyn FnMut(MappedLeaf<'_>),
) {
    let (prefix, suffix) = array_parts(path, field);
    let source = format!("{source}[]");
    for item in items {
        let Value::Object(element) = item else {
            continue;
        };
        let mut element_labels = labels.clone();
        for (key, value) in element {
            if is_element_id(key) {
                if let Some(id) = id_label(value) {
                    push_label(&mut element_labels, key, &id);
                }
            } else if is_bookkeeping(key) {
                continue;
            } else if let Value::String(s) = value {
                push_label(&mut element_labels, key, s);
            }
        }
        let element_labels = leaf_labels(&element_labels);
        element_leaves(&prefix, &suffix, &source, &element_labels, element, emit);
    }
}

/// Numeric leaves of one array element (and of objects nested in it):
/// `<prefix><segments><f'><suffix>`; `labels` are already leaf labels.
fn element_leaves(
    prefix: &str,
    suffix: &str,
    source: &str,
    labels: &Labels,
    element: &Map<String, Value>,
    emit: &mut dyn FnMut(MappedLeaf<'_>),
) {
    for (key, value) in element {
        if is_bookkeeping(key) {
            continue;
        }
        match value {
            Value::Number(_) => {
                if let (Some(v), Some((name, factor))) =
                    (number(value), leaf_metric(prefix, key, suffix))
                {
                    emit(MappedLeaf {
                        name,
                        labels,
                        value: v * factor,
                        parent: source,
                        field: key,
                    });
                }
            }
            Value::Object(inner) => element_leaves(
                &object_path(prefix, key),
                suffix,
                &format!("{source}.{key}"),
                labels,
                inner,
                emit,
            ),
            _ => {}
        }
    }
}

/// Adds a label from a report string field. Names are sanitised; a name that
/// is already taken (the scope label, say) is kept under `exported_<name>`
/// as Prometheus does for scraped label clashes.
pub fn push_label(labels: &mut Labels, name: &str, value: &str) {
    let mut name = sanitize_name(name);
    if name.starts_with("__") {
        name = format!("exported{name}");
    }
    while labels.iter().any(|(n, _)| *n == name) {
        name = format!("exported_{name}");
    }
    labels.push((name, value.to_string()));
}

/// The help text of a series from report field `source`; a field in
/// minutes or hours says that its value was converted to seconds.
pub fn field_help(source: &str) -> String {
    let field = source.rsplit(['.', ']']).next().unwrap_or(source);
    // The unit word base_unit converts: the first `minutes` or `hours`
    // (no allocation: a new metric name of every row of the exact path
    // gets its help text here).
    let unit = leaf_name(field)
        .split('_')
        .find(|w| *w == "minutes" || *w == "hours");
    let converted = match unit {
        Some("minutes") => ", in seconds (minutes × 60)",
        Some(_) => ", in seconds (hours × 3600)",
        None => "",
    };
    format!("GitHub Copilot usage metrics report field `{source}`{converted}.")
}

/// A day-level object of a report row, with its day.
pub type DayObject<'a> = (NaiveDate, &'a Map<String, Value>);

/// The day-level objects of one entity-report row: the elements of
/// `day_totals[]` in a 28-day report, or the row itself in a 1-day report.
/// Each comes with its `day`; objects without a parseable `day` are skipped
/// (and reported through the returned count).
pub fn entity_days(row: &Value) -> (Vec<DayObject<'_>>, usize) {
    let mut days = Vec::new();
    let mut skipped = 0;
    let candidates: Vec<&Value> = match row.get("day_totals") {
        Some(Value::Array(items)) => items.iter().collect(),
        _ => vec![row],
    };
    for candidate in candidates {
        match dated_object(candidate) {
            Some(found) => days.push(found),
            None => skipped += 1,
        }
    }
    (days, skipped)
}

fn dated_object(value: &Value) -> Option<DayObject<'_>> {
    let map = value.as_object()?;
    let day = map.get("day")?.as_str()?;
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some((day, map))
}

/// Adds `copilot_report_day_timestamp_seconds` (00:00 UTC of `day`) to a
/// day's set.
pub fn add_report_day(day: NaiveDate, scope_labels: &Labels, out: &mut SampleSet) {
    out.set(
        SeriesKey::new(REPORT_DAY_METRIC, scope_labels.clone()),
        day_start_unix(day) as f64,
        "Report day (00:00 UTC, Unix seconds) the copilot_* values of this scope belong to.",
    );
}

#[cfg(test)]
mod tests;
