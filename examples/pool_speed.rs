//! Speed and memory of the worker pool: 100 single-slot workers with exponential service
//! (mean 100 ms) fed by a Poisson stream at 800 jobs/s (80% utilisation), 100 us links,
//! streaming metrics, no history kept.
//!
//! ```text
//! cargo run --release --example pool_speed              # one simulated hour
//! cargo run --release --example pool_speed -- 10000000  # stop after 10 million jobs
//! /usr/bin/time -v target/release/examples/pool_speed 1000   # compare max RSS
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use detsim::protocols::worker_pool::PoolMetrics;
use detsim::protocols::worker_pool::{Arrivals, DispatcherConfig, PoolConfig, WorkerConfig, add_pool};
use detsim::{Dist, Latency, LinkConfig, SimConfig, SimTime, Simulation};
use detsim::{Observation, Payload};

const LAMBDA: f64 = 800.0;

#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall clock: measuring speed
fn main() -> Result<(), detsim::Error> {
    let jobs: Option<u64> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    let end = match jobs {
        Some(n) => SimTime::from_nanos_f64(n as f64 / LAMBDA * 1e9 * 1.01),
        None => SimTime::from_secs(3600),
    };
    let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(1).max_time(end));
    sim.network_mut()?.set_default(LinkConfig {
        latency: Latency::constant(SimTime::from_micros(100)),
        ..LinkConfig::default()
    })?;
    let metrics = Rc::new(RefCell::new(PoolMetrics::new()));
    sim.history_mut().set_observer(PoolMetrics::observer(&metrics));
    sim.history_mut().set_keep(false);
    add_pool(
        &mut sim,
        &PoolConfig {
            dispatcher: DispatcherConfig {
                arrivals: Arrivals::Poisson { rate: LAMBDA, jobs },
                lease: SimTime::from_secs(60),
                worker_timeout: SimTime::from_secs(5),
                ..DispatcherConfig::default()
            },
            workers: 100,
            worker: WorkerConfig {
                slots: 1,
                service: Dist::Exponential {
                    mean: SimTime::from_millis(100),
                },
                heartbeat: SimTime::from_secs(1),
                ..WorkerConfig::default()
            },
        },
    )?;
    let t0 = std::time::Instant::now();
    sim.run()?;
    let wall = t0.elapsed().as_secs_f64();
    let r = metrics.borrow().report(sim.now());
    println!("simulated     {:.0} s", sim.now().as_secs_f64());
    println!("jobs accepted {}", r.accepted);
    println!("events        {}", sim.stats().events);
    println!("wall          {wall:.2} s");
    println!("jobs/wall s   {:.0}", r.accepted as f64 / wall);
    println!("events/wall s {:.0}", sim.stats().events as f64 / wall);
    println!("utilisation   {:.4}", r.utilisation);
    println!(
        "waiting mean  {:.3} ms  p99 {:.3} ms; sojourn p50 {:.3} ms p99 {:.3} ms",
        r.waiting.mean_ns / 1e6,
        r.waiting.p99_ns as f64 / 1e6,
        r.sojourn.p50_ns as f64 / 1e6,
        r.sojourn.p99_ns as f64 / 1e6
    );
    println!("trace hash    {:016x}", sim.trace_hash());
    Ok(())
}
