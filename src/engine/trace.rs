//! Trace events: the closed set of things the run loop does, each folded into the stable
//! trace hash in a canonical encoding and, when asked, streamed as one JSON line each.
//!
//! Without a writer nothing is kept: memory does not grow with the number of events.
//!
//! The JSON lines name nodes by their names (`"from":"c1"`, and inside faults
//! `{"kind":"crash","node":"w1"}`); the hash is over the canonical words (node indices),
//! so names do not change it. [`index_nodes`] turns a line's fault back into indices.

use std::fmt::Debug;
use std::io::Write;

use crate::engine::fault::{Fault, Field};
use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::net::DropReason;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// Why a message was held instead of delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldReason {
    /// The destination is paused.
    Paused,
    /// The link or one of its ends is clogged.
    Clogged,
}

/// One processed event, borrowing what it refers to.
#[derive(Debug)]
pub enum TraceEvent<'a, M> {
    /// A node started (first start or restart), with its incarnation.
    Start { node: NodeId, incarnation: u32 },
    /// A message was sent; `arrive` is the chosen delivery time, `None` when lost.
    Send {
        from: NodeId,
        to: NodeId,
        id: u64,
        arrive: Option<SimTime>,
        msg: &'a M,
    },
    /// A duplicate copy was made, to arrive at `arrive`.
    Duplicate {
        from: NodeId,
        to: NodeId,
        id: u64,
        arrive: SimTime,
    },
    /// A message was handed to its destination.
    Deliver { from: NodeId, to: NodeId, id: u64 },
    /// A message was dropped, and why.
    Drop {
        from: NodeId,
        to: NodeId,
        id: u64,
        reason: DropReason,
    },
    /// A message was held (paused destination, clogged link) to be delivered later.
    Hold {
        from: NodeId,
        to: NodeId,
        id: u64,
        reason: HoldReason,
    },
    /// A timer fired.
    Timer { node: NodeId, timer: u64, tag: u64 },
    /// Fault `index` of the realized schedule began. `applied`: a lasting fault's window
    /// is in force (false: a pause of a crashed node); an undo fault had something to
    /// undo (false: e.g. restarting a live node).
    Fault {
        index: u32,
        fault: &'a Fault,
        until: Option<SimTime>,
        applied: bool,
    },
    /// The window of fault `index` ended: its own `until`, or an explicit undo (`heal`,
    /// `restart`, ...) ended it. `applied: false` when it had already been ended.
    FaultEnd {
        index: u32,
        fault: &'a Fault,
        applied: bool,
    },
}

impl<M: StableHash> TraceEvent<'_, M> {
    #[inline]
    fn hash_into(&self, h: &mut StableHasher) {
        let pair = |a: NodeId, b: NodeId| ((a.0 as u64) << 32) | b.0 as u64;
        match self {
            TraceEvent::Start { node, incarnation } => {
                h.word(1);
                h.word(pair(*node, NodeId(*incarnation)));
            }
            TraceEvent::Send {
                from,
                to,
                id,
                arrive,
                msg,
            } => {
                h.word(2);
                h.word(pair(*from, *to));
                h.word(*id);
                h.word(arrive.map_or(u64::MAX, |t| t.0));
                msg.stable_hash(h);
            }
            TraceEvent::Duplicate { from, to, id, arrive } => {
                h.word(3);
                h.word(pair(*from, *to));
                h.word(*id);
                h.word(arrive.0);
            }
            TraceEvent::Deliver { from, to, id } => {
                h.word(4);
                h.word(pair(*from, *to));
                h.word(*id);
            }
            TraceEvent::Drop { from, to, id, reason } => {
                h.word(5 | (reason.code() << 8));
                h.word(pair(*from, *to));
                h.word(*id);
            }
            TraceEvent::Hold { from, to, id, reason } => {
                h.word(6 | ((*reason as u64) << 8));
                h.word(pair(*from, *to));
                h.word(*id);
            }
            TraceEvent::Timer { node, timer, tag } => {
                h.word(7);
                h.word(node.0 as u64);
                h.word(*timer);
                h.word(*tag);
            }
            TraceEvent::Fault {
                index,
                fault,
                until,
                applied,
            } => {
                h.word(8 | ((*applied as u64) << 8));
                h.word(*index as u64);
                h.word(until.map_or(u64::MAX, |t| t.0));
                fault.stable_hash(h);
            }
            TraceEvent::FaultEnd { index, fault, applied } => {
                h.word(9 | ((*applied as u64) << 8));
                h.word(*index as u64);
                fault.stable_hash(h);
            }
        }
    }
}

