//! Redis under Sentinel, of the test's own: a master, a replica of it, and
//! three sentinels watching it as `bot`, on free ports of 127.0.0.1.
//! Killed when dropped.

use std::process::Command;
use std::time::{Duration, Instant};

use super::redis_process::{RedisProcess, cli};
use super::redis_server::installed;

/// The name the sentinels know the master by.
pub const MASTER: &str = "bot";

/// A running master, replica and sentinels.
pub struct RedisSentinel {
    master: Option<RedisProcess>,
    replica: RedisProcess,
    sentinels: Vec<RedisProcess>,
}

impl RedisSentinel {
    /// Starts them all and waits until the sentinels know the master and
    /// the replica has synchronised; `None` (after a loud message) without
    /// `redis-server`, unless `LINE_OAUTH_REQUIRE_REDIS` is set.
    pub fn start(test: &str) -> Option<Self> {
        if !installed(test) {
            return None;
        }
        let master = RedisProcess::start(|_| Vec::new());
        let of = master.port.to_string();
        let replica =
            RedisProcess::start(|_| ["--replicaof", "127.0.0.1", &of].map(String::from).to_vec());
        let sentinels = (0..3).map(|_| sentinel(master.port)).collect();
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
            .map(RedisProcess::pid)
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
        cli(port, args)
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

/// A sentinel watching the master on `master` as [`MASTER`]. Its
/// configuration file is in its directory (Sentinel rewrites it).
fn sentinel(master: u16) -> RedisProcess {
    RedisProcess::start(|dir| {
        let config = dir.join("sentinel.conf");
        let text = format!(
            "sentinel monitor {MASTER} 127.0.0.1 {master} 2\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 5000\n\
             sentinel parallel-syncs {MASTER} 1\n"
        );
        std::fs::write(&config, text).expect("a sentinel config");
        vec![config.display().to_string(), "--sentinel".to_owned()]
    })
}
