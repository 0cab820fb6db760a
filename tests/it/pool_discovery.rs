//! The worker pool over service discovery: the dispatcher registers under a service name,
//! workers and clients find it through the registry and find it again after it crashes
//! and restarts (its entry expired meanwhile); every job is still accepted exactly once.
//! Also the scenario format of it: `register` on the dispatcher, `service` on workers and
//! pool clients, and the validation errors with their field paths.

use detsim::check::{CheckContext, all_passed};
use detsim::protocols::Obs;
use detsim::protocols::discovery::{DiscObs, RegistrantConfig, RegistryConfig, ResolverConfig, Target, registry};
use detsim::protocols::worker_pool::check_pool;
use detsim::protocols::worker_pool::pool_metrics;
use detsim::protocols::worker_pool::{
    Arrivals, ClientConfig, DispatcherConfig, PoolObs, WorkerConfig, client, dispatcher, worker,
};
use detsim::run::run_scenario;
use detsim::scenario::parse_scenario;
use detsim::{
    Dist, DurationRange, Fault, Latency, LinkConfig, NemesisConfig, NodeId, Record, SimConfig, SimTime, Simulation,
};
use detsim::{Observation, Payload};

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

const SERVICE: &str = "pool";
const JOBS_PER_CLIENT: u64 = 40;

/// The nodes of a discovering pool.
struct Nodes {
    registry: NodeId,
    dispatcher: NodeId,
    workers: Vec<NodeId>,
    clients: Vec<NodeId>,
}

/// A registry, a registering dispatcher fed by two closed-loop clients, two workers;
/// workers and clients find the dispatcher by service name only.
fn discovering_pool(sim: &mut Simulation<Payload, Observation>) -> Nodes {
    let reg = sim.add_node("registry", registry(RegistryConfig::default())).unwrap();
    let d = sim
        .add_node(
            "dispatcher",
            dispatcher(DispatcherConfig {
                arrivals: Arrivals::ClosedLoop {
                    clients: 0,
                    think: Dist::constant(SimTime::ZERO),
                    jobs_per_client: None,
                    retry: ms(100),
                },
                lease: ms(200),
                worker_timeout: ms(150),
                register: Some(RegistrantConfig::new(reg, SERVICE, ms(150))),
                ..DispatcherConfig::default()
            })
            .unwrap(),
        )
        .unwrap();
    let find = || Target::Service(ResolverConfig::new(reg, SERVICE));
    let workers = (0..2)
        .map(|i| {
            let w = WorkerConfig {
                dispatcher: find(),
                slots: 2,
                service: Dist::Exponential { mean: ms(10) },
                heartbeat: ms(50),
                return_unchanged: false,
            };
            sim.add_node(&format!("worker-{i}"), worker(w).unwrap()).unwrap()
        })
        .collect();
    let clients = (0..2)
        .map(|i| {
            let c = ClientConfig {
                dispatcher: find(),
                jobs: Some(JOBS_PER_CLIENT),
                think: Dist::Uniform {
                    min: ms(0),
                    max: ms(10),
                },
                retry: ms(100),
            };
            sim.add_node(&format!("client-{i}"), client(c).unwrap()).unwrap()
        })
        .collect();
    Nodes {
        registry: reg,
        dispatcher: d,
        workers,
        clients,
    }
}

fn link() -> LinkConfig {
    LinkConfig {
        latency: Latency::Exponential { mean: ms(2) },
        fifo: false,
        ..LinkConfig::default()
    }
}

/// The lookup answers `node` received: (when, members).
fn answers(records: &[Record<Obs>], node: NodeId) -> Vec<(SimTime, Vec<NodeId>)> {
    records
        .iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match &r.obs {
            Obs::Disc(DiscObs::LookupResult { members, .. }) => Some((r.at, members.clone())),
            _ => None,
        })
        .collect()
}

fn count(records: &[Record<Obs>], f: impl Fn(&Record<Obs>) -> bool) -> usize {
    records.iter().filter(|r| f(r)).count()
}

