//! RPC protocol: exact results, retries and failures, at-most-once across duplication and
//! restarts, checkers on crafted histories, metrics, and the seed sweeps (correct
//! protocol passes every seed; the no-dedupe canary is caught).

use std::cell::RefCell;
use std::rc::Rc;

use detsim::Touch;
use detsim::check::{CheckContext, Status, all_passed};
use detsim::protocols::Obs;
use detsim::protocols::rpc::Calls;
use detsim::protocols::rpc::{
    AppError, CallError, Pacing, Request, RetryPolicy, RpcClientConfig, RpcObs, RpcServerConfig, Target, Workload,
    client, server,
};
use detsim::protocols::rpc::{RpcMetrics, RpcSummary};
use detsim::protocols::rpc::{check_all, check_at_most_once, check_deposits, check_liveness, check_results};
use detsim::{
    DurationRange, Fault, Latency, LinkConfig, NemesisConfig, NodeId, Record, SimConfig, SimTime, Simulation,
};

type Sim = Simulation<detsim::Payload, detsim::Observation>;

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// A finished run: its records, check context, trace hash and streamed metrics.
struct Run {
    records: Vec<Record<Obs>>,
    ctx: CheckContext,
    hash: u64,
    metrics: RpcSummary,
}

fn finish(mut sim: Sim, metrics: Rc<RefCell<RpcMetrics>>) -> Run {
    sim.run().unwrap();
    let ctx = CheckContext::after(&sim);
    let hash = sim.trace_hash();
    let records = detsim::protocols::records(&sim.history_mut().take());
    let metrics = metrics.borrow().summary();
    Run {
        records,
        ctx,
        hash,
        metrics,
    }
}

fn with_metrics(sim: &mut Sim) -> Rc<RefCell<RpcMetrics>> {
    let m = Rc::new(RefCell::new(RpcMetrics::new()));
    let m2 = m.clone();
    sim.history_mut()
        .set_observer(Box::new(move |r| m2.borrow_mut().observe(r)));
    m
}

/// One server (n0) and two clients (n1, n2), 30 calls each every 100 ms; with `faults`,
/// a random nemesis (crashes, pauses, partitions, clogs, loss and duplication bursts)
/// over all three nodes until 2.5 s.
fn sweep_run(seed: u64, dedupe: bool, faults: bool) -> Run {
    let mut sim = Sim::new(SimConfig::new(seed).max_time(SimTime::from_secs(20)));
    let metrics = with_metrics(&mut sim);
    sim.network_mut()
        .unwrap()
        .set_default(LinkConfig {
            latency: Latency::Exponential { mean: ms(2) },
            drop: 0.0,
            duplicate: 0.02,
            fifo: false,
        })
        .unwrap();
    let srv = sim
        .add_node(
            "server",
            server(RpcServerConfig {
                dedupe,
                ..RpcServerConfig::new()
            }),
        )
        .unwrap();
    for name in ["c1", "c2"] {
        let cfg = RpcClientConfig::new(Target::Fixed(srv), Workload::generated(30, ms(100)));
        sim.add_node(name, client(cfg).unwrap()).unwrap();
    }
    if faults {
        let d = |a, b| DurationRange::new(ms(a), ms(b));
        sim.set_nemesis(NemesisConfig {
            start: ms(50),
            stop: ms(2500),
            targets: vec![NodeId(0), NodeId(1), NodeId(2)],
            crash_rate: 0.8,
            downtime: d(100, 600),
            pause_rate: 0.5,
            pause_time: d(50, 300),
            partition_rate: 1.0,
            partition_time: d(100, 500),
            clog_rate: 0.3,
            clog_time: d(50, 300),
            loss_rate: 1.0,
            loss_time: d(100, 500),
            burst_drop: 0.3,
            burst_duplicate: 0.3,
            max_down: 1,
            ..NemesisConfig::default()
        })
        .unwrap();
    }
    finish(sim, metrics)
}

fn oks(records: &[Record<Obs>]) -> Vec<(u64, Request, Result<u64, AppError>)> {
    records
        .iter()
        .filter_map(|r| match &r.obs {
            Obs::Rpc(RpcObs::Ok { call, req, reply, .. }) => Some((*call, *req, *reply)),
            _ => None,
        })
        .collect()
}

