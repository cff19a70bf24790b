//! A real `redis-server` for the store tests: the one `.ci/run` starts
//! (`LINE_OAUTH_TEST_REDIS`), or one of the test's own. Without Redis the
//! tests skip, loudly; with `LINE_OAUTH_REQUIRE_REDIS` set (as in CI) they
//! fail instead.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis URL to use: CI's server, or a private one kept by the guard.
pub struct Redis {
    pub url: String,
    _own: Option<RedisServer>,
}

/// The shared Redis of the run, else a private one; `None` (after a loud
/// message) when there is no Redis at all.
pub fn redis(test: &str) -> Option<Redis> {
    if let Ok(url) = std::env::var("LINE_OAUTH_TEST_REDIS") {
        return Some(Redis { url, _own: None });
    }
    let own = RedisServer::start(test)?;
    Some(Redis {
        url: own.url(),
        _own: Some(own),
    })
}

/// A `redis-server` process of this test on a free port of 127.0.0.1,
/// without persistence. Killed when dropped.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one; `None` (after a loud message) when `redis-server` is not
    /// installed, unless `LINE_OAUTH_REQUIRE_REDIS` is set.
    pub fn start(test: &str) -> Option<Self> {
        if !installed(test) {
            return None;
        }
        let port = free_port();
        let mut server = Self {
            child: None,
            port,
            _dir: tempfile::tempdir().expect("a temporary directory"),
        };
        server.resume();
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server: an outage.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty, and waits until it answers.
    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self._dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        wait_for_pong(self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `redis-server` is installed; when not, a loud message, or a
/// failure under `LINE_OAUTH_REQUIRE_REDIS`.
pub fn installed(test: &str) -> bool {
    let probe = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    if probe.is_ok_and(|s| s.success()) {
        return true;
    }
    assert!(
        std::env::var_os("LINE_OAUTH_REQUIRE_REDIS").is_none(),
        "{test}: LINE_OAUTH_REQUIRE_REDIS is set but redis-server is not installed"
    );
    eprintln!(
        "\n*** SKIPPED {test}: no redis-server on PATH. \
         Install Redis (apt-get install redis-server) to run it. ***\n"
    );
    false
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

pub fn wait_for_pong(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let mut answer = [0; 7];
            if stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut answer).is_ok() {
                assert_eq!(&answer, b"+PONG\r\n");
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {port} did not answer within 10 s");
}
