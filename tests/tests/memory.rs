//! Peak memory while a server streams an endless body: the client stops at
//! its body limit, so the process stays small. One test in this file, so
//! the process's high-water mark is this scenario's.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use line_oauth::{AccessToken, Client, Error, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The most a connection streams (then it stops by itself): far past any cap.
const STREAMED_AT_MOST: usize = 512 << 20;

/// The process's peak resident memory (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_keeps_peak_memory_under_50_mib() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                let mut chunk = b"10000\r\n".to_vec();
                chunk.extend(std::iter::repeat_n(b'[', 0x10000));
                chunk.extend_from_slice(b"\r\n");
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut sent = socket.write_all(head.as_bytes()).await.map(|()| 0);
                while let Ok(bytes) = sent {
                    if bytes >= STREAMED_AT_MOST || Instant::now() > deadline {
                        break;
                    }
                    sent = socket.write_all(&chunk).await.map(|()| bytes + chunk.len());
                }
            });
        }
    });
    let client = Client::builder()
        .base_url(url)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let outcome = client.verify(&AccessToken::new("token")).await;
    assert!(
        matches!(outcome, Err(Error::ResponseTooLarge { .. })),
        "{outcome:?}"
    );
    let peak = peak_rss_kib();
    println!("peak RSS while refusing an endless body: {} KiB", peak);
    assert!(peak < 50 * 1024, "peak RSS {peak} KiB");
}
