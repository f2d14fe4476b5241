//! Unit tests of `report::users`.
use super::*;
use crate::report::naming::map_leaves;
use serde_json::json;

fn org() -> Labels {
    vec![("org".into(), "octo".into())]
}

fn row(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// The exact per-user path: identity parse, day check, map parse,
/// `map_leaves` with the real user label, first value of a series in a
/// row, quantities summed over rows.
fn reference(
    lines: &[String],
    mode: UserMetricsMode,
    max: usize,
) -> (SampleSet, u64, Vec<LineOutcome>) {
    let probe = UserAggregator::new(&org(), mode, Some(Secret::new("s")), max);
    let mut kept = HashSet::new();
    let mut dropped = HashSet::new();
    let mut sums = SampleSet::new();
    let mut outcomes = Vec::new();
    for line in lines {
        let outcome = (|| {
            let Ok(identity) = RowIdentity::parse(line.as_bytes()) else {
                return LineOutcome::Invalid;
            };
            if identity.day.is_some_and(|d| d != day()) {
                return LineOutcome::Skipped;
            }
            let Ok(row) = serde_json::from_str::<Map<String, Value>>(line) else {
                return LineOutcome::Invalid;
            };
            let login = match (row.get("user_login"), row.get("user_id")) {
                (Some(Value::String(l)), _) if !l.is_empty() => l.clone(),
                (_, Some(Value::Number(n))) => n.to_string(),
                (_, Some(Value::String(s))) if !s.is_empty() => s.clone(),
                _ => return LineOutcome::Skipped,
            };
            let Some(user) = probe.label_for(&login) else {
                return LineOutcome::Skipped;
            };
            if !kept.contains(&user) {
                if kept.len() >= max {
                    dropped.insert(user);
                    return LineOutcome::Skipped;
                }
                kept.insert(user.clone());
            }
            let mut labels = org();
            push_label(&mut labels, USER_LABEL, &user);
            let mut seen = HashSet::new();
            map_leaves(USER_PREFIX, &labels, &row, &mut |leaf| {
                if !seen.insert(leaf.key()) {
                    return;
                }
                match sums.get(&leaf.key()) {
                    Some(sum) if leaf.quantity() => {
                        sums.set(leaf.key(), sum + leaf.value, "");
                    }
                    Some(_) => {}
                    None => {
                        let help = field_help(&leaf.source());
                        sums.insert(leaf.key(), leaf.value, &help);
                    }
                }
            });
            LineOutcome::Added
        })();
        outcomes.push(outcome);
    }
    (sums, dropped.len() as u64, outcomes)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 7).unwrap()
}

