//! Worker pool: exact metrics on a tiny deterministic run, determinism, checkers, the two
//! canaries caught by seed sweeps under a random nemesis, and the correct protocol passing
//! every seed of the same sweeps (batch, Poisson and closed-loop workloads).

use detsim::check::{CheckContext, Status, Verdict, all_passed, violations};
use detsim::protocols::Obs;
use detsim::protocols::worker_pool::{
    Arrivals, DispatcherConfig, PoolConfig, PoolNodes, PoolObs, WorkerConfig, add_pool,
};
use detsim::protocols::worker_pool::{PoolMetrics, PoolReport, pool_metrics};
use detsim::protocols::worker_pool::{check_pool, check_pool_liveness, check_pool_safety};
use detsim::{Dist, DurationRange, Latency, LinkConfig, NemesisConfig, Record, SimConfig, SimTime, Simulation};
use detsim::{Observation, Payload};

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// One finished run.
struct Run {
    records: Vec<Record<Obs>>,
    ctx: CheckContext,
    report: PoolReport,
    hash: u64,
    nodes: PoolNodes,
    /// Crashes of the dispatcher in the realized fault schedule.
    dispatcher_crashes: u64,
}

fn run(
    seed: u64,
    pool: &PoolConfig,
    link: LinkConfig,
    nemesis: Option<&dyn Fn(&PoolNodes) -> NemesisConfig>,
    end: SimTime,
) -> Run {
    let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(seed).max_time(end));
    sim.network_mut().unwrap().set_default(link).unwrap();
    let nodes = add_pool(&mut sim, pool).unwrap();
    if let Some(n) = nemesis {
        sim.set_nemesis(n(&nodes)).unwrap();
    }
    sim.run().unwrap();
    let ctx = CheckContext::after(&sim);
    let dispatcher_crashes = sim
        .realized_faults()
        .iter()
        .filter(|f| f.fault == detsim::Fault::Crash { node: nodes.dispatcher })
        .count() as u64;
    let records = detsim::protocols::records(&sim.history_mut().take());
    let report = pool_metrics(&records, sim.now());
    Run {
        ctx,
        records,
        report,
        hash: sim.trace_hash(),
        nodes,
        dispatcher_crashes,
    }
}

/// Zero network latency, one single-slot worker, constant 10 ms service, 4 jobs.
fn tiny() -> Run {
    let pool = PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals: Arrivals::Batch { n: 4 },
            ..DispatcherConfig::default()
        },
        workers: 1,
        worker: WorkerConfig {
            service: Dist::constant(ms(10)),
            ..WorkerConfig::default()
        },
    };
    let link = LinkConfig {
        latency: Latency::constant(SimTime::ZERO),
        ..LinkConfig::default()
    };
    run(1, &pool, link, None, ms(100))
}

#[test]
fn metrics_are_exact_on_a_tiny_run() {
    let r = tiny();
    let m = &r.report;
    assert_eq!(
        (m.submitted, m.accepted, m.rejected, m.reassigned, m.completed),
        (4, 4, 0, 0, 4)
    );
    // Jobs wait 0, 10, 20, 30 ms and stay 10, 20, 30, 40 ms.
    assert_eq!(m.waiting.count, 4);
    assert!((m.waiting.mean_ns - 15e6).abs() < 1.0, "{:?}", m.waiting);
    assert_eq!(m.waiting.max_ns, 30_000_000);
    assert!((m.sojourn.mean_ns - 25e6).abs() < 1.0, "{:?}", m.sojourn);
    assert_eq!(m.sojourn.max_ns, 40_000_000);
    // Queue: 3 for 10 ms, 2 for 10 ms, 1 for 10 ms, over 100 ms.
    assert!((m.mean_queue_len - 0.6).abs() < 1e-9, "{}", m.mean_queue_len);
    assert_eq!(m.max_queue_len, 4);
    assert!((m.throughput_per_s - 40.0).abs() < 1e-9);
    assert_eq!(m.workers.len(), 1);
    assert!((m.workers[0].utilisation - 0.4).abs() < 1e-9, "{:?}", m.workers);
    assert!((m.utilisation - 0.4).abs() < 1e-9);
    // The streaming fold gives the same figures as the fold over the kept history.
    let mut s = PoolMetrics::new();
    r.records.iter().for_each(|rec| s.observe(rec));
    assert_eq!(s.report(r.ctx.end), r.report);
    assert!(all_passed(&check_pool(&r.records, &r.ctx, ms(50))));
}

