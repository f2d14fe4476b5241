//! Reading a report: the bytes of its files → rows ([`super::framing`]) →
//! a consumer ([`RowSink`]), and the rules that make a report all of its
//! files or nothing.
//!
//! A file fails the whole report ([`FailureKind::InvalidReport`]) when it
//! is not JSON (an HTML page from a proxy), ends inside a row (a cut-off
//! transfer), or holds values but not one valid row. The report fails when
//! its invalid rows (framing errors, rows longer than `MAX_LINE_BYTES`,
//! rows the consumer refuses) break the threshold: more than
//! [`INVALID_MAX_PERCENT`] % of its rows **and** at least
//! [`INVALID_MIN_ROWS`] of them. Below it, invalid rows are skipped, logged
//! and counted.
//!
//! Consumers feed rows into accumulators as the file streams, so a failed
//! report leaves state behind: the caller discards the consumer of a report
//! that failed, and [`RowSink::restart`] discards what a consumer holds when
//! the report has to be read again from its first file.

use super::error::{FailureKind, GithubError};
use super::framing::{FramingError, FramingReader, Row};

/// Invalid rows a report may hold without failing, whatever its size.
pub const INVALID_MIN_ROWS: u64 = 10;
/// Largest share of invalid rows (in percent of all rows) a report with at
/// least [`INVALID_MIN_ROWS`] invalid rows may hold.
pub const INVALID_MAX_PERCENT: u64 = 1;
/// Invalid rows of one file logged one by one (the rest are counted).
const LOGGED_PER_FILE: u64 = 20;

/// What a consumer made of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowVerdict {
    /// A row of this report (used, or not needed, e.g. another day).
    Valid,
    /// Not a row of this report, and why (skipped, logged and counted).
    Invalid(String),
}

/// The consumer of a report's rows.
pub trait RowSink: Send {
    /// Takes one row (the raw bytes of one JSON value).
    fn row(&mut self, row: &[u8]) -> RowVerdict;
    /// Forgets every row taken so far: the report is read again from its
    /// first file (GitHub regenerated it while it was being read).
    fn restart(&mut self);
}

/// A [`RowSink`] from a constructor of its state and a row function;
/// [`RowSink::restart`] builds the state anew.
pub struct Fresh<S, M, F> {
    state: S,
    make: M,
    on_row: F,
}

impl<S, M, F> Fresh<S, M, F>
where
    M: FnMut() -> S,
    F: FnMut(&mut S, &[u8]) -> RowVerdict,
{
    /// A sink whose state starts as `make()`.
    pub fn new(mut make: M, on_row: F) -> Self {
        Fresh {
            state: make(),
            make,
            on_row,
        }
    }

    /// The state built from the rows taken.
    pub fn into_inner(self) -> S {
        self.state
    }
}

impl<S, M, F> RowSink for Fresh<S, M, F>
where
    S: Send,
    M: FnMut() -> S + Send,
    F: FnMut(&mut S, &[u8]) -> RowVerdict + Send,
{
    fn row(&mut self, row: &[u8]) -> RowVerdict {
        (self.on_row)(&mut self.state, row)
    }

    fn restart(&mut self) {
        self.state = (self.make)();
    }
}

/// Counts of what was read (one file, or a whole report).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Files read.
    pub files: usize,
    /// Bytes read (after `Content-Encoding` decoding).
    pub bytes: u64,
    /// Valid rows.
    pub rows: u64,
    /// Invalid rows (skipped).
    pub invalid: u64,
}

impl Tally {
    /// Adds the counts of another file.
    pub fn add(&mut self, other: Tally) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.rows += other.rows;
        self.invalid += other.invalid;
    }

    /// The report-wide rule: `Err` with the reason when the invalid rows
    /// break the threshold (see the module documentation).
    pub fn check_threshold(&self) -> Result<(), String> {
        let all = self.rows + self.invalid;
        if self.invalid >= INVALID_MIN_ROWS
            && self.invalid.saturating_mul(100) > all.saturating_mul(INVALID_MAX_PERCENT)
        {
            return Err(format!(
                "{} of {all} rows are invalid, more than the {INVALID_MAX_PERCENT} % (and {INVALID_MIN_ROWS} rows) a report may skip",
                self.invalid
            ));
        }
        Ok(())
    }
}

/// Reads one report file from its chunks: frames rows, hands them to the
/// sink, counts and logs invalid ones, and judges the file at the end.
pub struct FileReader {
    framing: FramingReader,
    what: String,
    tally: Tally,
}

impl FileReader {
    /// A reader of the file `what` (host and path, never a query string)
    /// refusing rows longer than `max_row_bytes`.
    pub fn new(what: impl Into<String>, max_row_bytes: usize) -> Self {
        FileReader {
            framing: FramingReader::new(max_row_bytes),
            what: what.into(),
            tally: Tally::default(),
        }
    }

    /// True once the file is known not to be JSON: reading on is pointless.
    pub fn is_not_json(&self) -> bool {
        self.framing.is_not_json()
    }

