//! Streaming JSON framing: turns the chunks of a downloaded report file, in
//! any JSON framing GitHub (or a proxy in front of it) serves, into the raw
//! bytes of its rows, without holding the file. The reader's state and
//! public face are here, its scanner in `scan.rs`.
//!
//! Framings read:
//!
//! - NDJSON (LF or CRLF, blank lines allowed);
//! - one JSON document, on one line or pretty-printed over many lines (an
//!   entity report object with `day_totals[]`, or a single row): the
//!   document is one row;
//! - a top-level JSON array of rows: each element is one row;
//! - whitespace-separated concatenated values (any of the above in a row);
//! - each of them with or without a UTF-8 byte order mark.
//!
//! # How
//!
//! A small structural scanner tracks, between chunks, the bracket stack,
//! whether it is inside a string and whether the last byte was a backslash;
//! that is all it takes to find where a value ends. Strings are skipped with
//! `memchr`. A value that lies inside one chunk is handed on as a slice of
//! that chunk; only a value that spans chunks is copied, and only up to
//! `max_value_bytes`: a longer value is scanned to its end without being
//! kept and reported as [`Row::TooLong`].
//!
//! **Line mode (NDJSON fast path).** When the file's first value is not an
//! array and fills its line (only whitespace after it up to the newline),
//! the file is taken as NDJSON: from then on lines are found with `memchr`
//! like [`super::ndjson::LineSplitter`] does, and a line that starts with
//! `{` and ends with `}` (after trimming whitespace and `\r`) is handed on
//! as one row without scanning inside it. That keeps NDJSON at memchr speed
//! (see BENCHMARKS.md). As with the line splitter, such a row is framed,
//! not validated: the consumer's parse is the validator (two objects on one
//! line, `{…} {…}`, are then one invalid row). A line of any other shape is
//! scanned like any other input, so a pretty document may still follow; but
//! while a value spans lines, a line that starts with `{` is the next row:
//! the open value is [`Row::Invalid`] (a cut-off row inside the file costs
//! that row, not the file). The last line, when it has no newline, is always
//! scanned: if it ends inside a value the transfer was cut off
//! ([`FramingError::Truncated`]).
//!
//! **Errors and resynchronisation.** A stray or mismatched closing bracket,
//! a line break inside a string, nesting deeper than [`MAX_DEPTH`], or a
//! byte that cannot start a value where a value must start (or a number or
//! literal that is not one) make the value [`Row::Invalid`]. The reader then skips to the next newline and resumes:
//! in line mode at the next line; inside a top-level array at the next
//! element (an optional leading `,` is skipped); otherwise (documents) at the
//! next line whose first byte is `{` or `[`. Everything skipped counts as
//! one invalid value.
//!
//! **Whole-file failures** come from [`FramingReader::finish`]: a file whose
//! first non-blank byte cannot start JSON (an HTML page from a proxy starts
//! with `<`) is [`FramingError::NotJson`]; a stream that ends inside a value
//! or inside a top-level array is [`FramingError::Truncated`]. A file that
//! gives no row at all is not an error here: [`FramingStats::rows`] says so,
//! and the caller decides.

mod scan;
#[cfg(test)]
mod tests;

use std::fmt;

/// Deepest bracket nesting a value may have; deeper is [`Row::Invalid`]
/// (it also bounds the scanner's memory on hostile input). serde_json
/// itself refuses more than 128 levels.
pub const MAX_DEPTH: usize = 1024;

/// How many bytes of a file that is not JSON [`FramingError::NotJson`] shows.
const NOT_JSON_SHOWN: usize = 40;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// One row of a report file, as framed by [`FramingReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Row<'a> {
    /// The raw bytes of one JSON value (no surrounding whitespace), with its
    /// ordinal: rows, too-long and invalid values are numbered together from
    /// 1 in file order. Framed, not validated: its brackets balance outside
    /// strings; parsing it is the consumer's check.
    Value(u64, &'a [u8]),
    /// A value longer than the limit, skipped without being buffered.
    TooLong(u64),
    /// Bytes that are not a JSON value (with what was wrong and the line it
    /// started on), skipped up to where the reader could resynchronise.
    Invalid(u64, String),
}

