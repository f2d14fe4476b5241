//! Lazy remote-write requests straight from the interned model.
//!
//! A [`RequestStream`] walks borrowed [`SampleSet`]s in their order and
//! builds one capped [`WriteRequest`] at a time: the sink encodes, compresses
//! and sends it and drops it before asking for the next, so at most
//! `REMOTE_WRITE_MAX_SAMPLES_PER_REQUEST` series are held as owned labels,
//! whatever the size of the output. Nothing here does I/O.
//!
//! Rules, in the order a series meets them:
//! * **One timestamp a stream.** Every sample of a stream carries its
//!   timestamp (`now`, or the report day), and a series appears at most
//!   once in it, so time order per series (RW1-15) holds within a stream;
//!   the sink sends streams oldest-first per series.
//! * **The same series in two sets of one publish** (same name and labels
//!   in, say, the newest report day and the current values) is a bug of
//!   whoever built the sets, not something to send twice: the **first set
//!   wins** (the order the sets were given: newest day, current values,
//!   scope health, self-metrics), the later copies are dropped and counted
//!   ([`RequestStream::duplicates`]) with a few examples for the log.
//! * **Invalid names** (RW1-13): a series whose metric or label name is
//!   invalid or repeated (also against an external label) is skipped and
//!   counted ([`RequestStream::skipped`]), never sent, never panicked on.
//! * **Stale markers** (RW1-17) for the series of the previous publish
//!   ([`RequestStream::with_stale`]) that no set of this one has: found by
//!   looking each previous series up, by its borrowed name and labels, in
//!   the sets of this one ([`SampleSet::contains`]); a previous set that
//!   *is* one of this publish's (the same `Arc`'d data) is skipped whole.
//!   Chosen over fingerprints: exact (no collision can swallow a marker)
//!   and it keeps no per-series table between publishes, since the
//!   previous publish's sets are the `Arc`s the store already holds (see
//!   `RemoteWriteSink`). Series that were never valid get no marker.

use std::collections::BTreeMap;

use super::encode::{is_valid_label_name, is_valid_metric_name, wire_value, STALE_NAN_BITS};
use super::proto::WriteRequest;
use super::proto::{metric_metadata::MetricType, Label, MetricMetadata, Sample, TimeSeries};
use crate::model::{SampleSet, SeriesRef};

/// How many reasons / examples a stream keeps for the log.
const EXAMPLES: usize = 5;

/// One series the stream will send: borrowed, validated.
#[derive(Clone, Copy)]
struct Item<'a> {
    series: SeriesRef<'a>,
    value: f64,
}

/// Capped [`WriteRequest`]s built one at a time from borrowed sample sets
/// (see the module documentation for the rules). An [`Iterator`]; after it
/// is exhausted, [`RequestStream::skipped`], [`RequestStream::duplicates`]
/// and [`RequestStream::stale_markers`] are complete.
pub struct RequestStream<'a> {
    live: Vec<&'a SampleSet>,
    previous: Vec<&'a SampleSet>,
    extra: Vec<(&'a str, &'a str)>,
    timestamp_ms: i64,
    max_samples: usize,
    /// Index into `live` then `previous` (one sequence), and the position
    /// in that set's order.
    part: usize,
    pos: usize,
    skipped: u64,
    skip_reasons: Vec<String>,
    duplicates: u64,
    duplicate_examples: Vec<String>,
    stale: u64,
}

impl<'a> RequestStream<'a> {
    /// The series of `sets`, in the order given (the first set wins a
    /// series present in several), all stamped `timestamp_ms`, in requests
    /// of at most `max_samples` samples (at least 1).
    pub fn new(sets: Vec<&'a SampleSet>, timestamp_ms: i64, max_samples: usize) -> Self {
        RequestStream {
            live: sets,
            previous: Vec::new(),
            extra: Vec::new(),
            timestamp_ms,
            max_samples: max_samples.max(1),
            part: 0,
            pos: 0,
            skipped: 0,
            skip_reasons: Vec::new(),
            duplicates: 0,
            duplicate_examples: Vec::new(),
            stale: 0,
        }
    }

    /// Adds `extra` labels (`EXTERNAL_LABELS`) to every series; labels with
    /// an empty value are absent, as in Prometheus.
    pub fn with_external(mut self, extra: &'a [(String, String)]) -> Self {
        self.extra = extra
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self
    }

    /// After the live series, a stale marker for every series of
    /// `previous` (the sets of the last publish) that none of the live sets
    /// has.
    pub fn with_stale(mut self, previous: Vec<&'a SampleSet>) -> Self {
        // A previous set that is one of the live ones has nothing stale.
        self.previous = previous
            .into_iter()
            .filter(|p| !self.live.iter().any(|l| std::ptr::eq(*l, *p)))
            .collect();
        self
    }

