//! Redis under Sentinel, of the test's own: a master, a replica of it, and
//! three sentinels watching it as `bot`, on free ports of 127.0.0.1.
//! Killed when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis_server::{free_port, installed, wait_for_pong};

/// The name the sentinels know the master by.
pub const MASTER: &str = "bot";

/// A running master, replica and sentinels.
pub struct RedisSentinel {
    master: Option<Process>,
    replica: Process,
    sentinels: Vec<Process>,
}

struct Process {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisSentinel {
    /// Starts them all and waits until the sentinels know the master and
    /// the replica has synchronised; `None` (after a loud message) without
    /// `redis-server`, unless `LINE_OAUTH_REQUIRE_REDIS` is set.
    pub fn start(test: &str) -> Option<Self> {
        if !installed(test) {
            return None;
        }
        let master = Process::redis(&[]);
        let replica = Process::redis(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
        let sentinels = (0..3).map(|_| Process::sentinel(master.port)).collect();
        let setup = Self {
            master: Some(master),
            replica,
            sentinels,
        };
        setup.wait_for(Duration::from_secs(20), "the replica to sync", |s| {
            s.cli(s.replica.port, &["INFO", "replication"])
                .contains("master_link_status:up")
        });
        let port = setup.master_port();
        setup.wait_for(Duration::from_secs(20), "the sentinels to see it", |s| {
            s.sentinels.iter().all(|sentinel| {
                s.cli(sentinel.port, &["SENTINEL", "replicas", MASTER])
                    .contains(&s.replica.port.to_string())
            }) && s.master_named() == Some(port)
        });
        Some(setup)
    }

    /// The sentinels' URLs.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("redis://127.0.0.1:{}/", s.port))
            .collect()
    }

    /// The port of the master the test started.
    pub fn master_port(&self) -> u16 {
        self.master.as_ref().map_or(0, |m| m.port)
    }

    /// The replica's port.
    pub fn replica_port(&self) -> u16 {
        self.replica.port
    }

    /// Kills the master (SIGKILL), as a crash would.
    pub fn kill_master(&mut self) {
        drop(self.master.take());
    }

    /// Stops the master (SIGSTOP): it keeps its connections and answers
    /// nothing, as a hung host does. Killed when dropped.
    pub fn hang_master(&self) {
        let pid = self
            .master
            .as_ref()
            .map(|m| m.child.id())
            .expect("a master");
        let stopped = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(stopped.success());
    }

    /// Waits until the replica has every write the master took.
    pub fn sync_replica(&self) {
        let acked = self.cli(self.master_port(), &["WAIT", "1", "2000"]);
        assert_eq!(acked.trim(), "1", "the replica did not acknowledge");
    }

    /// Waits until the sentinels name the replica as the master.
    pub fn wait_for_promotion(&self) {
        let replica = self.replica.port;
        self.wait_for(Duration::from_secs(30), "the replica's promotion", |s| {
            s.master_named() == Some(replica) && s.cli(replica, &["ROLE"]).starts_with("master")
        });
    }

    /// The port of the master the first sentinel names.
    fn master_named(&self) -> Option<u16> {
        let named = self.cli(
            self.sentinels[0].port,
            &["SENTINEL", "get-master-addr-by-name", MASTER],
        );
        named.lines().nth(1)?.trim().parse().ok()
    }

    /// What `redis-cli -p port args` prints.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, within: Duration, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if done(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("waited {within:?} for {what}");
    }
}

impl Process {
    fn redis(extra: &[&str]) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        // Owned first, so that it is killed if it never answers.
        let process = Self {
            child,
            port,
            _dir: dir,
        };
        wait_for_pong(port);
        process
    }

    fn sentinel(master: u16) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {MASTER} 127.0.0.1 {master} 2\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 5000\n\
             sentinel parallel-syncs {MASTER} 1\n",
            dir = dir.path().display()
        );
        std::fs::write(&config, text).expect("a sentinel config");
        let child = Command::new("redis-server")
            .arg(&config)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server --sentinel starts");
        let process = Self {
            child,
            port,
            _dir: dir,
        };
        wait_for_pong(port);
        process
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
