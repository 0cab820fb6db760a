//! Issue 10, item 6: a job that outlives its lease must not book a phantom slot.
//! `pool.work_conservation` (no slot idle beyond one round trip while jobs wait), its
//! canary (`canary_book_refused_slots`, the dispatcher of before the fix), that it cannot
//! pass vacuously, that the correct pool passes it under random latencies and short
//! leases, and that utilisation is measured on the workers.

use detsim::check::CheckContext;
use detsim::protocols::Obs;
use detsim::protocols::worker_pool::check_pool;
use detsim::protocols::worker_pool::{Arrivals, DispatcherConfig, JobId, PoolConfig, PoolObs, WorkerConfig, add_pool};
use detsim::protocols::worker_pool::{WORK_CONSERVATION as NAME, check_work_conservation};
use detsim::run::run_scenario;
use detsim::run::{RunReport, Status};
use detsim::scenario::parse_scenario;
use detsim::{Dist, Latency, LinkConfig, NodeId, Record, SimConfig, SimTime, Simulation};
use detsim::{Observation, Payload};

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// The issue's case: jobs of `SERVICE` under leases of `LEASE`, one single-slot worker.
const JOBS: u64 = 10;
const LEASE: SimTime = SimTime::from_secs(1);
const SERVICE: SimTime = SimTime::from_millis(1500);
/// The scenario network's one-way latency (constant).
const LATENCY: SimTime = SimTime::from_millis(1);

/// When the worker finishes the last job if it is never idle beyond the unavoidable round
/// trips: the hello and the first assignment, then for every job its service, its result
/// and the next assignment (the last result's trip comes after): `JOBS * (S + 2 l)`.
fn makespan() -> SimTime {
    SimTime(JOBS * (SERVICE.0 + 2 * LATENCY.0))
}

fn lease_shorter_than_jobs(canary: bool, duration: SimTime) -> RunReport {
    let text = format!(
        r#"{{
        "name": "lease-shorter-than-jobs",
        "seed": 1,
        "duration": "{duration}",
        "network": {{ "default": {{ "latency": {{ "dist": "constant", "value": "{LATENCY}" }} }} }},
        "nodes": [
            {{ "id": "dispatcher", "role": "dispatcher", "arrivals": {{ "kind": "batch", "jobs": {JOBS} }},
               "lease": "{LEASE}", "canary_book_refused_slots": {canary} }},
            {{ "id": "w1", "role": "worker", "dispatcher": "dispatcher",
               "service_time": {{ "dist": "constant", "value": "{SERVICE}" }} }}
        ],
        "checks": {{ "pool_liveness_bound": "60s" }}
    }}"#
    );
    let s =
        parse_scenario(&detsim::Protocols::builtin(), "lease.json", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    run_scenario(&detsim::Protocols::builtin(), &s, s.seed, None).unwrap()
}

fn status(r: &RunReport, check: &str) -> Option<Status> {
    r.checks.iter().find(|c| c.name == check).map(|c| c.status)
}

