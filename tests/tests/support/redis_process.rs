//! One `redis-server` process of a test (a node, a replica, a sentinel) on
//! a free port of 127.0.0.1 with a directory of its own, and `redis-cli`.

use std::process::{Child, Command, Stdio};

use super::redis_server::{free_port, wait_for_pong};

/// A running `redis-server`, killed when dropped.
pub struct RedisProcess {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl RedisProcess {
    /// `redis-server` without persistence, with `extra` arguments (the
    /// directory made first, for arguments that name files in it).
    pub fn start(extra: impl FnOnce(&std::path::Path) -> Vec<String>) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let child = Command::new("redis-server")
            .args(extra(dir.path()))
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        // Owned first, so that it is killed if it never answers.
        let process = Self { child, port, dir };
        wait_for_pong(port);
        process
    }

    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `redis-cli -p port args` prints.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
