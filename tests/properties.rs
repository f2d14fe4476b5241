//! Property tests (a bounded fuzz pass run by `cargo test`): arbitrary report
//! rows never panic the row → samples → encoder path, and whatever comes out
//! is a valid exposition with valid names and correctly escaped values.
//!
//! `PROPTEST_CASES` raises the number of cases for a longer local run.

use copilot_metrics_exporter::github::ndjson::{Line, LineSplitter};
use copilot_metrics_exporter::model::SampleSet;
use copilot_metrics_exporter::report::naming::{entity_days, map_object, PREFIX};
use copilot_metrics_exporter::sinks::exposition::{encode_text, FamilyBuilder};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("daily_active_users".to_string()),
        Just("totals_by_ide".to_string()),
        Just("pull_requests".to_string()),
        Just("loc_added_sum".to_string()),
        Just("day".to_string()),
        Just("x_by_y".to_string()),
        Just("org".to_string()),
        Just("__name__".to_string()),
        "[a-z_]{1,12}",
        ".{0,8}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![
            Just("NaN".to_string()),
            Just("Infinity".to_string()),
            ".{0,10}",
            "[\"\\\\\n\u{e9}\u{1F600}]{0,6}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn valid_name(name: &str, allow_colon: bool) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || (allow_colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':'))
}

/// Parses one sample line of the text format strictly; returns the label
/// values unescaped.
type ParsedSample = (String, Vec<(String, String)>, f64);

fn parse_sample(line: &str) -> Result<ParsedSample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no name end")?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=').ok_or("no =")?;
            let lname = rest[..eq].to_string();
            rest = rest[eq + 1..].strip_prefix('"').ok_or("no opening quote")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let close = loop {
                let (i, c) = chars.next().ok_or("unterminated value")?;
                match c {
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        other => return Err(format!("bad escape \\{other}")),
                    },
                    '"' => break i,
                    '\n' => return Err("raw newline".into()),
                    c => value.push(c),
                }
            };
            labels.push((lname, value));
            rest = &rest[close + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let value = rest.trim().parse::<f64>().map_err(|e| e.to_string())?;
    Ok((name.to_string(), labels, value))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn any_row_maps_to_valid_series_and_exposition(
        fields in prop::collection::vec((arb_key(), arb_json()), 0..10),
        scope in ".{0,6}",
    ) {
        let row = Value::Object(fields.into_iter().collect());
        let mut set = SampleSet::new();
        let labels = vec![("org".to_string(), scope)];
        if let Value::Object(map) = &row {
            map_object(PREFIX, &labels, map, &mut set);
        }
        let _ = entity_days(&row);
        for (key, value) in set.iter() {
            prop_assert!(valid_name(key.name(), false), "bad metric name {:?}", key.name());
            prop_assert!(key.name().starts_with(PREFIX));
            prop_assert!(value.is_finite());
            let mut names: Vec<&str> = key.labels().map(|(n, _)| n).collect();
            prop_assert!(names.iter().all(|n| valid_name(n, false) && !n.starts_with("__")), "{:?}", names);
            let before = names.len();
            names.dedup();
            prop_assert_eq!(before, names.len(), "duplicate label names");
        }
        let mut builder = FamilyBuilder::new();
        builder.samples(&set);
        let text = encode_text(&builder.build());
        let mut parsed = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, parsed_labels, value) = parse_sample(line).map_err(|e| TestCaseError::fail(format!("{e}: {line:?}")))?;
            let original = set.iter().find(|(k, _)| {
                k.name() == name && {
                    let mut a: Vec<_> = k.to_key().labels;
                    let mut b = parsed_labels.clone();
                    a.sort();
                    b.sort();
                    a == b
                }
            });
            let (_, want) = original.ok_or_else(|| TestCaseError::fail(format!("series not in the set: {line:?}")))?;
            prop_assert!(want == value || (want - value).abs() <= want.abs() * 1e-15, "{} != {}", want, value);
            parsed += 1;
        }
        prop_assert_eq!(parsed, set.len());
    }

    #[test]
    fn line_splitting_never_panics_and_never_loses_lines(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..12),
        max in 1usize..64,
    ) {
        let mut splitter = LineSplitter::new(max);
        let mut complete = 0u64;
        let mut too_long = 0u64;
        let mut count = |l: Line<'_>| match l {
            Line::Complete(_, bytes) => { assert!(bytes.len() <= max); complete += 1 }
            Line::TooLong(_) => too_long += 1,
        };
        for c in &chunks {
            splitter.feed(c, &mut count);
        }
        splitter.finish(&mut count);
        let all: Vec<u8> = chunks.concat();
        let newlines = all.iter().filter(|b| **b == b'\n').count() as u64;
        let trailing = u64::from(!all.is_empty() && *all.last().unwrap() != b'\n');
        prop_assert_eq!(complete + too_long, newlines + trailing);
    }
}

