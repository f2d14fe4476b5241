//! The scanner behind [`FramingReader`]: the state machine over one run of
//! bytes, the value scanner (brackets, strings, escapes) and the line-mode
//! fast path. See the module documentation of `framing` for the rules.

use super::{Array, FramingReader, Mode, Row, State, MAX_DEPTH, NOT_JSON_SHOWN};

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

impl FramingReader {
    /// The state machine over one run of bytes.
    pub(super) fn run(&mut self, chunk: &[u8], on_row: &mut dyn FnMut(Row<'_>)) {
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
    pub(super) fn complete(&mut self, tail: &[u8], on_row: &mut dyn FnMut(Row<'_>)) {
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
