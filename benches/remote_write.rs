//! Remote-write encoding cost for one million samples:
//! model → capped `WriteRequest`s (5000 samples each) → protobuf → snappy
//! block. Run with `cargo bench --bench remote_write`.
//!
//! `stream_encode_compress_1M` is the whole path as the sink runs it: a
//! [`RequestStream`] per day builds one request at a time from the
//! borrowed model, each encoded and dropped before the next. It replaces
//! `batch_encode_compress_1M` (the owned `Batch` of every label set, then
//! all requests at once) and measures the same work on the same data.
//! `encode_compress_1M` is protobuf + snappy of requests built beforehand;
//! `stale_check_1M` the stale-marker comparison of one million series
//! against an equal previous publish.

use std::hint::black_box;

use copilot_metrics_exporter::model::{day_start_unix, SampleSet, SeriesKey};
use copilot_metrics_exporter::sinks::remote_write::config::DEFAULT_MAX_SAMPLES_PER_REQUEST;
use copilot_metrics_exporter::sinks::remote_write::encode::encode;
use copilot_metrics_exporter::sinks::remote_write::report_day_timestamp_ms;
use copilot_metrics_exporter::sinks::remote_write::RequestStream;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const DAYS: u64 = 28;
const SERIES_PER_DAY: u64 = 35_715; // 28 × 35 715 = 1 000 020 samples

/// 28 days of a large enterprise: per day 35 715 series over five metric
/// names with org, language, editor and model labels.
fn days() -> Vec<(chrono::NaiveDate, SampleSet)> {
    let first = chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
    let names = [
        "copilot_code_suggestions",
        "copilot_code_acceptances",
        "copilot_code_lines_suggested",
        "copilot_code_lines_accepted",
        "copilot_chat_turns",
    ];
    (0..DAYS)
        .map(|d| {
            let day = first + chrono::Days::new(d);
            let mut set = SampleSet::new();
            for i in 0..SERIES_PER_DAY {
                let labels = vec![
                    ("org".to_string(), format!("org-{}", i % 40)),
                    ("language".to_string(), format!("lang-{}", (i / 40) % 30)),
                    (
                        "editor".to_string(),
                        format!("editor \"{}\"", (i / 1200) % 6),
                    ),
                    ("model".to_string(), format!("model-ü-{}", i / 7200)),
                ];
                let key = SeriesKey::new(names[(i % 5) as usize], labels);
                set.insert(key, (i * d) as f64, "help text");
            }
            (day, set)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let days = days();
    let samples: u64 = days.iter().map(|(_, s)| s.len() as u64).sum();
    assert!(samples >= 1_000_000);
    let _ = day_start_unix;

    let mut group = c.benchmark_group("remote_write");
    group.sample_size(10);
    group.throughput(Throughput::Elements(samples));

    let stream = |day: &chrono::NaiveDate, set| {
        RequestStream::new(
            vec![set],
            report_day_timestamp_ms(*day),
            DEFAULT_MAX_SAMPLES_PER_REQUEST,
        )
    };
    group.bench_function("stream_encode_compress_1M", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            for (day, set) in &days {
                for req in stream(day, set) {
                    bytes += encode(black_box(&req)).len();
                }
            }
            black_box(bytes)
        })
    });

    let requests: Vec<_> = days
        .iter()
        .flat_map(|(day, set)| stream(day, set))
        .collect();
    let compressed: usize = requests.iter().map(|r| encode(r).len()).sum();
    let raw: usize = requests.iter().map(prost::Message::encoded_len).sum();
    eprintln!(
        "{} requests, {samples} samples: protobuf {raw} bytes, snappy {compressed} bytes",
        requests.len()
    );
    group.bench_function("encode_compress_1M", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            for req in &requests {
                bytes += encode(black_box(req)).len();
            }
            black_box(bytes)
        })
    });
    // Stale-marker check of a long-running publish after a refresh: every
    // series of the previous publish (an equal set, another object) looked
    // up by its borrowed labels in the new one; walks without building
    // requests, so this is the comparison's cost (plus the walk itself).
    let previous: Vec<SampleSet> = days.iter().map(|(_, set)| set.clone()).collect();
    group.bench_function("stale_check_1M", |b| {
        b.iter(|| {
            let mut walked = 0usize;
            for ((day, set), old) in days.iter().zip(&previous) {
                walked += stream(day, set)
                    .with_stale(vec![black_box(old)])
                    .remaining_samples();
            }
            assert_eq!(walked, samples as usize, "nothing is stale");
            black_box(walked)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
