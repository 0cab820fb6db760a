//! The [`Protocol`] trait a plugin implements, and [`Role`], what one of its node roles
//! is: a plain serde struct of the node's settings in the scenario file, which validates
//! itself, names the nodes it refers to, and builds its node. [`NodeConfig`] is the same,
//! object-safe, as the scenario holds it (every [`Role`] is one).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::check::{Check, Metrics};
use super::payload::{Observation, Payload};
use super::series::{Grid, Series};
use crate::check::Source;
use crate::engine::dist::Dist;
use crate::engine::error::Error;
use crate::engine::node::{NodeFactory, NodeId};
use crate::engine::time::SimTime;

/// A problem with a scenario: (field path, message), e.g.
/// `("nodes[3].calls", "must be at least 1")`.
pub type Problem = (String, String);

/// A protocol: its roles, its settings in the scenario's `checks` section, its checks, its
/// metrics, its plots and how its messages are labelled in the HTML report. Register it with
/// [`crate::protocols!`] (see [`crate::plugin`] for a whole example).
pub trait Protocol: Send + Sync + 'static {
    /// Its name: the key of its switch in the scenario's `checks` section (`"rpc": false`
    /// turns its checks off) and of its metrics in a run's report (`metrics.rpc`).
    fn name(&self) -> &'static str;
    /// Its node roles, each with its config type: `vec![RoleDef::of::<MyServer>("my_server")]`.
    fn roles(&self) -> Vec<RoleDef>;
    /// Its own keys in the `checks` section besides its switch, with their defaults.
    fn settings(&self) -> Vec<Setting> {
        Vec::new()
    }
    /// Problems of its settings (paths `checks.<key>`).
    fn validate(&self, _s: &ScenarioView<'_>, _out: &mut Vec<Problem>) {}
    /// The checks it runs on a scenario that has its nodes (and whose `checks.<name>` is
    /// not false). Created afresh for every run.
    fn checks(&self, s: &ScenarioView<'_>) -> Vec<Box<dyn Check>>;
    /// Its streaming metrics (reported under `metrics.<name>`), if it has any.
    fn metrics(&self, _s: &ScenarioView<'_>) -> Option<Box<dyn Metrics>> {
        None
    }
    /// One line for the human summary of a run, from its metrics as reported (the JSON
    /// under `metrics.<name>`); `None` (the default) prints that JSON as it is.
    fn summary(&self, _metrics: &serde_json::Value) -> Option<String> {
        None
    }
    /// Its plots in the HTML report, over the time buckets of `grid`, if it has any: a
    /// [`Series`] fed every observation of the run in order.
    fn series(&self, _s: &ScenarioView<'_>, _grid: Grid) -> Option<Box<dyn Series>> {
        None
    }
    /// The label of a message on an arrow of the HTML diagram (e.g. its `Display`), if
    /// the message is one of this protocol's; `None` (the default) for the message's
    /// `Debug`, shortened. The first registered protocol that gives a label wins.
    fn label(&self, _msg: &Payload) -> Option<String> {
        None
    }
}

/// How a role's config is read from a node's JSON object; an error comes with its depth
/// in the object (1: a field of the node itself).
pub type ParseRole = fn(&str) -> Result<Box<dyn NodeConfig>, (usize, serde_json::Error)>;

/// One role of a protocol: its name in the file (`"role": "rpc_server"`) and how a node's
/// JSON becomes its config.
#[derive(Clone, Copy)]
pub struct RoleDef {
    /// The role's name.
    pub name: &'static str,
    /// Parse a node's JSON object (without `id` and `role`) as the role's config; an
    /// error comes with its depth in the object (1: a field of the node itself).
    pub parse: ParseRole,
}

impl RoleDef {
    /// The role `name`, whose nodes are configured by a `T`.
    pub fn of<T: Role>(name: &'static str) -> RoleDef {
        RoleDef {
            name,
            parse: |text| {
                let de = &mut serde_json::Deserializer::from_str(text);
                serde_path_to_error::deserialize::<_, T>(de)
                    .map(|c| Box::new(c) as Box<dyn NodeConfig>)
                    .map_err(|e| {
                        let depth = e.path().iter().count();
                        (depth, e.into_inner())
                    })
            },
        }
    }
}

impl Debug for RoleDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RoleDef({:?})", self.name)
    }
}

/// A key of a protocol's own in the scenario's `checks` section, with its default, e.g.
/// `Setting::new("pool_liveness_bound", SimTime::from_secs(10))`.
pub struct Setting {
    /// The key.
    pub key: &'static str,
    /// Its value when the file does not give it.
    pub default: serde_json::Value,
    /// Read a value given in the file (JSON text) as the setting's type; its JSON form.
    pub parse: fn(&str) -> Result<serde_json::Value, serde_json::Error>,
}