    /// Series skipped for an invalid or repeated name (so far).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Why the first few series were skipped.
    pub fn skip_reasons(&self) -> &[String] {
        &self.skip_reasons
    }

    /// Series dropped because an earlier set of the stream had them (so far).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The first few series dropped as duplicates, as `name{labels}`.
    pub fn duplicate_examples(&self) -> &[String] {
        &self.duplicate_examples
    }

    /// Stale markers produced (so far).
    pub fn stale_markers(&self) -> u64 {
        self.stale
    }

    /// Walks the rest of the stream without building requests and returns
    /// the samples it would have held (what a failed send leaves
    /// undelivered); the counts are complete afterwards.
    pub fn remaining_samples(&mut self) -> usize {
        std::iter::from_fn(|| self.next_item()).count()
    }

    /// The next series to send, after the rules of the module documentation.
    fn next_item(&mut self) -> Option<Item<'a>> {
        loop {
            let stale = self.part >= self.live.len();
            let set = if stale {
                *self.previous.get(self.part - self.live.len())?
            } else {
                self.live[self.part]
            };
            let Some((series, value)) = set.iter_range(self.pos..set.len()).next() else {
                self.part += 1;
                self.pos = 0;
                continue;
            };
            self.pos += 1;
            if stale {
                let gone = !self.live.iter().any(|l| l.contains(&series))
                    && !self.previous[..self.part - self.live.len()]
                        .iter()
                        .any(|p| p.contains(&series));
                if gone && self.check(&series).is_ok() {
                    self.stale += 1;
                    return Some(Item {
                        series,
                        value: f64::from_bits(STALE_NAN_BITS),
                    });
                }
                continue;
            }
            if self.live[..self.part].iter().any(|l| l.contains(&series)) {
                self.duplicates += 1;
                if self.duplicate_examples.len() < EXAMPLES {
                    self.duplicate_examples.push(describe(&series));
                }
                continue;
            }
            match self.check(&series) {
                Ok(()) => {
                    return Some(Item {
                        series,
                        value: wire_value(value),
                    })
                }
                Err(reason) => {
                    self.skipped += 1;
                    if self.skip_reasons.len() < EXAMPLES {
                        self.skip_reasons.push(reason);
                    }
                }
            }
        }
    }

    /// RW1-13 on borrowed names: a valid metric name, valid label names,
    /// no label name twice (external labels included).
    fn check(&self, series: &SeriesRef<'_>) -> Result<(), String> {
        let name = series.name();
        if !is_valid_metric_name(name) {
            return Err(format!("invalid metric name {name:?}"));
        }
        let mut last: Option<&str> = None;
        for (label, _) in series.labels() {
            if !is_valid_label_name(label) {
                return Err(format!(
                    "series {name}: invalid or reserved label name {label:?}"
                ));
            }
            if last == Some(label) || self.extra.iter().any(|(n, _)| *n == label) {
                return Err(format!("series {name}: repeated label name {label:?}"));
            }
            last = Some(label);
        }
        Ok(())
    }

    /// The complete, sorted label set of a checked series (RW1-10/11/12).
    fn labels(&self, series: &SeriesRef<'_>) -> Vec<Label> {
        let own = series.labels();
        let mut labels = Vec::with_capacity(own.len() + self.extra.len() + 1);
        labels.push(label("__name__", series.name()));
        labels.extend(
            own.chain(self.extra.iter().copied())
                .map(|(n, v)| label(n, v)),
        );
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        labels
    }
}

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// `name{a="b",…}` for the log.
fn describe(series: &SeriesRef<'_>) -> String {
    let labels: Vec<String> = series.labels().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{}{{{}}}", series.name(), labels.join(","))
}

impl Iterator for RequestStream<'_> {
    type Item = WriteRequest;

    /// The next request: up to `max_samples` series, each with its one
    /// sample, and gauge metadata (with help) for each family in it.
    fn next(&mut self) -> Option<WriteRequest> {
        let mut timeseries = Vec::new();
        let mut families: BTreeMap<&str, &str> = BTreeMap::new();
        while timeseries.len() < self.max_samples {
            let Some(item) = self.next_item() else { break };
            let name = item.series.name();
            families
                .entry(name)
                .or_insert_with(|| item.series.help().unwrap_or_default());
            timeseries.push(TimeSeries {
                labels: self.labels(&item.series),
                samples: vec![Sample {
                    value: item.value,
                    timestamp: self.timestamp_ms,
                }],
            });
        }
        if timeseries.is_empty() {
            return None;
        }
        let metadata = families
            .into_iter()
            .map(|(name, help)| MetricMetadata {
                r#type: MetricType::Gauge as i32,
                metric_family_name: name.to_string(),
                help: help.to_string(),
                unit: String::new(),
            })
            .collect();
        Some(WriteRequest {
            timeseries,
            metadata,
        })
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