fn metric(r: &RunReport, key: &str) -> f64 {
    r.metrics["pool"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {key} in {}", r.metrics))
}

#[test]
fn a_job_longer_than_its_lease_keeps_its_worker_busy_and_utilisation_near_one() {
    // Before the fix the expired lease freed the slot, the requeued job went to the busy
    // worker, which dropped it, and that phantom lease kept the slot booked for another
    // 500 ms per job: 2 s per job, 7 of 10 jobs by the end below.
    let end = makespan() + LATENCY;
    let r = lease_shorter_than_jobs(false, end);
    assert!(r.passed(), "{:#?}", r.checks);
    assert_eq!(status(&r, NAME.as_str()), Some(Status::Pass), "judged, and passed");
    assert_eq!(metric(&r, "submitted"), JOBS as f64);
    assert_eq!(metric(&r, "accepted"), JOBS as f64, "every job accepted");
    assert_eq!(status(&r, "pool.accepted_once"), Some(Status::Pass), "each once");
    assert_eq!(metric(&r, "completed"), JOBS as f64, "and run once: no duplicate work");
    assert_eq!(metric(&r, "duplicate_results"), 0.0);
    assert_eq!(
        metric(&r, "reassigned"),
        JOBS as f64,
        "every lease expired (1.5 s > 1 s)"
    );
    // Utilisation from the worker's own records: busy JOBS * S out of `end`.
    let expected = (JOBS * SERVICE.0) as f64 / end.0 as f64;
    assert!(
        expected > 0.998,
        "the scenario leaves only round trips idle: {expected}"
    );
    let u = metric(&r, "utilisation");
    assert!((u - expected).abs() < 1e-9, "utilisation {u}, expected {expected}");

    // The dispatcher of before the fix (the canary reproduces it exactly): 2 s per job.
    let old = lease_shorter_than_jobs(true, end);
    assert_eq!(
        metric(&old, "accepted"),
        7.0,
        "jobs k accepted at 1.503 s + 2 s (k - 1)"
    );
    // Busy 7 x 1.5 s, plus the eighth job running since 14.002 s: 0.767.
    assert!(metric(&old, "utilisation") < 0.8, "{}", metric(&old, "utilisation"));
}

#[test]
fn canary_book_refused_slots_is_caught_by_work_conservation() {
    let r = lease_shorter_than_jobs(true, SimTime::from_secs(30));
    assert_eq!(status(&r, NAME.as_str()), Some(Status::Fail), "{:#?}", r.checks);
    let v: Vec<_> = r.violations.iter().filter(|v| v.check == NAME).collect();
    assert!(!v.is_empty());
    // The phantom: job 1 is assigned at 1 ms and runs from 2 ms to 1.502 s; its lease
    // expires at 1.001 s and the requeued job goes to the busy worker under a second
    // lease, which the canary keeps booked until it expires at 2.001 s. The result
    // arrived at 1.503 s: 498 ms known free with jobs waiting, for every job.
    assert!(v[0].message.contains("for 498ms"), "{}", v[0].message);
    assert_eq!(v.len(), 9, "one per job but the last: {v:#?}");
    // The other checks cannot see it: only the new check does.
    for other in ["pool.correct_result", "pool.accepted_once", "pool.liveness"] {
        assert_eq!(status(&r, other), Some(Status::Pass), "{other}");
    }
    // And the same scenario without the canary passes it (the test above, longer run).
    let fixed = lease_shorter_than_jobs(false, SimTime::from_secs(30));
    assert_eq!(
        status(&fixed, NAME.as_str()),
        Some(Status::Pass),
        "{:#?}",
        fixed.violations
    );
}

fn rec(at: u64, node: u32, o: PoolObs) -> Record<Obs> {
    Record {
        at: ms(at),
        node: NodeId(node),
        obs: Obs::Pool(o),
    }
}

fn job(seq: u64) -> JobId {
    JobId { origin: NodeId(0), seq }
}

fn ctx(end: u64) -> CheckContext {
    CheckContext::new(1, ms(end))
}

/// Dispatcher n0 with two jobs waiting from 0; worker n1 (one slot) joins at 10 ms (says
/// hello), and n0 records that hello at 15 ms: from then on it knows the slot is free.
fn waiting_and_a_worker() -> Vec<Record<Obs>> {
    vec![
        rec(
            0,
            0,
            PoolObs::Submitted {
                job: job(1),
                value: 1,
                queue_len: 1,
            },
        ),
        rec(
            0,
            0,
            PoolObs::Submitted {
                job: job(2),
                value: 2,
                queue_len: 2,
            },
        ),
        rec(
            10,
            1,
            PoolObs::WorkerUp {
                slots: 1,
                incarnation: 0,
            },
        ),
        rec(
            10,
            1,
            PoolObs::Joined {
                dispatcher: NodeId(0),
                seq: 1,
            },
        ),
        rec(
            15,
            0,
            PoolObs::WorkerJoined {
                worker: NodeId(1),
                incarnation: 0,
                slots: 1,
                seq: 1,
            },
        ),
    ]
}

/// [`waiting_and_a_worker`], then n0 assigns job 1 at `assign_at` and n1 starts it at
/// `start_at`.
fn filled(assign_at: u64, start_at: u64) -> Vec<Record<Obs>> {
    let mut r = waiting_and_a_worker();
    r.extend([
        rec(
            assign_at,
            0,
            PoolObs::Assigned {
                job: job(1),
                worker: NodeId(1),
                assign: 0,
                submitted_at: SimTime::ZERO,
                first: true,
                queue_len: 1,
            },
        ),
        rec(
            start_at,
            1,
            PoolObs::Started {
                job: job(1),
                assign: 0,
                dispatcher: NodeId(0),
            },
        ),
    ]);
    r
}

#[test]
fn work_conservation_fails_when_jobs_wait_and_a_worker_idles() {
    // Nothing is ever assigned: the slot idles, known free from 15 ms, with jobs waiting.
    let c = check_work_conservation(&waiting_and_a_worker(), &ctx(1000), SimTime::MAX);
    assert!(c.judged);
    assert_eq!(c.violations.len(), 1, "{:#?}", c.violations);
    let v = &c.violations[0];
    assert!(v.message.contains("for 985ms"), "{}", v.message);
    assert_eq!(v.at, ms(15));
    assert_eq!(v.events.len(), 4, "{:#?}", v.events);
    // Judged up to `until` only, and still a violation when the window ends.
    let short = check_work_conservation(&waiting_and_a_worker(), &ctx(1000), SimTime::from_micros(15_500));
    assert_eq!(short.judged_until, SimTime::from_micros(15_500));
    assert_eq!(short.violations.len(), 1);

    // Assigned the moment the hello arrived: the slot idles only for its round trip.
    let c = check_work_conservation(&filled(15, 20), &ctx(30), SimTime::MAX);
    assert!(c.judged && c.violations.is_empty(), "{:#?}", c.violations);
    // Even a slow assignment is the network's time, not the dispatcher's.
    let c = check_work_conservation(&filled(15, 900), &ctx(1000), SimTime::MAX);
    assert!(c.violations.is_empty(), "{:#?}", c.violations);
    // The dispatcher sat on the hello for 3 ms with jobs waiting: a violation.
    let c = check_work_conservation(&filled(18, 23), &ctx(30), SimTime::MAX);
    assert_eq!(c.violations.len(), 1, "{:#?}", c.violations);
    assert!(
        c.violations[0].message.contains("for 3ms"),
        "{}",
        c.violations[0].message
    );
}

#[test]
fn work_conservation_claims_nothing_without_workers_or_waiting_jobs() {
    // No worker at all: jobs wait, no slot exists; not judged (never "pass").
    let records: Vec<_> = waiting_and_a_worker().into_iter().take(2).collect();
    let c = check_work_conservation(&records, &ctx(1000), SimTime::MAX);
    assert!(!c.judged && c.violations.is_empty());
    // A worker whose hello the dispatcher never recorded: it could not act; no claim.
    let records: Vec<_> = waiting_and_a_worker().into_iter().take(4).collect();
    assert!(!check_work_conservation(&records, &ctx(1000), SimTime::MAX).judged);
    // A worker but no job: nothing waited, nothing judged.
    let records: Vec<_> = waiting_and_a_worker().into_iter().skip(2).collect();
    assert!(!check_work_conservation(&records, &ctx(1000), SimTime::MAX).judged);
    // A fault at 12 ms (before the dispatcher hears the worker): nothing fault-free to judge.
    assert!(!check_work_conservation(&waiting_and_a_worker(), &ctx(1000), ms(12)).judged);

    // Through a scenario: a dispatcher without workers does not list the check. (Such a
    // file is refused by validation; the library runs it when built by hand.)
    let text = r#"{"name": "no-workers", "duration": "2s", "nodes": [
        {"id": "d", "role": "dispatcher", "arrivals": {"kind": "batch", "jobs": 3}}]}"#;
    assert!(parse_scenario(&detsim::Protocols::builtin(), "no-workers.json", text).is_err());
    let s: detsim::scenario::Scenario = detsim::Protocols::builtin()
        .scope(|| serde_json::from_str(text))
        .unwrap();
    let r = run_scenario(&detsim::Protocols::builtin(), &s, 1, None).unwrap();
    assert_eq!(status(&r, NAME.as_str()), None, "{:#?}", r.checks);
    // A network that loses messages from the start leaves nothing fault-free to judge.
    let text = r#"{"name": "lossy", "duration": "2s",
        "network": {"default": {"drop": 0.1}},
        "nodes": [
        {"id": "d", "role": "dispatcher", "arrivals": {"kind": "batch", "jobs": 30}},
        {"id": "w", "role": "worker", "dispatcher": "d", "service_time": {"dist": "constant", "value": "10ms"}}]}"#;
    let s = parse_scenario(&detsim::Protocols::builtin(), "lossy.json", text).unwrap();
    assert_eq!(s.fault_free_until(), SimTime::ZERO);
    let r = run_scenario(&detsim::Protocols::builtin(), &s, 1, None).unwrap();
    assert_eq!(status(&r, NAME.as_str()), None, "{:#?}", r.checks);
}

