//! `/metrics` streamed, through the real router on a loopback port and a
//! raw HTTP/1.1 client that sees the chunks as the server framed them.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::{next_chunk, ChunkWriter, CHUNK_BYTES};
use crate::model::scope::Scope;
use crate::model::snapshot::Store;
use crate::model::{SampleSet, ScopeData};
use crate::selfmetrics::SelfMetrics;
use crate::sinks::exposition::TEXT_CONTENT_TYPE;
use crate::sinks::exposition::{encode_text, gather_all, render_text};
use crate::sinks::http::{
    router, BoundedListener, HttpState, CONNECTION_LIFETIME, MAX_CONNECTIONS,
};

/// Bound on every network step of these tests.
const STEP: Duration = Duration::from_secs(60);

/// `n` series of team sums (about 130 bytes a line), valued `i + shift`.
fn team_data(scope: &Scope, n: u32, shift: f64) -> ScopeData {
    let mut set = SampleSet::new();
    for team in 0..n.div_ceil(100) {
        let team_name = format!("team-{team:05}");
        for k in 0..100u32.min(n - team * 100) {
            let model = format!("model-{}", k % 10);
            let labels = set.intern_labels([
                ("enterprise", "ent"),
                ("team", team_name.as_str()),
                ("language", "rust"),
                ("model", model.as_str()),
            ]);
            let i = team * 100 + k;
            set.insert_in(
                &format!(
                    "copilot_team_code_generation_activity_by_language_model_{}",
                    k / 10
                ),
                labels,
                f64::from(i) + shift,
                "Sum over the team's members of a report field.",
            );
        }
    }
    let mut data = ScopeData::new(scope.clone());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 7).unwrap();
    data.days.insert(day, set);
    data
}

/// A served store holding `n` series; the data's `Arc` (the store holds
/// the other reference).
async fn serve(n: u32) -> (SocketAddr, HttpState, Arc<ScopeData>) {
    let scope = Scope::enterprise("ent");
    let store = Arc::new(Store::new(std::slice::from_ref(&scope)));
    let data = store.record_success(team_data(&scope, n, 0.0));
    let state = HttpState {
        store,
        metrics: Arc::new(SelfMetrics::new()),
    };
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let server = axum::serve(
        BoundedListener::new(tcp, MAX_CONNECTIONS, CONNECTION_LIFETIME, None),
        router(state.clone(), None),
    );
    tokio::spawn(async move { server.await });
    (addr, state, data)
}

/// A raw HTTP/1.1 exchange: the head as text, then the body chunk by chunk
/// exactly as the server framed it.
struct Exchange {
    conn: BufReader<TcpStream>,
    head: String,
}

impl Exchange {
    /// Sends `GET path` with `headers` from a socket with a small receive
    /// buffer (so the server cannot get far ahead), reads the head.
    async fn get(addr: SocketAddr, path: &str, headers: &str) -> Exchange {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut conn = BufReader::new(stream);
        let mut head = String::new();
        tokio::time::timeout(STEP, async {
            loop {
                let mut line = String::new();
                assert!(
                    conn.read_line(&mut line).await.unwrap() > 0,
                    "no head: {head}"
                );
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
        })
        .await
        .expect("the head arrives");
        Exchange { conn, head }
    }

    /// The head (lower case) has every line part of `has`, none of `lacks`.
    fn assert_head(&self, has: &[&str], lacks: &[&str]) {
        for part in has {
            assert!(self.head.contains(part), "no {part:?} in {}", self.head);
        }
        for part in lacks {
            assert!(!self.head.contains(part), "{part:?} in {}", self.head);
        }
    }

    /// The next chunk; `None` after the last (zero-size) chunk.
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        tokio::time::timeout(STEP, async {
            let mut line = String::new();
            self.conn.read_line(&mut line).await.unwrap();
            let size = usize::from_str_radix(line.trim_end(), 16)
                .unwrap_or_else(|_| panic!("not a chunk size: {line:?}"));
            let mut chunk = vec![0u8; size + 2];
            self.conn.read_exact(&mut chunk).await.unwrap();
            assert_eq!(&chunk[size..], b"\r\n");
            chunk.truncate(size);
            (size > 0).then_some(chunk)
        })
        .await
        .expect("the next chunk arrives")
    }

    /// Every remaining chunk.
    async fn chunks(&mut self) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        while let Some(chunk) = self.chunk().await {
            all.push(chunk);
        }
        all
    }
}