#[test]
fn fast_path_equals_the_exact_path() {
    let docs: Vec<Value> = serde_json::from_str(include_str!(
        "../../../tests/fixtures/github/usage-metrics-ndjson-users-1-day.docs-example.json"
    ))
    .unwrap();
    let mut lines: Vec<String> = docs.iter().map(|r| r.to_string()).collect();
    for extra in [
        r#"{"user_id": 1, "user_login": "a", "day": "2026-05-07", "loc_added_sum": 8, "x_avg": 2.5, "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 8, "median_minutes": 3}]}"#,
        r#"{"user_id": 1, "user_login": "a", "loc_added_sum": 2, "x_avg": 9.5, "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 1}, {"ide": "jb", "loc_added_sum": 1}]}"#,
        r#"{"user_id": 2, "loc_added_sum": 4}"#,
        r#"{"user_id": "3", "loc_added_sum": 4}"#,
        r#"{"user_id": " 3 ", "loc_added_sum": 5}"#,
        r#"{"user_id": "", "user_login": "", "loc_added_sum": 5}"#,
        r#"{"user_login": 7, "user_id": 4, "loc_added_sum": 1}"#,
        r#"{"user_login": "b\u0062", "loc_added_sum": 1}"#,
        r#"{"user_login": "c", "user_login": "d", "loc_added_sum": 1}"#,
        r#"{"user_login": "e", "day": "2026-05-06", "loc_added_sum": 1}"#,
        r#"{"user_login": "f", "totals_by_org": [{"org": "x", "user": "y", "n": 1}], "loc_added_count": 1, "loc_added_sum": 2}"#,
        r#"{"loc_added_sum": 100}"#,
        r#"{"user_id": -1, "loc_added_sum": 100}"#,
        r#"[1]"#,
        r#"{"user_login": "g", "loc_added_sum": 1"#,
        r#"{"user_login": "h", "user_id": null, "pull_requests": {"median_minutes_to_merge": 2.5, "total_created": 2}}"#,
        // Users the cap drops (with a small cap): identity fields after the
        // login, odd or repeated identities, malformed rest, unknown names.
        r#"{"user_login": "z1", "user_id": 11, "day": "2026-05-07", "loc_added_sum": 3, "totals_by_ide": [{"ide": "vim", "loc_added_sum": 3}]}"#,
        r#"{"user_login": "z2", "day": "2026-05-06", "loc_added_sum": 3}"#,
        r#"{"user_login": "z3", "loc_added_sum": 3, "day": "2026-05-07", "user_id": 12}"#,
        r#"{"user_login": "z4", "loc_added_sum": [1, {"a": "\u00e9"}], "user_id": {"x": 1}}"#,
        r#"{"user_login": "z5", "loc_added_sum": 3, "user_login": "z6"}"#,
        r#"{"user_login": "z7", "day": "2026-05-07", "day": "2026-05-07"}"#,
        r#"{"user_login": "z8", "loc_added_sum": 3, "x": tru}"#,
        r#"{"user_login": "z9", "brand_new_field_sum": 3, "user_id": "13"}"#,
        r#"{"user_id": 14, "user_login": "z10", "day": null, "loc_added_sum": 3}"#,
        r#"{"user_login": "z1", "loc_added_sum": 4, "day": "2026-05-08"}"#,
    ] {
        lines.push(extra.to_string());
    }
    let all = crate::report::in_three_orders(&lines);
    for (mode, max) in [
        (UserMetricsMode::Login, 100),
        (UserMetricsMode::Hashed, 100),
        (UserMetricsMode::Login, 3),
        (UserMetricsMode::Hashed, 2),
        (UserMetricsMode::Login, 1),
        (UserMetricsMode::Login, 0),
    ] {
        let mut fast = UserAggregator::new(&org(), mode, Some(Secret::new("s")), max);
        let outcomes: Vec<LineOutcome> = all
            .iter()
            .map(|l| fast.add_line(l.as_bytes(), day()))
            .collect();
        let (set, dropped, expected) = reference(&all, mode, max);
        assert_eq!(outcomes, expected, "{mode:?} {max}");
        let before = fast.exact_path_lines();
        let (fast_set, fast_dropped) = fast.finish();
        assert_eq!(fast_dropped, dropped);
        assert!(set.len() >= 3 || max == 0);
        assert!(
            max >= 100 || dropped >= 10,
            "{mode:?} {max}: {dropped} dropped"
        );
        assert_eq!(fast_set, set, "{mode:?} {max}");
        assert!(before < all.len() as u64);
    }
    // Known names, plain rows: the fast path only.
    let mut fast = UserAggregator::new(&org(), UserMetricsMode::Login, None, 100);
    fast.add_line(lines[docs.len()].as_bytes(), day());
    let before = fast.exact_path_lines();
    for _ in 0..3 {
        assert_eq!(
            fast.add_line(lines[docs.len()].as_bytes(), day()),
            LineOutcome::Added
        );
    }
    assert_eq!(fast.exact_path_lines(), before);

    // With the cap reached, a dropped user's row is not mapped: a name
    // never seen (which needs the exact path when mapped) stays unseen.
    let mut capped = UserAggregator::new(&org(), UserMetricsMode::Hashed, None, 1);
    let kept = r#"{"user_login": "k", "loc_added_sum": 1}"#;
    capped.add_line(kept.as_bytes(), day());
    capped.add_line(kept.as_bytes(), day());
    let before = capped.exact_path_lines();
    for login in ["x", "y", "x"] {
        let line = format!(
            r#"{{"user_login": "{login}", "fresh_name_sum": 3, "totals_by_ide": [{{"ide": "a", "other_sum": 1}}]}}"#
        );
        assert_eq!(
            capped.add_line(line.as_bytes(), day()),
            LineOutcome::Skipped
        );
    }
    assert_eq!(capped.exact_path_lines(), before, "dropped rows walked");
    let (set, dropped) = capped.finish();
    assert_eq!((set.len(), dropped), (1, 2));
}

