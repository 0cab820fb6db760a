//! Collecting what the report draws, from the trace writer hook: a [`TraceCollector`] is a
//! `Write` sink for the JSON-lines trace that keeps, in bounded memory, the messages of
//! the diagram's window (at most [`MAX_DRAWN`]), per-time-bucket message counts, the
//! applied faults and the node starts. The engine is untouched: without `--report` no
//! collector exists.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::rc::Rc;

use serde::Deserialize;

use super::label::label;
use super::window::{TimeBuckets, Window};
use crate::engine::time::SimTime;

/// The most messages the diagram draws; later ones in the window are counted, not kept.
pub const MAX_DRAWN: usize = 4_000;

/// The longest `Debug` text kept per message (for its tooltip).
const MAX_DEBUG: usize = 200;

/// What became of one copy of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Handed to its destination.
    Delivered,
    /// Dropped, with the reason (`loss`, `partition`, `node_down`, ...).
    Dropped(String),
}

/// One copy's end: when, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// When it was delivered or dropped.
    pub at: SimTime,
    /// Delivered or dropped.
    pub fate: Fate,
}

/// One message sent inside the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgRecord {
    /// The engine's message id.
    pub id: u64,
    /// Sender (node index).
    pub from: u32,
    /// Destination (node index).
    pub to: u32,
    /// When it was sent.
    pub sent: SimTime,
    /// Short label, e.g. `Multiply(6, 7)`.
    pub label: String,
    /// The message's `Debug` text, shortened.
    pub debug: String,
    /// The network made a duplicate copy.
    pub duplicated: bool,
    /// It was held (paused destination, clogged link) on its way: the reason.
    pub held: Option<String>,
    /// What became of each copy, in order.
    pub outcomes: Vec<Outcome>,
}

/// A fault's start or the end of its window, with the fault as its trace JSON
/// (`{"kind": "crash", "node": 0}`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEvent {
    /// When it happened.
    pub at: SimTime,
    /// The fault's index in the realized schedule (a window's start and end share it).
    pub index: u32,
    /// `false`: the fault began; `true`: its window ended.
    pub end: bool,
    /// The end its window was scheduled with (starts only).
    pub until: Option<SimTime>,
    /// The fault.
    pub fault: serde_json::Value,
}

/// Everything the collector kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collected {
    /// The window whose messages were kept (`None`: none kept).
    pub window: Option<Window>,
    /// Messages sent in the window, at most [`MAX_DRAWN`], in send order.
    pub messages: Vec<MsgRecord>,
    /// Messages sent in the window, kept or not.
    pub sent_in_window: u64,
    /// Sends per time bucket (the whole run).
    pub sends: TimeBuckets,
    /// Deliveries per time bucket.
    pub delivered: TimeBuckets,
    /// Drops per time bucket.
    pub dropped: TimeBuckets,
    /// Fault starts (applied, or windows that began) and window ends, in order.
    pub faults: Vec<FaultEvent>,
    /// Node starts after the first: (time, node, incarnation).
    pub restarts: Vec<(SimTime, u32, u32)>,
    /// Trace lines that could not be read (should stay 0).
    pub unreadable: u64,
}

/// A node in a trace line: its name (as the writer names nodes) or its index.
#[derive(Deserialize)]
#[serde(untagged)]
enum NodeRef {
    Index(u32),
    Name(String),
}

impl Default for NodeRef {
    fn default() -> Self {
        NodeRef::Index(0)
    }
}

#[derive(Deserialize)]
struct Line {
    t: u64,
    ev: String,
    #[serde(default)]
    from: NodeRef,
    #[serde(default)]
    to: NodeRef,
    #[serde(default)]
    id: u64,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    node: NodeRef,
    #[serde(default)]
    incarnation: u32,
    #[serde(default)]
    fault: Option<serde_json::Value>,
    #[serde(default)]
    index: u32,
    #[serde(default)]
    until: Option<u64>,
    #[serde(default)]
    applied: bool,
}

/// A `Write` sink for the JSON-lines trace that fills a shared [`Collected`].
pub struct TraceCollector {
    out: Rc<RefCell<Collected>>,
    index: BTreeMap<u64, usize>,
    buf: Vec<u8>,
    /// Node names by index (the trace names nodes; the report draws lanes by index).
    names: Vec<String>,
    by_name: BTreeMap<String, u32>,
}

impl TraceCollector {
    /// A collector keeping the messages sent in `window` (none when `None`), and the
    /// cell the caller reads after the run. `names` are the run's node names by index.
    pub fn new(window: Option<Window>, names: Vec<String>) -> (TraceCollector, Rc<RefCell<Collected>>) {
        let out = Rc::new(RefCell::new(Collected {
            window,
            ..Collected::default()
        }));
        (
            TraceCollector {
                out: out.clone(),
                index: BTreeMap::new(),
                buf: Vec::new(),
                by_name: names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect(),
                names,
            },
            out,
        )
    }

    /// A node's index (`u32::MAX` for a name it does not know: no lane).
    fn index(&self, n: &NodeRef) -> u32 {
        match n {
            NodeRef::Index(i) => *i,
            NodeRef::Name(name) => self.by_name.get(name).copied().unwrap_or(u32::MAX),
        }
    }

