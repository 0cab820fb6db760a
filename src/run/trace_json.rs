//! The JSON-lines trace writer: a [`TraceSink`] that writes one JSON object per trace
//! event (`{"ev":"send","from":"c1",...,"t":5}`, keys in sorted order), what `--trace`
//! writes. Nodes are named by their names (`"from":"c1"`, and inside faults
//! `{"kind":"crash","node":"w1"}`); [`index_nodes`] turns a line's fault back into
//! indices.
//!
//! How a fault is written is [`fault_json`]'s business alone.

use std::fmt::Debug;
use std::io::Write;

use crate::engine::fault::{Fault, Field};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::engine::trace::{HoldReason, TraceEvent, TraceSink};

/// Writes every event as one JSON line to a writer; remembers the first write error
/// (reported at the next flush) and writes nothing after it.
pub struct JsonLines {
    out: Box<dyn Write>,
    names: Vec<String>,
    error: Option<std::io::Error>,
    /// Bytes written so far.
    written: u64,
    /// The trace's budget, in bytes.
    max_bytes: Option<u64>,
}

impl JsonLines {
    /// A writer of JSON lines to `out`.
    pub fn new(out: Box<dyn Write>) -> JsonLines {
        JsonLines {
            out,
            names: Vec::new(),
            error: None,
            written: 0,
            max_bytes: None,
        }
    }

    /// With a budget of `max` bytes (`None`: none): once the trace has reached it, the
    /// run stops at the engine's next budget check (within
    /// [`CHECK_EVERY`](crate::CHECK_EVERY) events) with `budget exhausted`; the trace
    /// holds every event of the run up to the stop, so it may pass `max` by those events.
    pub fn with_max_bytes(mut self, max: Option<u64>) -> JsonLines {
        self.max_bytes = max;
        self
    }
}

impl<M: Debug> TraceSink<M> for JsonLines {
    fn node_added(&mut self, id: NodeId, name: &str) {
        let i = id.0 as usize;
        if self.names.len() <= i {
            self.names.resize(i + 1, String::new());
        }
        self.names[i] = name.to_string();
    }

    fn event(&mut self, at: SimTime, ev: &TraceEvent<'_, M>) {
        if self.error.is_some() {
            return;
        }
        let line = json_line(at, ev, &self.names);
        self.written += line.len() as u64 + 1;
        if let Err(e) = writeln!(self.out, "{line}") {
            self.error = Some(e);
        }
    }