impl Setting {
    /// The setting `key` of type `T`, `default` when not given.
    pub fn new<T: Serialize + DeserializeOwned>(key: &'static str, default: T) -> Setting {
        Setting {
            key,
            default: serde_json::to_value(default).unwrap_or_default(),
            parse: |text| serde_json::from_str::<T>(text).and_then(serde_json::to_value),
        }
    }
}

/// The values of the `checks` section's keys (given or defaulted), by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings(pub BTreeMap<String, serde_json::Value>);

impl Settings {
    /// The value of `key` as a `T`, if set and of that type.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get(key).and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// A node of the scenario, as a protocol sees it.
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    /// Its id in the file.
    pub id: &'a str,
    /// Its role.
    pub role: &'a str,
    /// Its protocol's name.
    pub protocol: &'a str,
    /// Its config.
    pub config: &'a dyn NodeConfig,
}

impl<'a> NodeRef<'a> {
    /// Its config, if it is a `T`.
    pub fn get<T: 'static>(&self) -> Option<&'a T> {
        self.config.as_any().downcast_ref::<T>()
    }
}

/// What a protocol sees of a scenario: its nodes, its settings, and when the run is
/// faithful (no fault, no lossy link) until.
pub struct ScenarioView<'a> {
    /// Every node of the scenario, in file order.
    pub nodes: &'a [NodeRef<'a>],
    /// The `checks` section's values.
    pub settings: &'a Settings,
    /// The end of the scenario's fault-free prefix: the first scheduled fault or the start
    /// of the nemesis, `SimTime::MAX` with neither; `ZERO` when a link loses or duplicates
    /// messages from the start.
    pub fault_free_until: SimTime,
    /// How long the scenario runs.
    pub duration: SimTime,
    /// The scenario's event budget (`max_events`).
    pub max_events: u64,
}

impl ScenarioView<'_> {
    /// The scenario's one liveness bound (`"checks": {"liveness": "10s"}`), if given:
    /// a protocol's liveness checks use it instead of their own bounds.
    pub fn liveness(&self) -> Option<SimTime> {
        self.settings.get(crate::check::LIVENESS_KEY)
    }

    /// The nodes of `role`, with their configs.
    pub fn of_role<T: 'static>(&self, role: &str) -> impl Iterator<Item = (&str, &T)> {
        self.nodes
            .iter()
            .filter(move |n| n.role == role)
            .filter_map(|n| n.get::<T>().map(|c| (n.id, c)))
    }
}

/// What a node's validation may look at: its place in the file and the other nodes.
pub struct ValidateCx<'a> {
    /// Its path, e.g. `nodes[3]`.
    pub path: String,
    /// Its id.
    pub id: &'a str,
    /// Every node, in file order.
    pub nodes: &'a [NodeRef<'a>],
}

impl ValidateCx<'_> {
    /// The path of one of its fields: `nodes[3].calls`.
    pub fn field(&self, field: &str) -> String {
        format!("{}.{field}", self.path)
    }

    /// The node named `id`.
    pub fn node(&self, id: &str) -> Option<&NodeRef<'_>> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Complain (at `field`) unless `id` names a node of the scenario.
    pub fn expect_id(&self, field: &str, id: &str, out: &mut Vec<Problem>) {
        if self.node(id).is_none() {
            out.push((
                self.field(field),
                format!("unknown node id {id:?}; expected one of the ids in `nodes`"),
            ));
        }
    }

    /// Complain (at `field`) unless `id` names a node of `role`.
    pub fn expect_role(&self, field: &str, id: &str, role: &str, out: &mut Vec<Problem>) {
        self.expect_id(field, id, out);
        if let Some(n) = self.node(id)
            && n.role != role
        {
            out.push((
                self.field(field),
                format!(
                    "node {id:?} is {}, expected {}",
                    crate::plural::with_article(n.role),
                    crate::plural::with_article(role)
                ),
            ));
        }
    }

    /// Complain (at `field`) unless `t` is greater than zero.
    pub fn positive(&self, field: &str, t: SimTime, out: &mut Vec<Problem>) {
        if t == SimTime::ZERO {
            out.push((self.field(field), "must be greater than zero".into()));
        }
    }

    /// The problems of a duration distribution at `field`.
    pub fn dist(&self, field: &str, d: &Dist, out: &mut Vec<Problem>) {
        dist_problems(d, &self.field(field), out)
    }
}

/// Problems of a duration distribution (a latency, a service or think time) at `path`
/// (see [`Dist::problems`]).
pub fn dist_problems(l: &Dist, path: &str, out: &mut Vec<Problem>) {
    out.extend(
        l.problems()
            .into_iter()
            .map(|(field, msg)| (format!("{path}.{field}"), msg.to_string())),
    );
}

