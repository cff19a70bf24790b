//! Peak memory while a server streams an endless body: the client stops at
//! its body limit, so the process stays small. One test in this file, so
//! the process's high-water mark is this scenario's.

#![cfg(target_os = "linux")]

use line_oauth::{AccessToken, Client, Error, RetryPolicy};
use line_oauth_tests::peak_rss_kib;
use line_oauth_tests::raw_server::{RawServer, Script, chunk_of};

/// The most a connection streams (then it stops by itself): far past any cap.
const STREAMED_AT_MOST: usize = 512 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_keeps_peak_memory_under_50_mib() {
    let head =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let server = RawServer::start(Script::Stream {
        head: head.to_vec(),
        chunk: chunk_of(0x10000, b'['),
        at_most: STREAMED_AT_MOST,
    })
    .await;
    let client = Client::builder()
        .base_url(server.url())
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
