//! The `/metrics` body, streamed: the text exposition is written on a
//! blocking thread into a bounded channel of [`CHUNK_BYTES`] chunks that is
//! the response body, so a scrape holds at most [`CHANNEL_CHUNKS`] chunks
//! (plus the one being filled) however many series it shows, and a slow
//! client slows the writer down instead of making it buffer.
//!
//! The snapshot is taken when the request arrives ([`TextSnapshot`]): a
//! scrape slower than a refresh keeps showing the data it started with
//! (the `Arc`s it holds), never a mix of two refreshes. A client that goes
//! away drops the body, the writer's next send fails and it stops. A writer
//! that fails or panics ends the body with an error, so the client sees a
//! cut response (no final chunk) and the scrape fails rather than showing
//! part of the data as if it were all.

use std::io::{self, Write};

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::sinks::exposition::TextSnapshot;

/// Size of one body chunk (the last one may be smaller).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks waiting for the client at most, per scrape.
pub const CHANNEL_CHUNKS: usize = 4;

/// The response body that writes `snapshot` as it is read.
pub fn body(snapshot: TextSnapshot) -> Body {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter::new(tx);
        let written = snapshot.write(&mut out).and_then(|()| out.flush());
        match &written {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                tracing::debug!("/metrics client went away; stopped writing its scrape");
            }
            _ => {}
        }
        written
    });
    // Fused: the compression layer polls again after the end.
    let stream = futures_util::stream::unfold(Some((rx, writer)), next_chunk).fuse();
    Body::from_stream(stream)
}

type Pipe = (mpsc::Receiver<Bytes>, JoinHandle<io::Result<()>>);

/// The next chunk; once the writer is done (its sender dropped), `None` if
/// it wrote everything, else one error that cuts the response off.
async fn next_chunk(state: Option<Pipe>) -> Option<(io::Result<Bytes>, Option<Pipe>)> {
    let (mut rx, writer) = state?;
    if let Some(chunk) = rx.recv().await {
        return Some((Ok(chunk), Some((rx, writer))));
    }
    let failure = match writer.await {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => e,
        Err(join) => io::Error::other(format!("the /metrics writer failed: {join}")),
    };
    tracing::warn!(error = %failure, "/metrics scrape cut off: the exposition could not be written completely");
    Some((Err(failure), None))
}

/// A [`Write`] that cuts its bytes into [`CHUNK_BYTES`] chunks and sends
/// each into the channel, waiting while it is full. Fails with
/// [`io::ErrorKind::BrokenPipe`] once the receiver is gone.
pub struct ChunkWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    /// A writer into `tx`. Must run outside the async runtime (it blocks).
    pub fn new(tx: mpsc::Sender<Bytes>) -> Self {
        ChunkWriter {
            tx,
            buf: Vec::new(),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        // The next buffer is allocated by the next write, if there is one.
        let chunk = std::mem::take(&mut self.buf);
        self.tx
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(CHUNK_BYTES);
        }
        let n = data.len().min(CHUNK_BYTES - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK_BYTES {
            self.send()?;
        }
        Ok(n)
    }

    /// Sends what is buffered (nothing when the buffer is empty).
    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
