//! Protocols as plugins: a test-only protocol (a counter service with a planted bug)
//! registered beside a built-in one runs, explores, shrinks and replays through the same
//! library calls the command line makes; check ids cannot drift; the registry refuses
//! what it cannot tell apart and names what it knows.

use detsim::NodeFactory;
use detsim::check::{CheckId, Verdict, Violation};
use detsim::explore::shrink::{ShrinkOptions, shrink_failure};
use detsim::explore::{failure_file, failure_text, parse_failure, replay};
use detsim::plugin::{
    Body, BuildCx, Check, Grid, Line, Observation, Payload, Plot, Problem, Protocol, Protocols, RegistryError, Role,
    RoleDef, ScenarioView, Series, ValidateCx, always,
};
use detsim::run::run_scenario;
use detsim::scenario::parse_scenario;
use detsim::{Ctx, Error, Node, NodeId, Record, StableHash, StableHasher};
use serde::{Deserialize, Serialize};

/// Counter traffic.
#[derive(Clone, Debug)]
enum CounterMsg {
    Add(u64),
    Total(u64),
}

impl StableHash for CounterMsg {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            CounterMsg::Add(n) => {
                h.word(1);
                h.word(*n)
            }
            CounterMsg::Total(n) => {
                h.word(2);
                h.word(*n)
            }
        }
    }
}

/// How the diagram labels counter traffic (through `Protocol::label`).
impl std::fmt::Display for CounterMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CounterMsg::Add(n) => write!(f, "plus {n}"),
            CounterMsg::Total(n) => write!(f, "now {n}"),
        }
    }
}

impl From<CounterMsg> for Payload {
    fn from(m: CounterMsg) -> Payload {
        Payload::new(m)
    }
}

/// What a client saw: the total after its `n`-th add.
#[derive(Clone, Debug)]
struct Seen {
    n: u64,
    total: u64,
}

impl From<Seen> for Observation {
    fn from(o: Seen) -> Observation {
        Observation::new(o)
    }
}

/// Adds what it is sent; with `lose_every`, forgets every so many adds (the planted bug).
struct Counter {
    total: u64,
    adds: u64,
    lose_every: u64,
}

impl Node<Payload, Observation> for Counter {
    fn on_message(&mut self, ctx: &mut Ctx<'_, Payload, Observation>, from: NodeId, m: Payload) {
        if let Some(CounterMsg::Add(n)) = m.downcast_ref::<CounterMsg>() {
            self.adds += 1;
            if self.lose_every == 0 || !self.adds.is_multiple_of(self.lose_every) {
                self.total += n;
            }
            ctx.send(from, CounterMsg::Total(self.total));
        }
    }
}

/// Adds 1, `adds` times, one after another; the only client, so totals count its adds.
struct Adder {
    counter: NodeId,
    adds: u64,
    sent: u64,
}

