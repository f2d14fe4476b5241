//! Repository metrics (`REPO_METRICS=true`): `repos-1-day` rows as
//! `copilot_repo_<f'>{…, repo="owner/name", repo_visibility}` by the core
//! naming rule. Only repositories with activity that day appear.

use serde_json::{Map, Value};

use crate::model::{Labels, SampleSet};
use crate::report::naming::{map_object, push_label};

/// Prefix of every repository metric.
pub const REPO_PREFIX: &str = "copilot_repo_";

/// Maps one `repos-1-day` row into `out`. The identity fields
/// (`repo_owner_name`, `repo_name`, `repo_visibility`) become labels; a row
/// without `repo_name` is refused.
pub fn map_repo_row(
    scope_labels: &Labels,
    row: &Map<String, Value>,
    out: &mut SampleSet,
) -> Result<(), &'static str> {
    let text = |field: &str| {
        row.get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let name = text("repo_name").ok_or("no `repo_name`")?;
    let repo = match text("repo_owner_name") {
        Some(owner) if !name.contains('/') => format!("{owner}/{name}"),
        _ => name.to_string(),
    };
    let mut labels = scope_labels.clone();
    push_label(&mut labels, "repo", &repo);
    if let Some(visibility) = text("repo_visibility") {
        push_label(
            &mut labels,
            "repo_visibility",
            &visibility.to_ascii_lowercase(),
        );
    }
    map_object(REPO_PREFIX, &labels, row, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repo_rows_follow_the_naming_rule() {
        let row = json!({
            "day": "2026-09-25", "repo_id": 5, "repo_owner_name": "octo", "repo_name": "hello",
            "repo_visibility": "PRIVATE",
            "pull_requests": {"total_created": 3, "median_minutes_to_merge": 2.0},
            "pull_request_review_times": [{"authored_by": "human", "reviewed_by": "human", "total_merged": 2}]
        });
        let mut out = SampleSet::new();
        map_repo_row(
            &vec![("org".into(), "octo".into())],
            row.as_object().unwrap(),
            &mut out,
        )
        .unwrap();
        let l = [
            ("org", "octo"),
            ("repo", "octo/hello"),
            ("repo_visibility", "private"),
        ];
        assert_eq!(
            out.value("copilot_repo_pull_requests_total_created", &l),
            Some(3.0)
        );
        assert_eq!(
            out.value("copilot_repo_pull_requests_median_seconds_to_merge", &l),
            Some(120.0)
        );
        assert_eq!(
            out.value(
                "copilot_repo_pull_request_review_times_total_merged",
                &[
                    ("org", "octo"),
                    ("repo", "octo/hello"),
                    ("repo_visibility", "private"),
                    ("authored_by", "human"),
                    ("reviewed_by", "human")
                ]
            ),
            Some(2.0)
        );
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(map_repo_row(
            &vec![],
            json!({"repo_owner_name": "x"}).as_object().unwrap(),
            &mut out
        )
        .is_err());
    }
}
