//! Unit tests of `report::naming`.
use super::*;
use serde_json::json;

fn org() -> Labels {
    vec![("org".to_string(), "octo".to_string())]
}

fn map(v: Value) -> SampleSet {
    let mut out = SampleSet::new();
    map_object(PREFIX, &org(), v.as_object().unwrap(), &mut out);
    out
}

#[test]
fn leaves_lose_count_and_sum() {
    let s = map(
        json!({"daily_active_users": 3, "code_acceptance_activity_count": 4, "loc_added_sum": 5}),
    );
    assert_eq!(
        s.value("copilot_daily_active_users", &[("org", "octo")]),
        Some(3.0)
    );
    assert_eq!(
        s.value("copilot_code_acceptance_activity", &[("org", "octo")]),
        Some(4.0)
    );
    assert_eq!(s.value("copilot_loc_added", &[("org", "octo")]), Some(5.0));
}

#[test]
fn nested_objects_become_segments() {
    let s = map(json!({
        "pull_requests": {"total_created": 2, "median_minutes_to_merge": 2.5},
        "totals_by_cli": {"session_count": 3, "token_usage": {"output_tokens_sum": 7000}}
    }));
    assert_eq!(
        s.value("copilot_pull_requests_total_created", &[("org", "octo")]),
        Some(2.0)
    );
    // Base units: minutes become seconds.
    assert_eq!(
        s.value(
            "copilot_pull_requests_median_seconds_to_merge",
            &[("org", "octo")]
        ),
        Some(150.0)
    );
    assert_eq!(
        s.value("copilot_cli_session", &[("org", "octo")]),
        Some(3.0)
    );
    assert_eq!(
        s.value("copilot_cli_token_usage_output_tokens", &[("org", "octo")]),
        Some(7000.0)
    );
}

#[test]
fn by_arrays_become_labelled_series() {
    let s = map(json!({
        "totals_by_ide": [{"ide": "vscode", "code_generation_activity_count": 7,
                           "last_known_ide_version": {"ide_version": "1.85.0", "sampled_at": "x"}}],
        "totals_by_language_feature": [{"language": "rust", "feature": "code_completion", "loc_added_sum": 9}],
        "pull_requests": {"copilot_suggestions_by_comment_type": [{"comment_type": "nit", "total_copilot_suggestions": 4}]}
    }));
    assert_eq!(
        s.value(
            "copilot_code_generation_activity_by_ide",
            &[("org", "octo"), ("ide", "vscode")]
        ),
        Some(7.0)
    );
    assert_eq!(
        s.value(
            "copilot_loc_added_by_language_feature",
            &[
                ("org", "octo"),
                ("language", "rust"),
                ("feature", "code_completion")
            ]
        ),
        Some(9.0)
    );
    assert_eq!(
        s.value(
            "copilot_pull_requests_total_copilot_suggestions_by_comment_type",
            &[("org", "octo"), ("comment_type", "nit")]
        ),
        Some(4.0)
    );
    // Version strings are not labels (unbounded cardinality) and have no numbers.
    assert_eq!(s.len(), 3);
}

#[test]
fn bookkeeping_strings_booleans_nulls_produce_nothing() {
    let s = map(json!({
        "day": "2025-10-01", "enterprise_id": "1", "organization_id": 5, "etl_id": "green",
        "day_partition": "2025-10-01", "entity_id_partition": 1, "used_chat": true,
        "weekly_active_copilot_cloud_agent_users": null, "note": "x", "nan": "NaN"
    }));
    assert!(s.is_empty(), "{s:?}");
}

#[test]
fn unknown_fields_follow_the_rule() {
    let s = map(json!({
        "brand_new_metric_count": 11,
        "totals_by_galaxy": [{"galaxy": "andromeda", "stars_sum": 2}],
        "quantum": {"qubits": 3}
    }));
    assert_eq!(
        s.value("copilot_brand_new_metric", &[("org", "octo")]),
        Some(11.0)
    );
    assert_eq!(
        s.value(
            "copilot_stars_by_galaxy",
            &[("org", "octo"), ("galaxy", "andromeda")]
        ),
        Some(2.0)
    );
    assert_eq!(
        s.value("copilot_quantum_qubits", &[("org", "octo")]),
        Some(3.0)
    );
}

#[test]
fn arrays_without_by_are_segments() {
    let s = map(json!({"pull_request_review_times": [
        {"authored_by": "human", "reviewed_by": "copilot", "total_merged": 3}
    ]}));
    assert_eq!(
        s.value(
            "copilot_pull_request_review_times_total_merged",
            &[
                ("org", "octo"),
                ("authored_by", "human"),
                ("reviewed_by", "copilot")
            ]
        ),
        Some(3.0)
    );
}

#[test]
fn invalid_names_are_sanitised_and_label_clashes_renamed() {
    let s = map(json!({
        "weird-field.count": 1,
        "9lives_sum": 2,
        "totals_by_org": [{"org": "other", "__name__": "x", "n": 1}]
    }));
    assert_eq!(
        s.value("copilot_weird_field_count", &[("org", "octo")]),
        Some(1.0)
    );
    // No doubled underscore: a leading digit needs no `_` after the prefix.
    assert_eq!(s.value("copilot_9lives", &[("org", "octo")]), Some(2.0));
    assert_eq!(
        s.value(
            "copilot_n_by_org",
            &[
                ("org", "octo"),
                ("exported_org", "other"),
                ("exported__name__", "x")
            ]
        ),
        Some(1.0)
    );
}