impl Node<Payload, Observation> for Adder {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Payload, Observation>) {
        self.sent = 1;
        ctx.send(self.counter, CounterMsg::Add(1));
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Payload, Observation>, _: NodeId, m: Payload) {
        if let Some(CounterMsg::Total(t)) = m.downcast_ref::<CounterMsg>() {
            ctx.observe(Seen {
                n: self.sent,
                total: *t,
            });
            if self.sent < self.adds {
                self.sent += 1;
                ctx.send(self.counter, CounterMsg::Add(1));
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterRole {
    #[serde(default)]
    canary_lose_every: u64,
}

impl Role for CounterRole {
    fn build(&self, _: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let lose_every = self.canary_lose_every;
        Ok(Box::new(move || {
            Box::new(Counter {
                total: 0,
                adds: 0,
                lose_every,
            })
        }))
    }
    fn without_canaries(&self) -> Self {
        CounterRole { canary_lose_every: 0 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdderRole {
    counter: String,
    adds: u64,
}

impl Role for AdderRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        cx.expect_role("counter", &self.counter, "counter", out);
        if self.adds == 0 {
            out.push((cx.field("adds"), "must be at least 1".into()));
        }
    }
    fn references(&self) -> Vec<&str> {
        vec![&self.counter]
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let (counter, adds) = (cx.node(&self.counter)?, self.adds);
        Ok(Box::new(move || Box::new(Adder { counter, adds, sent: 0 })))
    }
    fn work(&self) -> Option<u64> {
        Some(self.adds)
    }
    fn set_work(&mut self, n: u64) {
        self.adds = n;
    }
}

const EXACT: CheckId = CheckId::new("counter.exact");

/// The counter protocol: roles `counter` and `adder`, check `counter.exact`.
struct Counting;

impl Protocol for Counting {
    fn name(&self) -> &'static str {
        "counter"
    }
    fn roles(&self) -> Vec<RoleDef> {
        vec![RoleDef::of::<CounterRole>("counter"), RoleDef::of::<AdderRole>("adder")]
    }
    fn checks(&self, _: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
        vec![always(EXACT, |r: &Record<Seen>| {
            if r.obs.total == r.obs.n {
                Ok(())
            } else {
                Err(format!("after {} adds the total is {}", r.obs.n, r.obs.total))
            }
        })]
    }
    fn label(&self, msg: &Payload) -> Option<String> {
        msg.downcast_ref::<CounterMsg>().map(|m| m.to_string())
    }
    fn series(&self, _: &ScenarioView<'_>, grid: Grid) -> Option<Box<dyn Series>> {
        Some(Box::new(TotalSeries {
            grid,
            total: vec![None; grid.len],
        }))
    }
}

/// The report's plot of the totals clients saw (the last per interval).
struct TotalSeries {
    grid: Grid,
    total: Vec<Option<f64>>,
}

impl Series for TotalSeries {
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(seen) = rec.obs.get::<Seen>() {
            self.total[self.grid.bucket(rec.at)] = Some(seen.total as f64);
        }
    }
    fn finish(&mut self) -> Vec<Plot> {
        vec![Plot::new(
            "counter-total",
            "Counter: total seen",
            Body::Levels(vec![Line::new("total", 1, self.total.clone())]),
        )]
    }
}

fn registry() -> Protocols {
    detsim::protocols![Counting, detsim::protocols::Rpc]
}

const SCENARIO: &str = r#"{"name": "counter-and-rpc", "duration": "2s", "nodes": [
    {"id": "k", "role": "counter", "canary_lose_every": 7},
    {"id": "a", "role": "adder", "counter": "k", "adds": 20},
    {"id": "s", "role": "rpc_server"},
    {"id": "c", "role": "rpc_client", "server": "s", "calls": 5}]}"#;

#[test]
fn a_user_protocol_runs_beside_a_built_in_one_through_the_whole_library_path() {
    let p = registry();
    let s = parse_scenario(&p, "counter.json", SCENARIO).unwrap();
    let r = run_scenario(&p, &s, 1, None).unwrap();
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"counter.exact") && names.contains(&"rpc.at_most_once"),
        "{names:?}"
    );
    assert!(r.metrics.get("rpc").is_some(), "{}", r.metrics);
    // The planted bug is found, filed under the user's check, and the RPC checks pass.
    assert!(!r.violations.is_empty());
    assert!(
        r.violations.iter().all(|v| v.check == "counter.exact"),
        "{:?}",
        r.violations
    );
    assert!(
        r.violations[0].message.contains("after 7 adds the total is 6"),
        "{}",
        r.violations[0].message
    );
    // Without the canary it passes.
    let clean = run_scenario(&p, &s.without_canaries(), 1, None).unwrap();
    assert!(clean.violations.is_empty(), "{:?}", clean.violations);

    // A FAILURE file as `explore` writes it reads back, replays and shrinks.
    let f = failure_file(&s, "counter.json", &r).unwrap();
    let text = failure_text(&p, &f).unwrap();
    assert!(
        text.contains(r#""role": "adder""#) && text.contains(r#""canary_lose_every": 7"#),
        "{text}"
    );
    let back = parse_failure(&p, "f.json", &text).unwrap();
    assert_eq!(back, f);
    let again = replay(&p, &back).unwrap();
    assert!(again.same_violation && again.same_hash);
    let (small, shrunk) = shrink_failure(&p, &back, ShrinkOptions::default()).unwrap();
    // The RPC nodes are not needed, and 7 adds are enough.
    let ids: Vec<&str> = small.scenario.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["k", "a"], "{ids:?}");
    assert_eq!(shrunk.after.jobs, 7);
    assert!(replay(&p, &small).unwrap().same_violation);
}