/// The tracer: the running hash, the event count, and an optional JSON-lines writer.
pub struct Tracer {
    hasher: StableHasher,
    events: u64,
    writer: Option<Box<dyn Write>>,
    write_error: Option<std::io::Error>,
    /// Node names by index, for the JSON lines.
    names: Vec<String>,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("hash", &format_args!("{:016x}", self.hasher.finish()))
            .field("events", &self.events)
            .field("writing", &self.writer.is_some())
            .finish()
    }
}

impl Default for Tracer {
    fn default() -> Self {
        Tracer {
            hasher: StableHasher::new(),
            events: 0,
            writer: None,
            write_error: None,
            names: Vec::new(),
        }
    }
}

impl Tracer {
    /// Record one event at `now`.
    #[inline]
    pub(crate) fn record<M: StableHash + Debug>(&mut self, now: SimTime, ev: TraceEvent<'_, M>) {
        self.events += 1;
        self.hasher.word(now.0);
        ev.hash_into(&mut self.hasher);
        if self.writer.is_some() {
            self.write_line(now, &ev);
        }
    }

    #[cold]
    fn write_line<M: Debug>(&mut self, now: SimTime, ev: &TraceEvent<'_, M>) {
        let line = json_line(now, ev, &self.names);
        if let Some(w) = &mut self.writer
            && self.write_error.is_none()
            && let Err(e) = writeln!(w, "{line}")
        {
            self.write_error = Some(e);
        }
    }

    /// Name the next node (nodes are named in index order), for the JSON lines.
    pub(crate) fn add_name(&mut self, name: &str) {
        self.names.push(name.to_string());
    }

    /// Stream every later event to `w`, one JSON object per line.
    pub(crate) fn set_writer(&mut self, w: Box<dyn Write>) {
        self.writer = Some(w);
    }

    /// Flush the writer; report the first write error, if any.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// The hash of every event so far.
    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }

    /// Events recorded so far.
    pub fn events(&self) -> u64 {
        self.events
    }
}

/// The keys under which a fault's JSON holds nodes (at any depth: a clog's `target`
/// holds `node` or `from`/`to`): a node index, or arrays of them (`groups`, `link`).
const NODE_KEYS: [&str; 5] = ["node", "from", "to", "groups", "link"];

/// A node's name, or `n<index>` for an index with no name (e.g. an unknown destination).
fn node_name(names: &[String], id: u64) -> String {
    names.get(id as usize).cloned().unwrap_or_else(|| format!("n{id}"))
}

/// Rewrite every node under [`NODE_KEYS`] in `v` with `f` (numbers to names, or back).
fn map_nodes(v: &mut serde_json::Value, f: &dyn Fn(&serde_json::Value) -> Option<serde_json::Value>) {
    fn all(v: &mut serde_json::Value, f: &dyn Fn(&serde_json::Value) -> Option<serde_json::Value>) {
        match v {
            serde_json::Value::Array(xs) => xs.iter_mut().for_each(|x| all(x, f)),
            other => {
                if let Some(new) = f(other) {
                    *other = new;
                }
            }
        }
    }
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if NODE_KEYS.contains(&k.as_str()) {
                    all(x, f);
                } else {
                    map_nodes(x, f);
                }
            }
        }
        serde_json::Value::Array(xs) => xs.iter_mut().for_each(|x| map_nodes(x, f)),
        _ => {}
    }
}

/// A fault's JSON, each node written by `node`: `{"kind": "crash", "node": ...}`, a clog
/// target as `{"kind": "node" | "link", ...}`, a link as `[from, to]` or `null`.
pub fn fault_json(fault: &Fault, node: &dyn Fn(NodeId) -> serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let mut m = serde_json::Map::new();
    m.insert("kind".into(), fault.kind().into());
    for (key, field) in fault.fields() {
        let v = match field {
            Field::Node(n) => node(n),
            Field::Groups(gs) => gs
                .iter()
                .map(|g| g.iter().map(|n| node(*n)).collect::<Value>())
                .collect(),
            Field::Link(l) => l.map_or(Value::Null, |(a, b)| Value::Array(vec![node(a), node(b)])),
            Field::Target(t) => {
                let mut o = serde_json::Map::new();
                o.insert("kind".into(), t.kind().into());
                o.extend(t.node_refs().into_iter().map(|(k, n)| (k.to_string(), node(*n))));
                Value::Object(o)
            }
            Field::Config(c) => serde_json::to_value(&c).unwrap_or(Value::Null),
        };
        m.insert(key.into(), v);
    }
    Value::Object(m)
}

