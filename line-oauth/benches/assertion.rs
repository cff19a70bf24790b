//! How long signing an assertion and generating a key pair take.
//!
//! ```sh
//! cargo bench -p line-oauth --bench assertion
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use line_oauth::{AssertionKeyPair, AssertionSigner};

fn sign(c: &mut Criterion) {
    let pair = AssertionKeyPair::generate().expect("a key pair");
    let signer = AssertionSigner::new(&pair.private, "kid", "1234567890");
    c.bench_function("sign_v21 (RS256, 2048-bit key)", |b| {
        b.iter(|| black_box(signer.sign_v21(Duration::from_secs(3600))))
    });
}

fn generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("key pair");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("generate (RSA-2048)", |b| {
        b.iter(AssertionKeyPair::generate)
    });
    group.finish();
}

criterion_group!(benches, sign, generate);
criterion_main!(benches);
