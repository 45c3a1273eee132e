//! Readiness lag: how long after a server starts listening does the probe
//! see it? A server binds after a random delay (100-1000 ms); the lag is the
//! time from its first `listen` to the probe reporting ready.
//!
//! `cargo run --release -p slipway-bench --bin readiness-lag [ROUNDS]`

use std::time::{Duration, Instant};

use slipway_core::config::StatusRange;
use slipway_core::pipeline::{ProbeTarget, ReadinessProbe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The default probe interval of a pipeline.
const INTERVAL: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let mut lags = Vec::with_capacity(rounds);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(100 + seed % 900);
        let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(addr) => addr.port(),
            Err(e) => {
                eprintln!("cannot find a free port: {e}");
                std::process::exit(1);
            }
        };
        let server = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .ok()?;
            let listening = Instant::now();
            loop {
                let (mut socket, _) = listener.accept().await.ok()?;
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                if socket.write_all(answer).await.is_ok() {
                    return Some(listening);
                }
            }
        });
        let probe = ReadinessProbe::new(ProbeTarget::Http {
            url: format!("http://127.0.0.1:{port}/"),
            status: StatusRange::SUCCESS,
        });
        let waited = probe.wait(Duration::from_secs(10), INTERVAL).await;
        let seen = Instant::now();
        let listening = match (waited, server.await) {
            (Ok(_), Ok(Some(listening))) => listening,
            other => {
                eprintln!("round failed: {other:?}");
                std::process::exit(1);
            }
        };
        lags.push(seen.duration_since(listening));
    }
    lags.sort();
    let pct = |p: f64| lags[((lags.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "readiness lag over {rounds} rounds (interval {} ms): median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        INTERVAL.as_millis(),
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.95).as_secs_f64() * 1000.0,
        lags[lags.len() - 1].as_secs_f64() * 1000.0
    );
}