/// A fault's JSON with node names instead of indices.
fn named_fault(fault: &Fault, names: &[String]) -> serde_json::Value {
    fault_json(fault, &|id| node_name(names, u64::from(id.0)).into())
}

/// Turn the node names of a trace line's fault (as the writer names them) back into
/// node indices, given the names by index; a name it does not know is left as it is.
pub fn index_nodes(fault: &mut serde_json::Value, names: &[String]) {
    map_nodes(fault, &|x| {
        let name = x.as_str()?;
        let i = names.iter().position(|n| n == name)?;
        Some(serde_json::Value::from(i as u64))
    });
}

/// The JSON line for one event: `{"t":ns,"ev":"send","from":"c1",...}`.
fn json_line<M: Debug>(now: SimTime, ev: &TraceEvent<'_, M>, names: &[String]) -> String {
    use serde_json::json;
    let n = |id: &NodeId| node_name(names, u64::from(id.0));
    let v = match ev {
        TraceEvent::Start { node, incarnation } => json!({"ev": "start", "node": n(node), "incarnation": incarnation}),
        TraceEvent::Send {
            from,
            to,
            id,
            arrive,
            msg,
        } => json!({
            "ev": "send", "from": n(from), "to": n(to), "id": id,
            "arrive": arrive.map(|t| t.0), "msg": format!("{msg:?}"),
        }),
        TraceEvent::Duplicate { from, to, id, arrive } => {
            json!({"ev": "duplicate", "from": n(from), "to": n(to), "id": id, "arrive": arrive.0})
        }
        TraceEvent::Deliver { from, to, id } => json!({"ev": "deliver", "from": n(from), "to": n(to), "id": id}),
        TraceEvent::Drop { from, to, id, reason } => {
            json!({"ev": "drop", "from": n(from), "to": n(to), "id": id, "reason": reason})
        }
        TraceEvent::Hold { from, to, id, reason } => json!({
            "ev": "hold", "from": n(from), "to": n(to), "id": id,
            "reason": match reason { HoldReason::Paused => "paused", HoldReason::Clogged => "clogged" },
        }),
        TraceEvent::Timer { node, timer, tag } => json!({"ev": "timer", "node": n(node), "timer": timer, "tag": tag}),
        TraceEvent::Fault {
            index,
            fault,
            until,
            applied,
        } => {
            json!({"ev": "fault", "index": index, "fault": named_fault(fault, names), "until": until.map(|t| t.0), "applied": applied})
        }
        TraceEvent::FaultEnd { index, fault, applied } => {
            json!({"ev": "fault_end", "index": index, "fault": named_fault(fault, names), "applied": applied})
        }
    };
    let mut obj = serde_json::Map::new();
    obj.insert("t".into(), json!(now.0));
    if let serde_json::Value::Object(m) = v {
        obj.extend(m);
    }
    serde_json::Value::Object(obj).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::net::ClogTarget;

    #[test]
    fn lines_name_nodes_and_faults_map_back_to_indices() {
        let names: Vec<String> = ["s1", "c1", "w1"].iter().map(|s| s.to_string()).collect();
        let line = json_line::<u64>(
            SimTime(5),
            &TraceEvent::Send {
                from: NodeId(1),
                to: NodeId(0),
                id: 3,
                arrive: None,
                msg: &7,
            },
            &names,
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!((v["from"].as_str(), v["to"].as_str()), (Some("c1"), Some("s1")));
        for fault in [
            Fault::Crash { node: NodeId(2) },
            Fault::Partition {
                groups: vec![vec![NodeId(0)], vec![NodeId(1), NodeId(2)]],
            },
            Fault::Block {
                from: NodeId(1),
                to: NodeId(0),
            },
            Fault::Clog {
                target: ClogTarget::Link {
                    from: NodeId(0),
                    to: NodeId(2),
                },
            },
            Fault::Heal,
        ] {
            let line = json_line::<u64>(
                SimTime(1),
                &TraceEvent::Fault {
                    index: 0,
                    fault: &fault,
                    until: None,
                    applied: true,
                },
                &names,
            );
            let mut v: serde_json::Value = serde_json::from_str(&line).unwrap();
            index_nodes(&mut v["fault"], &names);
            assert_eq!(v["fault"], fault_json(&fault, &|n| n.0.into()), "{line}");
        }
        let crash = json_line::<u64>(
            SimTime(1),
            &TraceEvent::Fault {
                index: 0,
                fault: &Fault::Crash { node: NodeId(2) },
                until: None,
                applied: true,
            },
            &names,
        );
        assert!(crash.contains(r#""node":"w1""#), "{crash}");
    }
}