/// A fault-free pool on a jittery, reordering network with leases about as long as the
/// service times, so leases expire all the time and results arrive late.
fn jittery(seed: u64, arrivals: Arrivals, book_refused_slots: bool) -> (Vec<Record<Obs>>, CheckContext) {
    let end = SimTime::from_secs(20);
    let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(seed).max_time(end));
    sim.network_mut()
        .unwrap()
        .set_default(LinkConfig {
            latency: Latency::Exponential { mean: ms(2) },
            fifo: false,
            ..LinkConfig::default()
        })
        .unwrap();
    let pool = PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals,
            lease: ms(25),
            book_refused_slots,
            ..DispatcherConfig::default()
        },
        workers: 3,
        worker: WorkerConfig {
            slots: 2,
            service: Dist::Exponential { mean: ms(20) },
            heartbeat: ms(100),
            ..WorkerConfig::default()
        },
    };
    add_pool(&mut sim, &pool).unwrap();
    sim.run().unwrap();
    let ctx = CheckContext::after(&sim);
    (detsim::protocols::records(&sim.history_mut().take()), ctx)
}

const SEEDS: u64 = 40;

fn workloads() -> [Arrivals; 3] {
    [
        Arrivals::Batch { n: 300 },
        Arrivals::Poisson {
            rate: 250.0,
            jobs: Some(1500),
        },
        Arrivals::ClosedLoop {
            clients: 8,
            think: Dist::Exponential { mean: ms(5) },
            jobs_per_client: Some(60),
            retry: SimTime::from_secs(2),
        },
    ]
}