#[test]
fn restarted_dispatcher_is_found_again_and_every_job_is_accepted() {
    // The dispatcher is down from 300 ms to 900 ms, far longer than its 150 ms TTL: its
    // entry expires, lookups come back empty, and only the registry can tell workers and
    // clients that it is back.
    let (crash, restart) = (ms(300), ms(900));
    let run = || {
        let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(5).max_time(SimTime::from_secs(5)));
        sim.network_mut().unwrap().set_default(link()).unwrap();
        let nodes = discovering_pool(&mut sim);
        sim.schedule(crash, Fault::Crash { node: nodes.dispatcher }).unwrap();
        sim.schedule(restart, Fault::Restart { node: nodes.dispatcher })
            .unwrap();
        sim.run().unwrap();
        let end = sim.now();
        let hash = sim.trace_hash();
        (nodes, detsim::protocols::records(&sim.history_mut().take()), end, hash)
    };
    let (nodes, records, end, hash) = run();
    let d = nodes.dispatcher;

    // Every job of every client was accepted once, with the right result, and returned.
    let ctx = CheckContext {
        heal_at: restart,
        ..CheckContext::new(5, end)
    };
    let v = check_pool(&records, &ctx, SimTime::from_secs(2));
    assert!(all_passed(&v), "{v:?}");
    let v = detsim::protocols::discovery::check_all(&records, &ctx);
    assert!(all_passed(&v), "{v:?}");
    let m = pool_metrics(&records, end);
    let total = JOBS_PER_CLIENT * nodes.clients.len() as u64;
    assert_eq!((m.submitted, m.accepted), (total, total), "{m:?}");
    let returned = count(&records, |r| matches!(r.obs, Obs::Pool(PoolObs::Returned { .. })));
    assert_eq!(returned as u64, total);
    // Jobs were accepted both before the crash and after the restart.
    let accepted_at = |lo: SimTime, hi: SimTime| {
        count(&records, |r| {
            (lo..hi).contains(&r.at) && matches!(r.obs, Obs::Pool(PoolObs::Accepted { .. }))
        })
    };
    assert!(accepted_at(SimTime::ZERO, crash) > 0);
    assert!(accepted_at(restart, end) > 0);
    assert_eq!(accepted_at(crash, restart), 0, "nothing is accepted while it is down");

    // The registry forgot the dispatcher and registered it again after the restart.
    let expired = count(
        &records,
        |r| matches!(&r.obs, Obs::Disc(DiscObs::Expired { node, .. }) if *node == d),
    );
    let registered: Vec<SimTime> = records
        .iter()
        .filter(|r| matches!(&r.obs, Obs::Disc(DiscObs::Registered { node, .. }) if *node == d))
        .map(|r| r.at)
        .collect();
    assert!(expired >= 1, "the entry expired while the dispatcher was down");
    assert_eq!(registered.len(), 2, "{registered:?}");
    assert!(registered[1] >= restart);

    // Each worker and client looked the service up again: an empty answer while the
    // dispatcher was gone, then an answer naming it after the restart.
    for &n in nodes.workers.iter().chain(&nodes.clients) {
        let a = answers(&records, n);
        assert!(
            a.iter().any(|(at, m)| (crash..restart).contains(at) && m.is_empty()),
            "node {n}: {a:?}"
        );
        assert!(
            a.iter().any(|(at, m)| *at >= restart && *m == vec![d]),
            "node {n}: {a:?}"
        );
    }
    // Every worker ran jobs after the restart: each found the dispatcher again and said hello.
    for &w in &nodes.workers {
        let after = count(&records, |r| {
            r.node == w && r.at > restart && matches!(r.obs, Obs::Pool(PoolObs::Completed { .. }))
        });
        assert!(after > 0, "worker {w} did no work after the restart");
    }
    assert_ne!(nodes.registry, d);

    // Deterministic.
    assert_eq!(run().3, hash);
}

