//! Protocols as plugins. A protocol ([`Protocol`]) names its node roles, each configured
//! by a plain serde struct ([`Role`]), and brings its checks ([`Check`], typed by
//! [`CheckId`]), its metrics ([`Metrics`]), its report plots ([`Series`]) and its diagram
//! labels. Registered in a
//! [`Protocols`] (with [`crate::protocols!`]), it gets everything detsim does with a
//! scenario file: `run`, `validate`, `explore` (with `--jobs`/`--shard` and FAILURE
//! files), `replay`, `shrink`, `bench` and the HTML `--report` - the built-in protocols
//! ([`crate::protocols::Rpc`], [`crate::protocols::WorkerPool`],
//! [`crate::protocols::Discovery`]) are registered the same way.
//!
//! Scenario runs use one erased message type, [`Payload`], and one erased observation
//! type, [`Observation`], so that protocols compose in one simulation.
//!
//! ## A protocol of your own, with the whole command line
//!
//! ```
//! use detsim::check::CheckId;
//! use detsim::plugin::{always, BuildCx, Check, Observation, Payload, Problem, Protocol, Protocols,
//!                      Role, RoleDef, ScenarioView, ValidateCx};
//! use detsim::{Ctx, Error, Node, NodeId, StableHash, StableHasher};
//! use serde::{Deserialize, Serialize};
//!
//! /// Messages: a number to double, and the answer.
//! #[derive(Clone, Debug)]
//! enum Dbl { Ask(u64), Answer(u64) }
//! impl StableHash for Dbl {
//!     fn stable_hash(&self, h: &mut StableHasher) {
//!         match self { Dbl::Ask(n) => { h.word(1); h.word(*n) } Dbl::Answer(n) => { h.word(2); h.word(*n) } }
//!     }
//! }
//! impl From<Dbl> for Payload { fn from(m: Dbl) -> Payload { Payload::new(m) } }
//! /// What the client saw.
//! #[derive(Clone, Debug)]
//! struct Answered(u64);
//! impl From<Answered> for Observation { fn from(o: Answered) -> Observation { Observation::new(o) } }
//!
//! struct Doubler;
//! impl Node<Payload, Observation> for Doubler {
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Payload, Observation>, from: NodeId, m: Payload) {
//!         if let Some(Dbl::Ask(n)) = m.downcast_ref::<Dbl>() { ctx.send(from, Dbl::Answer(n * 2)) }
//!     }
//! }
//! struct Asker { server: NodeId, count: u64 }
//! impl Node<Payload, Observation> for Asker {
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, Payload, Observation>) {
//!         (1..=self.count).for_each(|n| ctx.send(self.server, Dbl::Ask(n)));
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Payload, Observation>, _: NodeId, m: Payload) {
//!         if let Some(Dbl::Answer(n)) = m.downcast_ref::<Dbl>() { ctx.observe(Answered(*n)) }
//!     }
//! }
//!
//! /// The roles' configs: what a node says in the scenario file besides `id` and `role`.
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct DoublerRole {}
//! impl Role for DoublerRole {
//!     fn build(&self, _: &BuildCx<'_>) -> Result<detsim::NodeFactory<Payload, Observation>, Error> {
//!         Ok(Box::new(|| Box::new(Doubler)))
//!     }
//! }
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct AskerRole { server: String, count: u64 }
//! impl Role for AskerRole {
//!     fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
//!         cx.expect_role("server", &self.server, "doubler", out);
//!     }
//!     fn references(&self) -> Vec<&str> { vec![&self.server] }
//!     fn build(&self, cx: &BuildCx<'_>) -> Result<detsim::NodeFactory<Payload, Observation>, Error> {
//!         let (server, count) = (cx.node(&self.server)?, self.count);
//!         Ok(Box::new(move || Box::new(Asker { server, count })))
//!     }
//!     fn work(&self) -> Option<u64> { Some(self.count) }
//!     fn set_work(&mut self, n: u64) { self.count = n }
//! }
//!
//! /// The property, as a typed check.
//! const EVEN: CheckId = CheckId::new("dbl.even");
//! struct Doubling;
//! impl Protocol for Doubling {
//!     fn name(&self) -> &'static str { "dbl" }
//!     fn roles(&self) -> Vec<RoleDef> {
//!         vec![RoleDef::of::<DoublerRole>("doubler"), RoleDef::of::<AskerRole>("asker")]
//!     }
//!     fn checks(&self, _: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
//!         vec![always(EVEN, |r: &detsim::Record<Answered>| {
//!             if r.obs.0 % 2 == 0 { Ok(()) } else { Err(format!("odd answer {}", r.obs.0)) }
//!         })]
//!     }
//! }
//!
//! // Your protocol beside a built-in one; a user binary's whole `main` would be
//! // `detsim::cli::main_with(protocols)`.
//! let protocols: Protocols = detsim::protocols![Doubling, detsim::protocols::Rpc];
//! let text = r#"{"name": "doubling", "duration": "1s", "nodes": [
//!     {"id": "d", "role": "doubler"}, {"id": "a", "role": "asker", "server": "d", "count": 5},
//!     {"id": "s", "role": "rpc_server"}, {"id": "c", "role": "rpc_client", "server": "s", "calls": 3}]}"#;
//! let scenario = detsim::scenario::parse_scenario(&protocols, "doubling.json", text).unwrap();
//! let report = detsim::run::run_scenario(&protocols, &scenario, 1, None).unwrap();
//! assert!(report.checks.iter().any(|c| c.name == "dbl.even"));
//! assert!(report.violations.is_empty());
//! ```

mod check;
mod payload;
mod protocol;
mod registry;
mod series;

pub use crate::check::CheckId;
pub use check::{Check, Judgement, Metrics, always, batch, batch_where, eventually, judge};
pub use payload::{Observation, Payload};
pub use protocol::{
    BuildCx, NodeConfig, NodeRef, Problem, Protocol, Role, RoleDef, ScenarioView, Setting, Settings, ValidateCx,
    WorkCx, dist_problems, ms,
};
pub use registry::{Protocols, RegistryError};
pub use series::{Body, Grid, LatencyBuckets, Line, LogHist, PLOT_BUCKETS, Plot, Series};