/// The text without the `process_*` families, whose values move between
/// two gatherings (CPU seconds, resident memory).
fn without_process(text: &[u8]) -> String {
    std::str::from_utf8(text)
        .unwrap()
        .lines()
        .filter(|l| {
            !(l.starts_with("process_")
                || l.starts_with("# HELP process_")
                || l.starts_with("# TYPE process_"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn render(state: &HttpState) -> String {
    without_process(&render_text(&state.store, &state.metrics.registry))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_snapshot_is_streamed_in_bounded_chunks_equal_to_the_render() {
    let (addr, state, _data) = serve(200_000).await;
    let mut exchange = Exchange::get(addr, "/metrics", "").await;
    exchange.assert_head(
        &[
            "http/1.1 200",
            "transfer-encoding: chunked",
            &format!("content-type: {TEXT_CONTENT_TYPE}"),
        ],
        &["content-length", "content-encoding"],
    );
    let chunks = exchange.chunks().await;
    let body: Vec<u8> = chunks.concat();
    assert!(body.len() > 200_000 * 100, "{} bytes", body.len());
    // Full chunks of CHUNK_BYTES, the last one the rest: never the whole
    // exposition in one piece.
    assert_eq!(chunks.len(), body.len().div_ceil(CHUNK_BYTES));
    assert!(chunks.iter().all(|c| c.len() <= CHUNK_BYTES));
    // Byte for byte the text the Prometheus encoder makes of the same
    // snapshot (counters included: the scrape counted itself before).
    let text = without_process(&body);
    assert_eq!(
        text,
        without_process(encode_text(&gather_all(&state.store, &state.metrics.registry)).as_bytes())
    );
    assert_eq!(text, render(&state));
    assert!(text.contains("copilot_exporter_requests_total 1\n"));
    assert!(text.contains("copilot_exporter_cache_hits_total 1\n"));
    assert!(text.contains(
        "copilot_team_code_generation_activity_by_language_model_9{enterprise=\"ent\",language=\"rust\",model=\"model-9\",team=\"team-01999\"} 199999\n"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_is_streamed_when_asked() {
    let (addr, state, _data) = serve(50_000).await;
    let mut exchange = Exchange::get(addr, "/metrics", "Accept-Encoding: gzip\r\n").await;
    exchange.assert_head(
        &[
            "http/1.1 200",
            "content-encoding: gzip",
            "transfer-encoding: chunked",
        ],
        &["content-length"],
    );
    let zipped = exchange.chunks().await.concat();
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut text)
        .unwrap();
    assert!(
        zipped.len() * 10 < text.len(),
        "{} of {}",
        zipped.len(),
        text.len()
    );
    assert_eq!(without_process(&text), render(&state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_slower_than_a_refresh_shows_the_snapshot_it_started_with() {
    let (addr, state, _data) = serve(200_000).await;
    let mut slow = Exchange::get(addr, "/metrics", "").await;
    // The snapshot of the request: nothing changed since it arrived.
    let before = render(&state);
    let first = slow.chunk().await.expect("a first chunk");
    // A refresh lands while the scrape is far from done: other values.
    let scope = Scope::enterprise("ent");
    state.store.record_success(team_data(&scope, 200_000, 0.5));
    let rest = slow.chunks().await.concat();
    let slow_text = without_process(&[first, rest].concat());
    assert_eq!(slow_text, before);
    // A new scrape shows the refresh (so a mix would have been seen).
    let mut fresh = Exchange::get(addr, "/metrics", "").await;
    let fresh_text = without_process(&fresh.chunks().await.concat());
    assert!(fresh_text.contains("team=\"team-01999\"} 199999.5\n"));
    assert!(!slow_text.contains("199999.5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_the_writer_and_frees_the_snapshot() {
    let (addr, _state, data) = serve(200_000).await;
    assert_eq!(Arc::strong_count(&data), 2, "the store and this test");
    let mut exchange = Exchange::get(addr, "/metrics", "").await;
    exchange.chunk().await.expect("a first chunk");
    // The scrape holds the snapshot while it is written (the observable
    // this test relies on).
    assert_eq!(Arc::strong_count(&data), 3, "the scrape holds the data");
    drop(exchange);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while Arc::strong_count(&data) > 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer of an abandoned scrape still holds the snapshot"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The endpoint goes on serving.
    let mut next = Exchange::get(addr, "/metrics", "").await;
    assert!(without_process(&next.chunks().await.concat())
        .contains("copilot_exporter_requests_total 2\n"));
}

#[test]
fn the_writer_cuts_exact_chunks_and_fails_once_the_reader_is_gone() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let mut writer = ChunkWriter::new(tx);
    let data: Vec<u8> = (0..(2 * CHUNK_BYTES + 10)).map(|i| i as u8).collect();
    std::io::Write::write_all(&mut writer, &data).unwrap();
    std::io::Write::flush(&mut writer).unwrap();
    drop(writer);
    let mut chunks = Vec::new();
    while let Some(chunk) = rx.blocking_recv() {
        chunks.push(chunk);
    }
    let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
    assert_eq!(sizes, [CHUNK_BYTES, CHUNK_BYTES, 10]);
    assert_eq!(chunks.concat(), data);

    let (tx, rx) = tokio::sync::mpsc::channel(64);
    drop(rx);
    let mut writer = ChunkWriter::new(tx);
    let err = std::io::Write::write_all(&mut writer, &data).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
}

#[tokio::test]
async fn a_writer_that_fails_or_panics_cuts_the_body_off() {
    async fn outcome(
        writer: impl FnOnce(tokio::sync::mpsc::Sender<bytes::Bytes>) -> std::io::Result<()>
            + Send
            + 'static,
    ) -> Vec<Result<usize, std::io::ErrorKind>> {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let handle = tokio::task::spawn_blocking(move || writer(tx));
        let mut state = Some((rx, handle));
        let mut items = Vec::new();
        while let Some((item, next)) = next_chunk(state.take()).await {
            items.push(item.map(|b| b.len()).map_err(|e| e.kind()));
            state = next;
        }
        items
    }
    let ok = outcome(|tx| {
        tx.blocking_send(bytes::Bytes::from_static(b"abc")).unwrap();
        Ok(())
    })
    .await;
    assert_eq!(ok, [Ok(3)]);
    let failed = outcome(|tx| {
        tx.blocking_send(bytes::Bytes::from_static(b"abc")).unwrap();
        Err(std::io::Error::other("disk on fire"))
    })
    .await;
    assert_eq!(failed, [Ok(3), Err(std::io::ErrorKind::Other)]);
    let panicked = outcome(|tx| {
        tx.blocking_send(bytes::Bytes::from_static(b"abc")).unwrap();
        panic!("writer bug")
    })
    .await;
    assert_eq!(panicked, [Ok(3), Err(std::io::ErrorKind::Other)]);
}
