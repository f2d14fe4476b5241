//! Framing of report files (`github::framing::FramingReader`) against the
//! NDJSON line splitter it is meant to replace, and against serde_json's
//! `StreamDeserializer` (the alternative issue 12 suggests). Run with
//! `cargo bench --bench framing`.
//!
//! Data: 10 000 generated users-1-day rows (`synth::user_row`, ≈ 29.6 MB),
//! fed in 64 KiB chunks (16 KiB for `ndjson/framing_16k`), as NDJSON, as one
//! compact top-level array and as concatenated pretty-printed documents.

use std::hint::black_box;

use copilot_metrics_exporter::github::framing::{FramingReader, Row};
use copilot_metrics_exporter::github::ndjson::{Line, LineSplitter};
#[path = "support/synth.rs"]
#[allow(dead_code)]
mod synth;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::de::IgnoredAny;
use serde_json::Value;
use synth::{user_row, Rng};

const USERS: u64 = 10_000;
const MAX: usize = 16 << 20;

fn ndjson() -> Vec<u8> {
    let mut rng = Rng(42);
    let mut text = Vec::new();
    for u in 1..=USERS {
        user_row(&mut text, &mut rng, 1_000_000 + u, "2026-05-07");
    }
    text
}

/// Bytes of all rows framed by the reader, fed in `chunk`-byte chunks.
fn framing(text: &[u8], chunk: usize) -> usize {
    let mut r = FramingReader::new(MAX);
    let mut n = 0usize;
    let mut count = |row: Row<'_>| {
        if let Row::Value(_, bytes) = row {
            n += bytes.len();
        }
    };
    for c in text.chunks(chunk) {
        r.feed(c, &mut count);
    }
    let stats = r.finish(&mut count);
    assert_eq!(stats.map(|s| s.rows), Ok(USERS));
    n
}

/// Option (b): serde_json's `StreamDeserializer` over a buffer the chunks
/// are appended to; a value cut by the end of the buffer is parsed again
/// when the next chunk has arrived.
fn stream_deserializer(text: &[u8], chunk: usize) -> usize {
    let mut buf: Vec<u8> = Vec::new();
    let mut n = 0usize;
    let mut rows = 0u64;
    for c in text.chunks(chunk) {
        buf.extend_from_slice(c);
        let mut pos = 0;
        let mut it = serde_json::Deserializer::from_slice(&buf).into_iter::<IgnoredAny>();
        // A value cut by the end of the buffer is an EOF error, except a
        // number cut after `-`, `.` or `e`: "invalid number". Either is
        // parsed again once more bytes have arrived.
        while let Some(Ok(_)) = it.next() {
            let end = it.byte_offset();
            n += buf[pos..end].trim_ascii().len();
            rows += 1;
            pos = end;
        }
        buf.drain(..pos);
    }
    assert_eq!(rows, USERS);
    n
}

fn bench(c: &mut Criterion) {
    let text = ndjson();
    let rows: Vec<Value> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap_or_default())
        .collect();
    let array = serde_json::to_vec(&rows).unwrap_or_default();
    let pretty: Vec<u8> = rows
        .iter()
        .flat_map(|r| {
            let mut v = serde_json::to_vec_pretty(r).unwrap_or_default();
            v.push(b'\n');
            v
        })
        .collect();

    let mut g = c.benchmark_group("ndjson");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("line_splitter_64k", |b| {
        b.iter(|| {
            let mut s = LineSplitter::new(MAX);
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
    g.bench_function("framing_64k", |b| {
        b.iter(|| black_box(framing(&text, 64 * 1024)))
    });
    g.bench_function("framing_16k", |b| {
        b.iter(|| black_box(framing(&text, 16 * 1024)))
    });
    g.bench_function("stream_deserializer_64k", |b| {
        b.iter(|| black_box(stream_deserializer(&text, 64 * 1024)))
    });
    g.finish();

    let mut g = c.benchmark_group("array");
    g.throughput(Throughput::Bytes(array.len() as u64));
    g.bench_function("framing_64k", |b| {
        b.iter(|| black_box(framing(&array, 64 * 1024)))
    });
    g.finish();

    let mut g = c.benchmark_group("pretty");
    g.throughput(Throughput::Bytes(pretty.len() as u64));
    g.bench_function("framing_64k", |b| {
        b.iter(|| black_box(framing(&pretty, 64 * 1024)))
    });
    g.bench_function("stream_deserializer_64k", |b| {
        b.iter(|| black_box(stream_deserializer(&pretty, 64 * 1024)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
