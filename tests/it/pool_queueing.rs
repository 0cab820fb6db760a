//! Queueing theory: an open-loop Poisson stream into `c` single-slot workers with
//! exponential service over a zero-latency network is an M/M/c queue, so the simulated
//! utilisation and mean waiting time must agree with `rho = lambda / (c mu)` and the
//! Erlang C formula.

use std::cell::RefCell;
use std::rc::Rc;

use detsim::metrics::{MmcPrediction, mmc};
use detsim::protocols::worker_pool::{Arrivals, DispatcherConfig, PoolConfig, WorkerConfig, add_pool};
use detsim::protocols::worker_pool::{PoolMetrics, PoolReport};
use detsim::{Dist, Latency, LinkConfig, SimConfig, SimTime, Simulation};
use detsim::{Observation, Payload};

/// Run `jobs` Poisson arrivals at `lambda`/s into `workers` workers of `slots` slots with
/// exponential service at `mu`/s; streaming metrics, no history kept.
fn mmc_run(seed: u64, lambda: f64, mu: f64, workers: u32, slots: u32, jobs: u64) -> PoolReport {
    let end = SimTime::from_nanos_f64(jobs as f64 / lambda * 1e9);
    let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(seed).max_time(end));
    sim.network_mut()
        .unwrap()
        .set_default(LinkConfig {
            latency: Latency::constant(SimTime::ZERO),
            ..LinkConfig::default()
        })
        .unwrap();
    let shared = Rc::new(RefCell::new(PoolMetrics::new()));
    sim.history_mut().set_observer(PoolMetrics::observer(&shared));
    sim.history_mut().set_keep(false);
    let pool = PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals: Arrivals::Poisson {
                rate: lambda,
                jobs: Some(jobs),
            },
            lease: SimTime::from_secs(3600),
            worker_timeout: SimTime::from_secs(10),
            ..DispatcherConfig::default()
        },
        workers,
        worker: WorkerConfig {
            slots,
            service: Dist::Exponential {
                mean: SimTime::from_nanos_f64(1e9 / mu),
            },
            heartbeat: SimTime::from_secs(1),
            ..WorkerConfig::default()
        },
    };
    add_pool(&mut sim, &pool).unwrap();
    sim.run().unwrap();
    shared.borrow().report(sim.now())
}

/// Relative error of `measured` against `predicted`.
fn rel(measured: f64, predicted: f64) -> f64 {
    (measured - predicted).abs() / predicted
}

fn check(label: &str, r: &PoolReport, p: &MmcPrediction, lambda: f64, tol_rho: f64, tol_wq: f64) {
    let wq = r.waiting.mean_ns / 1e9;
    let w = r.sojourn.mean_ns / 1e9;
    println!(
        "{label}: jobs {} | rho predicted {:.4} measured {:.4} | Wq predicted {:.5}s measured {:.5}s ({:+.2}%) | \
         W predicted {:.5}s measured {:.5}s | Lq predicted {:.4} measured {:.4} | throughput {:.3}/s",
        r.accepted,
        p.rho,
        r.utilisation,
        p.wq_secs,
        wq,
        (wq / p.wq_secs - 1.0) * 100.0,
        p.w_secs,
        w,
        p.lq,
        r.mean_queue_len,
        r.throughput_per_s,
    );
    // The same formula with the rates this sample actually drew (plug-in estimate):
    // separates the formula's agreement from the sampling noise of the inputs.
    let busy: f64 = r.workers.iter().map(|w| w.busy_ns).sum::<f64>() / 1e9;
    let lambda_hat = r.submitted as f64 / (r.end_ns as f64 / 1e9);
    let mu_hat = r.completed as f64 / busy;
    let c: u32 = r.workers.iter().map(|w| w.slots).sum();
    let q = mmc(lambda_hat, mu_hat, c).unwrap();
    println!(
        "{label}: plug-in lambda {lambda_hat:.4} mu {mu_hat:.5}: rho {:.4} Wq {:.5}s ({:+.2}% measured vs plug-in)",
        q.rho,
        q.wq_secs,
        (wq / q.wq_secs - 1.0) * 100.0
    );
    assert!(
        rel(r.utilisation, p.rho) < tol_rho,
        "{label}: rho {} vs {}",
        r.utilisation,
        p.rho
    );
    assert!(rel(wq, p.wq_secs) < tol_wq, "{label}: Wq {wq} vs {}", p.wq_secs);
    assert!(rel(w, p.w_secs) < tol_wq, "{label}: W {w} vs {}", p.w_secs);
    assert!(
        rel(r.mean_queue_len, p.lq) < tol_wq,
        "{label}: Lq {} vs {}",
        r.mean_queue_len,
        p.lq
    );
    assert!(
        rel(r.throughput_per_s, lambda) < tol_rho,
        "{label}: throughput {}",
        r.throughput_per_s
    );
    assert_eq!(r.reassigned, 0);
    assert_eq!(r.rejected, 0);
}

