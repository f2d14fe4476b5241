//! Hot functions of report processing, on synthetic rows
//! (`benches/support/synth.rs`, the generator behind
//! `examples/gen_reports.rs`). Run with `cargo bench --bench parse`.
//!
//! - `split`: the streaming NDJSON line splitter over 64 KiB chunks, and
//!   the framing reader (`github::framing`, any JSON framing) on the same;
//! - `teams/add_line`: the team join's fast path (one walk per row, borrowed
//!   strings, interned series, dense per-team sums);
//!   `teams/split_add_line_64k` and `teams/framing_add_line_64k`: the same
//!   from 64 KiB chunks through the line splitter or the framing reader;
//! - `teams/exact_path`: the same rows through identity parse +
//!   `serde_json::Map` + `map_object` + `add_row` (the pre-issue-8 path);
//! - `users/add_line_hashed`: the per-user fast path (`USER_METRICS=hashed`);
//!   `users/exact_path_hashed`: identity parse + `Map` + `add_row`;
//! - `mapping/map_object_row`: the naming rule on one parsed row;
//! - `exposition/render_text_100k`: text exposition of 100 000 series as
//!   `/metrics` and `--once` do it (straight from the sample sets);
//!   `exposition/proto_encode_text_100k`: the same through protobuf
//!   families and the `prometheus` text encoder (the pre-issue-8 path).

use std::hint::black_box;

use chrono::NaiveDate;
use copilot_metrics_exporter::github::framing::{FramingReader, Row};
use copilot_metrics_exporter::github::ndjson::{Line, LineSplitter};
use copilot_metrics_exporter::model::scope::Scope;
use copilot_metrics_exporter::model::snapshot::Store;
use copilot_metrics_exporter::model::ScopeData;
use copilot_metrics_exporter::model::{Labels, SampleSet, SeriesKey};
use copilot_metrics_exporter::report::naming::map_object;
use copilot_metrics_exporter::report::teams::{
    LineOutcome, RowIdentity, TeamAggregator, TeamDirectory,
};
use copilot_metrics_exporter::report::users::UserAggregator;
use copilot_metrics_exporter::report::users::UserMetricsMode;
use copilot_metrics_exporter::secret::Secret;
use copilot_metrics_exporter::sinks::exposition::{encode_text, gather_all, render_text};
#[path = "support/synth.rs"]
#[allow(dead_code)]
mod synth;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::{Map, Value};
use synth::{user_row, Rng};

const USERS: u64 = 10_000;
const TEAMS: u64 = 40;
const DAY: &str = "2026-05-07";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 7).unwrap_or_default()
}

/// `USERS` rows (one per line) and a directory: 80 % of users on one team,
/// 15 % on two, 5 % on none.
fn data() -> (Vec<u8>, TeamDirectory) {
    let mut rng = Rng(42);
    let mut text = Vec::new();
    let mut dir = TeamDirectory::new(day());
    for u in 1..=USERS {
        let id = 1_000_000 + u;
        user_row(&mut text, &mut rng, id, DAY);
        let roll = rng.below(100);
        let count = if roll < 5 {
            0
        } else if roll < 20 {
            2
        } else {
            1
        };
        for k in 0..count {
            let t = (id * 7 + k * 13) % TEAMS;
            dir.add(id, 50_000 + t, &format!("team-{t:05}"));
        }
    }
    (text, dir)
}

fn scope() -> Labels {
    vec![("enterprise".to_string(), "bench-ent".to_string())]
}