mod encoders {
    use super::*;
    use base64::Engine;
    use copilot_metrics_exporter::model::scope::Scope;
    use copilot_metrics_exporter::model::ScopeData;
    use copilot_metrics_exporter::sinks::pushgateway::{
        encode_protobuf, label_segments, scope_families,
    };
    use copilot_metrics_exporter::sinks::remote_write::encode::encode;
    use copilot_metrics_exporter::sinks::remote_write::proto::WriteRequest;
    use copilot_metrics_exporter::sinks::remote_write::RequestStream;
    use prost::Message;

    fn percent_decode(s: &str) -> Vec<u8> {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

        /// row → samples → remote-write request → snappy → protobuf, and back.
        #[test]
        fn remote_write_round_trips_any_row(
            fields in prop::collection::vec((arb_key(), arb_json()), 0..10),
            max_samples in 1usize..50,
        ) {
            let row: Map<String, Value> = fields.into_iter().collect();
            let mut set = SampleSet::new();
            map_object(PREFIX, &vec![("org".to_string(), "o\"\\\n\u{e9}".to_string())], &row, &mut set);
            let mut seen = 0;
            for request in RequestStream::new(vec![&set], 1_700_000_000_000, max_samples) {
                let body = encode(&request);
                let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                let decoded = WriteRequest::decode(raw.as_slice()).unwrap();
                let samples: usize = decoded.timeseries.iter().map(|s| s.samples.len()).sum();
                prop_assert!(samples <= max_samples);
                for series in &decoded.timeseries {
                    let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
                    let mut sorted = names.clone();
                    sorted.sort();
                    sorted.dedup();
                    prop_assert_eq!(&names, &sorted, "labels sorted and unique");
                    prop_assert!(series.labels.iter().all(|l| !l.value.is_empty()));
                    let name = series.labels.iter().find(|l| l.name == "__name__").map(|l| l.value.clone());
                    let name = name.ok_or_else(|| TestCaseError::fail("no __name__"))?;
                    let labels: Vec<(&str, &str)> = series.labels.iter().filter(|l| l.name != "__name__").map(|l| (l.name.as_str(), l.value.as_str())).collect();
                    let want = set.value(&name, &labels).ok_or_else(|| TestCaseError::fail(format!("{name} {labels:?} not in the set")))?;
                    prop_assert_eq!(series.samples[0].value, want);
                    seen += series.samples.len();
                }
            }
            prop_assert_eq!(seen, set.len());
        }

        /// Any grouping value survives the Pushgateway path encoding.
        #[test]
        fn pushgateway_grouping_values_round_trip(value in ".{0,12}") {
            let segment = label_segments("org", &value);
            let decoded = if let Some(encoded) = segment.strip_prefix("org@base64/") {
                let encoded = encoded.trim_end_matches('=');
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).unwrap()
            } else {
                let raw = segment.strip_prefix("org/").unwrap();
                prop_assert!(!raw.contains('/'), "{segment}");
                percent_decode(raw)
            };
            prop_assert_eq!(decoded, value.as_bytes().to_vec(), "{}", segment);
        }

        /// Any row can be encoded for the Pushgateway.
        #[test]
        fn pushgateway_body_encodes_any_row(fields in prop::collection::vec((arb_key(), arb_json()), 0..10)) {
            let row: Map<String, Value> = fields.into_iter().collect();
            let scope = Scope::org("o");
            let mut data = ScopeData::new(scope.clone());
            let mut set = SampleSet::new();
            map_object(PREFIX, &vec![scope.label()], &row, &mut set);
            data.days.insert(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), set);
            let families = scope_families(&data);
            let body = encode_protobuf(&families).map_err(TestCaseError::fail)?;
            prop_assert!(!body.is_empty());
        }
    }
}

/// The framing property of the reading path: any set of rows, in every
/// framing a report file arrives in and in any chunking, gives identical
/// samples (or the identical failure) through the real collector.
mod framings {
    use super::*;
    use std::sync::Arc;

