//! A minimal fake GitHub for the end-to-end benchmark (`scripts/bench-e2e.sh`):
//! report envelopes on an API port, the NDJSON files of a `gen_reports`
//! directory on a separate download port, streamed from disk in 256 KiB
//! chunks (never loaded in memory).
//!
//! ```sh
//! cargo run --release --example fake_github_files -- DIR API_PORT DOWNLOAD_PORT
//! ```
//!
//! Serves `/enterprises/<slug>/copilot/metrics/reports/<report>[/latest][?day=]`
//! for the reports listed in `DIR/manifest.json`; any other report (or another
//! day) answers 204, any other API path 404.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

struct Fake {
    dir: PathBuf,
    manifest: Value,
    download_base: String,
}

async fn api(State(fake): State<Arc<Fake>>, uri: Uri) -> Response {
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    let day = fake.manifest["day"].as_str().unwrap_or_default();
    let ent = fake.manifest["enterprise"].as_str().unwrap_or_default();
    let prefix = format!("/enterprises/{ent}/copilot/metrics/reports/");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return (StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#).into_response();
    };
    let (report, latest) = match rest.strip_suffix("/latest") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let Some(files) = fake.manifest["reports"][report].as_array() else {
        return StatusCode::NO_CONTENT.into_response();
    };
    if !latest && query != format!("day={day}") {
        return StatusCode::NO_CONTENT.into_response();
    }
    let links: Vec<String> = files
        .iter()
        .filter_map(Value::as_str)
        .map(|f| format!("{}/files/{f}?sig=bench", fake.download_base))
        .collect();
    let mut body = json!({ "download_links": links });
    if latest {
        let end = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap_or_default();
        body["report_start_day"] = json!((end - chrono::Duration::days(27)).to_string());
        body["report_end_day"] = json!(day);
    } else {
        body["report_day"] = json!(day);
    }
    ([("content-type", "application/json")], body.to_string()).into_response()
}

async fn download(State(fake): State<Arc<Fake>>, uri: Uri) -> Response {
    let name = uri.path().trim_start_matches("/files/");
    if name.contains('/') || name.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let file = match tokio::fs::File::open(fake.dir.join(name)).await {
        Ok(f) => f,
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Response::builder()
        .header("content-type", "application/x-ndjson")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        eprintln!("usage: fake_github_files DIR API_PORT DOWNLOAD_PORT");
        std::process::exit(2);
    }
    let dir = PathBuf::from(&args[0]);
    let port = |s: &str| s.parse::<u16>().unwrap_or_else(|_| std::process::exit(2));
    let manifest: Value = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| {
            eprintln!(
                "fake_github_files: no readable manifest.json in {}",
                dir.display()
            );
            std::process::exit(2)
        });
    let api_addr = SocketAddr::from(([127, 0, 0, 1], port(&args[1])));
    let dl_addr = SocketAddr::from(([127, 0, 0, 1], port(&args[2])));
    let fake = Arc::new(Fake {
        dir,
        manifest,
        download_base: format!("http://{dl_addr}"),
    });
    let api_app = Router::new().fallback(api).with_state(fake.clone());
    let dl_app = Router::new().fallback(download).with_state(fake);
    let (Ok(api_l), Ok(dl_l)) = (
        tokio::net::TcpListener::bind(api_addr).await,
        tokio::net::TcpListener::bind(dl_addr).await,
    ) else {
        eprintln!("fake_github_files: cannot bind {api_addr} / {dl_addr}");
        std::process::exit(1);
    };
    eprintln!("fake_github_files: API on http://{api_addr}, downloads on http://{dl_addr}");
    let api = axum::serve(api_l, api_app);
    let dl = axum::serve(dl_l, dl_app);
    let _ = tokio::join!(api, dl);
}