#[test]
fn discovering_pool_passes_a_nemesis_sweep() {
    // Crashes (registry included), pauses, partitions, clogs and loss bursts in [0, 2 s);
    // healed at 2 s, the run goes on to 8 s. Every seed must accept every job.
    let mut dispatcher_crashes = 0;
    let mut empty_answers = 0;
    for seed in 0..40 {
        let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(seed).max_time(SimTime::from_secs(8)));
        sim.network_mut().unwrap().set_default(link()).unwrap();
        let nodes = discovering_pool(&mut sim);
        let mut targets = nodes.workers.clone();
        targets.extend([nodes.dispatcher, nodes.registry]);
        sim.set_nemesis(NemesisConfig {
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
            pause_rate: 1.0,
            pause_time: DurationRange::new(ms(50), ms(400)),
            clog_rate: 1.0,
            clog_time: DurationRange::new(ms(50), ms(300)),
            ..NemesisConfig::default()
        })
        .unwrap();
        sim.run().unwrap();
        let ctx = CheckContext::after(&sim);
        dispatcher_crashes += sim
            .realized_faults()
            .iter()
            .filter(|f| f.fault == Fault::Crash { node: nodes.dispatcher })
            .count();
        let records = detsim::protocols::records(&sim.history_mut().take());
        let v = check_pool(&records, &ctx, SimTime::from_secs(3));
        assert!(all_passed(&v), "seed {seed}: {v:?}");
        let m = pool_metrics(&records, ctx.end);
        assert_eq!(m.accepted, JOBS_PER_CLIENT * 2, "seed {seed}: {m:?}");
        empty_answers += nodes
            .workers
            .iter()
            .chain(&nodes.clients)
            .map(|&n| answers(&records, n).iter().filter(|(_, m)| m.is_empty()).count())
            .sum::<usize>();
    }
    // The faults bit: the dispatcher crashed, and lookups came back empty at times.
    assert!(dispatcher_crashes > 10, "{dispatcher_crashes}");
    assert!(empty_answers > 0);
}

/// A scenario with a discovering pool; `worker` and `client` are the JSON objects of
/// worker `w1` and client `c1`, minus their `id` and `role`.
fn scenario_text(worker: &str, client: &str) -> String {
    format!(
        r#"{{
  "name": "pool-discovery", "seed": 3, "duration": "6s",
  "network": {{ "default": {{ "latency": {{ "dist": "exponential", "mean": "2ms" }}, "fifo": false }} }},
  "nodes": [
    {{ "id": "registry", "role": "registry" }},
    {{ "id": "dispatcher", "role": "dispatcher", "arrivals": {{ "kind": "clients" }}, "lease": "300ms",
      "register": {{ "registry": "registry", "service": "pool", "ttl": "200ms" }} }},
    {{ "id": "w1", "role": "worker", {worker} }},
    {{ "id": "w2", "role": "worker", "service": {{ "registry": "registry", "service": "pool" }},
      "slots": 2, "service_time": {{ "dist": "pareto", "scale": "5ms", "alpha": 2.5 }}, "heartbeat": "50ms" }},
    {{ "id": "c1", "role": "pool_client", {client} }}
  ],
  "faults": [ {{ "kind": "crash", "at": "500ms", "until": "1.5s", "node": "dispatcher" }} ],
  "checks": {{ "pool_liveness_bound": "3s" }}
}}"#
    )
}

const GOOD_WORKER: &str = r#""service": { "registry": "registry", "service": "pool" }, "slots": 2,
      "service_time": { "dist": "normal", "mean": "10ms", "std_dev": "3ms" }, "heartbeat": "50ms""#;
const GOOD_CLIENT: &str = r#""service": { "registry": "registry", "service": "pool" }, "jobs": 30, "retry": "150ms""#;

#[test]
fn scenario_with_a_discovering_pool_runs_and_passes() {
    let s = parse_scenario(
        &detsim::Protocols::builtin(),
        "pool.json",
        &scenario_text(GOOD_WORKER, GOOD_CLIENT),
    )
    .unwrap();
    let r = run_scenario(&detsim::Protocols::builtin(), &s, 3, None).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"pool.liveness") && names.contains(&"disc.no_stale"),
        "{names:?}"
    );
    // Every job of the client came through the dispatcher's crash.
    assert_eq!(r.metrics["pool"]["accepted"], 30, "{}", r.metrics);
    // A fixed dispatcher still works, side by side with discovering nodes.
    let fixed_worker = GOOD_WORKER.replace(
        r#""service": { "registry": "registry", "service": "pool" }"#,
        r#""dispatcher": "dispatcher""#,
    );
    let s = parse_scenario(
        &detsim::Protocols::builtin(),
        "pool.json",
        &scenario_text(&fixed_worker, GOOD_CLIENT),
    )
    .unwrap();
    let r = run_scenario(&detsim::Protocols::builtin(), &s, 3, None).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.violations);
}

