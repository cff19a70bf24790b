//! A Redis Cluster of the test's own: masters on free ports of 127.0.0.1,
//! joined by `redis-cli --cluster create`, without persistence. Killed
//! when dropped.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::redis_process::{RedisProcess, cli};
use super::redis_server::{free_port, installed};

/// A running cluster.
pub struct RedisCluster {
    nodes: Vec<RedisProcess>,
}

impl RedisCluster {
    /// Starts `masters` nodes and makes them one cluster, every slot
    /// covered; `None` (after a loud message) without `redis-server`,
    /// unless `LINE_OAUTH_REQUIRE_REDIS` is set.
    pub fn start(test: &str, masters: usize) -> Option<Self> {
        Self::start_with_replicas(test, masters, 0)
    }

    /// The same with `replicas` replicas of each master.
    pub fn start_with_replicas(test: &str, masters: usize, replicas: usize) -> Option<Self> {
        if !installed(test) {
            return None;
        }
        let count = masters * (1 + replicas);
        let nodes: Vec<RedisProcess> = (0..count).map(|_| node()).collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string()])
            .arg("--cluster-yes")
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Self { nodes };
        cluster.wait_until_ok();
        Some(cluster)
    }

    /// Each node's URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}/", n.port))
            .collect()
    }

    /// The port of the node serving `key`'s slot, as the nodes say.
    pub fn node_of(&self, key: &str) -> u16 {
        self.serving(key).expect("a node serves the slot")
    }

    /// The port of the live node that says it serves `key`'s slot.
    fn serving(&self, key: &str) -> Option<u16> {
        let slot = self.cli(self.nodes[0].port, &["CLUSTER", "KEYSLOT", key]);
        let slot: u16 = slot.trim().parse().expect("a slot");
        let serves = |port: u16| {
            let nodes = self.cli(port, &["CLUSTER", "NODES"]);
            let me = nodes
                .lines()
                .find(|line| line.contains("myself"))
                .unwrap_or("");
            // Fields 9 on: the slot ranges it serves, `low-high` or `one`.
            me.split_whitespace().skip(8).any(|range| {
                let mut bounds = range.split('-').filter_map(|b| b.parse::<u16>().ok());
                match (bounds.next(), bounds.next()) {
                    (Some(low), Some(high)) => (low..=high).contains(&slot),
                    (Some(one), None) => one == slot,
                    _ => false,
                }
            })
        };
        self.nodes.iter().map(|n| n.port).find(|&port| serves(port))
    }

    /// Kills the node on `port` (SIGKILL), as a crash would.
    pub fn kill(&mut self, port: u16) {
        self.nodes.retain(|n| n.port != port);
    }

    /// Waits until a node other than `dead` serves `key`'s slot, and the
    /// cluster is whole again.
    pub fn wait_for_failover(&self, key: &str, dead: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ok = self.nodes.iter().all(|n| {
                self.cli(n.port, &["CLUSTER", "INFO"])
                    .contains("cluster_state:ok")
            });
            if ok && self.serving(key).is_some_and(|port| port != dead) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no replica took over {key}'s slot within 30 s");
    }

    /// What `redis-cli -p port args` prints.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        cli(port, args)
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // Every node sees a whole cluster, and every replica has
            // synchronised with its master.
            let ok = self.nodes.iter().all(|n| {
                let replication = self.cli(n.port, &["INFO", "replication"]);
                self.cli(n.port, &["CLUSTER", "INFO"])
                    .contains("cluster_state:ok")
                    && (!replication.contains("role:slave")
                        || replication.contains("master_link_status:up"))
            });
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the cluster did not come up within 20 s");
    }
}

/// A node of a cluster to be made. Its bus port is a free port of its
/// own: by default it is the port plus 10,000, past 65,535 for the higher
/// free ports.
fn node() -> RedisProcess {
    let bus = free_port().to_string();
    RedisProcess::start(|_| {
        [
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            "2000",
            "--cluster-port",
            &bus,
        ]
        .map(String::from)
        .to_vec()
    })
}