/// Why a whole file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The file does not start like JSON (for example an HTML page).
    #[error("not JSON: the file starts with {0:?}")]
    NotJson(String),
    /// The stream ended inside a value or a top-level array: a cut-off
    /// transfer.
    #[error("truncated: the file ends inside value {ordinal} (started on line {line})")]
    Truncated {
        /// Ordinal of the unfinished value (0: the top-level array itself).
        ordinal: u64,
        /// Line the unfinished value started on.
        line: u64,
    },
}

/// The framing the reader found (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// Nothing but whitespace (or nothing) yet.
    #[default]
    Empty,
    /// NDJSON: one value per line (line mode).
    Lines,
    /// Values that may span lines: a (pretty) document or concatenated values.
    Documents,
    /// One or more top-level arrays of rows.
    Array,
}

/// Counts of a framed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FramingStats {
    /// Values handed on as [`Row::Value`].
    pub rows: u64,
    /// [`Row::Invalid`] values.
    pub invalid: u64,
    /// [`Row::TooLong`] values.
    pub too_long: u64,
    /// Bytes fed (including a byte order mark).
    pub bytes: u64,
    /// Lines seen (newlines, plus a last line without one).
    pub lines: u64,
    /// The framing found; [`Framing::Array`] once a top-level array was seen.
    pub framing: Framing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between values (at the top level, or inside a top-level array).
    Between,
    /// Inside an object, array or string value.
    Value,
    /// Inside a number or a literal.
    Scalar,
    /// Line mode: inside a line (its start kept in `buf`).
    Line,
    /// Resynchronising: skipping to the next newline.
    Skip,
    /// Documents: after a skipped line, waiting for a line that starts
    /// with `{` or `[`.
    SkipToOpen,
    /// The file is not JSON; the rest is ignored.
    NotJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Array {
    /// Not inside a top-level array.
    No,
    /// After `[`: an element or `]`.
    First,
    /// After `,`: an element (or `]`: a trailing comma is tolerated).
    Next,
    /// After an element: `,` or `]`.
    After,
    /// After an invalid element: an optional `,`, then an element or `]`.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No top-level value (other than arrays) has ended yet.
    Unknown,
    /// The first value ended on the line it started on: line mode if only
    /// whitespace follows it up to the newline.
    Pending,
    /// NDJSON.
    Lines,
    /// Values may span lines.
    Documents,
}

/// Streaming reader of a report file in any JSON framing (see the module
/// documentation). Memory: the value being read when it spans chunks, up to
/// the limit, and its bracket stack.
pub struct FramingReader {
    max: usize,
    stats: FramingStats,
    ordinal: u64,
    /// Newlines seen.
    nl: u64,
    last_nl: bool,
    /// The first bytes while a byte order mark is not decided.
    head: Vec<u8>,
    head_done: bool,
    /// A non-blank byte has been seen (the not-JSON check is done).
    started: bool,
    saw_array: bool,
    state: State,
    array: Array,
    mode: Mode,
    /// The current value's (or line's) bytes from earlier chunks.
    buf: Vec<u8>,
    /// The current value passed the limit: nothing more of it is kept.
    over: bool,
    /// Closing brackets expected, innermost last.
    stack: Vec<u8>,
    in_str: bool,
    esc: bool,
    /// Line mode: the chunk ended with a newline inside a value; the next
    /// byte must not start a row (`{`).
    peek: bool,
    /// Line the current value started on.
    value_line: u64,
    /// The first bytes of a file that is not JSON.
    not_json: Vec<u8>,
}

