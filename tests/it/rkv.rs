//! The replicated key-value store (`rkv`): explore finds each canary within 1,000 seeds
//! and only because of its bug, `detsim shrink` makes it small, and the HTML report of the
//! shrunk failure shows the operation that cannot be placed; without canaries the
//! scenarios pass a sweep under their nemesis (2,000 seeds each behind `#[ignore]`:
//! `cargo test --release --test it rkv:: -- --ignored`); the linearizability check is not
//! its own oracle and never passes a run in which no operation returned.

use std::path::PathBuf;

use detsim::check::{CheckContext, Status};
use detsim::explore::shrink::Sizes;
use detsim::plugin::Check;
use detsim::protocols::replicated_kv::{ClientOp, KvOp, LINEARIZABLE, Linearizable, MAX_STEPS, judge_linearizable};
use detsim::run::run_scenario;
use detsim::scenario::{Scenario, load_scenario, parse_scenario};
use detsim::{NodeId, Protocols, SimTime};

use crate::scenarios::{detsim, scenario};
use crate::support::tempdir;
use crate::sweep_support::read_failure;

/// The canary scenarios, the first seed `explore` finds failing `rkv.linearizable`, and
/// the scenario file's own seed (the same).
const CANARIES: [(&str, u64); 2] = [("rkv_stale_read_canary", 16), ("rkv_lost_write_canary", 19)];

fn load(name: &str) -> Scenario {
    load_scenario(&Protocols::builtin(), &PathBuf::from(scenario(name))).unwrap()
}

/// Is `check` judged and passed in a run of `s` at `seed`?
fn status(s: &Scenario, seed: u64, check: &str) -> Status {
    let r = run_scenario(&Protocols::builtin(), s, seed, None).unwrap();
    r.checks.iter().find(|c| c.name == check).unwrap().status
}

#[test]
fn explore_finds_each_canary_only_because_of_its_bug() {
    for (name, first) in CANARIES {
        let s = load(name);
        assert_eq!(s.seed, first, "{name}: the file's seed is its first failing seed");
        let clean = s.without_canaries();
        // Every seed before the first failing one passes, with the canary and without;
        // the failing seed passes without the canary.
        for seed in 0..first {
            assert_eq!(status(&s, seed, "rkv.linearizable"), Status::Pass, "{name} seed {seed}");
        }
        assert_eq!(
            status(&s, first, "rkv.linearizable"),
            Status::Fail,
            "{name} seed {first}"
        );
        assert_eq!(
            status(&clean, first, "rkv.linearizable"),
            Status::Pass,
            "{name} seed {first} without its canary"
        );
        assert_eq!(status(&clean, first, "rkv.progress"), Status::Pass, "{name}");
    }
}

