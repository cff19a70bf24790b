//! `RedisStore` over TLS to a real TLS-only `redis-server` that asks for
//! client certificates, with a CA and certificates the test makes with
//! `openssl`: a store with the CA and a client certificate shares one token;
//! one without the client certificate, or trusting only the system's roots,
//! or speaking plain Redis, gets no answer.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use line_oauth::{
    EncryptionKey, RedisStore, RedisTls, ShortLived, StoreErrorKind, TokenSource, TokenStore,
};
use support::redis_server::{free_port, installed};
use support::{CHANNEL, setup};

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate,
/// signed by it, in `dir`.
fn certificates(dir: &Path) {
    let day = ["-days", "1"];
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=line-oauth test CA",
            day[0],
            day[1],
        ],
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, cn) in [("server", "127.0.0.1"), ("client", "bot")] {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={cn}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-extfile",
                &ext,
                day[0],
                day[1],
            ],
        );
    }
}

/// A TLS-only `redis-server` that asks for client certificates.
struct TlsRedis {
    child: Child,
    port: u16,
}

impl TlsRedis {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(["--tls-port", &port.to_string()])
            .args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
            ])
            .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "yes"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let pong = Command::new("redis-cli")
                .args(["--tls", "--cacert", "ca.pem", "--cert", "client.pem"])
                .args(["--key", "client.key", "-p", &port.to_string(), "PING"])
                .current_dir(dir)
                .output()
                .is_ok_and(|out| out.stdout.starts_with(b"PONG"));
            if pong {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the TLS redis-server did not answer within 10 s");
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_the_ca_and_a_client_certificate_shares_a_token_over_tls() {
    if !installed("redis_tls") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let redis = TlsRedis::start(dir.path());
    let url = format!("rediss://127.0.0.1:{}/", redis.port);
    let key = EncryptionKey::generate();
    let file = |name: &str| dir.path().join(name);
    let tls = RedisTls::new()
        .ca_file(file("ca.pem"))
        .unwrap()
        .client_files(file("client.pem"), file("client.key"))
        .unwrap();
    let store = RedisStore::new_tls(&url, &key, &tls).unwrap();

    let s = setup().await;
    let sources: Vec<TokenSource> = (0..2)
        .map(|_| {
            TokenSource::builder(ShortLived::new(s.client.clone(), s.creds.clone()))
                .store(store.clone())
                .degraded_mode(false)
                .build()
                .unwrap()
        })
        .collect();
    let (a, b) = (
        sources[0].token().await.unwrap(),
        sources[1].token().await.unwrap(),
    );
    assert_eq!(
        a.access_token().expose_secret(),
        b.access_token().expose_secret()
    );
    assert_eq!(s.fake.issued_count(), 1);
    let stored = store
        .load(&format!("short-lived:{CHANNEL}"))
        .await
        .unwrap()
        .expect("stored over TLS");
    assert_eq!(
        stored.access_token().expose_secret(),
        a.access_token().expose_secret()
    );

    // Refused: no client certificate, the system's roots, plain Redis.
    let ca_only = RedisTls::new().ca_file(file("ca.pem")).unwrap();
    let no_client = RedisStore::new_tls(&url, &key, &ca_only).unwrap();
    let system_roots = RedisStore::new(&url, &key).unwrap();
    let plain = RedisStore::new(&format!("redis://127.0.0.1:{}/", redis.port), &key).unwrap();
    for (what, store) in [
        ("no client certificate", no_client),
        ("the system's roots", system_roots),
        ("plain Redis", plain),
    ] {
        let refused = tokio::time::timeout(
            Duration::from_secs(10),
            store.load(&format!("short-lived:{CHANNEL}")),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 10 s"));
        let error = refused.expect_err(what);
        assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{what}: {error}");
    }
}
