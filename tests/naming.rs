//! The naming rule on GitHub's official examples (the public contract of
//! metric names), through the library's pure mapping functions.

use copilot_metrics_exporter::model::{Labels, SampleSet};
use copilot_metrics_exporter::report::naming::{entity_days, map_object, PREFIX};
use serde_json::Value;

fn labels(scope: &str, name: &str) -> Labels {
    vec![(scope.to_string(), name.to_string())]
}

#[test]
fn enterprise_28_day_docs_example() {
    let docs: Value = serde_json::from_str(include_str!(
        "fixtures/github/usage-metrics-ndjson-enterprise-28-day.docs-example.json"
    ))
    .unwrap();
    let first = &docs[0];
    let (days, skipped) = entity_days(first);
    assert_eq!((days.len(), skipped), (1, 0));
    let mut set = SampleSet::new();
    map_object(PREFIX, &labels("enterprise", "e1"), days[0].1, &mut set);
    let e = [("enterprise", "e1")];
    let expect = |name: &str, extra: &[(&str, &str)], want: f64| {
        let mut all = e.to_vec();
        all.extend_from_slice(extra);
        assert_eq!(set.value(name, &all), Some(want), "{name} {extra:?}");
    };
    expect("copilot_daily_active_users", &[], 2.0);
    expect("copilot_weekly_active_users", &[], 2.0);
    expect("copilot_monthly_active_users", &[], 2.0);
    expect("copilot_daily_active_cli_users", &[], 2.0);
    expect("copilot_code_acceptance_activity", &[], 2.0);
    expect("copilot_loc_suggested_to_add", &[], 35.0);
    expect("copilot_loc_added", &[], 30.0);
    expect("copilot_user_initiated_interaction", &[], 0.0);
    expect("copilot_pull_requests_total_created", &[], 2.0);
    expect(
        "copilot_pull_requests_total_merged_created_by_copilot",
        &[],
        1.0,
    );
    expect("copilot_pull_requests_median_seconds_to_merge", &[], 150.0);
    expect(
        "copilot_pull_requests_median_seconds_to_merge_copilot_authored",
        &[],
        150.0,
    );
    expect("copilot_cli_session", &[], 3.0);
    expect("copilot_cli_token_usage_output_tokens", &[], 7000.0);
    expect(
        "copilot_cli_token_usage_avg_tokens_per_request",
        &[],
        4100.0,
    );
    expect(
        "copilot_code_generation_activity_by_ide",
        &[("ide", "vscode")],
        2.0,
    );
    expect(
        "copilot_loc_added_by_feature",
        &[("feature", "code_completion")],
        30.0,
    );
    expect(
        "copilot_loc_suggested_to_add_by_language_feature",
        &[("language", "unknown"), ("feature", "code_completion")],
        35.0,
    );
    // Bookkeeping never becomes a metric.
    assert!(set
        .names()
        .all(|n| !n.contains("partition") && !n.ends_with("_id")));
    // Every numeric leaf of the day object is exported: count them independently.
    assert_eq!(
        set.len(),
        count_numeric_leaves(&Value::Object(days[0].1.clone()))
    );
}

fn count_numeric_leaves(v: &Value) -> usize {
    match v {
        Value::Number(_) => 1,
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| !k.ends_with("_id") && *k != "day")
            .map(|(_, v)| count_numeric_leaves(v))
            .sum(),
        Value::Array(items) => items.iter().map(count_numeric_leaves).sum(),
        _ => 0,
    }
}

#[test]
fn per_user_docs_example() {
    let docs: Value = serde_json::from_str(include_str!(
        "fixtures/github/usage-metrics-ndjson-users-1-day.docs-example.json"
    ))
    .unwrap();
    let row = docs[0].as_object().unwrap();
    let mut set = SampleSet::new();
    map_object("copilot_user_", &labels("enterprise", "e"), row, &mut set);
    let e = [("enterprise", "e")];
    assert_eq!(
        set.value("copilot_user_code_acceptance_activity", &e),
        Some(1.0)
    );
    assert_eq!(
        set.value("copilot_user_loc_suggested_to_add", &e),
        Some(10.0)
    );
    assert_eq!(set.value("copilot_user_cli_prompt", &e), Some(2.0));
    assert_eq!(
        set.value("copilot_user_cli_token_usage_prompt_tokens", &e),
        Some(3800.0)
    );
    assert_eq!(
        set.value(
            "copilot_user_loc_added_by_ide",
            &[("enterprise", "e"), ("ide", "vscode")]
        ),
        Some(8.0)
    );
    // user_id, booleans (used_chat …), versions and timestamps are not metrics.
    assert!(set
        .names()
        .all(|n| !n.contains("user_id") && !n.contains("used_") && !n.contains("version")));
    assert_eq!(set.duplicates(), 0);
}

#[test]
fn a_record_with_fields_unknown_today() {
    let row: Value = serde_json::json!({
        "day": "2026-12-01",
        "organization_id": "7",
        "daily_active_users": 10,
        "daily_active_quantum_users": 3,
        "totals_by_ai_adoption_phase": [{"phase": "explore", "total_pull_requests_merged": 4, "avg_pull_requests_minutes_to_review": 1.5}],
        "totals_by_mcp_server": [{"mcp_server": "github", "tool_call_count": 12}],
        "holodeck": {"sessions_sum": 5, "flavour": "vanilla"}
    });
    let mut set = SampleSet::new();
    map_object(
        PREFIX,
        &labels("org", "o"),
        row.as_object().unwrap(),
        &mut set,
    );
    let o = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![("org", "o")];
        v.extend_from_slice(extra);
        v
    };
    assert_eq!(
        set.value("copilot_daily_active_quantum_users", &o(&[])),
        Some(3.0)
    );
    assert_eq!(
        set.value(
            "copilot_total_pull_requests_merged_by_ai_adoption_phase",
            &o(&[("phase", "explore")])
        ),
        Some(4.0)
    );
    assert_eq!(
        set.value(
            "copilot_avg_pull_requests_seconds_to_review_by_ai_adoption_phase",
            &o(&[("phase", "explore")])
        ),
        Some(90.0)
    );
    assert_eq!(
        set.value(
            "copilot_tool_call_by_mcp_server",
            &o(&[("mcp_server", "github")])
        ),
        Some(12.0)
    );
    assert_eq!(set.value("copilot_holodeck_sessions", &o(&[])), Some(5.0));
    assert_eq!(set.len(), 6);
}