fn count(records: &[Record<Obs>], f: impl Fn(&RpcObs) -> bool) -> usize {
    records.iter().filter(|r| matches!(&r.obs, Obs::Rpc(o) if f(o))).count()
}

#[test]
fn scripted_calls_return_exact_results_and_errors() {
    let mut sim = Sim::new(SimConfig::new(1));
    let metrics = with_metrics(&mut sim);
    let srv = sim.add_node("server", server(RpcServerConfig::new())).unwrap();
    let script = vec![
        Request::Multiply { a: 6, b: 7 },
        Request::Multiply { a: u64::MAX, b: 2 },
        Request::Divide { a: 100, b: 7 },
        Request::Divide { a: 1, b: 0 },
        Request::Deposit { account: 3, amount: 5 },
        Request::Deposit { account: 3, amount: 7 },
        Request::Deposit {
            account: 3,
            amount: u64::MAX,
        },
        Request::Deposit { account: 1, amount: 9 },
    ];
    let cfg = RpcClientConfig::new(
        Target::Fixed(srv),
        Workload {
            calls: Calls::Script(script.clone()),
            pacing: Pacing::ClosedLoop { think: ms(1) },
            start_after: ms(1),
        },
    );
    sim.add_node("client", client(cfg).unwrap()).unwrap();
    let run = finish(sim, metrics);
    let got: Vec<_> = oks(&run.records).into_iter().map(|(_, _, r)| r).collect();
    assert_eq!(
        got,
        vec![
            Ok(42),
            Err(AppError::Overflow),
            Ok(14),
            Err(AppError::DivideByZero),
            Ok(5),
            Ok(12),
            Err(AppError::Overflow),
            Ok(9)
        ]
    );
    assert!(all_passed(&check_all(&run.records, &run.ctx)));
    assert_eq!(run.metrics.ok, 8);
    assert_eq!(run.metrics.app_errors, 3);
    assert_eq!(run.metrics.failed, 0);
    assert_eq!(run.metrics.retries, 0);
    // Closed loop, 1 ms each way, no faults: every call takes exactly 2 ms (to 0.1 %).
    assert_eq!(run.metrics.latency.count, 8);
    let l = run.metrics.latency;
    assert!(
        l.p50_ns.abs_diff(2_000_000) <= 2_000 && l.max_ns == 2_000_000 && l.mean_ns == 2e6,
        "{l:?}"
    );
}

#[test]
fn call_to_a_dead_server_fails_after_its_retry_budget() {
    let mut sim = Sim::new(SimConfig::new(2));
    let metrics = with_metrics(&mut sim);
    let srv = sim.add_node("server", server(RpcServerConfig::new())).unwrap();
    let mut cfg = RpcClientConfig::new(
        Target::Fixed(srv),
        Workload {
            calls: Calls::Script(vec![Request::Multiply { a: 2, b: 3 }]),
            pacing: Pacing::ClosedLoop { think: ms(1) },
            start_after: ms(10),
        },
    );
    cfg.retry = RetryPolicy {
        timeout: ms(50),
        max_attempts: 4,
        backoff_base: ms(20),
        backoff_max: ms(50),
    };
    let budget = cfg.retry.budget();
    assert_eq!(budget, ms(4 * 50 + 20 + 40 + 50));
    sim.add_node("client", client(cfg).unwrap()).unwrap();
    sim.schedule(ms(1), Fault::Crash { node: srv }).unwrap();
    let run = finish(sim, metrics);
    let fail = run
        .records
        .iter()
        .find_map(|r| match &r.obs {
            Obs::Rpc(RpcObs::Fail { error, invoked_at, .. }) => Some((r.at, *invoked_at, error.clone())),
            _ => None,
        })
        .expect("the call fails");
    assert_eq!(fail.2, CallError::RetriesExhausted { attempts: 4, sent: 4 });
    let took = fail.0 - fail.1;
    // 4 timeouts plus backoffs drawn in [cap/2, cap]: 10+20+25 ..= 20+40+50.
    assert!(took >= ms(200 + 55) && took <= budget, "took {took:?}");
    assert_eq!(count(&run.records, |o| matches!(o, RpcObs::Attempt { .. })), 4);
    assert_eq!(run.metrics.failed, 1);
    assert_eq!(run.metrics.retries, 3);
    // The server crashed for good: the run never healed, so the failed call is undone
    // work the run cannot judge (not a pass, not a violation), and the reason says why.
    let v = check_liveness(&run.records, &run.ctx);
    assert_eq!(v.status(), Status::NotJudged, "{v:?}");
    let why = v.not_judged.unwrap();
    assert!(
        why.starts_with("server crashed at 1ms and never restarted; 1 call undone"),
        "{why}"
    );
    // Restarted (healed at 1 s, long after): the call failed while the fault was in force, excused.
    let healed = CheckContext {
        unhealed: vec![],
        heal_at: SimTime::from_secs(1),
        fault_periods: vec![(ms(1), SimTime::from_secs(1))],
        fault_spans: vec![(ms(1), SimTime::from_secs(1), Touch::Node(srv))],
        ..run.ctx.clone()
    };
    assert!(check_liveness(&run.records, &healed).passed());
    // Had the run healed before the call was invoked, its failure breaks liveness.
    let early = CheckContext {
        unhealed: vec![],
        heal_at: SimTime::ZERO,
        first_fault_at: None,
        fault_periods: vec![],
        fault_spans: vec![],
        ..run.ctx.clone()
    };
    let v = check_liveness(&run.records, &early).violations;
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].check, "rpc.liveness");
    assert_eq!(v[0].events.len(), 2);
}