#[test]
fn the_pool_conserves_work_on_every_seed_under_jitter_and_short_leases() {
    for arrivals in workloads() {
        for seed in 0..SEEDS {
            let (records, ctx) = jittery(seed, arrivals.clone(), false);
            let c = check_work_conservation(&records, &ctx, SimTime::MAX);
            assert!(c.judged, "{arrivals:?} seed {seed}");
            assert!(c.violations.is_empty(), "{arrivals:?} seed {seed}: {:#?}", c.violations);
            let others = check_pool(&records, &ctx, SimTime::from_secs(5));
            assert!(
                others.iter().all(|v| v.violations.is_empty() && v.not_judged.is_none()),
                "{arrivals:?} seed {seed}: {others:#?}"
            );
            let reassigned = records
                .iter()
                .filter(|r| matches!(r.obs, Obs::Pool(PoolObs::Reassigned { .. })))
                .count();
            assert!(reassigned > 0, "the leases do expire ({arrivals:?} seed {seed})");
        }
    }
}

#[test]
fn canary_book_refused_slots_is_caught_under_jitter() {
    let mut caught = 0;
    for seed in 0..SEEDS {
        let (records, ctx) = jittery(seed, Arrivals::Batch { n: 300 }, true);
        if !check_work_conservation(&records, &ctx, SimTime::MAX)
            .violations
            .is_empty()
        {
            caught += 1;
        }
    }
    assert_eq!(caught, SEEDS, "caught on {caught} of {SEEDS} seeds");
}

/// Like [`jittery`], over many shapes: heavy-tailed (Pareto) or log-normal latency (often
/// longer than a lease), FIFO or not, random tie-breaking, 1 to 4 workers of 1 to 4 slots,
/// leases shorter or longer than the service, heartbeats from 7 ms to 156 ms. (Run by hand
/// over 8,000 seeds per workload, 24,000 runs, before it was committed.)
fn shaped(seed: u64, arrivals: Arrivals) -> (Vec<Record<Obs>>, CheckContext) {
    let end = SimTime::from_secs(10);
    let latency = match seed % 3 {
        0 => Latency::Pareto {
            scale: SimTime::from_micros(500),
            alpha: 1.5,
        },
        1 => Latency::LogNormal {
            median: ms(1),
            sigma: 1.0,
        },
        _ => Latency::constant(SimTime::ZERO),
    };
    let mut sim = Simulation::<Payload, Observation>::new(
        SimConfig::new(seed)
            .max_time(end)
            .random_tiebreak(seed.is_multiple_of(2)),
    );
    sim.network_mut()
        .unwrap()
        .set_default(LinkConfig {
            latency,
            fifo: seed.is_multiple_of(5),
            ..LinkConfig::default()
        })
        .unwrap();
    let pool = PoolConfig {
        dispatcher: DispatcherConfig {
            arrivals,
            lease: ms(5 + seed % 40),
            ..DispatcherConfig::default()
        },
        workers: 1 + (seed % 4) as u32,
        worker: WorkerConfig {
            slots: 1 + (seed / 4 % 4) as u32,
            service: Dist::Exponential { mean: ms(15) },
            heartbeat: ms(7 + seed % 150),
            ..WorkerConfig::default()
        },
    };
    add_pool(&mut sim, &pool).unwrap();
    sim.run().unwrap();
    let ctx = CheckContext::after(&sim);
    (detsim::protocols::records(&sim.history_mut().take()), ctx)
}

#[test]
#[ignore = "long: 3,000 runs; run with --ignored"]
fn the_pool_conserves_work_on_many_shapes_long() {
    for arrivals in workloads() {
        for seed in 0..1000 {
            let (records, ctx) = shaped(seed, arrivals.clone());
            let c = check_work_conservation(&records, &ctx, SimTime::MAX);
            assert!(c.judged, "{arrivals:?} seed {seed}");
            assert!(c.violations.is_empty(), "{arrivals:?} seed {seed}: {:#?}", c.violations);
        }
    }
}