/// `detsim explore` over 0..1000 stops at the first failing seed; `detsim shrink` makes it
/// at most 3 faults and 6 operations; `detsim replay --report` of the shrunk failure
/// shows the operation that cannot be placed.
#[test]
fn explore_and_shrink_each_canary_small_with_a_report_showing_the_illegal_operation() {
    for (name, first) in CANARIES {
        let dir = tempdir(&format!("rkv-{name}"));
        let out_dir = dir.join("failures");
        let out = detsim(&[
            "explore",
            &scenario(name),
            "--seeds",
            "0..1000",
            "--jobs",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let found: Vec<PathBuf> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        let failure = read_failure(&found[0]);
        assert_eq!((failure.seed, failure.check.as_str()), (first, "rkv.linearizable"));
        let small = dir.join("small.json");
        let out = detsim(&["shrink", found[0].to_str().unwrap(), "-o", small.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = read_failure(&small);
        let sizes = Sizes::of(&after.scenario);
        eprintln!("{name}: shrunk from seed {first} to {sizes}");
        assert!(sizes.faults <= 3, "{name}: {sizes}");
        assert!(sizes.jobs <= 6, "{name}: {sizes}");
        assert_eq!((after.seed, after.check.as_str()), (first, "rkv.linearizable"));
        assert!(after.message.contains("cannot be placed"), "{}", after.message);
        // The report of the shrunk failure shows the operation that cannot be placed.
        let html = dir.join("small.html");
        let out = detsim(&["replay", small.to_str().unwrap(), "--report", html.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let page = std::fs::read_to_string(&html).unwrap();
        let op = after.message.split(" by ").next().unwrap();
        let escaped = op
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(page.contains(&escaped), "{name}: the report lacks {escaped:?}");
        assert!(page.contains("cannot be placed"));
    }
}

/// The three KV scenarios without canaries pass both checks on `seeds`.
fn sweep(seeds: std::ops::Range<u64>) {
    for name in ["rkv_nemesis", "rkv_stale_read_canary", "rkv_lost_write_canary"] {
        let s = load(name).without_canaries();
        let (mut ops, mut faulted) = (0, 0);
        for seed in seeds.clone() {
            let r = run_scenario(&Protocols::builtin(), &s, seed, None).unwrap();
            let statuses: Vec<_> = r.checks.iter().map(|c| (c.name.as_str(), c.status)).collect();
            assert_eq!(
                statuses,
                [("rkv.linearizable", Status::Pass), ("rkv.progress", Status::Pass)],
                "{name} seed {seed}: {:?}",
                r.violations
            );
            ops += r.metrics["rkv"]["ok"].as_u64().unwrap();
            faulted += u64::from(!r.faults.is_empty());
        }
        let n = seeds.end - seeds.start;
        assert!(ops >= 10 * n, "{name}: operations returned");
        assert!(
            faulted * 10 >= n * 9,
            "{name}: the nemesis acted in {faulted} of {n} runs"
        );
    }
}

#[test]
fn without_canaries_the_kv_scenarios_pass_a_small_sweep() {
    sweep(0..30);
}

/// `cargo test --release --test it rkv:: -- --ignored`
#[test]
#[ignore]
fn without_canaries_the_kv_scenarios_pass_2000_seeds() {
    sweep(0..2000);
}

fn op(node: u32, seq: u64, op: KvOp, call: u64, ret: u64, value: Option<&str>) -> ClientOp {
    ClientOp {
        node: NodeId(node),
        seq,
        op,
        call: SimTime::from_millis(call),
        ret: Some((SimTime::from_millis(ret), value.map(str::to_string))),
        gave_up: None,
    }
}

fn cx() -> CheckContext {
    CheckContext {
        names: vec!["c1".into(), "c2".into()],
        ..CheckContext::new(7, SimTime::from_secs(1))
    }
}

#[test]
fn the_linearizability_check_never_passes_a_run_in_which_no_operation_returned() {
    // Fed nothing at all: not judged.
    let mut c = Linearizable::new(MAX_STEPS);
    let v = c.verdict(&cx()).unwrap();
    assert_eq!(v.status(), Status::NotJudged, "{v:?}");
    assert!(v.not_judged.unwrap().contains("no client operation"));
    // Operations that never returned (unknown outcomes): trivially linearizable, but
    // nothing was judged.
    let mut open = op(0, 1, KvOp::Get { key: 0 }, 1, 2, None);
    open.ret = None;
    open.gave_up = Some(SimTime::from_millis(5));
    let v = judge_linearizable(&[open], MAX_STEPS, &cx());
    assert_eq!(v.status(), Status::NotJudged, "{v:?}");
    // Only writes returned (no read returned a value): writes fit any order, so this
    // judged nothing either.
    let writes = [
        op(
            0,
            1,
            KvOp::Append {
                key: 0,
                value: "a".into(),
            },
            1,
            2,
            None,
        ),
        op(
            1,
            1,
            KvOp::Put {
                key: 0,
                value: "b".into(),
            },
            1,
            3,
            None,
        ),
    ];
    let v = judge_linearizable(&writes, MAX_STEPS, &cx());
    assert_eq!(v.status(), Status::NotJudged, "{v:?}");
    assert!(v.not_judged.unwrap().contains("no read returned"));
    // A scenario whose clients cannot reach any replica: not judged, not a pass.
    let text = r#"{"name": "cut-off", "duration": "3s", "nodes": [
        {"id": "r1", "role": "rkv_replica", "peers": ["r2", "r3"]},
        {"id": "r2", "role": "rkv_replica", "peers": ["r1", "r3"]},
        {"id": "r3", "role": "rkv_replica", "peers": ["r1", "r2"]},
        {"id": "c1", "role": "rkv_client", "replicas": ["r1", "r2", "r3"], "ops": 3, "max_attempts": 3}],
        "faults": [{"kind": "partition", "at": "0s", "groups": [["r1", "r2", "r3"], ["c1"]]}]}"#;
    let s = parse_scenario(&Protocols::builtin(), "cut-off.json", text).unwrap();
    assert_eq!(status(&s, 1, "rkv.linearizable"), Status::NotJudged);
}

#[test]
fn the_linearizability_check_is_not_its_own_oracle() {
    // A sequential history whose reads are what the store's own state machine gives:
    // the independent Kv model agrees (linearizable).
    let mut sm = detsim::protocols::replicated_kv::StateMachine::new();
    let writes = [
        KvOp::Put {
            key: 0,
            value: "a".into(),
        },
        KvOp::Append {
            key: 0,
            value: "b".into(),
        },
        KvOp::Append {
            key: 1,
            value: "x".into(),
        },
    ];
    let mut ops = Vec::new();
    let mut t = 0;
    for (i, w) in writes.iter().enumerate() {
        let seq = i as u64 + 1;
        sm.apply(&detsim::protocols::replicated_kv::Command {
            client: NodeId(0),
            seq,
            op: w.clone(),
        });
        ops.push(op(0, seq, w.clone(), t, t + 1, None));
        ops.push(op(1, seq, KvOp::Get { key: 0 }, t + 2, t + 3, Some(sm.get(0))));
        t += 10;
    }
    assert_eq!(judge_linearizable(&ops, MAX_STEPS, &cx()).status(), Status::Pass);
    // A read of a value never written, which a state machine bug could produce and
    // "agree" with itself: the model catches it and names the operation.
    ops[3] = op(1, 2, KvOp::Get { key: 0 }, 12, 13, Some("ba"));
    let v = judge_linearizable(&ops, MAX_STEPS, &cx());
    assert_eq!(v.status(), Status::Fail);
    let m = &v.violations[0].message;
    assert!(m.starts_with("get k0 -> \"ba\" by c2 (operation 2"), "{m}");
    assert!(m.contains("on key k0") && m.contains("could only be \"ab\""), "{m}");
    assert_eq!(v.violations[0].check, LINEARIZABLE);
    assert_eq!(
        (v.violations[0].at, v.violations[0].events[0].node),
        (SimTime::from_millis(13), NodeId(1))
    );
    // A stale read: the value before an append that returned before the read began.
    ops[3] = op(1, 2, KvOp::Get { key: 0 }, 12, 13, Some("a"));
    assert_eq!(judge_linearizable(&ops, MAX_STEPS, &cx()).status(), Status::Fail);
}