/// Every message is duplicated and half the replies are lost, and the server crashes and
/// restarts in the middle: with dedupe each call executes exactly once; without, some
/// execute twice and the checker says which.
fn duplicating_run(dedupe: bool) -> Run {
    let mut sim = Sim::new(SimConfig::new(3).max_time(SimTime::from_secs(30)));
    let metrics = with_metrics(&mut sim);
    sim.network_mut()
        .unwrap()
        .set_default(LinkConfig {
            latency: Latency::Uniform {
                min: ms(1),
                max: ms(30),
            },
            drop: 0.0,
            duplicate: 1.0,
            fifo: false,
        })
        .unwrap();
    let srv = sim
        .add_node(
            "server",
            server(RpcServerConfig {
                dedupe,
                ..RpcServerConfig::new()
            }),
        )
        .unwrap();
    let cfg = RpcClientConfig::new(Target::Fixed(srv), Workload::generated(40, ms(20)));
    let cl = sim.add_node("client", client(cfg).unwrap()).unwrap();
    let lossy = LinkConfig {
        latency: Latency::Uniform {
            min: ms(1),
            max: ms(30),
        },
        drop: 0.5,
        duplicate: 1.0,
        fifo: false,
    };
    sim.network_mut().unwrap().set_link(srv, cl, lossy).unwrap();
    sim.schedule(ms(300), Fault::Crash { node: srv }).unwrap();
    sim.schedule(ms(400), Fault::Restart { node: srv }).unwrap();
    finish(sim, metrics)
}

#[test]
fn dedupe_survives_duplication_loss_and_restart() {
    let run = duplicating_run(true);
    assert!(all_passed(&check_all(&run.records, &run.ctx)));
    let ok = run.metrics.ok as usize;
    assert!(ok >= 30, "{:?}", run.metrics);
    assert!(run.metrics.retries > 10, "{:?}", run.metrics);
    // Each call executed at most once: executions never exceed distinct invoked calls.
    assert!(run.metrics.executed <= run.metrics.invoked);
    // Durable state: the deposits after the restart continue the balances from before it.
    assert!(check_deposits(&run.records, &run.ctx).is_empty());

    let canary = duplicating_run(false);
    let v = check_at_most_once(&canary.records, &canary.ctx);
    assert!(!v.is_empty(), "no-dedupe server not caught");
    assert!(v.iter().all(|v| v.check == "rpc.at_most_once" && v.events.len() >= 2));
    assert!(canary.metrics.executed > canary.metrics.invoked);
}