#[test]
fn hashes_are_stable_salted_and_short() {
    let a = hash_user(&Secret::new("salt"), "octocat");
    assert_eq!(a.len(), 16);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(a, hash_user(&Secret::new("salt"), "octocat"));
    assert_ne!(a, hash_user(&Secret::new("pepper"), "octocat"));
    // SHA-256("saltoctocat"), independently: first 8 bytes.
    let digest = Sha256::digest(b"saltoctocat");
    assert_eq!(
        a,
        format!(
            "{:016x}",
            u64::from_be_bytes(digest[..8].try_into().unwrap())
        )
    );
}

#[test]
fn users_from_the_docs_example_row() {
    let rows: Vec<Value> = serde_json::from_str(include_str!(
        "../../../tests/fixtures/github/usage-metrics-ndjson-users-1-day.docs-example.json"
    ))
    .unwrap();
    let mut agg = UserAggregator::new(&org(), UserMetricsMode::Login, None, 10);
    assert!(agg.add_row(rows[0].as_object().unwrap()));
    let (s, dropped) = agg.finish();
    assert_eq!(dropped, 0);
    let u = [("org", "octo"), ("user", "login1")];
    assert_eq!(s.value("copilot_user_loc_added", &u), Some(8.0));
    assert_eq!(s.value("copilot_user_cli_session", &u), Some(2.0));
    assert_eq!(
        s.value(
            "copilot_user_code_acceptance_activity_by_ide",
            &[("org", "octo"), ("user", "login1"), ("ide", "vscode")]
        ),
        Some(1.0)
    );
}

#[test]
fn cap_drops_and_counts_distinct_users() {
    let mut agg = UserAggregator::new(&org(), UserMetricsMode::Login, None, 2);
    for login in ["a", "b", "c", "a", "d", "c"] {
        agg.add_row(&row(json!({"user_login": login, "loc_added_sum": 1})));
    }
    let (s, dropped) = agg.finish();
    assert_eq!(dropped, 2);
    assert_eq!(
        s.value("copilot_user_loc_added", &[("org", "octo"), ("user", "a")]),
        Some(2.0)
    );
    assert_eq!(
        s.value("copilot_user_loc_added", &[("org", "octo"), ("user", "c")]),
        None
    );
}

#[test]
fn hashed_mode_never_shows_the_login() {
    let mut agg = UserAggregator::new(
        &org(),
        UserMetricsMode::Hashed,
        Some(Secret::new("s3cret")),
        10,
    );
    agg.add_row(&row(
        json!({"user_login": "octocat", "user_id": 1, "loc_added_sum": 1}),
    ));
    assert!(
        !agg.add_row(&row(json!({"loc_added_sum": 1}))),
        "no identity"
    );
    let (s, _) = agg.finish();
    let (key, _) = s.iter().next().unwrap();
    assert_eq!(
        key.label("user"),
        Some(hash_user(&Secret::new("s3cret"), "octocat").as_str())
    );
    assert!(!format!("{s:?}").contains("octocat"));
}
