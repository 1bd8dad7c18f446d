//! Temporary A/B: Cedar time constants as literals vs context attributes.
use std::hint::black_box;
use std::time::Instant;
use ward_bench::estate::Estate;
use ward_bench::peers::{Peer, cedar::CedarPeer};
use ward_bench::requests;
fn main() {
    let estate = Estate::generate(1, 1);
    let specs: Vec<_> = requests::generate(&estate, 80_000, 3)
        .into_iter()
        .filter(|r| ward_bench::scenario::SUBSET_ACTIONS.contains(&r.action.name()))
        .take(20_000)
        .collect();
    let mut p = CedarPeer::new(&estate, &specs).unwrap();
    for _ in 0..5 {
        let t = Instant::now();
        for i in 0..p.len() {
            black_box(p.eval(i));
        }
        println!("{:.2} us", t.elapsed().as_secs_f64() * 1e6 / p.len() as f64);
    }
}
