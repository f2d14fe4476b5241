//! Streaming JSON framing: turns the chunks of a downloaded report file, in
//! any JSON framing GitHub (or a proxy in front of it) serves, into the raw
//! bytes of its rows, without holding the file.
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
//! the file is NDJSON: from then on each line is one row, found with
//! `memchr` like [`super::ndjson::LineSplitter`] does, and a line that
//! starts with `{` and ends with `}` (after trimming whitespace and `\r`) is
//! handed on without scanning inside it. That keeps NDJSON at memchr speed
//! (see BENCHMARKS.md). As with the line splitter, such a row is framed, not
//! validated: the consumer's parse is the validator. A non-blank line of any
//! other shape is [`Row::Invalid`]. Only the last line, when it has no
//! newline, is scanned: if it is not one complete value the transfer was
//! cut off ([`FramingError::Truncated`]).
//!
//! **Errors and resynchronisation.** A stray or mismatched closing bracket,
//! a line break inside a string, nesting deeper than [`MAX_DEPTH`], or a
//! byte that cannot start a value where a value must start make the value
//! [`Row::Invalid`]. The reader then skips to the next newline and resumes:
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

use std::fmt;

/// Deepest bracket nesting a value may have; deeper is [`Row::Invalid`]
/// (it also bounds the scanner's memory on hostile input). serde_json
/// itself refuses more than 128 levels.
pub const MAX_DEPTH: usize = 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// One row of a report file, as framed by [`FramingReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Row<'a> {
    /// The raw bytes of one complete JSON value (no surrounding whitespace),
    /// with its ordinal: rows, too-long and invalid values are numbered
    /// together from 1 in file order.
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

/// What ends a run over a chunk inside a value.
enum Step {
    /// The value ends before this index.
    Done(usize),
    /// The chunk ran out inside the value.
    More,
    /// Not JSON: what is wrong, and where to resynchronise from.
    Bad(String, usize),
}