fn bench(c: &mut Criterion) {
    let (text, dir) = data();
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();

    let mut split = c.benchmark_group("split");
    split.throughput(Throughput::Bytes(text.len() as u64));
    split.bench_function("lines_64k_chunks", |b| {
        b.iter(|| {
            let mut s = LineSplitter::new(16 << 20);
            let mut n = 0usize;
            let mut count = |l: Line<'_>| {
                if let Line::Complete(_, bytes) = l {
                    n += bytes.len();
                }
            };
            for chunk in text.chunks(64 * 1024) {
                s.feed(chunk, &mut count);
            }
            s.finish(&mut count);
            black_box(n)
        })
    });
    split.bench_function("framing_64k_chunks", |b| {
        b.iter(|| {
            let mut r = FramingReader::new(16 << 20);
            let mut n = 0usize;
            let mut count = |row: Row<'_>| {
                if let Row::Value(_, bytes) = row {
                    n += bytes.len();
                }
            };
            for chunk in text.chunks(64 * 1024) {
                r.feed(chunk, &mut count);
            }
            black_box(r.finish(&mut count).is_ok());
            black_box(n)
        })
    });
    split.finish();

    let mut teams = c.benchmark_group("teams");
    teams.sample_size(10);
    teams.throughput(Throughput::Bytes(text.len() as u64));
    teams.bench_function("add_line", |b| {
        b.iter_batched_ref(
            || TeamAggregator::new(dir.clone(), &scope()),
            |agg| {
                for line in &lines {
                    black_box(agg.add_line(line, day()));
                }
            },
            BatchSize::LargeInput,
        )
    });
    teams.bench_function("split_add_line_64k", |b| {
        b.iter_batched_ref(
            || TeamAggregator::new(dir.clone(), &scope()),
            |agg| {
                let mut s = LineSplitter::new(16 << 20);
                let mut add = |l: Line<'_>| {
                    if let Line::Complete(_, line) = l {
                        if !line.is_empty() {
                            black_box(agg.add_line(line, day()));
                        }
                    }
                };
                for chunk in text.chunks(64 * 1024) {
                    s.feed(chunk, &mut add);
                }
                s.finish(&mut add);
            },
            BatchSize::LargeInput,
        )
    });
    teams.bench_function("framing_add_line_64k", |b| {
        b.iter_batched_ref(
            || TeamAggregator::new(dir.clone(), &scope()),
            |agg| {
                let mut r = FramingReader::new(16 << 20);
                let mut add = |row: Row<'_>| {
                    if let Row::Value(_, line) = row {
                        black_box(agg.add_line(line, day()));
                    }
                };
                for chunk in text.chunks(64 * 1024) {
                    r.feed(chunk, &mut add);
                }
                black_box(r.finish(&mut add).is_ok());
            },
            BatchSize::LargeInput,
        )
    });
    teams.bench_function("exact_path", |b| {
        b.iter_batched_ref(
            || TeamAggregator::new(dir.clone(), &scope()),
            |agg| {
                for line in &lines {
                    let Ok(id) = RowIdentity::parse(line) else {
                        continue;
                    };
                    let Some(user) = id.user_id.filter(|u| agg.wants(*u)) else {
                        continue;
                    };
                    if let Ok(row) = serde_json::from_slice::<Map<String, Value>>(line) {
                        agg.add_row(user, &row);
                    }
                }
            },
            BatchSize::LargeInput,
        )
    });
    teams.finish();
    // Sanity: both paths agree on these rows.
    let mut a = TeamAggregator::new(dir.clone(), &scope());
    for line in &lines {
        assert_ne!(a.add_line(line, day()), LineOutcome::Invalid);
    }
    eprintln!(
        "teams/add_line: {} of {} rows took the exact path",
        a.exact_path_lines(),
        lines.len()
    );

    // Per-user series (USER_METRICS=hashed, cap 10 000 users).
    let mut users = c.benchmark_group("users");
    users.sample_size(10);
    users.throughput(Throughput::Bytes(text.len() as u64));
    users.bench_function("add_line_hashed", |b| {
        b.iter_batched_ref(
            || {
                UserAggregator::new(
                    &scope(),
                    UserMetricsMode::Hashed,
                    Some(Secret::new("salt")),
                    10_000,
                )
            },
            |agg| {
                for line in &lines {
                    black_box(agg.add_line(line, day()));
                }
            },
            BatchSize::LargeInput,
        )
    });
    users.bench_function("exact_path_hashed", |b| {
        b.iter_batched_ref(
            || {
                UserAggregator::new(
                    &scope(),
                    UserMetricsMode::Hashed,
                    Some(Secret::new("salt")),
                    10_000,
                )
            },
            |agg| {
                for line in &lines {
                    let Ok(id) = RowIdentity::parse(line) else {
                        continue;
                    };
                    if id.day.is_some_and(|d| d != day()) {
                        continue;
                    }
                    if let Ok(row) = serde_json::from_slice::<Map<String, Value>>(line) {
                        black_box(agg.add_row(&row));
                    }
                }
            },
            BatchSize::LargeInput,
        )
    });
    users.finish();

    let row: Map<String, Value> = serde_json::from_slice(lines[0]).unwrap_or_default();
    let mut mapping = c.benchmark_group("mapping");
    mapping.throughput(Throughput::Bytes(lines[0].len() as u64));
    mapping.bench_function("map_object_row", |b| {
        b.iter(|| {
            let mut out = SampleSet::new();
            map_object("copilot_user_", &scope(), black_box(&row), &mut out);
            out
        })
    });
    mapping.finish();

    // 100 000 series: 25 names × 4 000 label sets (team, language, feature).
    let mut set = SampleSet::new();
    for i in 0..100_000u64 {
        let labels = vec![
            ("enterprise".to_string(), "bench-ent".to_string()),
            ("team".to_string(), format!("team-{:05}", (i / 25) % 400)),
            (
                "language".to_string(),
                format!("lang-{}", (i / 10_000) % 10),
            ),
        ];
        set.insert(
            SeriesKey::new(format!("copilot_team_metric_{}", i % 25), labels),
            i as f64,
            "Sum over the team's members of a report field.",
        );
    }
    assert_eq!(set.len(), 100_000);
    let mut expo = c.benchmark_group("exposition");
    expo.sample_size(10);
    expo.throughput(Throughput::Elements(set.len() as u64));
    let mut data = ScopeData::new(Scope::enterprise("bench-ent"));
    data.days.insert(day(), set);
    let store = Store::new(&[Scope::enterprise("bench-ent")]);
    store.record_success(data);
    let registry = prometheus::Registry::new();
    expo.bench_function("render_text_100k", |b| {
        b.iter(|| render_text(black_box(&store), &registry))
    });
    expo.bench_function("proto_encode_text_100k", |b| {
        b.iter(|| encode_text(&gather_all(black_box(&store), &registry)))
    });
    expo.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
