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

/// What ends a run over a chunk inside a value.
enum Step {
    /// The value ends before this index.
    Done(usize),
    /// The chunk ran out inside the value.
    More,
    /// Not JSON: what is wrong, and where to resynchronise from.
    Bad(String, usize),
    /// Line mode: a line starts with `{` while a value spanning lines is
    /// open: that value is not JSON; the new one starts at this index.
    Cut(usize),
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

    /// The state machine over one run of bytes.
    fn run(&mut self, chunk: &[u8], on_row: &mut dyn FnMut(Row<'_>)) {
        let n = chunk.len();
        let mut i = 0;
        // Where the current value's (or line's) bytes start in this chunk.
        let mut seg = 0;
        while i < n {
            match self.state {
                State::NotJson => {
                    // Keep the first bytes for the error message.
                    let room = NOT_JSON_SHOWN.saturating_sub(self.not_json.len());
                    self.not_json.extend_from_slice(&chunk[i..n.min(i + room)]);
                    return;
                }
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
                                    self.state = State::NotJson;
                                    continue;
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
                    Step::Cut(at) => {
                        self.fail("not complete where the next line starts a row", on_row);
                        self.state = State::Between;
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
                        let framed = if self.buf.is_empty() && !self.over {
                            self.fast_line(&chunk[seg..end], on_row)
                        } else {
                            self.keep(&chunk[seg..end], self.max.saturating_add(1));
                            let line = std::mem::take(&mut self.buf);
                            let framed = if std::mem::take(&mut self.over) {
                                self.ordinal += 1;
                                self.stats.too_long += 1;
                                on_row(Row::TooLong(self.ordinal));
                                true
                            } else if self.fast_line(&line, on_row) {
                                true
                            } else {
                                // Not a one-line row: scan it from its start.
                                self.state = State::Between;
                                self.run(&line, on_row);
                                seg = end;
                                false
                            };
                            if self.buf.is_empty() {
                                self.buf = line;
                                self.buf.clear();
                            }
                            framed
                        };
                        if framed {
                            self.nl += 1;
                            i = end + 1;
                            seg = i;
                        } else if self.state == State::Line {
                            // Not a one-line row: scan it from its start.
                            self.state = State::Between;
                            i = seg;
                        } else {
                            // Scanned from the buffer: go on at the newline.
                            i = end;
                        }
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
        if std::mem::take(&mut self.peek) && chunk[i] == b'{' {
            return Step::Cut(i);
        }
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
                        b'\n' => {
                            self.nl += 1;
                            if self.mode == Mode::Lines {
                                // NDJSON: a value may span lines (a pretty
                                // document), but a line that starts with `{`
                                // is the next row.
                                match chunk.get(i) {
                                    Some(b'{') => return Step::Cut(i),
                                    Some(_) => {}
                                    None => self.peek = true,
                                }
                            }
                        }
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
        if self.state == State::Scalar && !self.over {
            self.buf.extend_from_slice(tail);
            if !is_scalar(&self.buf) {
                let why = format!("{:?} is not a value", String::from_utf8_lossy(&self.buf));
                self.fail(&why, on_row);
                return;
            }
            let scalar = std::mem::take(&mut self.buf);
            self.state = State::Value;
            self.complete(&scalar, on_row);
            self.buf = scalar;
            self.buf.clear();
            return;
        }
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
        self.peek = false;
        self.over = false;
        self.state = State::Skip;
    }

    /// Line mode: one complete line (without its newline). Frames a blank
    /// line, a too-long line or a line with the shape of a row (`{…}`) and
    /// returns true; any other line is left to the scanner.
    fn fast_line(&mut self, raw: &[u8], on_row: &mut dyn FnMut(Row<'_>)) -> bool {
        let line = raw.trim_ascii();
        let Some((&first, _)) = line.split_first() else {
            return true;
        };
        if line.len() > self.max {
            self.ordinal += 1;
            self.stats.too_long += 1;
            on_row(Row::TooLong(self.ordinal));
        } else if first == b'{' && line[line.len() - 1] == b'}' {
            self.ordinal += 1;
            self.stats.rows += 1;
            on_row(Row::Value(self.ordinal, line));
        } else {
            return false;
        }
        true
    }
}

/// True for a number or a literal (`true`, `false`, `null`); a number is
/// checked for its characters only.
fn is_scalar(bytes: &[u8]) -> bool {
    matches!(bytes, b"true" | b"false" | b"null")
        || bytes
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
}

/// True for a byte that can start a JSON value.
fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{entity_day, user_row, Rng};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// An owned [`Row`].
    #[derive(Debug, Clone, PartialEq)]
    enum Out {
        Value(u64, Vec<u8>),
        TooLong(u64),
        Invalid(u64, String),
    }

    type Framed = (Vec<Out>, Result<FramingStats, FramingError>);

    fn frame(input: &[u8], chunk: usize, max: usize) -> Framed {
        let mut r = FramingReader::new(max);
        let mut out = Vec::new();
        let mut push = |row: Row<'_>| {
            out.push(match row {
                Row::Value(n, b) => Out::Value(n, b.to_vec()),
                Row::TooLong(n) => Out::TooLong(n),
                Row::Invalid(n, why) => Out::Invalid(n, why),
            })
        };
        for c in input.chunks(chunk.max(1)) {
            r.feed(c, &mut push);
        }
        let end = r.finish(&mut push);
        (out, end)
    }

    /// Frames `input` in every chunking from 1 byte to the whole (all sizes
    /// up to 70 bytes, then a spread) and requires the same result.
    fn frame_all(input: &[u8], max: usize) -> Framed {
        let whole = frame(input, input.len(), max);
        let mut sizes: Vec<usize> = (1..=70).collect();
        sizes.extend([97, 128, 255, 256, 1000, 4096, 65_536]);
        for size in sizes.into_iter().filter(|s| *s < input.len()) {
            assert_eq!(frame(input, size, max), whole, "chunks of {size} bytes");
        }
        whole
    }

    fn values(framed: &Framed) -> Vec<Value> {
        framed
            .0
            .iter()
            .map(|o| match o {
                Out::Value(_, b) => serde_json::from_slice(b).expect("a framed row parses"),
                other => panic!("not a value: {other:?}"),
            })
            .collect()
    }

    fn ok(framed: &Framed) -> FramingStats {
        framed.1.clone().expect("the file frames")
    }

    /// Every framing of `rows` the reader must read alike.
    fn framings(rows: &[Value]) -> Vec<(&'static str, Vec<u8>)> {
        let compact: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        let pretty: Vec<String> = rows
            .iter()
            .map(|r| serde_json::to_string_pretty(r).unwrap_or_default())
            .collect();
        let array = Value::Array(rows.to_vec());
        let mut out = vec![
            (
                "ndjson",
                compact.iter().map(|l| format!("{l}\n")).collect::<String>(),
            ),
            (
                "ndjson-crlf-blank",
                format!("\r\n{}", compact.join("\r\n\r\n")),
            ),
            ("pretty", pretty.join("\n")),
            (
                "pretty-crlf",
                pretty.join("\n").replace('\n', "\r\n") + "\r\n",
            ),
            ("concatenated", compact.join(" ")),
            ("array", array.to_string()),
            (
                "array-pretty",
                serde_json::to_string_pretty(&array).unwrap_or_default(),
            ),
            ("array-lines", format!("[\n{}\n]\n", compact.join(",\n"))),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect::<Vec<_>>();
        let with_bom: Vec<_> = out
            .iter()
            .map(|(_, v)| ("bom", [BOM.as_slice(), v].concat()))
            .collect();
        out.extend(with_bom);
        out
    }

    fn tricky_rows() -> Vec<Value> {
        let mut user = Vec::new();
        user_row(&mut user, &mut Rng(7), 1_000_001, "2026-05-07");
        let user: Value = serde_json::from_slice(&user).unwrap_or_default();
        vec![
            json!({"day": "2026-05-07", "s": "}{][\"\\", "t": "a\nb\r\n{", "u": "\\\\\"", "e": []}),
            user,
            json!({"k": "日本語 ✓", "nested": [{"a": [1, 2, {"b": "]"}]}, {}], "n": -1.5e3, "z": null}),
            json!({"day_totals": [{"day": "2026-05-06", "x": 1}, {"day": "2026-05-07", "x": 2}]}),
        ]
    }

    #[test]
    fn every_framing_and_chunking_gives_the_same_rows() {
        let rows = tricky_rows();
        for (name, input) in framings(&rows) {
            let framed = frame_all(&input, 1 << 20);
            assert_eq!(values(&framed), rows, "{name}");
            let stats = ok(&framed);
            assert_eq!(
                (stats.rows, stats.invalid, stats.too_long),
                (4, 0, 0),
                "{name}"
            );
            assert_eq!(stats.bytes, input.len() as u64, "{name}");
        }
    }

    #[test]
    fn framings_are_recognised() {
        let rows = tricky_rows();
        let expect = [
            ("ndjson", Framing::Lines),
            ("ndjson-crlf-blank", Framing::Lines),
            ("pretty", Framing::Documents),
            ("concatenated", Framing::Documents),
            ("array", Framing::Array),
            ("array-pretty", Framing::Array),
        ];
        let all = framings(&rows);
        for (name, framing) in expect {
            let input = &all.iter().find(|(n, _)| *n == name).expect("framing").1;
            assert_eq!(ok(&frame(input, 4096, 1 << 20)).framing, framing, "{name}");
        }
        // A first row that fits its line does not stop pretty documents.
        let framed = frame_all(b"{}\n{\n  \"a\": [\n    1\n  ]\n}\n", 100);
        assert_eq!(values(&framed), [json!({}), json!({"a": [1]})]);
        assert_eq!(ok(&framed).framing, Framing::Lines);
        assert_eq!(ok(&frame(b"", 1, 100)).framing, Framing::Empty);
        assert_eq!(ok(&frame(b" \r\n\n", 1, 100)).rows, 0);
    }

    /// A 28-day entity report as one pretty-printed document (2-space
    /// indented, like `report-28day-pretty-document`) is one row.
    #[test]
    fn pretty_28_day_document_is_one_row() {
        let mut rng = Rng(3);
        let days: Vec<Value> = (1..=28)
            .map(|d| {
                let mut b = Vec::new();
                entity_day(&mut b, &mut rng, &format!("2026-11-{d:02}"), 10 + d);
                serde_json::from_slice(&b).unwrap_or_default()
            })
            .collect();
        let doc = json!({
            "report_start_day": "2026-11-01",
            "report_end_day": "2026-11-28",
            "organization_id": "90001",
            "day_totals": days,
        });
        let text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        let framed = frame_all(&text, 1 << 20);
        assert_eq!(values(&framed), std::slice::from_ref(&doc));
        let stats = ok(&framed);
        assert_eq!(stats.framing, Framing::Documents);
        assert_eq!(
            stats.lines,
            text.iter().filter(|b| **b == b'\n').count() as u64 + 1
        );
        // The limit is per row: the document is one value.
        let framed = frame(&text, 4096, text.len() - 1);
        assert_eq!(framed.0, [Out::TooLong(1)]);
        assert_eq!(ok(&framed).too_long, 1);
        let framed = frame(&text, 4096, text.len());
        assert_eq!(values(&framed), [doc]);
    }

    #[test]
    fn an_html_page_is_not_json() {
        let page = b"<!DOCTYPE html>\n<html>\n<head><title>Access blocked</title></head>\n<body>\n<h1>Blocked</h1>\n</body>\n</html>\n";
        for input in [
            &page[..],
            &[BOM.as_slice(), page].concat(),
            b"\n  <html>{\"a\":1}\n",
        ] {
            let framed = frame_all(input, 1 << 20);
            assert!(framed.0.is_empty());
            assert!(matches!(framed.1, Err(FramingError::NotJson(ref s)) if s.starts_with('<')));
        }
        for text in [&b"Service Unavailable"[..], b"}", b"\xEF\xBB"] {
            assert!(matches!(
                frame(text, 1, 100).1,
                Err(FramingError::NotJson(_))
            ));
        }
        let mut r = FramingReader::new(100);
        r.feed(b"  <html>", &mut |_| {});
        assert!(r.is_not_json());
    }

    #[test]
    fn a_cut_off_transfer_is_truncated() {
        let rows = tricky_rows();
        for (name, input) in framings(&rows) {
            let whole = frame(&input, input.len(), 1 << 20);
            // Cut inside the last row (or the array): never a success.
            let last_close = input.iter().rposition(|b| *b == b'}').unwrap_or(0);
            for cut in [last_close, last_close - 1, last_close - 7] {
                let framed = frame(&input[..cut], 64, 1 << 20);
                assert!(
                    matches!(framed.1, Err(FramingError::Truncated { .. })),
                    "{name} cut at {cut}: {:?}",
                    framed.1
                );
                // What came before is the same rows.
                assert!(whole.0.starts_with(&framed.0), "{name}");
            }
        }
        assert_eq!(
            frame(b"{\"a\":1}\n{\"b\":[1,", 3, 100).1,
            Err(FramingError::Truncated {
                ordinal: 2,
                line: 2
            })
        );
        assert_eq!(
            frame(b"[{\"a\":1},\n{\"b\":2}", 3, 100).1,
            Err(FramingError::Truncated {
                ordinal: 0,
                line: 2
            })
        );
        assert!(matches!(
            frame(b"\"abc", 2, 100).1,
            Err(FramingError::Truncated { .. })
        ));
        // A cut right after a complete NDJSON line cannot be seen.
        assert_eq!(ok(&frame(b"{\"a\":1}\n{\"b\":2}\n", 5, 100)).rows, 2);
        assert_eq!(ok(&frame(b"{\"a\":1}\n{\"b\":2}", 5, 100)).rows, 2);
    }

    #[test]
    fn strings_hide_brackets_quotes_and_escapes() {
        let input = br#"{"a":"}}]]","b":"\"{","c":"\\","d":"\\\"}"} {"e":"[\u005d"}"#;
        let framed = frame_all(input, 100);
        assert_eq!(
            values(&framed),
            [
                json!({"a":"}}]]","b":"\"{","c":"\\","d":"\\\"}"}),
                json!({"e":"[]"})
            ]
        );
    }

    #[test]
    fn too_long_values_are_skipped_without_buffering() {
        let big = format!("{{\"x\":\"{}\",\"y\":[{{}}]}}", "z".repeat(100_000));
        let inputs = [
            format!("{{\"a\":1}}\n{big}\n{{\"b\":2}}\n"),
            format!("{{\"a\":1}}\n\n{big}"),
            format!("{{\n\"a\":1}}\n{big}\n{{\"b\":2}}"),
            format!("[{{\"a\":1}},{big},{{\"b\":2}}]"),
        ];
        for (k, input) in inputs.iter().enumerate() {
            let framed = frame_all(input.as_bytes(), 1000);
            let too_long = framed
                .0
                .iter()
                .filter(|o| matches!(o, Out::TooLong(2)))
                .count();
            assert_eq!(too_long, 1, "input {k}: {:?}", framed.0);
            let stats = ok(&framed);
            assert_eq!(stats.too_long, 1, "input {k}");
            assert_eq!(stats.rows as usize, framed.0.len() - 1, "input {k}");
            // Fed in small chunks, the reader never keeps more than the limit.
            let mut r = FramingReader::new(1000);
            for c in input.as_bytes().chunks(100) {
                r.feed(c, &mut |_| {});
                assert!(
                    r.buf.capacity() <= 64 * 1024 && r.buf.len() <= 1001,
                    "input {k}"
                );
            }
        }
    }

    #[test]
    fn invalid_values_are_reported_and_skipped() {
        // NDJSON: a bad line is one invalid row, a cut-off row (which may
        // span lines, like a pretty document) ends where a line starts with
        // `{`: the next row.
        let input = b"{\"a\":1}\nnot json\n{\"b\":\n  [1,2]\n\"s\"\n{\"c\":3}\r\n{\"d\":\"x\ny\"}\n{\"e\":5}";
        let framed = frame_all(input, 100);
        assert_eq!(framed.0[0], Out::Value(1, b"{\"a\":1}".to_vec()));
        assert!(
            matches!(&framed.0[1], Out::Invalid(2, why) if why == "line 2: \"not\" is not a value")
        );
        assert!(
            matches!(&framed.0[2], Out::Invalid(3, why) if why.starts_with("line 3: not complete"))
        );
        assert_eq!(framed.0[3], Out::Value(4, b"{\"c\":3}".to_vec()));
        assert!(
            matches!(&framed.0[4], Out::Invalid(5, why) if why == "line 7: line break inside a string")
        );
        // The rest of the broken line is a line of its own (as with
        // `LineSplitter`).
        assert!(matches!(&framed.0[5], Out::Invalid(6, why) if why.starts_with("line 8:")));
        assert_eq!(framed.0[6], Out::Value(7, b"{\"e\":5}".to_vec()));
        assert_eq!(framed.0.len(), 7);
        let stats = ok(&framed);
        assert_eq!(
            (stats.rows, stats.invalid, stats.framing),
            (3, 4, Framing::Lines)
        );
        // A line of NDJSON in another shape is scanned.
        let framed = frame_all(
            b"{\"a\":1}\n[{\"b\":2}, {\"c\":3}]\n{\"d\":4} {\"e\":5}",
            100,
        );
        assert_eq!(values(&framed).len(), 5);

        // Documents: a mismatched bracket; a line break inside a string.
        let input =
            b"{\n  \"a\": [1}\n  \"junk\": 2\n}\n{\n  \"b\": \"x\n y\"\n}\n{\n  \"c\": 3\n}\n";
        let framed = frame_all(input, 100);
        assert!(matches!(&framed.0[0], Out::Invalid(1, why) if why == "line 1: unexpected '}'"));
        assert!(
            matches!(&framed.0[1], Out::Invalid(2, why) if why.contains("line break inside a string"))
        );
        assert_eq!(
            values(&(framed.0[2..].to_vec(), Ok(FramingStats::default()))),
            [json!({"c": 3})]
        );
        assert_eq!(ok(&framed).invalid, 2);

        // Array: a bad element; the next elements and the close still read.
        let input = b"[\n{\"a\":1},\n{\"b\":]},\n{\"c\":3}\n]\n{\"d\":4}";
        let framed = frame_all(input, 100);
        assert_eq!(framed.0.len(), 4);
        assert!(matches!(&framed.0[1], Out::Invalid(2, why) if why.contains("line 3")));
        assert_eq!(framed.0[2], Out::Value(3, b"{\"c\":3}".to_vec()));
        assert_eq!(framed.0[3], Out::Value(4, b"{\"d\":4}".to_vec()));
        // A missing comma between elements; a trailing comma is tolerated.
        let framed = frame_all(b"[{\"a\":1} {\"b\":2}\n,{\"c\":3},]", 100);
        assert!(matches!(&framed.0[1], Out::Invalid(2, why) if why.contains("',' is missing")));
        assert_eq!(framed.0[2], Out::Value(3, b"{\"c\":3}".to_vec()));
        assert!(framed.1.is_ok());
        // Hostile nesting is bounded.
        let deep = "[".repeat(MAX_DEPTH + 1);
        let framed = frame(format!("{deep}\n{{\"a\":1}}").as_bytes(), 64, 1 << 20);
        assert!(matches!(&framed.0[0], Out::Invalid(1, why) if why.contains("nested deeper")));
    }

    #[test]
    fn top_level_scalars_are_values_for_the_caller_to_judge() {
        let framed = frame_all(b"\"report not ready\"", 100);
        assert_eq!(values(&framed), [json!("report not ready")]);
        let framed = frame_all(b"12 true null [3]", 100);
        assert_eq!(
            values(&framed),
            [json!(12), json!(true), json!(null), json!(3)]
        );
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            "[a-z{}\\[\\]\"\\\\\n\r\t ,:é✓]{0,12}".prop_map(Value::from),
            any::<i32>().prop_map(|i| Value::from(f64::from(i) / 4.0)),
        ]
    }

    fn tree() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_{}\"]{1,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn row() -> impl Strategy<Value = Value> {
        prop::collection::btree_map("[a-z_]{1,10}", tree(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

        /// Any set of rows gives identical parsed rows in every framing and
        /// every chunking.
        #[test]
        fn any_rows_in_any_framing(rows in prop::collection::vec(row(), 1..6), chunk in 1usize..300) {
            for (name, input) in framings(&rows) {
                let framed = frame(&input, chunk, 1 << 20);
                prop_assert_eq!(&values(&framed), &rows, "{}", name);
                prop_assert_eq!(ok(&framed).rows, rows.len() as u64, "{}", name);
            }
        }
    }
}