/// Bytes the structural scanner stops at outside strings.
const STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// Bytes that end a number or a literal.
const DELIMITER: [bool; 256] = {
    let mut t = [false; 256];
    let d = b" \t\r\n{}[],:\"";
    let mut k = 0;
    while k < d.len() {
        t[d[k] as usize] = true;
        k += 1;
    }
    t
};

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
    /// Line the current value started on.
    value_line: u64,
    not_json: String,
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
            value_line: 0,
            not_json: String::new(),
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
        match self.state {
            State::NotJson => return Err(FramingError::NotJson(self.not_json)),
            State::Value => return Err(self.truncated()),
            State::Scalar => self.complete(&[], on_row),
            State::Line if self.over => {
                self.ordinal += 1;
                self.stats.too_long += 1;
                on_row(Row::TooLong(self.ordinal));
            }
            State::Line => {
                let line = std::mem::take(&mut self.buf);
                let t = line.trim_ascii();
                if t.first() == Some(&b'{') && !is_one_value(t) {
                    self.ordinal += 1;
                    self.value_line = self.nl + 1;
                    return Err(self.truncated());
                }
                self.line(&line, on_row);
            }
            State::Between | State::Skip | State::SkipToOpen => {}
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

    /// The state machine over one run of bytes.
    fn run(&mut self, chunk: &[u8], on_row: &mut dyn FnMut(Row<'_>)) {
        let n = chunk.len();
        let mut i = 0;
        // Where the current value's (or line's) bytes start in this chunk.
        let mut seg = 0;
        while i < n {
            match self.state {
                State::NotJson => return,
                State::Between => {
                    let b = chunk[i];
                    match b {
                        b' ' | b'\t' | b'\r' => i += 1,
                        b'\n' => {
                            self.nl += 1;
                            i += 1;
                            if self.mode == Mode::Pending {
                                self.mode = Mode::Lines;
                                self.state = State::Line;
                                seg = i;
                            }
                        }
                        _ => {
                            if !self.started {
                                self.started = true;
                                if !starts_value(b) {
                                    let end = n.min(i + 40);
                                    self.not_json = String::from_utf8_lossy(&chunk[i..end]).into();
                                    self.state = State::NotJson;
                                    return;
                                }
                            }
                            if self.mode == Mode::Pending {
                                self.mode = Mode::Documents;
                            }
                            seg = i;
                            i = self.between(b, i, on_row);
                        }
                    }
                }
                State::Value => match self.scan_value(chunk, i) {
                    Step::Done(end) => {
                        self.complete(&chunk[seg..end], on_row);
                        i = end;
                    }
                    Step::More => i = n,
                    Step::Bad(why, at) => {
                        self.fail(&why, on_row);
                        i = at;
                    }
                },
                State::Scalar => match chunk[i..].iter().position(|&b| DELIMITER[b as usize]) {
                    Some(p) => {
                        self.complete(&chunk[seg..i + p], on_row);
                        i += p;
                    }
                    None => i = n,
                },
                State::Line => match memchr::memchr(b'\n', &chunk[i..]) {
                    Some(p) => {
                        let end = i + p;
                        if self.buf.is_empty() && !self.over {
                            self.line(&chunk[seg..end], on_row);
                        } else {
                            self.keep(&chunk[seg..end], self.max.saturating_add(1));
                            let line = std::mem::take(&mut self.buf);
                            if std::mem::take(&mut self.over) {
                                self.ordinal += 1;
                                self.stats.too_long += 1;
                                on_row(Row::TooLong(self.ordinal));
                            } else {
                                self.line(&line, on_row);
                            }
                            self.buf = line;
                            self.buf.clear();
                        }
                        self.nl += 1;
                        i = end + 1;
                        seg = i;
                    }
                    None => i = n,
                },
                State::Skip => match memchr::memchr(b'\n', &chunk[i..]) {
                    Some(p) => {
                        self.nl += 1;
                        i += p + 1;
                        self.state = if self.array != Array::No {
                            self.array = Array::Resync;
                            State::Between
                        } else if self.mode == Mode::Lines {
                            seg = i;
                            State::Line
                        } else {
                            State::SkipToOpen
                        };
                    }
                    None => i = n,
                },
                State::SkipToOpen => match chunk[i] {
                    b'{' | b'[' => self.state = State::Between,
                    b'\n' => {
                        self.nl += 1;
                        i += 1;
                    }
                    _ => self.state = State::Skip,
                },
            }
        }
        match self.state {
            State::Value | State::Scalar => self.keep(&chunk[seg..], self.max),
            State::Line => self.keep(&chunk[seg..], self.max.saturating_add(1)),
            _ => {}
        }
    }

    /// A non-blank byte `b` at `i` between values; returns where to go on.
    fn between(&mut self, b: u8, i: usize, on_row: &mut dyn FnMut(Row<'_>)) -> usize {
        match (self.array, b) {
            (Array::No, b'[') => {
                self.array = Array::First;
                self.saw_array = true;
                i + 1
            }
            (Array::No | Array::First | Array::Next | Array::Resync, _) if starts_value(b) => {
                self.begin(b);
                i + 1
            }
            (Array::After, b',') | (Array::Resync, b',') => {
                self.array = Array::Next;
                i + 1
            }
            (Array::First | Array::Next | Array::After | Array::Resync, b']') => {
                self.array = Array::No;
                i + 1
            }
            (Array::Resync, _) => {
                self.state = State::Skip;
                i
            }
            _ => {
                let why = match self.array {
                    Array::After => {
                        format!("{:?} after an array element (a ',' is missing)", b as char)
                    }
                    _ => format!("{:?} where a value must start", b as char),
                };
                self.fail(&why, on_row);
                i
            }
        }
    }

    /// Starts a value at its first byte `b`.
    fn begin(&mut self, b: u8) {
        self.ordinal += 1;
        self.value_line = self.nl + 1;
        self.over = false;
        self.state = State::Value;
        match b {
            b'{' => self.stack.push(b'}'),
            b'[' => self.stack.push(b']'),
            b'"' => self.in_str = true,
            _ => self.state = State::Scalar,
        }
    }

    /// Scans a value from `i` to its end, or to the end of the chunk.
    fn scan_value(&mut self, chunk: &[u8], mut i: usize) -> Step {
        let n = chunk.len();
        if self.esc {
            self.esc = false;
            if chunk[i] == b'\n' {
                return Step::Bad("line break inside a string".into(), i);
            }
            i += 1;
        }
        loop {
            if self.in_str {
                let Some(p) = memchr::memchr3(b'"', b'\\', b'\n', &chunk[i..]) else {
                    return Step::More;
                };
                let j = i + p;
                match chunk[j] {
                    b'"' => {
                        self.in_str = false;
                        i = j + 1;
                        if self.stack.is_empty() {
                            return Step::Done(i);
                        }
                    }
                    b'\\' if j + 1 == n => {
                        self.esc = true;
                        return Step::More;
                    }
                    b'\\' if chunk[j + 1] != b'\n' => i = j + 2,
                    b'\\' => return Step::Bad("line break inside a string".into(), j + 1),
                    _ => return Step::Bad("line break inside a string".into(), j),
                }
            } else {
                loop {
                    while i < n && !STRUCTURAL[chunk[i] as usize] {
                        i += 1;
                    }
                    if i == n {
                        return Step::More;
                    }
                    let b = chunk[i];
                    i += 1;
                    match b {
                        b'"' => {
                            self.in_str = true;
                            break;
                        }
                        b'\n' => self.nl += 1,
                        b'{' | b'[' => {
                            if self.stack.len() == MAX_DEPTH {
                                let why = format!("nested deeper than {MAX_DEPTH}");
                                return Step::Bad(why, i);
                            }
                            self.stack.push(if b == b'{' { b'}' } else { b']' });
                        }
                        _ => {
                            if self.stack.pop() != Some(b) {
                                let why = format!("unexpected {:?}", b as char);
                                return Step::Bad(why, i - 1);
                            }
                            if self.stack.is_empty() {
                                return Step::Done(i);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Keeps the current value's bytes of this chunk, up to `limit` in all.
    fn keep(&mut self, part: &[u8], limit: usize) {
        if self.over {
            return;
        }
        if self.buf.len() + part.len() > limit {
            self.over = true;
            self.buf.clear();
            self.buf.shrink_to(64 * 1024);
        } else {
            self.buf.extend_from_slice(part);
        }
    }

    /// The current value ends with `tail` (its bytes in this chunk).
    fn complete(&mut self, tail: &[u8], on_row: &mut dyn FnMut(Row<'_>)) {
        self.state = State::Between;
        if self.array != Array::No {
            self.array = Array::After;
        } else if self.mode == Mode::Unknown {
            self.mode = if self.value_line == self.nl + 1 {
                Mode::Pending
            } else {
                Mode::Documents
            };
        }
        if self.over || self.buf.len() + tail.len() > self.max {
            self.stats.too_long += 1;
            on_row(Row::TooLong(self.ordinal));
        } else if self.buf.is_empty() {
            self.stats.rows += 1;
            on_row(Row::Value(self.ordinal, tail));
        } else {
            self.buf.extend_from_slice(tail);
            self.stats.rows += 1;
            on_row(Row::Value(self.ordinal, &self.buf));
        }
        self.buf.clear();
        self.over = false;
    }

    /// The current value (or, between values, the bytes at hand) is not
    /// JSON: reports it and skips to the next newline.
    fn fail(&mut self, why: &str, on_row: &mut dyn FnMut(Row<'_>)) {
        if !matches!(self.state, State::Value | State::Scalar) {
            self.ordinal += 1;
            self.value_line = self.nl + 1;
        }
        self.stats.invalid += 1;
        on_row(Row::Invalid(
            self.ordinal,
            format!("line {}: {why}", self.value_line),
        ));
        self.buf.clear();
        self.stack.clear();
        self.in_str = false;
        self.esc = false;
        self.over = false;
        self.state = State::Skip;
    }

    /// Line mode: one complete line (without its newline).
    fn line(&mut self, raw: &[u8], on_row: &mut dyn FnMut(Row<'_>)) {
        let line = raw.trim_ascii();
        if line.is_empty() {
            return;
        }
        self.ordinal += 1;
        if line.len() > self.max {
            self.stats.too_long += 1;
            on_row(Row::TooLong(self.ordinal));
        } else if line[0] == b'{' && line[line.len() - 1] == b'}' {
            self.stats.rows += 1;
            on_row(Row::Value(self.ordinal, line));
        } else {
            self.stats.invalid += 1;
            let why = format!("line {}: not a JSON object on one line", self.nl + 1);
            on_row(Row::Invalid(self.ordinal, why));
        }
    }
}

/// True for a byte that can start a JSON value.
fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    )
}

/// True when `bytes` (trimmed) is exactly one complete value.
fn is_one_value(bytes: &[u8]) -> bool {
    let mut r = FramingReader::new(usize::MAX);
    r.head_done = true;
    r.started = true;
    r.mode = Mode::Documents;
    let mut values = 0;
    let mut other = false;
    r.run(bytes, &mut |row| match row {
        Row::Value(..) => values += 1,
        _ => other = true,
    });
    r.state == State::Between && values == 1 && !other
}
