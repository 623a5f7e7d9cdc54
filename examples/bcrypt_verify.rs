//! The bound for the login benchmark: how long one bcrypt verify takes at a cost, with the
//! same crate the server uses. `cargo run --release --example bcrypt_verify -- 12 20`
//! prints the mean milliseconds of 20 verifies at cost 12.

fn main() {
    let mut args = std::env::args().skip(1);
    let cost: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let hash = bcrypt::hash("a benchmark password", cost).expect("hash");
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        assert!(bcrypt::verify("a benchmark password", &hash).expect("verify"));
    }
    let per_verify = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
    println!("{per_verify:.2}");
}