#[test]
fn streaming_observer_without_history_matches() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let kept = tiny();
    let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(1).max_time(ms(100)));
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
            arrivals: Arrivals::Batch { n: 4 },
            ..DispatcherConfig::default()
        },
        workers: 1,
        worker: WorkerConfig {
            service: Dist::constant(ms(10)),
            ..WorkerConfig::default()
        },
    };
    add_pool(&mut sim, &pool).unwrap();
    sim.run().unwrap();
    assert!(sim.history().records().is_empty());
    assert_eq!(shared.borrow().report(sim.now()), kept.report);
    assert_eq!(sim.trace_hash(), kept.hash);
}

#[test]
fn bad_configs_are_errors_not_panics() {
    let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(1));
    let mut bad = PoolConfig {
        dispatcher: DispatcherConfig::default(),
        workers: 1,
        worker: WorkerConfig {
            slots: 0,
            ..WorkerConfig::default()
        },
    };
    assert!(add_pool(&mut sim, &bad).is_err());
    bad.worker.slots = 1;
    bad.worker.service = Dist::Uniform { min: ms(2), max: ms(1) };
    assert!(add_pool(&mut sim, &bad).is_err());
    bad.worker.service = Dist::LogNormal {
        median: ms(1),
        sigma: f64::NAN,
    };
    assert!(add_pool(&mut sim, &bad).is_err());
    bad.worker.service = Dist::constant(ms(1));
    bad.dispatcher.arrivals = Arrivals::Poisson { rate: -1.0, jobs: None };
    assert!(add_pool(&mut sim, &bad).is_err());
    bad.dispatcher.arrivals = Arrivals::Batch { n: 1 };
    bad.dispatcher.lease = SimTime::ZERO;
    assert!(add_pool(&mut sim, &bad).is_err());
    assert_eq!(sim.node_names().len(), 0, "nothing is added when the config is bad");
}

#[test]
fn bounded_queue_rejects_and_the_rest_complete() {
    let pool = PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals: Arrivals::Batch { n: 10 },
            queue_capacity: Some(3),
            ..DispatcherConfig::default()
        },
        workers: 1,
        worker: WorkerConfig::default(),
    };
    let r = run(3, &pool, LinkConfig::default(), None, SimTime::from_secs(2));
    assert_eq!((r.report.submitted, r.report.rejected, r.report.accepted), (3, 7, 3));
    assert!(all_passed(&check_pool(&r.records, &r.ctx, SimTime::from_secs(1))));
}

#[test]
fn closed_loop_clients_get_every_result() {
    let pool = PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals: Arrivals::ClosedLoop {
                clients: 3,
                think: Dist::Exponential { mean: ms(5) },
                jobs_per_client: Some(20),
                retry: ms(300),
            },
            ..DispatcherConfig::default()
        },
        workers: 2,
        worker: WorkerConfig::default(),
    };
    let r = run(5, &pool, LinkConfig::default(), None, SimTime::from_secs(5));
    assert_eq!(r.nodes.clients.len(), 3);
    assert_eq!(r.report.accepted, 60);
    let returned = r
        .records
        .iter()
        .filter(|x| matches!(x.obs, Obs::Pool(PoolObs::Returned { .. })))
        .count();
    assert_eq!(returned, 60);
    assert!(all_passed(&check_pool(&r.records, &r.ctx, SimTime::from_secs(1))));
}

// ---- sweeps under a random nemesis ----

const SEEDS: u64 = 200;
const END: SimTime = SimTime::from_secs(5);
const BOUND: SimTime = SimTime::from_millis(1500);

fn sweep_pool(arrivals: Arrivals, never_reassign: bool, return_unchanged: bool) -> PoolConfig {
    PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals,
            queue_capacity: None,
            lease: ms(200),
            worker_timeout: ms(150),
            never_reassign,
            book_refused_slots: false,
            register: None,
        },
        workers: 3,
        worker: WorkerConfig {
            slots: 2,
            service: Dist::Exponential { mean: ms(20) },
            heartbeat: ms(50),
            return_unchanged,
            ..WorkerConfig::default()
        },
    }
}

fn sweep_link() -> LinkConfig {
    LinkConfig {
        latency: Latency::Exponential { mean: ms(2) },
        fifo: false,
        ..LinkConfig::default()
    }
}

/// Crashes, partitions, loss and duplication bursts on the workers (the canary sweeps),
/// or on the dispatcher too, with pauses and clogs on top (the correct-protocol sweeps);
/// all in [0, 2 s) and healed at 2 s; the run goes on to 5 s.
fn nemesis(with_dispatcher: bool) -> impl Fn(&PoolNodes) -> NemesisConfig {
    move |nodes| {
        let mut targets = nodes.workers.clone();
        if with_dispatcher {
            targets.push(nodes.dispatcher);
        }
        NemesisConfig {
            start: SimTime::ZERO,
            stop: SimTime::from_secs(2),
            targets,
            crash_rate: 3.0,
            downtime: DurationRange::new(ms(50), ms(400)),
            partition_rate: 1.0,
            partition_time: DurationRange::new(ms(50), ms(300)),
            loss_rate: 1.0,
            loss_time: DurationRange::new(ms(50), ms(300)),
            burst_drop: 0.3,
            burst_duplicate: 0.1,
            max_down: 1,
            pause_rate: if with_dispatcher { 1.0 } else { 0.0 },
            pause_time: DurationRange::new(ms(50), ms(400)),
            clog_rate: if with_dispatcher { 1.0 } else { 0.0 },
            clog_time: DurationRange::new(ms(50), ms(300)),
            ..NemesisConfig::default()
        }
    }
}