#[test]
fn scenario_validation_names_the_field() {
    let problems = |worker: &str, client: &str| -> Vec<String> {
        match parse_scenario(
            &detsim::Protocols::builtin(),
            "pool.json",
            &scenario_text(worker, client),
        ) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(|p| format!("{}: {}", p.place, p.message)).collect(),
        }
    };
    let st = r#""service_time": { "dist": "constant", "value": "5ms" }"#;
    // Both, or neither, of `dispatcher` and `service`.
    let both =
        format!(r#""dispatcher": "dispatcher", "service": {{ "registry": "registry", "service": "pool" }}, {st}"#);
    let p = problems(&both, GOOD_CLIENT);
    assert!(
        p.iter()
            .any(|m| m.contains("nodes[2]") && m.contains("exactly one of `dispatcher` and `service`")),
        "{p:?}"
    );
    let p = problems(GOOD_WORKER, r#""jobs": 3"#);
    assert!(
        p.iter()
            .any(|m| m.contains("nodes[4]") && m.contains("exactly one of `dispatcher` and `service`")),
        "{p:?}"
    );
    // A service registry that is not a registry; a dispatcher that is not a dispatcher.
    let p = problems(
        &format!(r#""service": {{ "registry": "dispatcher", "service": "pool" }}, {st}"#),
        r#""dispatcher": "w2""#,
    );
    assert!(
        p.iter()
            .any(|m| m.contains("nodes[2].service.registry") && m.contains("expected a registry")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("nodes[4].dispatcher") && m.contains("expected a dispatcher")),
        "{p:?}"
    );
    // The dispatcher's registration is checked like an RPC server's.
    let text = scenario_text(GOOD_WORKER, GOOD_CLIENT).replace(r#""ttl": "200ms""#, r#""ttl": "0s""#);
    let e = parse_scenario(&detsim::Protocols::builtin(), "pool.json", &text).unwrap_err();
    assert!(e.0.iter().any(|p| p.place.contains("nodes[1].register.ttl")), "{e}");
    // A bad service-time distribution is named down to its field.
    let p = problems(
        r#""dispatcher": "dispatcher", "service_time": { "dist": "pareto", "scale": "1ms", "alpha": -1.0 }"#,
        GOOD_CLIENT,
    );
    assert!(p.iter().any(|m| m.contains("nodes[2].service_time.alpha")), "{p:?}");
    // The good text has no problem at all.
    assert_eq!(problems(GOOD_WORKER, GOOD_CLIENT), Vec::<String>::new());
}

#[test]
fn discovery_timer_tags_that_collide_are_typed_errors() {
    let reg = NodeId(0);
    let mut r = ResolverConfig::new(reg, SERVICE);
    r.timer_tag = 1; // the client's RETRY tag
    let c = ClientConfig {
        dispatcher: Target::Service(r.clone()),
        jobs: Some(1),
        think: Dist::constant(SimTime::ZERO),
        retry: ms(100),
    };
    assert!(matches!(client(c), Err(detsim::Error::InvalidParameter(_))));
    r.timer_tag = 5; // a lease number at the worker
    let w = WorkerConfig {
        dispatcher: Target::Service(r),
        ..WorkerConfig::default()
    };
    assert!(matches!(worker(w), Err(detsim::Error::InvalidParameter(_))));
    let mut reg_cfg = RegistrantConfig::new(reg, SERVICE, ms(100));
    reg_cfg.timer_tag = u64::MAX; // the dispatcher's arrival tag
    let d = DispatcherConfig {
        register: Some(reg_cfg),
        ..DispatcherConfig::default()
    };
    assert!(matches!(dispatcher(d), Err(detsim::Error::InvalidParameter(_))));
    // The default tags are fine.
    let ok = WorkerConfig {
        dispatcher: Target::Service(ResolverConfig::new(reg, SERVICE)),
        ..WorkerConfig::default()
    };
    assert!(worker(ok).is_ok());
}
