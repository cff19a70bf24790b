//! The cached path of `TokenSource::token`: one thread, and two threads at
//! once on the same source (the per-call cost should stay within 1.3x of
//! one thread's); the same for `TokenRegistry::token` by channel ID, in a
//! registry of 1,000 channels; the same with a file store and a Redis store
//! behind the cache (it should cost the same: a hit never touches the
//! store); and a cold read from Redis (a new source whose token is in Redis
//! on loopback: read, decrypt, cache).
//!
//! ```sh
//! cargo bench -p line-oauth-tests --bench token_source
//! ```
//!
//! The Redis benchmarks use `LINE_OAUTH_TEST_REDIS`, or a `redis-server` of
//! their own; without either they are left out, with a message.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use line_oauth::{
    ChannelCredentials, Client, ClientSecret, EncryptionKey, FileStore, RedisStore, ShortLived,
    TokenRegistry, TokenSource, TokenSourceBuilder,
};
use line_oauth_fake::FakeLine;

#[path = "../tests/support/redis_server.rs"]
mod redis_server;

/// A running fake, a client of it, and the runtime they run on.
struct Setup {
    runtime: tokio::runtime::Runtime,
    fake: FakeLine,
    client: Client,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let fake = runtime.block_on(async {
        let fake = FakeLine::start().await.expect("the fake starts");
        fake.add_channel("1", "secret");
        fake
    });
    let client = Client::builder()
        .base_url(fake.url())
        .build()
        .expect("a client");
    Setup {
        runtime,
        fake,
        client,
    }
}

/// A source on the fake, set up by `configure`, that holds a first token.
fn warm_source(
    setup: &Setup,
    configure: impl FnOnce(TokenSourceBuilder) -> TokenSourceBuilder,
) -> TokenSource {
    setup.runtime.block_on(async {
        let creds = ChannelCredentials::new("1", ClientSecret::new("secret"));
        let provider = ShortLived::new(setup.client.clone(), creds);
        let source = configure(TokenSource::builder(provider))
            .build()
            .expect("a valid strategy");
        source.token().await.expect("a first token");
        source
    })
}

/// One cached call, polled once: a cache hit completes at the first poll.
fn cached_call(source: &TokenSource) {
    let token = source
        .token()
        .now_or_never()
        .expect("a hit is ready")
        .expect("a token");
    black_box(token);
}

/// One cached call to the registry for `channel`, polled once.
fn registry_call(registry: &TokenRegistry, channel: &str) {
    let token = registry
        .token(channel)
        .now_or_never()
        .expect("a hit is ready")
        .expect("a token");
    black_box(token);
}

/// The time `threads` threads take to make `iters` calls of `call` each.
fn hammer(call: impl Fn() + Sync, threads: usize, iters: u64) -> Duration {
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let began = Instant::now();
                    for _ in 0..iters {
                        call();
                    }
                    began.elapsed()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker"))
            .max()
            .unwrap_or_default()
    })
}

fn cached(c: &mut Criterion) {
    let setup = setup();
    let source = warm_source(&setup, |b| b);
    let _context = setup.runtime.enter();
    c.bench_function("token (cached hit)", |b| b.iter(|| cached_call(&source)));
    let mut group = c.benchmark_group("token (cached hit), per call");
    for threads in [1, 2] {
        group.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter_custom(|iters| hammer(|| cached_call(&source), threads, iters))
        });
    }
    group.finish();
}

/// A registry of 1,000 channels on the fake, each holding a token.
fn warm_registry(setup: &Setup) -> TokenRegistry {
    setup.runtime.block_on(async {
        for i in 0..1000 {
            setup
                .fake
                .add_channel(&(4_000_000_000_u64 + i).to_string(), "secret");
        }
        let registry =
            TokenRegistry::builder(setup.client.clone(), |channel: String, client: Client| {
                let creds = ChannelCredentials::new(channel, ClientSecret::new("secret"));
                async move { Ok(Some(ShortLived::new(client, creds))) }
            })
            .build()
            .expect("a registry");
        for i in 0..1000 {
            let channel = (4_000_000_000_u64 + i).to_string();
            registry.token(&channel).await.expect("a first token");
        }
        registry
    })
}

fn registry(c: &mut Criterion) {
    let setup = setup();
    let registry = warm_registry(&setup);
    let _context = setup.runtime.enter();
    let channel = "4000000500";
    let mut group = c.benchmark_group("registry token (cached hit), per call");
    for threads in [1, 2] {
        group.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter_custom(|iters| hammer(|| registry_call(&registry, channel), threads, iters))
        });
    }
    group.finish();
}

fn cached_with_a_store_behind(c: &mut Criterion) {
    let setup = setup();
    let _context = setup.runtime.enter();
    let key = EncryptionKey::generate();
    let dir = tempfile::tempdir().expect("a directory");
    let store = FileStore::new(dir.path(), &key).expect("a file store");
    let source = warm_source(&setup, |b| b.store(store));
    c.bench_function("token (cached hit, file store behind)", |b| {
        b.iter(|| cached_call(&source))
    });
    let Some(redis) = redis_server::redis("token_source bench") else {
        return;
    };
    let store = RedisStore::new(&redis.url, &key)
        .expect("a Redis URL")
        .with_prefix(&format!("bench-{}", rand::random::<u64>()));
    let source = warm_source(&setup, |b| b.store(store.clone()));
    c.bench_function("token (cached hit, Redis store behind)", |b| {
        b.iter(|| cached_call(&source))
    });
    // A new source each time, sharing the store's warm connection: its
    // first call reads the token from Redis.
    c.bench_function("token (cold: read from Redis on loopback)", |b| {
        b.iter(|| {
            let cold = warm_source(&setup, |b| b.store(store.clone()));
            black_box(cold);
        })
    });
    assert_eq!(
        setup.fake.issued_count(),
        2,
        "the cold reads issued nothing"
    );
}

criterion_group!(benches, cached, registry, cached_with_a_store_behind);
criterion_main!(benches);