    fn line(&mut self, raw: &[u8]) {
        // Timers are most of a trace and the report does not draw them.
        if raw.windows(13).any(|w| w == b"\"ev\":\"timer\"") {
            return;
        }
        let Ok(l) = serde_json::from_slice::<Line>(raw) else {
            self.out.borrow_mut().unreadable += 1;
            return;
        };
        let t = SimTime(l.t);
        let (from, to, node) = (self.index(&l.from), self.index(&l.to), self.index(&l.node));
        let mut c = self.out.borrow_mut();
        match l.ev.as_str() {
            "send" => {
                c.sends.add(t);
                if c.window.is_some_and(|w| w.contains(t)) {
                    c.sent_in_window += 1;
                    if c.messages.len() < MAX_DRAWN {
                        let debug = l.msg.unwrap_or_default();
                        let rec = MsgRecord {
                            id: l.id,
                            from,
                            to,
                            sent: t,
                            label: label(&debug),
                            debug: debug.chars().take(MAX_DEBUG).collect(),
                            duplicated: false,
                            held: None,
                            outcomes: Vec::new(),
                        };
                        self.index.insert(l.id, c.messages.len());
                        c.messages.push(rec);
                    }
                }
            }
            "duplicate" => {
                if let Some(&i) = self.index.get(&l.id) {
                    c.messages[i].duplicated = true;
                }
            }
            "hold" => {
                if let Some(&i) = self.index.get(&l.id) {
                    c.messages[i].held = l.reason;
                }
            }
            "deliver" | "drop" => {
                let fate = if l.ev == "deliver" {
                    c.delivered.add(t);
                    Fate::Delivered
                } else {
                    c.dropped.add(t);
                    Fate::Dropped(l.reason.unwrap_or_else(|| "unknown".into()))
                };
                if let Some(&i) = self.index.get(&l.id) {
                    c.messages[i].outcomes.push(Outcome { at: t, fate });
                }
            }
            "start" if l.incarnation > 0 => c.restarts.push((t, node, l.incarnation)),
            "fault" | "fault_end" if l.applied => {
                if let Some(mut fault) = l.fault {
                    crate::engine::trace::index_nodes(&mut fault, &self.names);
                    c.faults.push(FaultEvent {
                        at: t,
                        index: l.index,
                        end: l.ev == "fault_end",
                        until: l.until.map(SimTime),
                        fault,
                    });
                }
            }
            _ => {}
        }
    }
}

impl Write for TraceCollector {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = self.buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos;
            let line = self.buf[start..end].to_vec();
            self.line(&line);
            start = end + 1;
        }
        self.buf.drain(..start);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes every byte to two sinks (a `--trace` file and the collector).
pub struct Tee(pub Box<dyn Write>, pub Box<dyn Write>);

impl Write for Tee {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(data)?;
        self.1.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_window_messages_with_their_fates() {
        let w = Window {
            start: SimTime(10),
            end: SimTime(20),
        };
        let (mut tc, out) = TraceCollector::new(Some(w), vec!["a".into(), "b".into()]);
        let lines = [
            r#"{"t":5,"ev":"send","from":0,"to":1,"id":1,"arrive":7,"msg":"Ping"}"#,
            r#"{"t":12,"ev":"send","from":0,"to":1,"id":2,"arrive":14,"msg":"Rpc(Return { call: 1, reply: Ok(42) })"}"#,
            r#"{"t":12,"ev":"duplicate","from":0,"to":1,"id":2,"arrive":15}"#,
            r#"{"t":13,"ev":"timer","node":0,"timer":1,"tag":0}"#,
            r#"{"t":14,"ev":"deliver","from":0,"to":1,"id":2}"#,
            r#"{"t":15,"ev":"drop","from":0,"to":1,"id":2,"reason":"partition"}"#,
            r#"{"t":16,"ev":"fault","index":0,"fault":{"kind":"heal"},"until":null,"applied":true}"#,
            r#"{"t":17,"ev":"fault","index":1,"fault":{"kind":"restart","node":1},"until":null,"applied":false}"#,
            r#"{"t":18,"ev":"send","from":"b","to":"a","id":3,"arrive":19,"msg":"Ping"}"#,
            r#"{"t":18,"ev":"fault","index":2,"fault":{"kind":"crash","node":"b"},"until":null,"applied":true}"#,
            "not json",
        ];
        // Split writes mid-line to exercise the buffering.
        let text = lines.join("\n") + "\n";
        let (a, b) = text.as_bytes().split_at(50);
        tc.write_all(a).unwrap();
        tc.write_all(b).unwrap();
        let c = out.borrow();
        assert_eq!(c.sends.total(), 3);
        assert_eq!(c.sent_in_window, 2);
        assert_eq!(c.messages.len(), 2);
        assert_eq!(
            (c.messages[1].from, c.messages[1].to),
            (1, 0),
            "names map back to lanes"
        );
        let m = &c.messages[0];
        assert_eq!((m.id, m.label.as_str(), m.duplicated), (2, "= 42", true));
        assert_eq!(m.outcomes.len(), 2);
        assert_eq!(m.outcomes[1].fate, Fate::Dropped("partition".into()));
        assert_eq!(c.faults.len(), 2, "only applied faults");
        assert_eq!(c.faults[1].fault["node"], 1, "a fault's node names map back to indices");
        assert_eq!(c.unreadable, 1);
    }
}