    fn exhausted(&self) -> Option<crate::engine::budget::Exhausted> {
        let max = self.max_bytes?;
        (self.written >= max).then(|| crate::engine::budget::Exhausted {
            budget: "trace_bytes",
            detail: format!(
                "the trace reached {} bytes, its budget is {max} (--max-trace-bytes)",
                self.written
            ),
            deterministic: true,
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

/// The keys under which a fault's JSON holds nodes (at any depth: a clog's `target`
/// holds `node` or `from`/`to`): a node index, or arrays of them (`groups`, `link`).
#[cfg(test)] // the trace line round trip test reads names back as indices
const NODE_KEYS: [&str; 5] = ["node", "from", "to", "groups", "link"];

/// A node's name, or `n<index>` for an index with no name (e.g. an unknown destination).
fn node_name(names: &[String], id: u64) -> String {
    names.get(id as usize).cloned().unwrap_or_else(|| format!("n{id}"))
}

/// Rewrite every node under [`NODE_KEYS`] in `v` with `f` (numbers to names, or back).
#[cfg(test)] // the trace line round trip test reads names back as indices
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

/// A fault as a trace line writes it: `{"kind": "crash", "node": "w1"}`, a clog target as
/// `{"kind": "node" | "link", ...}`, a link as `[from, to]` or `null`, nodes by name. The
/// one place that decides how a fault is written; built from [`Fault::fields`], so a new
/// fault kind needs nothing here.
pub fn fault_json(fault: &Fault, names: &[String]) -> serde_json::Value {
    fault_value(fault, &|id| node_name(names, u64::from(id.0)).into())
}

/// A fault's JSON, each node written by `node` (a name, or its index).
pub fn fault_value(fault: &Fault, node: &dyn Fn(NodeId) -> serde_json::Value) -> serde_json::Value {
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
            Field::Number(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            Field::Shift(ns) => ns.into(),
            Field::Ppm(ppm) => ppm.into(),
        };
        m.insert(key.into(), v);
    }
    Value::Object(m)
}

/// Turn the node names of a trace line's fault (as the writer names them) back into
/// node indices, given the names by index; a name it does not know is left as it is.
#[cfg(test)] // the trace line round trip test reads names back as indices
fn index_nodes(fault: &mut serde_json::Value, names: &[String]) {
    map_nodes(fault, &|x| {
        let name = x.as_str()?;
        let i = names.iter().position(|n| n == name)?;
        Some(serde_json::Value::from(i as u64))
    });
}

/// The JSON line for one event: `{"t":ns,"ev":"send","from":"c1",...}`.
pub fn json_line<M: Debug>(now: SimTime, ev: &TraceEvent<'_, M>, names: &[String]) -> String {
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
            "reason": match reason { HoldReason::Paused => "paused", HoldReason::Clogged => "clogged", HoldReason::Queued => "queued" },
        }),
        TraceEvent::Timer { node, timer, tag } => json!({"ev": "timer", "node": n(node), "timer": timer, "tag": tag}),
        TraceEvent::Fault {
            index,
            fault,
            until,
            applied,
        } => {
            json!({"ev": "fault", "index": index, "fault": fault_json(fault, names), "until": until.map(|t| t.0), "applied": applied})
        }
        TraceEvent::FaultEnd { index, fault, applied } => {
            json!({"ev": "fault_end", "index": index, "fault": fault_json(fault, names), "applied": applied})
        }
        TraceEvent::StorageLoss { node, loss } => json!({
            "ev": "storage_loss", "node": n(node), "file": loss.file.map_or_else(|| "disk".to_string(), |f| format!("value{f}")),
            "unsynced": loss.unsynced, "kept": loss.kept, "torn": loss.torn,
        }),
        TraceEvent::DiskFullError { node } => json!({"ev": "disk_full_error", "node": n(node)}),
        TraceEvent::ClockSet { node, config } => json!({
            "ev": "clock_set", "node": n(node), "offset_ns": config.offset_ns, "drift_ppm": config.drift_ppm,
            "steps": config.steps.iter().map(|s| json!({"at": s.at.0, "by_ns": s.by_ns})).collect::<Vec<_>>(),
        }),
        TraceEvent::Clock {
            node,
            local,
            monotonic,
            drift_ppm,
        } => json!({
            "ev": "clock", "node": n(node), "local": local.0, "monotonic": monotonic.0, "drift_ppm": drift_ppm,
        }),
        TraceEvent::Buggify { node, point } => json!({"ev": "buggify", "node": n(node), "point": point}),
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
    use crate::engine::sim::{SimConfig, Simulation};
    use std::cell::RefCell;
    use std::rc::Rc;

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
            assert_eq!(v["fault"], fault_value(&fault, &|id| id.0.into()), "{line}");
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

    /// A `Write` into a shared buffer, failing once `fail_after` bytes were written.
    #[derive(Clone)]
    struct Buf(Rc<RefCell<Vec<u8>>>, usize);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0.borrow().len() + b.len() > self.1 {
                return Err(std::io::Error::other("disk full"));
            }
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    struct Hello;
    impl crate::engine::node::Node<u64> for Hello {
        fn on_start(&mut self, ctx: &mut crate::engine::node::Ctx<'_, u64, ()>) {
            ctx.send(NodeId(0), 1u64);
        }
        fn on_message(&mut self, _: &mut crate::engine::node::Ctx<'_, u64, ()>, _: NodeId, _: u64) {}
    }

    #[test]
    fn a_sink_attached_late_names_earlier_nodes_and_a_write_error_surfaces_at_the_end() {
        let run = |limit: usize| {
            let buf = Buf(Rc::new(RefCell::new(Vec::new())), limit);
            let mut sim = Simulation::<u64>::new(SimConfig::new(1));
            sim.add_node("a", || Box::new(Hello)).unwrap();
            sim.add_trace_sink(Box::new(JsonLines::new(Box::new(buf.clone()))));
            sim.add_node("b", || Box::new(Hello)).unwrap();
            let r = sim.run();
            let text = String::from_utf8(buf.0.borrow().clone()).unwrap();
            (r, text, sim.trace_events())
        };
        let (r, text, events) = run(usize::MAX);
        r.unwrap();
        assert_eq!(text.lines().count() as u64, events);
        assert!(
            text.starts_with(r#"{"ev":"start","incarnation":0,"node":"a","t":0}"#),
            "{text}"
        );
        assert!(text.contains(r#""from":"b","id":1"#), "{text}");
        let (r, text, _) = run(60);
        assert_eq!(text.lines().count(), 1, "nothing written after the error: {text}");
        assert!(matches!(r, Err(crate::engine::error::Error::Io(m)) if m.contains("disk full")));
    }
}