/// An `*_id` of a breakdown element identifies it: a label, so
/// elements that differ only by it stay apart.
#[test]
fn element_ids_are_labels() {
    let s = map(json!({"totals_by_3rd_party_agent": [
        {"agent_id": "31", "agent_name": "Helper Bot", "session_count": 3},
        {"agent_id": 32, "agent_name": "Helper Bot", "session_count": 4},
        {"agent_id": -33, "agent_name": "Helper Bot", "session_count": 5},
        {"agent_id": 1.5, "agent_name": "Float Id", "session_count": 6},
        {"agent_id": {"x": 1}, "etl_id": "e", "agent_name": "Odd Id", "session_count": 7,
         "nested": {"model_id": "m", "tokens_sum": 8}}
    ]}));
    let agent = |id: Option<&str>, name: &str, metric: &str| {
        let mut labels = vec![("org", "octo"), ("agent_name", name)];
        if let Some(id) = id {
            labels.push(("agent_id", id));
        }
        s.value(metric, &labels)
    };
    let session = "copilot_session_by_3rd_party_agent";
    assert_eq!(agent(Some("31"), "Helper Bot", session), Some(3.0));
    assert_eq!(agent(Some("32"), "Helper Bot", session), Some(4.0));
    assert_eq!(agent(Some("-33"), "Helper Bot", session), Some(5.0));
    // Not an integer or a string: no label, and never a leaf.
    assert_eq!(agent(None, "Float Id", session), Some(6.0));
    assert_eq!(agent(None, "Odd Id", session), Some(7.0));
    // Ids nested deeper, and the ETL's id, are bookkeeping.
    assert_eq!(
        agent(None, "Odd Id", "copilot_nested_tokens_by_3rd_party_agent"),
        Some(8.0)
    );
    assert_eq!(s.len(), 6, "{s:?}");
    assert_eq!(s.duplicates(), 0);
    // Outside array elements an id is still bookkeeping.
    assert!(map(json!({"agent_id": 5, "org_id": "x", "o": {"team_id": 1}})).is_empty());
}

#[test]
fn names_never_have_doubled_underscores() {
    let s = map(json!({
        "_lead": 1, "trail_": 2, "a__b": 3, "x.-y": 4, "--": 5, "": 6,
        "__by__": [{"n_count": 7}],
        "_obj_": {"__v__": 8},
        "totals_by_3rd_party_agent": [{"3rd": "x", "9_sum": 9}]
    }));
    let names: Vec<&str> = s.names().collect();
    assert!(
        names.iter().all(|n| !n.contains("__") && !n.ends_with('_')),
        "{names:?}"
    );
    assert_eq!(s.value("copilot_lead", &[("org", "octo")]), Some(1.0));
    assert_eq!(s.value("copilot_trail", &[("org", "octo")]), Some(2.0));
    assert_eq!(s.value("copilot_a_b", &[("org", "octo")]), Some(3.0));
    assert_eq!(s.value("copilot_x_y", &[("org", "octo")]), Some(4.0));
    assert_eq!(s.value("copilot_obj_v", &[("org", "octo")]), Some(8.0));
    assert_eq!(
        s.value(
            "copilot_9_by_3rd_party_agent",
            &[("org", "octo"), ("_3rd", "x")]
        ),
        Some(9.0)
    );
    // A field name without a letter or digit names no series.
    assert_eq!(s.len(), 7, "{names:?}");
}

#[test]
fn duplicate_label_sets_keep_the_first_and_are_counted() {
    let s = map(json!({"totals_by_ide": [
        {"ide": "vscode", "loc_added_sum": 1},
        {"ide": "vscode", "loc_added_sum": 2}
    ]}));
    assert_eq!(
        s.value(
            "copilot_loc_added_by_ide",
            &[("org", "octo"), ("ide", "vscode")]
        ),
        Some(1.0)
    );
    assert_eq!(s.duplicates(), 1);
}

#[test]
fn huge_negative_and_float_numbers_pass_through() {
    let s = map(json!({"a": -5, "b": 1e300, "c": 18446744073709551615u64}));
    assert_eq!(s.value("copilot_a", &[("org", "octo")]), Some(-5.0));
    assert_eq!(s.value("copilot_b", &[("org", "octo")]), Some(1e300));
    assert_eq!(
        s.value("copilot_c", &[("org", "octo")]),
        Some(18446744073709551615u64 as f64)
    );
}

#[test]
fn entity_days_reads_day_totals_and_flat_rows() {
    let row = json!({"day_totals": [{"day": "2025-10-01", "x": 1}, {"day": "bad"}, {"day": "2025-10-02"}]});
    let (days, skipped) = entity_days(&row);
    assert_eq!(days.len(), 2);
    assert_eq!(skipped, 1);
    let flat = json!({"day": "2025-10-03", "daily_active_users": 1});
    let (days, skipped) = entity_days(&flat);
    assert_eq!(days[0].0, NaiveDate::from_ymd_opt(2025, 10, 3).unwrap());
    assert_eq!(skipped, 0);
    let not_an_object = json!([1, 2]);
    let (days, skipped) = entity_days(&not_an_object);
    assert!(days.is_empty());
    assert_eq!(skipped, 1);
}

#[test]
fn help_texts_of_converted_fields_say_seconds() {
    let help = field_help("pull_requests.median_minutes_to_merge");
    assert!(
        help.contains("`pull_requests.median_minutes_to_merge`")
            && help.contains("in seconds (minutes × 60)"),
        "{help}"
    );
    assert!(field_help("x.total_hours").contains("hours × 3600"));
    assert!(!field_help("code_generation_activity_count").contains("seconds"));
}