#[test]
fn mmc_agrees_with_erlang_c() {
    // c = 4, mu = 10/s, lambda = 32/s: rho = 0.8, P(wait) = 0.596, Wq = 74.5 ms.
    let (lambda, mu, c) = (32.0, 10.0, 4);
    let p = mmc(lambda, mu, c).unwrap();
    let r = mmc_run(1, lambda, mu, c, 1, 200_000);
    check("M/M/4 rho 0.8, 200k jobs", &r, &p, lambda, 0.01, 0.05);
}

#[test]
fn slots_are_servers_too() {
    // Two workers with two slots each are the same M/M/4 queue.
    let (lambda, mu, c) = (32.0, 10.0, 4);
    let p = mmc(lambda, mu, c).unwrap();
    let r = mmc_run(2, lambda, mu, 2, 2, 200_000);
    check("M/M/4 as 2 workers x 2 slots, 200k jobs", &r, &p, lambda, 0.01, 0.05);
}

#[test]
#[ignore = "long: about 10 million jobs; run with --ignored"]
fn mmc_agrees_with_erlang_c_long() {
    let (lambda, mu, c) = (32.0, 10.0, 4);
    let p = mmc(lambda, mu, c).unwrap();
    let r = mmc_run(3, lambda, mu, c, 1, 10_000_000);
    check("M/M/4 rho 0.8, 10M jobs", &r, &p, lambda, 0.002, 0.01);
    // Many servers at high load: Wq is small and very sensitive to the load actually
    // drawn, so its estimate is noisier; three seeds, judged on their average.
    let (lambda, mu, c) = (90.0, 1.0, 100);
    let p = mmc(lambda, mu, c).unwrap();
    let mut wq = 0.0;
    for seed in [4, 5, 6] {
        let r = mmc_run(seed, lambda, mu, c, 1, 3_000_000);
        check(
            &format!("M/M/100 rho 0.9, 3M jobs, seed {seed}"),
            &r,
            &p,
            lambda,
            0.003,
            0.08,
        );
        wq += r.waiting.mean_ns / 1e9 / 3.0;
    }
    println!("M/M/100: mean Wq over 3 seeds {wq:.5}s vs predicted {:.5}s", p.wq_secs);
    assert!(rel(wq, p.wq_secs) < 0.03, "M/M/100 average Wq {wq} vs {}", p.wq_secs);
}

/// The figures the shipped M/M/c scenario's description quotes are Erlang C's for the
/// scenario's own parameters, to the precision printed.
#[test]
fn the_mmc_scenario_quotes_erlang_c() {
    use detsim::protocols::worker_pool::{ArrivalsSpec, DispatcherRole, WorkerRole};
    use detsim::scenario::load_scenario;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pool_poisson_mmc.json");
    let s = load_scenario(&detsim::Protocols::builtin(), &path).unwrap();
    let (mut lambda, mut means, mut c) = (None, Vec::new(), 0u32);
    for n in &s.nodes {
        match (n.as_ref().get::<DispatcherRole>(), n.as_ref().get::<WorkerRole>()) {
            (
                Some(DispatcherRole {
                    arrivals: ArrivalsSpec::Poisson { rate, .. },
                    ..
                }),
                _,
            ) => lambda = Some(*rate),
            (
                _,
                Some(WorkerRole {
                    slots,
                    service_time: Dist::Exponential { mean },
                    ..
                }),
            ) => {
                c += slots;
                means.push(*mean);
            }
            _ => panic!("not an M/M/c node: {n:?}"),
        }
    }
    means.dedup();
    assert_eq!(means.len(), 1, "one service time for every worker");
    let mu = 1e9 / means[0].as_nanos() as f64;
    let p = mmc(lambda.expect("Poisson arrivals"), mu, c).unwrap();

    // "... a mean wait of 7.455 ms and utilisation 0.80 ...": each to its printed precision.
    let quoted = |before: &str, after: &str| -> String {
        let d = &s.description[s.description.find("Erlang C predicts").expect("the prediction")..];
        let start = d.find(before).unwrap_or_else(|| panic!("{before:?} in {d:?}")) + before.len();
        let len = d[start..]
            .find(after)
            .unwrap_or_else(|| panic!("{after:?} after {before:?}"));
        d[start..start + len].to_string()
    };
    let same = |text: String, value: f64| {
        let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
        assert_eq!(
            text,
            format!("{value:.decimals$}"),
            "quoted {text}, Erlang C gives {value}"
        );
        assert!(decimals >= 2, "{text}: quote enough digits to be checked");
    };
    same(quoted("mean wait of ", " ms"), p.wq_secs * 1e3);
    same(quoted("ms and utilisation ", " while"), p.rho);
}