#[test]
fn same_seed_same_trace_and_metrics() {
    let a = sweep_run(17, true, true);
    let b = sweep_run(17, true, true);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.records, b.records);
    assert_eq!(a.metrics, b.metrics);
    assert_ne!(a.hash, sweep_run(18, true, true).hash);
}

#[test]
fn metrics_agree_with_the_history() {
    let run = sweep_run(5, true, true);
    let m = &run.metrics;
    assert_eq!(
        m.invoked as usize,
        count(&run.records, |o| matches!(o, RpcObs::Invoke { .. }))
    );
    assert_eq!(m.ok as usize, count(&run.records, |o| matches!(o, RpcObs::Ok { .. })));
    assert_eq!(
        m.failed as usize,
        count(&run.records, |o| matches!(o, RpcObs::Fail { .. }))
    );
    assert_eq!(
        m.executed as usize,
        count(&run.records, |o| matches!(o, RpcObs::Executed { .. }))
    );
    assert_eq!(m.latency.count, m.ok);
    let retries: u64 = run
        .records
        .iter()
        .filter_map(|r| match &r.obs {
            Obs::Rpc(RpcObs::Ok { attempts, .. } | RpcObs::Fail { attempts, .. }) => Some(*attempts as u64 - 1),
            _ => None,
        })
        .sum();
    assert_eq!(m.retries, retries);
    let mut lat: Vec<u64> = run
        .records
        .iter()
        .filter_map(|r| match &r.obs {
            Obs::Rpc(RpcObs::Ok { invoked_at, .. }) => Some((r.at - *invoked_at).0),
            _ => None,
        })
        .collect();
    lat.sort();
    let exact_max = *lat.last().unwrap();
    let exact_p50 = lat[(lat.len() - 1) / 2];
    // The max and the mean are exact; percentiles are within the histogram's precision.
    assert_eq!(m.latency.max_ns, exact_max, "{m:?}");
    let exact_mean = lat.iter().map(|&x| x as f64).sum::<f64>() / lat.len() as f64;
    assert!((m.latency.mean_ns - exact_mean).abs() < 1e-3, "{m:?} vs {exact_mean}");
    assert!(
        m.latency.p50_ns.abs_diff(exact_p50) <= exact_p50 / 100 + 1,
        "{m:?} vs {exact_p50}"
    );
    assert!(
        m.latency.p50_ns <= m.latency.p90_ns
            && m.latency.p90_ns <= m.latency.p99_ns
            && m.latency.p99_ns <= m.latency.max_ns
    );
}

fn rec(at_ms: u64, node: u32, o: RpcObs) -> Record<Obs> {
    Record {
        at: ms(at_ms),
        node: NodeId(node),
        obs: Obs::Rpc(o),
    }
}

fn ctx0() -> CheckContext {
    CheckContext {
        heal_at: ms(100),
        first_fault_at: Some(ms(50)),
        ..CheckContext::new(9, ms(10_000))
    }
}