/// What building a node may look at: its id and every node's engine id.
pub struct BuildCx<'a> {
    /// Its id in the file.
    pub id: &'a str,
    /// Node ids by name.
    pub ids: &'a BTreeMap<String, NodeId>,
}

impl BuildCx<'_> {
    /// The engine id of the node named `name`.
    pub fn node(&self, name: &str) -> Result<NodeId, Error> {
        self.ids
            .get(name)
            .copied()
            .ok_or_else(|| Error::InvalidParameter(format!("unknown node id {name:?}")))
    }

    /// An error about this node: `node "c1": {message}`.
    pub fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::InvalidParameter(format!("node {:?}: {message}", self.id))
    }
}

/// What a node's expected work is judged with: its engine id and the `checks` settings.
pub struct WorkCx<'a> {
    /// The node.
    pub node: NodeId,
    /// The `checks` section's values.
    pub settings: &'a Settings,
}

/// One role's node config: a serde struct (`#[serde(deny_unknown_fields)]`) of what the
/// scenario file says about a node besides its `id` and `role`. Only [`Role::build`] is
/// required.
pub trait Role: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Problems of this node (field paths from [`ValidateCx::field`]).
    fn validate(&self, _cx: &ValidateCx<'_>, _out: &mut Vec<Problem>) {}
    /// The ids of the nodes it refers to (a server, a registry): the shrinker keeps them
    /// while this node stays.
    fn references(&self) -> Vec<&str> {
        Vec::new()
    }
    /// The node's factory (called at start and at every restart).
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error>;
    /// The same node with every planted bug (canary) switched off.
    fn without_canaries(&self) -> Self {
        self.clone()
    }
    /// How much work it makes (calls, jobs), if it has a count the shrinker may reduce.
    fn work(&self) -> Option<u64> {
        None
    }
    /// The same node making `n` items of work (see [`Role::work`]).
    fn set_work(&mut self, _n: u64) {}
    /// The work it is configured to make, for the liveness checks' nothing-ran rule.
    fn expected_work(&self, _cx: &WorkCx<'_>) -> Vec<Source> {
        Vec::new()
    }
    /// Items of work it makes all at once when it starts (a batch's jobs): the run counts
    /// them against the memory budget before it starts, since they are made within one
    /// event, before any budget could be looked at (0: none).
    fn work_at_start(&self) -> u64 {
        0
    }
}

/// A node's config as a scenario holds it: a [`Role`] behind a `dyn`.
pub trait NodeConfig: Debug + Send + Sync + 'static {
    /// Its JSON object (fields in declaration order), as written back to files.
    fn to_json(&self) -> Result<String, serde_json::Error>;
    /// See [`Role::validate`].
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>);
    /// See [`Role::references`].
    fn references(&self) -> Vec<&str>;
    /// See [`Role::build`].
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error>;
    /// See [`Role::without_canaries`].
    fn without_canaries(&self) -> Box<dyn NodeConfig>;
    /// See [`Role::work`].
    fn work(&self) -> Option<u64>;
    /// See [`Role::set_work`].
    fn with_work(&self, n: u64) -> Box<dyn NodeConfig>;
    /// See [`Role::expected_work`].
    fn expected_work(&self, cx: &WorkCx<'_>) -> Vec<Source>;
    /// See [`Role::work_at_start`].
    fn work_at_start(&self) -> u64;
    /// A copy.
    fn clone_box(&self) -> Box<dyn NodeConfig>;
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
    /// Equal to `other` (same type, same value)?
    fn eq_dyn(&self, other: &dyn NodeConfig) -> bool;
}

impl<T: Role> NodeConfig for T {
    fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        Role::validate(self, cx, out)
    }
    fn references(&self) -> Vec<&str> {
        Role::references(self)
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        Role::build(self, cx)
    }
    fn without_canaries(&self) -> Box<dyn NodeConfig> {
        Box::new(Role::without_canaries(self))
    }
    fn work(&self) -> Option<u64> {
        Role::work(self)
    }
    fn with_work(&self, n: u64) -> Box<dyn NodeConfig> {
        let mut c = self.clone();
        c.set_work(n);
        Box::new(c)
    }
    fn expected_work(&self, cx: &WorkCx<'_>) -> Vec<Source> {
        Role::expected_work(self, cx)
    }
    fn work_at_start(&self) -> u64 {
        Role::work_at_start(self)
    }
    fn clone_box(&self) -> Box<dyn NodeConfig> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn eq_dyn(&self, other: &dyn NodeConfig) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// A duration in nanoseconds (a JSON number of a metrics summary) in milliseconds, for
/// summary lines: `1.25ms`, or `?` when absent.
pub fn ms(v: &serde_json::Value) -> String {
    v.as_f64().map_or("?".to_string(), |ns| format!("{:.2}ms", ns / 1e6))
}