impl fmt::Debug for FramingReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramingReader")
            .field("max", &self.max)
            .field("stats", &self.stats())
            .field("state", &self.state)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl FramingReader {
    /// A reader that refuses values (rows; elements of a top-level array)
    /// longer than `max_value_bytes` bytes.
    pub fn new(max_value_bytes: usize) -> Self {
        FramingReader {
            max: max_value_bytes,
            stats: FramingStats::default(),
            ordinal: 0,
            nl: 0,
            last_nl: false,
            head: Vec::new(),
            head_done: false,
            started: false,
            saw_array: false,
            state: State::Between,
            array: Array::No,
            mode: Mode::Unknown,
            buf: Vec::new(),
            over: false,
            stack: Vec::new(),
            in_str: false,
            esc: false,
            peek: false,
            value_line: 0,
            not_json: Vec::new(),
        }
    }

    /// The counts so far (`lines`: newlines so far).
    pub fn stats(&self) -> FramingStats {
        let framing = if self.saw_array {
            Framing::Array
        } else {
            match self.mode {
                Mode::Lines | Mode::Pending => Framing::Lines,
                Mode::Documents => Framing::Documents,
                Mode::Unknown if self.ordinal > 0 => Framing::Documents,
                Mode::Unknown => Framing::Empty,
            }
        };
        FramingStats {
            lines: self.nl,
            framing,
            ..self.stats
        }
    }

    /// True once the file is known not to be JSON: the caller may stop the
    /// download; [`FramingReader::finish`] returns [`FramingError::NotJson`].
    pub fn is_not_json(&self) -> bool {
        self.state == State::NotJson
    }

    /// Feeds the next chunk; `on_row` sees every row completed by it.
    pub fn feed(&mut self, chunk: &[u8], on_row: &mut dyn FnMut(Row<'_>)) {
        let Some(&last) = chunk.last() else {
            return;
        };
        self.stats.bytes += chunk.len() as u64;
        self.last_nl = last == b'\n';
        if self.head_done {
            self.run(chunk, on_row);
            return;
        }
        // A byte order mark may arrive split over chunks.
        let take = (BOM.len() - self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..take]);
        if BOM.starts_with(&self.head) && self.head.len() < BOM.len() {
            return;
        }
        self.head_done = true;
        let head = std::mem::take(&mut self.head);
        if head.as_slice() != BOM {
            let earlier = head.len() - take;
            self.run(&head[..earlier], on_row);
            self.run(&chunk[..take], on_row);
        }
        self.run(&chunk[take..], on_row);
    }

    /// Ends the stream: emits a last value that only the end of the file
    /// ends (a number; the last line in line mode) and returns the counts,
    /// or why the whole file cannot be used.
    pub fn finish(mut self, on_row: &mut dyn FnMut(Row<'_>)) -> Result<FramingStats, FramingError> {
        if !self.head_done {
            self.head_done = true;
            let head = std::mem::take(&mut self.head);
            self.run(&head, on_row);
        }
        if self.state == State::Line {
            // The last line has no newline: scan it (a cut-off row is
            // truncated, not a row).
            if std::mem::take(&mut self.over) {
                self.ordinal += 1;
                self.stats.too_long += 1;
                on_row(Row::TooLong(self.ordinal));
            } else {
                let line = std::mem::take(&mut self.buf);
                self.state = State::Between;
                self.run(&line, on_row);
            }
        }
        match self.state {
            State::NotJson => {
                return Err(FramingError::NotJson(
                    String::from_utf8_lossy(&self.not_json).into_owned(),
                ))
            }
            State::Value => return Err(self.truncated()),
            State::Scalar => self.complete(&[], on_row),
            _ => {}
        }
        if self.array != Array::No {
            return Err(FramingError::Truncated {
                ordinal: 0,
                line: self.nl + 1,
            });
        }
        let mut stats = self.stats();
        if stats.bytes > 0 && !self.last_nl {
            stats.lines += 1;
        }
        Ok(stats)
    }

    fn truncated(&self) -> FramingError {
        FramingError::Truncated {
            ordinal: self.ordinal,
            line: self.value_line,
        }
    }
}
