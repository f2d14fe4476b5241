//! The listener behind `/metrics`: a bounded number of connections, each
//! with a bounded life, optionally TLS.
//!
//! The TLS handshake runs inside the connection's own task (on its first
//! read or write), never in the accept loop, so a client that stalls its
//! handshake holds one slot for at most [`CONNECTION_LIFETIME`] and blocks
//! nobody else.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{Accept, TlsAcceptor};

/// Connections served at once; further clients wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 64;

/// Longest life of one connection: a client that trickles bytes (slow loris)
/// is cut off, and a keep-alive scraper simply reconnects.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// A TCP listener that holds a connection slot per accepted stream.
pub struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    lifetime: Duration,
    tls: Option<TlsAcceptor>,
}

impl BoundedListener {
    /// Wraps `inner` with `max` connection slots and a lifetime per
    /// connection; with `tls`, every connection is TLS.
    pub fn new(
        inner: TcpListener,
        max: usize,
        lifetime: Duration,
        tls: Option<TlsAcceptor>,
    ) -> Self {
        BoundedListener {
            inner,
            slots: Arc::new(Semaphore::new(max)),
            lifetime,
            tls,
        }
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                // The semaphore is never closed; wait instead of spinning.
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let inner = match &self.tls {
                        None => Transport::Plain(stream),
                        Some(acceptor) => Transport::Handshaking(Box::new(acceptor.accept(stream))),
                    };
                    return (
                        BoundedStream {
                            inner,
                            deadline: Box::pin(tokio::time::sleep(self.lifetime)),
                            _slot: permit,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The bytes under HTTP: plain TCP, or TLS (during or after the handshake).
enum Transport {
    Plain(TcpStream),
    Handshaking(Box<Accept<TcpStream>>),
    Tls(Box<TlsStream<TcpStream>>),
    Failed,
}

/// A connection that releases its slot when dropped and fails its I/O once
/// its lifetime is over.
pub struct BoundedStream {
    inner: Transport,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

fn lifetime_over() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection lifetime exceeded")
}

impl BoundedStream {
    /// Checks the lifetime and drives a pending TLS handshake; `Ready(Ok)`
    /// once the stream can carry bytes.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(lifetime_over()));
        }
        if let Transport::Handshaking(accept) = &mut self.inner {
            match Pin::new(accept.as_mut()).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(tls)) => self.inner = Transport::Tls(Box::new(tls)),
                Poll::Ready(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    self.inner = Transport::Failed;
                    return Poll::Ready(Err(e));
                }
            }
        }
        if matches!(self.inner, Transport::Failed) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "TLS handshake failed",
            )));
        }
        Poll::Ready(Ok(()))
    }
}

/// Forwards one poll to whichever stream carries the bytes.
macro_rules! forward {
    ($self:ident, $cx:ident, $method:ident $(, $arg:expr)*) => {
        match &mut $self.inner {
            Transport::Plain(s) => Pin::new(s).$method($cx $(, $arg)*),
            Transport::Tls(s) => Pin::new(s.as_mut()).$method($cx $(, $arg)*),
            Transport::Handshaking(_) | Transport::Failed => {
                Poll::Ready(Err(io::Error::from(io::ErrorKind::NotConnected)))
            }
        }
    };
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_ready(cx) {
            Poll::Ready(Ok(())) => forward!(this, cx, poll_read, buf),
            other => other,
        }
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.poll_ready(cx) {
            Poll::Ready(Ok(())) => forward!(this, cx, poll_write, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match &mut this.inner {
            Transport::Handshaking(_) | Transport::Failed => Poll::Ready(Ok(())),
            _ => forward!(this, cx, poll_flush),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match &mut this.inner {
            Transport::Handshaking(_) | Transport::Failed => Poll::Ready(Ok(())),
            _ => forward!(this, cx, poll_shutdown),
        }
    }
}