    /// Feeds the next chunk of the file.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn RowSink) {
        let FileReader {
            framing,
            what,
            tally,
        } = self;
        framing.feed(chunk, &mut |row| take(what, tally, sink, row));
    }

    /// Ends the file: its counts, or why the whole report must fail.
    pub fn finish(self, sink: &mut dyn RowSink) -> Result<Tally, GithubError> {
        let FileReader {
            framing,
            what,
            mut tally,
        } = self;
        let ended = framing.finish(&mut |row| take(&what, &mut tally, sink, row));
        let invalid = |message: String| {
            GithubError::new(&what, FailureKind::InvalidReport, Some(200), message)
        };
        let stats = ended.map_err(|e| match e {
            FramingError::NotJson(start) => invalid(format!(
                "the file is not JSON (it starts with {start:?}); a proxy, firewall or captive portal may be answering for the download host"
            )),
            FramingError::Truncated { ordinal, line } => invalid(format!(
                "the file ends inside row {ordinal} (line {line}): the transfer was cut off"
            )),
        })?;
        if tally.rows == 0 && tally.invalid > 0 {
            return Err(invalid(format!(
                "no valid row in the file ({} invalid)",
                tally.invalid
            )));
        }
        tally.files = 1;
        tally.bytes = stats.bytes;
        tracing::debug!(file = %what, framing = ?stats.framing, rows = tally.rows, invalid = tally.invalid, bytes = stats.bytes, "report file read");
        Ok(tally)
    }
}

/// One framed row: to the sink when it is a value; counted (and the first
/// ones logged) when it is invalid.
fn take(what: &str, tally: &mut Tally, sink: &mut dyn RowSink, row: Row<'_>) {
    let (ordinal, why) = match row {
        Row::Value(ordinal, bytes) => match sink.row(bytes) {
            RowVerdict::Valid => {
                tally.rows += 1;
                return;
            }
            RowVerdict::Invalid(why) => (ordinal, why),
        },
        Row::TooLong(ordinal) => (ordinal, "longer than MAX_LINE_BYTES".to_string()),
        Row::Invalid(ordinal, why) => (ordinal, format!("not JSON: {why}")),
    };
    tally.invalid += 1;
    if tally.invalid <= LOGGED_PER_FILE {
        tracing::warn!(file = %what, row = ordinal, reason = %why, "skipping malformed report row");
    }
}

/// Reads a whole in-memory file (the demo source; tests).
pub fn read_bytes(
    what: &str,
    bytes: &[u8],
    max_row_bytes: usize,
    sink: &mut dyn RowSink,
) -> Result<Tally, GithubError> {
    let mut reader = FileReader::new(what, max_row_bytes);
    reader.feed(bytes, sink);
    reader.finish(sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rows = Vec<serde_json::Value>;
    type Objects = Fresh<Rows, fn() -> Rows, fn(&mut Rows, &[u8]) -> RowVerdict>;

    /// Takes rows parsed as JSON; refuses anything but an object.
    fn take_object(rows: &mut Rows, row: &[u8]) -> RowVerdict {
        match serde_json::from_slice::<serde_json::Value>(row) {
            Ok(v) if v.is_object() => {
                rows.push(v);
                RowVerdict::Valid
            }
            _ => RowVerdict::Invalid("not an object".into()),
        }
    }

    fn objects() -> Objects {
        Fresh::new(Vec::new, take_object)
    }

    #[test]
    fn the_threshold_needs_both_share_and_count() {
        let t = |rows, invalid| Tally {
            rows,
            invalid,
            ..Tally::default()
        };
        assert!(t(1, 9).check_threshold().is_ok(), "under 10 rows");
        assert!(t(1, 10).check_threshold().is_err());
        assert!(t(990, 10).check_threshold().is_ok(), "exactly 1 %");
        assert!(t(989, 11).check_threshold().is_err(), "over 1 %");
        assert!(t(100_000, 999).check_threshold().is_ok());
        assert!(t(0, 0).check_threshold().is_ok());
    }

    #[test]
    fn a_file_without_a_valid_row_fails() {
        let mut sink = objects();
        let err = read_bytes("h/f", b"[1, 2]\n\"x\"", 1 << 20, &mut sink).unwrap_err();
        assert_eq!(err.kind, FailureKind::InvalidReport);
        assert!(err.message.contains("no valid row"), "{}", err.message);
        // Empty and blank files are empty, not invalid.
        for empty in [&b""[..], b"\n \r\n"] {
            let tally = read_bytes("h/f", empty, 1 << 20, &mut objects()).unwrap();
            assert_eq!((tally.rows, tally.invalid, tally.files), (0, 0, 1));
        }
    }

    #[test]
    fn html_and_cut_off_files_fail_and_say_why() {
        let err = read_bytes(
            "h/f",
            b"<!DOCTYPE html><html></html>",
            1 << 20,
            &mut objects(),
        )
        .unwrap_err();
        assert_eq!(err.kind, FailureKind::InvalidReport);
        assert!(err.message.contains("not JSON"), "{}", err.message);
        let err = read_bytes("h/f", b"{\"a\":1}\n{\"b\":[1,", 1 << 20, &mut objects()).unwrap_err();
        assert!(err.message.contains("cut off"), "{}", err.message);
    }

    #[test]
    fn invalid_rows_are_counted_and_the_rest_taken() {
        let mut sink = objects();
        let tally = read_bytes(
            "h/f",
            b"{\"a\":1}\n[1]\nnope\n{\"b\":2}\n",
            1 << 20,
            &mut sink,
        )
        .unwrap();
        assert_eq!((tally.rows, tally.invalid), (2, 2));
        assert_eq!(sink.into_inner().len(), 2);
    }

    #[test]
    fn restart_forgets_the_rows_taken() {
        let mut sink = objects();
        read_bytes("h/f", b"{\"a\":1}\n", 1 << 20, &mut sink).unwrap();
        sink.restart();
        read_bytes("h/g", b"{\"b\":1}\n", 1 << 20, &mut sink).unwrap();
        assert_eq!(sink.into_inner(), [serde_json::json!({"b": 1})]);
    }
}
