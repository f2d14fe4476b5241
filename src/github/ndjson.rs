//! Streaming NDJSON: splits a byte stream into lines without buffering the
//! whole file. Only a line that spans two chunks is copied; a line longer
//! than the limit is dropped (and reported) without being buffered.

/// One line of a report.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line (without the newline or a trailing `\r`), numbered from 1.
    Complete(u64, &'a [u8]),
    /// A line longer than the limit, skipped.
    TooLong(u64),
}

/// Incremental line splitter for NDJSON downloads.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    max_line: usize,
    line_no: u64,
    discarding: bool,
}

impl LineSplitter {
    /// A splitter that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            partial: Vec::new(),
            max_line,
            line_no: 0,
            discarding: false,
        }
    }

    /// Lines seen so far.
    pub fn lines(&self) -> u64 {
        self.line_no
    }

    /// Feeds the next chunk; `on_line` sees every completed line.
    pub fn feed(&mut self, mut chunk: &[u8], on_line: &mut dyn FnMut(Line<'_>)) {
        while let Some(pos) = memchr::memchr(b'\n', chunk) {
            let (head, rest) = (&chunk[..pos], &chunk[pos + 1..]);
            chunk = rest;
            self.line_no += 1;
            if self.discarding {
                self.discarding = false;
                self.partial.clear();
                on_line(Line::TooLong(self.line_no));
            } else if self.partial.is_empty() {
                emit(self.line_no, head, self.max_line, on_line);
            } else if self.partial.len() + head.len() > self.max_line + 1 {
                self.partial.clear();
                on_line(Line::TooLong(self.line_no));
            } else {
                self.partial.extend_from_slice(head);
                emit(self.line_no, &self.partial, self.max_line, on_line);
                self.partial.clear();
            }
        }
        if self.discarding || chunk.is_empty() {
            return;
        }
        if self.partial.len() + chunk.len() > self.max_line + 1 {
            self.partial.clear();
            self.partial.shrink_to(64 * 1024);
            self.discarding = true;
        } else {
            self.partial.extend_from_slice(chunk);
        }
    }

    /// Ends the stream: a last line without a trailing newline is emitted.
    pub fn finish(&mut self, on_line: &mut dyn FnMut(Line<'_>)) {
        if self.discarding {
            self.line_no += 1;
            self.discarding = false;
            on_line(Line::TooLong(self.line_no));
        } else if !self.partial.is_empty() {
            self.line_no += 1;
            emit(self.line_no, &self.partial, self.max_line, on_line);
            self.partial.clear();
        }
    }
}

fn emit(line_no: u64, raw: &[u8], max_line: usize, on_line: &mut dyn FnMut(Line<'_>)) {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    if line.len() > max_line {
        on_line(Line::TooLong(line_no));
    } else {
        on_line(Line::Complete(line_no, line));
    }
}

/// True for a line that holds only whitespace (skipped, not an error).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> Vec<String> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut push = |l: Line<'_>| match l {
            Line::Complete(n, b) => out.push(format!("{n}:{}", String::from_utf8_lossy(b))),
            Line::TooLong(n) => out.push(format!("{n}:TOO LONG")),
        };
        for c in chunks {
            s.feed(c, &mut push);
        }
        s.finish(&mut push);
        out
    }

    #[test]
    fn lines_across_chunk_boundaries() {
        assert_eq!(
            split(&[b"ab", b"c\nde\r\n", b"f"], 100),
            ["1:abc", "2:de", "3:f"]
        );
        assert_eq!(split(&[b"a\n\n", b"b\n"], 100), ["1:a", "2:", "3:b"]);
    }

    #[test]
    fn overlong_lines_are_dropped_without_buffering() {
        let long = vec![b'x'; 50];
        let out = split(&[b"ok\n", &long, &long, b"\nafter\n"], 10);
        assert_eq!(out, ["1:ok", "2:TOO LONG", "3:after"]);
        let out = split(&[&long], 10);
        assert_eq!(out, ["1:TOO LONG"]);
        let out = split(&[b"0123456789ABC\nz"], 10);
        assert_eq!(out, ["1:TOO LONG", "2:z"]);
    }

    #[test]
    fn every_chunking_gives_the_same_lines() {
        let text = b"{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}";
        let whole = split(&[text], 64);
        for size in 1..text.len() {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(split(&chunks, 64), whole, "chunk size {size}");
        }
    }
}