/// What a sweep saw.
#[derive(Debug, Default)]
struct Sweep {
    /// The seeds whose run broke a check, with the first violation.
    failing: Vec<(u64, String)>,
    /// The seeds with no violation but a check not judged, with why.
    not_judged: Vec<(u64, String)>,
    /// Totals over all seeds, to show the faults really bit.
    reassigned: u64,
    duplicate_results: u64,
    accepted: u64,
    worker_restarts: u64,
    dispatcher_crashes: u64,
}

/// Sweep the seeds; a seed fails when a check of `which` ("safety", "liveness" or
/// "all") finds a violation.
fn sweep(pool: &PoolConfig, with_dispatcher: bool, which: &str) -> Sweep {
    let nem = nemesis(with_dispatcher);
    let mut out = Sweep::default();
    for seed in 0..SEEDS {
        let r = run(seed, pool, sweep_link(), Some(&nem), END);
        out.reassigned += r.report.reassigned;
        out.duplicate_results += r.report.duplicate_results;
        out.accepted += r.report.accepted;
        out.dispatcher_crashes += r.dispatcher_crashes;
        out.worker_restarts += r
            .records
            .iter()
            .filter(|x| matches!(x.obs, Obs::Pool(PoolObs::WorkerUp { incarnation, .. }) if incarnation > 0))
            .count() as u64;
        let verdicts: Vec<Verdict> = match which {
            "safety" => check_pool_safety(&r.records, &r.ctx),
            "liveness" => vec![check_pool_liveness(&r.records, &r.ctx, BOUND)],
            _ => check_pool(&r.records, &r.ctx, BOUND),
        };
        assert!(r.ctx.heal_at <= SimTime::from_secs(2));
        assert!(r.ctx.unhealed.is_empty(), "the nemesis heals everything");
        if let Some(first) = violations(&verdicts).first() {
            out.failing.push((seed, format!("{}: {}", first.check, first.message)));
        } else if let Some(v) = verdicts.iter().find(|v| !v.passed()) {
            out.not_judged.push((seed, format!("{}: {:?}", v.check, v.not_judged)));
        }
    }
    out
}

/// The correct protocol passes every seed, and the faults did bite.
fn passes_every_seed(arrivals: Arrivals, with_dispatcher: bool, jobs_per_seed: u64) {
    let s = sweep(&sweep_pool(arrivals, false, false), with_dispatcher, "all");
    assert!(s.failing.is_empty(), "{:?}", s.failing);
    assert!(s.not_judged.is_empty(), "every seed is judged: {:?}", s.not_judged);
    println!("sweep {with_dispatcher}: {s:?}");
    assert_eq!(s.accepted, jobs_per_seed * SEEDS);
    assert!(s.reassigned > SEEDS, "{s:?}");
    assert!(s.duplicate_results > 0, "{s:?}");
    assert!(s.worker_restarts > SEEDS, "{s:?}");
    assert_eq!(s.dispatcher_crashes > SEEDS / 2, with_dispatcher, "{s:?}");
}

fn batch() -> Arrivals {
    Arrivals::Batch { n: 200 }
}

fn poisson() -> Arrivals {
    Arrivals::Poisson {
        rate: 120.0,
        jobs: Some(240),
    }
}

fn closed_loop() -> Arrivals {
    Arrivals::ClosedLoop {
        clients: 3,
        think: Dist::Uniform {
            min: ms(0),
            max: ms(10),
        },
        jobs_per_client: Some(60),
        retry: ms(250),
    }
}

#[test]
fn correct_pool_passes_every_seed_batch() {
    passes_every_seed(batch(), true, 200);
}

#[test]
fn correct_pool_passes_every_seed_poisson() {
    passes_every_seed(poisson(), true, 240);
}

#[test]
fn correct_pool_passes_every_seed_closed_loop() {
    passes_every_seed(closed_loop(), true, 180);
}

#[test]
fn correct_pool_passes_every_seed_worker_faults_only() {
    // The exact nemesis of the canary sweeps below.
    passes_every_seed(batch(), false, 200);
}