    use copilot_metrics_exporter::collect::{
        ApiTarget, CollectRequest, Collector, JsonPage, ReportSource,
    };
    use copilot_metrics_exporter::github::reading::{FileReader, RowSink};
    use copilot_metrics_exporter::github::reports::{ReportKind, ReportOutcome};
    use copilot_metrics_exporter::github::{FailureKind, GithubError};
    use copilot_metrics_exporter::model::scope::Scope;
    use copilot_metrics_exporter::selfmetrics::SelfMetrics;
    use futures_util::future::BoxFuture;

    /// A 28-day report served from memory in chunks of `chunk` bytes.
    struct InMemory {
        file: Vec<u8>,
        chunk: usize,
    }

    impl ReportSource for InMemory {
        fn fetch_report<'a>(
            &'a self,
            _scope: &'a Scope,
            kind: ReportKind,
            _day: Option<chrono::NaiveDate>,
            _max_report_bytes: u64,
            sink: &'a mut dyn RowSink,
        ) -> BoxFuture<'a, Result<ReportOutcome, GithubError>> {
            Box::pin(async move {
                if kind != ReportKind::Entity28Day {
                    return Ok(ReportOutcome::NoReport);
                }
                let mut reader = FileReader::new("memory/report", 1 << 20);
                for chunk in self.file.chunks(self.chunk.max(1)) {
                    reader.feed(chunk, sink);
                }
                let tally = reader.finish(sink)?;
                tally.check_threshold().map_err(|m| {
                    GithubError::new("memory/report", FailureKind::InvalidReport, None, m)
                })?;
                Ok(ReportOutcome::Delivered {
                    tally,
                    end_day: None,
                })
            })
        }

        fn get_json_page<'a>(
            &'a self,
            _target: ApiTarget<'a>,
        ) -> BoxFuture<'a, Result<JsonPage, GithubError>> {
            Box::pin(async {
                Err(GithubError::new(
                    "memory",
                    FailureKind::NotFound,
                    None,
                    "none",
                ))
            })
        }
    }

    type Collected = Result<(Vec<(chrono::NaiveDate, SampleSet)>, u64), FailureKind>;

    fn collect(file: Vec<u8>, chunk: usize) -> Collected {
        let source = Arc::new(InMemory { file, chunk });
        let collector = Collector::new(source, Arc::new(SelfMetrics::new()), u64::MAX);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime
            .block_on(collector.collect(&Scope::org("o"), &CollectRequest::default()))
            .map(|data| (data.days.into_iter().collect(), data.invalid_lines))
            .map_err(|e| e.source.kind)
    }

    /// A day object: a `day` in a small range and arbitrary fields.
    fn arb_day() -> impl Strategy<Value = Value> {
        (
            1u32..6,
            prop::collection::vec((arb_key(), arb_json()), 0..6),
        )
            .prop_map(|(d, fields)| {
                let mut map: Map<String, Value> = fields.into_iter().collect();
                map.insert("day".into(), Value::from(format!("2026-05-{d:02}")));
                Value::Object(map)
            })
    }

    /// A report row: a day object, an object with `day_totals[]`, or any
    /// object (which may well be invalid).
    fn arb_row() -> impl Strategy<Value = Value> {
        prop_oneof![
            3 => arb_day(),
            1 => prop::collection::vec(arb_day(), 0..4)
                .prop_map(|days| serde_json::json!({"day_totals": days})),
            1 => prop::collection::vec((arb_key(), arb_json()), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    }

    /// Every framing of `rows`.
    fn framings(rows: &[Value]) -> Vec<(&'static str, Vec<u8>)> {
        let compact: Vec<String> = rows.iter().map(Value::to_string).collect();
        let pretty: Vec<String> = rows
            .iter()
            .map(|r| serde_json::to_string_pretty(r).unwrap())
            .collect();
        let array = Value::Array(rows.to_vec());
        let ndjson: String = compact.iter().map(|l| format!("{l}\n")).collect();
        vec![
            ("ndjson", ndjson.clone()),
            (
                "ndjson crlf, blank lines",
                format!("\r\n{}\r\n", compact.join("\r\n\r\n")),
            ),
            ("ndjson with a bom", format!("\u{feff}{ndjson}")),
            ("pretty documents", pretty.join("\n")),
            (
                "pretty documents crlf",
                pretty.join("\n").replace('\n', "\r\n"),
            ),
            ("concatenated", compact.join(" ")),
            ("array", array.to_string()),
            (
                "pretty array with a bom",
                format!("\u{feff}{}", serde_json::to_string_pretty(&array).unwrap()),
            ),
        ]
        .into_iter()
        .map(|(name, text)| (name, text.into_bytes()))
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

        #[test]
        fn any_rows_give_identical_samples_in_every_framing(
            rows in prop::collection::vec(arb_row(), 1..6),
            chunk in 1usize..200,
        ) {
            let all = framings(&rows);
            let reference = collect(all[0].1.clone(), usize::MAX);
            for (name, file) in all {
                prop_assert_eq!(&collect(file, chunk), &reference, "{}", name);
            }
        }

        #[test]
        fn any_bytes_in_any_chunks_never_panic_the_reader(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            chunk in 1usize..64,
        ) {
            let _ = collect(bytes, chunk);
        }
    }
}

/// One naming rule: the fast row walker (the per-user and team aggregators'
/// `add_line`) and the exact path (`map_object`, the aggregators'
/// `add_row`) give identical samples for any row.
mod one_naming_rule {
    use super::*;
    use chrono::NaiveDate;
    use copilot_metrics_exporter::model::SeriesKey;
    use copilot_metrics_exporter::report::breakdowns::{Breakdown, Breakdowns};
    use copilot_metrics_exporter::report::naming::push_label;
    use copilot_metrics_exporter::report::teams::{TeamAggregator, TeamDirectory};
    use copilot_metrics_exporter::report::users::{UserAggregator, UserMetricsMode, USER_PREFIX};

    const DAY: &str = "2026-05-07";

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 7).unwrap()
    }

    fn field_name() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "loc_added_sum",
                "session_count",
                "total_merged",
                "daily_active_users",
                "ai_credits_used",
                "avg_tokens_per_request",
                "median_minutes_to_merge",
                "hours_used",
                "phase_number",
                "version",
                "ide",
                "agent_id",
                "agent_name",
                "model_id",
                "etl_id",
                "day_partition",
                "3rd",
                "_lead",
                "a__b",
                "--",
                "",
                "org",
                "team",
                "user",
                "value",
                "loc_added_count",
            ])
            .prop_map(str::to_string),
            "[a-z_]{1,8}",
        ]
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..1000).prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-zA-Z0-9 ._\u{e9}-]{0,6}".prop_map(Value::String),
            Just(Value::String("q\"x\\".into())),
        ]
    }

    /// An object of scalars (a nested object, or an array element's object).
    fn flat_object() -> impl Strategy<Value = Value> {
        prop::collection::vec((field_name(), scalar()), 0..5)
            .prop_map(|kv| Value::Object(kv.into_iter().collect()))
    }

    /// An array element: scalars, an `*_id`, a name, maybe a nested object.
    fn element() -> impl Strategy<Value = Value> {
        (
            prop::collection::vec((field_name(), scalar()), 0..4),
            prop::option::of(prop_oneof![
                "[0-9]{1,3}".prop_map(Value::String),
                (0u64..50).prop_map(Value::from),
                (-3i64..0).prop_map(Value::from),
            ]),
            prop::option::of(prop::sample::select(vec!["Helper Bot", "Review", "vscode"])),
            prop::option::of(flat_object()),
        )
            .prop_map(|(fields, id, name, nested)| {
                let mut map: Map<String, Value> = fields.into_iter().collect();
                if let Some(id) = id {
                    map.insert("agent_id".into(), id);
                }
                if let Some(name) = name {
                    map.insert("agent_name".into(), Value::from(name));
                }
                if let Some(nested) = nested {
                    map.insert("last_known".into(), nested);
                }
                Value::Object(map)
            })
    }

    fn array_name() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "totals_by_ide",
            "totals_by_3rd_party_agent",
            "totals_by_language_feature",
            "totals_by_feature",
            "totals_by_model_feature",
            "pull_request_review_times",
            "by_x",
            "x_by_",
            "copilot_suggestions_by_comment_type",
        ])
        .prop_map(str::to_string)
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            3 => scalar(),
            1 => flat_object(),
            1 => prop::collection::vec(prop_oneof![4 => element(), 1 => scalar()], 0..4)
                .prop_map(Value::Array),
            1 => (field_name(), prop::collection::vec((array_name(), prop::collection::vec(element(), 0..3)), 0..2))
                .prop_map(|(k, arrays)| {
                    let mut inner: Map<String, Value> = arrays.into_iter().map(|(n, a)| (n, Value::Array(a))).collect();
                    inner.insert(k, Value::from(1));
                    Value::Object(inner)
                }),
        ]
    }

    fn fields() -> impl Strategy<Value = Vec<(String, Value)>> {
        prop::collection::vec(
            prop_oneof![
                (field_name(), value()),
                (
                    array_name(),
                    prop::collection::vec(element(), 0..4).prop_map(Value::Array)
                ),
                // The CLI breakdown is an object; any breakdown may hold
                // something else than its usual shape.
                (Just("totals_by_cli".to_string()), value()),
                (array_name(), scalar()),
            ],
            0..8,
        )
    }

    /// Any set of breakdowns.
    fn breakdowns() -> impl Strategy<Value = Breakdowns> {
        prop::sample::subsequence(Breakdown::ALL.to_vec(), 0..=Breakdown::ALL.len())
            .prop_map(|on| Breakdowns::of(&on))
    }

    fn row(fields: &[(String, Value)], user: u64, login: &str) -> Map<String, Value> {
        let mut row: Map<String, Value> = fields.iter().cloned().collect();
        row.insert("user_id".into(), Value::from(user));
        row.insert("user_login".into(), Value::from(login));
        row.insert("day".into(), Value::from(DAY));
        row
    }

    fn org() -> Vec<(String, String)> {
        vec![("org".to_string(), "octo".to_string())]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn fast_walker_equals_map_object(fields in fields(), on in breakdowns()) {
            let lines: Vec<String> = [(1, "alpha"), (2, "beta"), (1, "alpha")]
                .iter()
                .map(|(user, login)| Value::Object(row(&fields, *user, login)).to_string())
                .collect();
            // Both paths read the same text (as in a report): floats are
            // parsed by the same parser.
            let rows: Vec<Map<String, Value>> =
                lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();

            // Per-user series: every leaf, quantities summed over rows,
            // with the breakdowns `on` only.
            let users = || UserAggregator::new(&org(), UserMetricsMode::Login, None, 100)
                .with_breakdowns(on);
            let (mut fast, mut exact) = (users(), users());
            let mut exact_after_first = 0;
            for (i, (line, row)) in lines.iter().zip(&rows).enumerate() {
                fast.add_line(line.as_bytes(), day());
                exact.add_row(row);
                if i == 0 {
                    exact_after_first = fast.exact_path_lines();
                }
            }
            let exact_lines = fast.exact_path_lines();
            let (fast_set, _) = fast.finish();
            let (exact_set, _) = exact.finish();
            prop_assert_eq!(&fast_set, &exact_set);

            // The second row's series are exactly map_object's of the row
            // without the fields of the breakdowns that are off.
            let mut labels = org();
            push_label(&mut labels, "user", "beta");
            let mut reference = SampleSet::new();
            let mut selected = rows[1].clone();
            for b in Breakdown::ALL.iter().filter(|b| !on.contains(**b)) {
                selected.remove(b.field());
            }
            map_object(USER_PREFIX, &labels, &selected, &mut reference);
            let beta: Vec<(SeriesKey, f64)> = fast_set
                .iter()
                .filter(|(k, _)| k.label("user") == Some("beta"))
                .map(|(k, v)| (k.to_key(), v))
                .collect();
            let want: Vec<(SeriesKey, f64)> = reference.iter().map(|(k, v)| (k.to_key(), v)).collect();
            prop_assert_eq!(beta, want);

            // The fast path really walked the rows whose names it knew
            // (unless the row needs the exact path: an escaped string or a
            // series twice in the row).
            if reference.duplicates() == 0 && !lines[1].contains('\\') {
                prop_assert_eq!(exact_lines, exact_after_first, "{}", lines[1]);
            }

            // Team sums: quantities only, the same either way.
            let mut dir = TeamDirectory::new(day());
            dir.add(1, 10, "t");
            dir.add(2, 10, "t");
            let teams = || TeamAggregator::new(dir.clone(), &org()).with_breakdowns(on);
            let (mut fast, mut exact) = (teams(), teams());
            // And the exact path of every breakdown on, fed the rows without
            // the fields of those that are off.
            let mut reference = TeamAggregator::new(dir.clone(), &org());
            for (line, row) in lines.iter().zip(&rows) {
                fast.add_line(line.as_bytes(), day());
                let user = row["user_id"].as_u64().unwrap();
                exact.add_row(user, row);
                let mut selected = row.clone();
                for b in Breakdown::ALL.iter().filter(|b| !on.contains(**b)) {
                    selected.remove(b.field());
                }
                reference.add_row(user, &selected);
            }
            let fast = fast.finish();
            prop_assert_eq!(&fast, &exact.finish());
            prop_assert_eq!(&fast, &reference.finish());
        }
    }
}
