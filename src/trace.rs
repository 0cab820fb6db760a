//! Trace events: the closed set of things the run loop does, each folded into the stable
//! trace hash in a canonical encoding and, when asked, streamed as one JSON line each.
//!
//! Without a writer nothing is kept: memory does not grow with the number of events.

use std::fmt::Debug;
use std::io::Write;

use crate::fault::Fault;
use crate::hash::{StableHash, StableHasher};
use crate::net::DropReason;
use crate::node::NodeId;
use crate::time::SimTime;

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
        let line = json_line(now, ev);
        if let Some(w) = &mut self.writer
            && self.write_error.is_none()
            && let Err(e) = writeln!(w, "{line}")
        {
            self.write_error = Some(e);
        }
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

/// The JSON line for one event: `{"t":ns,"ev":"send",...}`.
fn json_line<M: Debug>(now: SimTime, ev: &TraceEvent<'_, M>) -> String {
    use serde_json::json;
    let v = match ev {
        TraceEvent::Start { node, incarnation } => json!({"ev": "start", "node": node.0, "incarnation": incarnation}),
        TraceEvent::Send {
            from,
            to,
            id,
            arrive,
            msg,
        } => json!({
            "ev": "send", "from": from.0, "to": to.0, "id": id,
            "arrive": arrive.map(|t| t.0), "msg": format!("{msg:?}"),
        }),
        TraceEvent::Duplicate { from, to, id, arrive } => {
            json!({"ev": "duplicate", "from": from.0, "to": to.0, "id": id, "arrive": arrive.0})
        }
        TraceEvent::Deliver { from, to, id } => json!({"ev": "deliver", "from": from.0, "to": to.0, "id": id}),
        TraceEvent::Drop { from, to, id, reason } => {
            json!({"ev": "drop", "from": from.0, "to": to.0, "id": id, "reason": reason})
        }
        TraceEvent::Hold { from, to, id, reason } => json!({
            "ev": "hold", "from": from.0, "to": to.0, "id": id,
            "reason": match reason { HoldReason::Paused => "paused", HoldReason::Clogged => "clogged" },
        }),
        TraceEvent::Timer { node, timer, tag } => json!({"ev": "timer", "node": node.0, "timer": timer, "tag": tag}),
        TraceEvent::Fault {
            index,
            fault,
            until,
            applied,
        } => {
            json!({"ev": "fault", "index": index, "fault": fault, "until": until.map(|t| t.0), "applied": applied})
        }
        TraceEvent::FaultEnd { index, fault, applied } => {
            json!({"ev": "fault_end", "index": index, "fault": fault, "applied": applied})
        }
    };
    let mut obj = serde_json::Map::new();
    obj.insert("t".into(), json!(now.0));
    if let serde_json::Value::Object(m) = v {
        obj.extend(m);
    }
    serde_json::Value::Object(obj).to_string()
}