#[test]
fn checkers_flag_crafted_bad_histories() {
    let c = NodeId(1);
    let req = Request::Multiply { a: 3, b: 4 };
    let bad = vec![
        rec(
            1,
            1,
            RpcObs::Ok {
                call: 0,
                req,
                reply: Ok(13),
                server: NodeId(0),
                attempts: 1,
                invoked_at: ms(0),
            },
        ),
        rec(
            2,
            0,
            RpcObs::Executed {
                client: c,
                call: 1,
                req: Request::Divide { a: 4, b: 0 },
                reply: Ok(0),
            },
        ),
    ];
    let v = check_results(&bad, &ctx0());
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|v| v.check == "rpc.correct_result" && v.seed == 9));
    assert!(v[0].message.contains("expected 12"), "{}", v[0].message);

    let dep = |call, amount, reply| RpcObs::Executed {
        client: c,
        call,
        req: Request::Deposit { account: 0, amount },
        reply,
    };
    let deposits = vec![
        rec(1, 0, dep(0, 5, Ok(5))),
        rec(2, 0, dep(1, 5, Ok(11))), // should be 10
        rec(
            3,
            1,
            RpcObs::Ok {
                call: 0,
                req: Request::Deposit { account: 0, amount: 5 },
                reply: Ok(6), // the server said 5
                server: NodeId(0),
                attempts: 1,
                invoked_at: ms(0),
            },
        ),
    ];
    let v = check_deposits(&deposits, &ctx0());
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|v| v.check == "rpc.deposit_consistency"));
    assert_eq!(v[0].at, ms(2));

    // The same deposit executed on two servers is one too many; a multiply on two
    // servers is a legitimate retry elsewhere.
    let twice = vec![
        rec(1, 0, dep(7, 5, Ok(5))),
        rec(2, 2, dep(7, 5, Ok(5))),
        rec(
            3,
            0,
            RpcObs::Executed {
                client: c,
                call: 8,
                req,
                reply: Ok(12),
            },
        ),
        rec(
            4,
            2,
            RpcObs::Executed {
                client: c,
                call: 8,
                req,
                reply: Ok(12),
            },
        ),
    ];
    let v = check_at_most_once(&twice, &ctx0());
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!((v[0].at, v[0].events.len()), (ms(2), 2));

    // Invoked after heal and never answered within its budget.
    let hung = vec![rec(
        200,
        1,
        RpcObs::Invoke {
            call: 3,
            req,
            budget: ms(500),
        },
    )];
    let v = check_liveness(&hung, &ctx0()).violations;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].at, ms(700));
    let short = CheckContext { end: ms(600), ..ctx0() };
    let v = check_liveness(&hung, &short);
    assert_eq!(
        v.status(),
        Status::NotJudged,
        "budget not over at the end of the run: {v:?}"
    );
    assert!(v.not_judged.unwrap().contains("due only at 700ms: run longer"));
    // Nothing left to happen (quiescent) and healed: it never will be answered.
    let quiet = CheckContext {
        quiescent: true,
        ..short
    };
    assert_eq!(check_liveness(&hung, &quiet).violations.len(), 1);
}

#[test]
fn bad_client_settings_are_typed_errors() {
    let mut cfg = RpcClientConfig::new(Target::Fixed(NodeId(0)), Workload::generated(1, ms(1)));
    cfg.retry.max_attempts = 0;
    assert!(matches!(client(cfg.clone()), Err(detsim::Error::InvalidParameter(_))));
    cfg.retry.max_attempts = 1;
    cfg.workload.pacing = Pacing::Interval(SimTime::ZERO);
    assert!(client(cfg).is_err());
}

/// The seed sweep: the correct protocol passes every check on all 200 seeds under a
/// random nemesis; the no-dedupe canary is caught by `rpc.at_most_once` on some seed.
#[test]
fn sweep_correct_passes_and_no_dedupe_canary_is_caught() {
    let mut caught = Vec::new();
    let mut ok_calls = 0;
    let (mut failed, mut retries) = (0, 0);
    for seed in 0..200 {
        let run = sweep_run(seed, true, true);
        let v = check_all(&run.records, &run.ctx);
        assert!(all_passed(&v), "seed {seed}: {v:#?}");
        assert!(run.ctx.heal_at > SimTime::ZERO, "seed {seed}: no fault injected");
        ok_calls += run.metrics.ok;
        failed += run.metrics.failed;
        retries += run.metrics.retries;
        let canary = sweep_run(seed, false, true);
        if !check_at_most_once(&canary.records, &canary.ctx).is_empty() {
            caught.push(seed);
        }
    }
    assert!(ok_calls > 200 * 40, "too few calls succeeded: {ok_calls}");
    // The faults bite: calls before the heal failed and were retried; the canary is
    // caught on most seeds (198 of 200 when written).
    assert!(failed > 0 && retries > 1000, "failed {failed}, retries {retries}");
    assert!(caught.len() >= 150, "caught on {} seeds only: {caught:?}", caught.len());
    assert!(!caught.is_empty(), "the no-dedupe canary was never caught");
    assert_eq!(
        caught.first(),
        Some(&FIRST_SEED_CATCHING_NO_DEDUPE),
        "caught on {caught:?}"
    );
}

/// Pinned so that a change in what the sweep explores is noticed (update deliberately).
const FIRST_SEED_CATCHING_NO_DEDUPE: u64 = 0;
