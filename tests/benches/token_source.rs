//! The cached path of `TokenSource::token`: one thread, and two threads at
//! once (the per-call cost should stay within 2x).
//!
//! ```sh
//! cargo bench -p line-oauth-tests --bench token_source
//! ```

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use line_oauth::{ChannelCredentials, Client, ClientSecret, ShortLived, TokenSource};
use line_oauth_tests::fake::FakeLine;

/// A source holding a cached token from the fake server, and the runtime
/// that serves it.
fn warm_source() -> (tokio::runtime::Runtime, FakeLine, TokenSource) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (fake, source) = runtime.block_on(async {
        let fake = FakeLine::start().await.expect("the fake starts");
        fake.add_channel("1", "secret");
        let client = Client::builder()
            .base_url(fake.url())
            .build()
            .expect("a client");
        let creds = ChannelCredentials::new("1", ClientSecret::new("secret"));
        let source = TokenSource::new(ShortLived::new(client, creds)).expect("a valid strategy");
        source.token().await.expect("a first token");
        (fake, source)
    });
    (runtime, fake, source)
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

/// The time `threads` threads take to make `iters` cached calls each.
fn hammer(source: &TokenSource, threads: usize, iters: u64) -> Duration {
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let began = Instant::now();
                    for _ in 0..iters {
                        cached_call(source);
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
    let (runtime, _fake, source) = warm_source();
    let _context = runtime.enter();
    c.bench_function("token (cached hit)", |b| b.iter(|| cached_call(&source)));
    let mut group = c.benchmark_group("token (cached hit), per call");
    for threads in [1, 2] {
        group.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter_custom(|iters| hammer(&source, threads, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, cached);
criterion_main!(benches);