#[test]
fn canary_never_reassign_is_caught_by_liveness() {
    let pool = sweep_pool(batch(), true, false);
    let caught = sweep(&pool, false, "liveness").failing;
    assert!(!caught.is_empty(), "the liveness checker never caught the canary");
    assert!(caught[0].1.starts_with("pool.liveness"), "{caught:?}");
    // The first catching seed is pinned (deterministic), and it is a real loss: safety holds.
    println!(
        "never_reassign caught by {} of {SEEDS} seeds, first {:?}",
        caught.len(),
        caught[0]
    );
    assert!(sweep(&pool, false, "safety").failing.is_empty());
}

#[test]
fn canary_return_unchanged_is_caught_by_correctness() {
    let pool = sweep_pool(batch(), false, true);
    let caught = sweep(&pool, false, "safety").failing;
    assert!(!caught.is_empty(), "the correctness checker never caught the canary");
    assert!(
        caught.iter().all(|c| c.1.starts_with("pool.correct_result")),
        "{caught:?}"
    );
    println!(
        "return_unchanged caught by {} of {SEEDS} seeds, first {:?}",
        caught.len(),
        caught[0]
    );
}

#[test]
fn same_seed_same_trace_different_seed_different_trace() {
    let pool = sweep_pool(poisson(), false, false);
    let nem = nemesis(true);
    let a = run(11, &pool, sweep_link(), Some(&nem), END);
    let b = run(11, &pool, sweep_link(), Some(&nem), END);
    let c = run(12, &pool, sweep_link(), Some(&nem), END);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.report, b.report);
    assert_eq!(a.records, b.records);
    assert_ne!(a.hash, c.hash);
}

#[test]
fn liveness_checker_flags_a_job_never_accepted_and_respects_the_run_end() {
    let r = tiny();
    // Drop every acceptance of one job from the history.
    let lost = r
        .records
        .iter()
        .find_map(|x| match &x.obs {
            Obs::Pool(PoolObs::Accepted { job, .. }) => Some(*job),
            _ => None,
        })
        .unwrap();
    let cut: Vec<_> = r
        .records
        .iter()
        .filter(|x| !matches!(&x.obs, Obs::Pool(PoolObs::Accepted { job, .. }) if *job == lost))
        .cloned()
        .collect();
    let v = check_pool_liveness(&cut, &r.ctx, ms(50)).violations;
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].check, "pool.liveness");
    assert_eq!(v[0].seed, 1);
    assert!(!v[0].events.is_empty());
    // A deadline past the end of the run cannot be judged: not judged, never a pass.
    let late = check_pool_liveness(&cut, &r.ctx, ms(200));
    assert_eq!(late.status(), Status::NotJudged, "{late:?}");
    assert!(late.not_judged.unwrap().contains("1 job still undone"));
    // Too tight a bound flags the jobs that took longer.
    assert_eq!(check_pool_liveness(&r.records, &r.ctx, ms(25)).violations.len(), 2);
}

#[test]
fn dispatcher_crash_keeps_jobs_and_accepts_each_once() {
    // Crash the dispatcher at 100 ms (jobs queued and out at workers) for 300 ms; its
    // durable state brings every job through, each accepted exactly once.
    let pool = PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals: Arrivals::Batch { n: 50 },
            lease: ms(200),
            worker_timeout: ms(150),
            ..DispatcherConfig::default()
        },
        workers: 2,
        worker: WorkerConfig {
            slots: 2,
            service: Dist::constant(ms(15)),
            heartbeat: ms(50),
            ..WorkerConfig::default()
        },
    };
    let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(9).max_time(SimTime::from_secs(3)));
    let nodes = add_pool(&mut sim, &pool).unwrap();
    let d = nodes.dispatcher;
    sim.schedule(ms(100), detsim::Fault::Crash { node: d }).unwrap();
    sim.schedule(ms(400), detsim::Fault::Restart { node: d }).unwrap();
    sim.run().unwrap();
    let ctx = CheckContext::after(&sim);
    assert_eq!((ctx.heal_at, ctx.healed_at()), (ms(400), Some(ms(400))));
    let records = &detsim::protocols::records(sim.history().records());
    let m = pool_metrics(records, sim.now());
    assert_eq!((m.submitted, m.accepted), (50, 50));
    // Results computed while it was down were lost: those jobs went round again.
    assert!(m.reassigned > 0, "{m:?}");
    let before_crash = records
        .iter()
        .filter(|r| r.at < ms(100) && matches!(r.obs, Obs::Pool(PoolObs::Accepted { .. })))
        .count();
    assert!(before_crash > 0 && before_crash < 50, "{before_crash}");
    assert!(all_passed(&check_pool(records, &ctx, SimTime::from_secs(1))));
}
