//! Throughput of `Client::verify` against a server speaking LINE's API, for
//! the side-by-side harness (`run-peers.sh`).
//!
//! ```sh
//! cargo build --release -p line-oauth --example bench
//! target/release/examples/bench --base-url http://127.0.0.1:18080 seq 2000
//! target/release/examples/bench --base-url http://127.0.0.1:18080 conc 5000 64
//! ```
//!
//! `seq N`: N calls one after another on a current-thread runtime.
//! `conc N C`: N calls, C in flight, on a multi-thread runtime. Both warm
//! up with 200 calls first. The last line is the summary:
//! `rust seq n=.. calls_per_s=.. mean_us=..` or `rust conc n=.. c=.. calls_per_s=..`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use line_oauth::{AccessToken, Client, Error};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Semaphore;

const USAGE: &str = "usage: bench --base-url URL (seq N | conc N C)";
const WARMUP_CALLS: usize = 200;

enum Workload {
    Sequential { calls: usize },
    Concurrent { calls: usize, in_flight: usize },
}

fn parse(args: &[String]) -> Option<(String, Workload)> {
    let number = |i: usize| args.get(i)?.parse::<usize>().ok().filter(|n| *n > 0);
    if args.first()? != "--base-url" {
        return None;
    }
    let workload = match args.get(2)?.as_str() {
        "seq" if args.len() == 4 => Workload::Sequential { calls: number(3)? },
        "conc" if args.len() == 5 => Workload::Concurrent {
            calls: number(3)?,
            in_flight: number(4)?,
        },
        _ => return None,
    };
    Some((args[1].clone(), workload))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((base_url, workload)) = parse(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let outcome = match workload {
        Workload::Sequential { calls } => {
            runtime(Builder::new_current_thread()).block_on(sequential(&base_url, calls))
        }
        Workload::Concurrent { calls, in_flight } => {
            runtime(Builder::new_multi_thread()).block_on(concurrent(&base_url, calls, in_flight))
        }
    };
    match outcome {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(mut builder: Builder) -> Runtime {
    builder.enable_all().build().expect("a tokio runtime")
}

fn client(base_url: &str) -> Result<(Client, AccessToken), Error> {
    let client = Client::builder().base_url(base_url).build()?;
    Ok((
        client,
        AccessToken::new("W1TeHCgfH2Liwa.bench.token.0123456789"),
    ))
}

async fn warm_up(client: &Client, token: &AccessToken) -> Result<(), Error> {
    for _ in 0..WARMUP_CALLS {
        client.verify(token).await?;
    }
    Ok(())
}

async fn sequential(base_url: &str, calls: usize) -> Result<String, Error> {
    let (client, token) = client(base_url)?;
    warm_up(&client, &token).await?;
    let started = Instant::now();
    for _ in 0..calls {
        client.verify(&token).await?;
    }
    let took = started.elapsed();
    Ok(format!(
        "rust seq n={calls} calls_per_s={:.1} mean_us={:.1}",
        per_second(calls, took),
        took.as_secs_f64() * 1e6 / calls as f64
    ))
}

async fn concurrent(base_url: &str, calls: usize, in_flight: usize) -> Result<String, Error> {
    let (client, token) = client(base_url)?;
    warm_up(&client, &token).await?;
    let token = Arc::new(token);
    let slots = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(calls);
    for _ in 0..calls {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore stays open");
        let (client, token) = (client.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = client.verify(&token).await;
            drop(slot);
            outcome
        }));
    }
    for task in tasks {
        task.await.expect("a bench task does not panic")?;
    }
    let took = started.elapsed();
    Ok(format!(
        "rust conc n={calls} c={in_flight} calls_per_s={:.1}",
        per_second(calls, took)
    ))
}

fn per_second(calls: usize, took: Duration) -> f64 {
    calls as f64 / took.as_secs_f64()
}