#[test]
fn the_report_labels_a_user_protocols_messages_and_draws_its_plots() {
    let p = registry();
    let s = parse_scenario(&p, "counter.json", SCENARIO).unwrap();
    let r = detsim::report::run_with_report(&p, &s, 1, None, None, "detsim run counter.json").unwrap();
    let html = &r.html;
    // The counter's arrows carry its own labels (its `Display`), not its `Debug`.
    assert!(html.contains(">plus 1<") && html.contains(">now 5<"), "user labels");
    assert!(
        !html.contains(">Add(1)<") && !html.contains(">Total("),
        "no Debug labels"
    );
    // The RPC's arrows keep theirs; each protocol draws its own plots.
    assert!(html.contains(">= "), "RPC replies are labelled as before");
    assert!(html.contains(r#"data-plot="counter-total""#) && html.contains("Counter: total seen"));
    assert!(html.contains(r#"data-plot="rpc-latency""#) && html.contains(r#"data-plot="throughput""#));
}

#[test]
fn the_command_line_runs_a_user_protocol_through_main_with() {
    let dir = std::env::temp_dir().join(format!("detsim-it-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("counter.json");
    std::fs::write(&file, SCENARIO).unwrap();
    let code = detsim::cli::main_from(registry(), ["detsim", "validate", file.to_str().unwrap()]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let code = detsim::cli::main_from(registry(), ["detsim", "run", file.to_str().unwrap(), "--json"]);
    assert_eq!(code, std::process::ExitCode::from(1), "the canary fails its check");
    // The built-ins alone do not know the role.
    let code = detsim::cli::main_from(Protocols::builtin(), ["detsim", "validate", file.to_str().unwrap()]);
    assert_eq!(code, std::process::ExitCode::from(2));
}

#[test]
fn an_unknown_role_lists_the_registered_roles() {
    let text = SCENARIO.replace(r#""role": "adder""#, r#""role": "addr""#);
    let e = parse_scenario(&registry(), "counter.json", &text)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            r#"at nodes[1].role: unknown role "addr": expected one of the roles counter, adder, rpc_server, rpc_client"#
        ),
        "{e}"
    );
    // And an unknown field of a user role lists `id` and the role's fields.
    let text = SCENARIO.replace(r#""adds": 20"#, r#""add": 20"#);
    let e = parse_scenario(&registry(), "counter.json", &text)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("at nodes[1].add: unknown field `add`: expected one of id, counter, adds"),
        "{e}"
    );
}

#[test]
fn a_role_declared_twice_is_refused_at_registration() {
    /// Declares `rpc_server`, as the built-in RPC protocol does.
    struct Impostor;
    impl Protocol for Impostor {
        fn name(&self) -> &'static str {
            "impostor"
        }
        fn roles(&self) -> Vec<RoleDef> {
            vec![RoleDef::of::<CounterRole>("rpc_server")]
        }
        fn checks(&self, _: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
            Vec::new()
        }
    }
    let e = Protocols::try_of(vec![Box::new(detsim::protocols::Rpc), Box::new(Impostor)]).unwrap_err();
    assert_eq!(
        e,
        RegistryError::DuplicateRole {
            role: "rpc_server".into(),
            first: "rpc".into(),
            second: "impostor".into()
        }
    );
    assert!(Protocols::try_of(vec![Box::new(Counting), Box::new(Counting)]).is_err());
    let caught = std::panic::catch_unwind(|| detsim::protocols![detsim::protocols::Rpc, Impostor]);
    assert!(caught.is_err(), "the macro refuses it too");
}

#[test]
fn a_checks_violations_are_filed_under_its_own_id() {
    /// A check that (wrongly) names another check in its verdict and violations.
    struct Mislabelled;
    impl Check for Mislabelled {
        fn id(&self) -> CheckId {
            EXACT
        }
        fn observe(&mut self, _: &Record<Observation>) {}
        fn verdict(&mut self, cx: &detsim::check::CheckContext) -> Option<Verdict> {
            let other = CheckId::new("rpc.at_most_once");
            let v = Violation::new(other, "boom".into(), cx.end, cx, Vec::new());
            Some(Verdict::judged(other, vec![v]))
        }
    }
    struct Lying;
    impl Protocol for Lying {
        fn name(&self) -> &'static str {
            "counter"
        }
        fn roles(&self) -> Vec<RoleDef> {
            vec![RoleDef::of::<CounterRole>("counter"), RoleDef::of::<AdderRole>("adder")]
        }
        fn checks(&self, _: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
            vec![Box::new(Mislabelled)]
        }
    }
    let p = detsim::protocols![Lying];
    let text = r#"{"name": "lying", "duration": "1s", "nodes": [
        {"id": "k", "role": "counter"}, {"id": "a", "role": "adder", "counter": "k", "adds": 2}]}"#;
    let s = parse_scenario(&p, "lying.json", text).unwrap();
    let r = run_scenario(&p, &s, 1, None).unwrap();
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["counter.exact"]);
    assert_eq!(r.violations.len(), 1);
    assert_eq!(r.violations[0].check, EXACT);
    // Turned off by its protocol's switch, it does not run.
    let off = parse_scenario(
        &p,
        "lying.json",
        &text.replace(r#""nodes""#, r#""checks": {"counter": false}, "nodes""#),
    )
    .unwrap();
    assert!(run_scenario(&p, &off, 1, None).unwrap().checks.is_empty());
}
