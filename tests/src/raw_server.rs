//! A misbehaving HTTP server on 127.0.0.1, scripted at the byte level, for
//! the scenarios a well-behaved server crate cannot play.
//!
//! ```no_run
//! # async fn run() {
//! use line_oauth_tests::raw_server::{RawServer, Script};
//!
//! let server = RawServer::start(Script::Silent).await; // accepts, never answers
//! println!("{} took {} connections", server.url(), server.connections());
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest a connection is played: every script stops by itself.
const MAX_PLAY: Duration = Duration::from_secs(30);

/// What the server does with each connection.
#[derive(Debug, Clone)]
pub enum Script {
    /// Accepts and holds the connection, never answering.
    Silent,
    /// Reads the request, sends these bytes, closes.
    Send(Vec<u8>),
    /// Reads the request, sends these bytes one at a time 200 ms apart
    /// (at most 50), closes.
    Drip(Vec<u8>),
    /// Reads the request, sends `head`, then `chunk` over and over until
    /// `at_most` bytes are out, closes.
    Stream {
        /// The status line and headers.
        head: Vec<u8>,
        /// What is repeated.
        chunk: Vec<u8>,
        /// Where it stops.
        at_most: usize,
    },
    /// Reads the request, then resets the connection.
    Reset,
}

/// A running scripted server. It stops when dropped.
pub struct RawServer {
    url: String,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RawServer {
    /// Starts on a free port of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// If no port can be bound (a broken test machine).
    pub async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                match script {
                    Script::Silent => held.push(socket),
                    _ => {
                        tokio::spawn(play(socket, script.clone()));
                    }
                }
            }
        });
        Self {
            url,
            connections,
            task,
        }
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn play(mut socket: TcpStream, script: Script) {
    let mut request = [0u8; 8192];
    let _ = socket.read(&mut request).await;
    let deadline = Instant::now() + MAX_PLAY;
    match script {
        Script::Silent => {}
        Script::Send(bytes) => {
            let _ = socket.write_all(&bytes).await;
        }
        Script::Drip(bytes) => {
            for byte in bytes.iter().take(50) {
                if socket.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Script::Stream {
            head,
            chunk,
            at_most,
        } => {
            let mut sent = socket.write_all(&head).await.map(|()| 0);
            while let Ok(bytes) = sent {
                if chunk.is_empty() || bytes >= at_most || Instant::now() > deadline {
                    break;
                }
                sent = socket.write_all(&chunk).await.map(|()| bytes + chunk.len());
            }
        }
        Script::Reset => {
            let _ = socket.set_zero_linger();
        }
    }
}

/// A loopback URL where nothing listens: connecting is refused.
///
/// # Panics
///
/// If no port can be bound (a broken test machine).
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    drop(listener);
    url
}

/// One HTTP/1.1 chunk of `size` bytes of `fill`.
pub fn chunk_of(size: usize, fill: u8) -> Vec<u8> {
    let mut chunk = format!("{size:x}\r\n").into_bytes();
    chunk.extend(std::iter::repeat_n(fill, size));
    chunk.extend_from_slice(b"\r\n");
    chunk
}
