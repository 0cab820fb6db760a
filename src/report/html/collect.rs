//! Collecting what the report draws from the typed trace: a [`TraceCollector`] is a
//! [`TraceSink`] that keeps, in bounded memory, the messages of the diagram's window (at
//! most [`MAX_DRAWN`], each labelled by the registered protocols, else from its `Debug`),
//! per-time-bucket message counts, the applied faults (typed) and the node restarts.
//! Without `--report` no collector exists, and the engine formats nothing.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::label::{label, shorten};
use super::window::{TimeBuckets, Window};
use crate::engine::fault::Fault;
use crate::engine::net::DropReason;
use crate::engine::time::SimTime;
use crate::engine::trace::{HoldReason, TraceEvent, TraceSink};
use crate::plugin::{Payload, Protocols};

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
    /// Short label: the one its protocol gives (see [`crate::plugin::Protocol::label`]),
    /// else one made from its `Debug`, e.g. `Multiply(6, 7)`.
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

/// A fault's start or the end of its window.
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
    pub fault: Fault,
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
}

/// A [`TraceSink`] that fills a shared [`Collected`].
pub struct TraceCollector {
    out: Rc<RefCell<Collected>>,
    /// Asked for the messages' labels, in order.
    protocols: Protocols,
    /// Position in `messages` of each kept message, by id.
    index: BTreeMap<u64, usize>,
}

impl TraceCollector {
    /// A collector keeping the messages sent in `window` (none when `None`), labelled by
    /// `protocols`, and the cell the caller reads after the run.
    pub fn new(window: Option<Window>, protocols: &Protocols) -> (TraceCollector, Rc<RefCell<Collected>>) {
        let out = Rc::new(RefCell::new(Collected {
            window,
            ..Collected::default()
        }));
        (
            TraceCollector {
                out: out.clone(),
                protocols: protocols.clone(),
                index: BTreeMap::new(),
            },
            out,
        )
    }
}

/// The label of `msg`: the first registered protocol's that gives one (at most
/// [`super::label::MAX_LABEL`] characters), else made from its `Debug` text.
fn label_of(protocols: &Protocols, msg: &Payload, debug: &str) -> String {
    match protocols.iter().find_map(|p| p.label(msg)) {
        Some(l) => shorten(&l),
        None => label(debug),
    }
}

/// What a drop's reason is called in the report (as the trace writes it).
fn drop_reason(r: DropReason) -> &'static str {
    match r {
        DropReason::Loss => "loss",
        DropReason::Partition => "partition",
        DropReason::NodeDown => "node_down",
        DropReason::UnknownNode => "unknown_node",
        DropReason::Crashed => "crashed",
        DropReason::QueueFull => "queue_full",
    }
}

impl TraceSink<Payload> for TraceCollector {
    fn event(&mut self, t: SimTime, ev: &TraceEvent<'_, Payload>) {
        let mut c = self.out.borrow_mut();
        match ev {
            TraceEvent::Send { from, to, id, msg, .. } => {
                c.sends.add(t);
                if c.window.is_some_and(|w| w.contains(t)) {
                    c.sent_in_window += 1;
                    if c.messages.len() < MAX_DRAWN {
                        let debug = format!("{msg:?}");
                        let rec = MsgRecord {
                            id: *id,
                            from: from.0,
                            to: to.0,
                            sent: t,
                            label: label_of(&self.protocols, msg, &debug),
                            debug: debug.chars().take(MAX_DEBUG).collect(),
                            duplicated: false,
                            held: None,
                            outcomes: Vec::new(),
                        };
                        self.index.insert(*id, c.messages.len());
                        c.messages.push(rec);
                    }
                }
            }
            TraceEvent::Duplicate { id, .. } => {
                if let Some(&i) = self.index.get(id) {
                    c.messages[i].duplicated = true;
                }
            }
            TraceEvent::Hold { id, reason, .. } => {
                if let Some(&i) = self.index.get(id) {
                    let why = match reason {
                        HoldReason::Paused => "paused",
                        HoldReason::Clogged => "clogged",
                        HoldReason::Queued => "queued",
                    };
                    c.messages[i].held = Some(why.to_string());
                }
            }
            TraceEvent::Deliver { id, .. } | TraceEvent::Drop { id, .. } => {
                let fate = match ev {
                    TraceEvent::Drop { reason, .. } => {
                        c.dropped.add(t);
                        Fate::Dropped(drop_reason(*reason).to_string())
                    }
                    _ => {
                        c.delivered.add(t);
                        Fate::Delivered
                    }
                };
                if let Some(&i) = self.index.get(id) {
                    c.messages[i].outcomes.push(Outcome { at: t, fate });
                }
            }
            TraceEvent::Start { node, incarnation } if *incarnation > 0 => c.restarts.push((t, node.0, *incarnation)),
            TraceEvent::Fault {
                index,
                fault,
                until,
                applied: true,
            } => c.faults.push(FaultEvent {
                at: t,
                index: *index,
                end: false,
                until: *until,
                fault: (*fault).clone(),
            }),
            TraceEvent::FaultEnd {
                index,
                fault,
                applied: true,
            } => c.faults.push(FaultEvent {
                at: t,
                index: *index,
                end: true,
                until: None,
                fault: (*fault).clone(),
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hash::{StableHash, StableHasher};
    use crate::engine::node::NodeId;
    use crate::plugin::{Check, Protocol, RoleDef, ScenarioView};

    /// A message whose `Debug` text is the given text.
    #[derive(Clone)]
    struct Text(&'static str);
    impl std::fmt::Debug for Text {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StableHash for Text {
        fn stable_hash(&self, h: &mut StableHasher) {
            self.0.stable_hash(h)
        }
    }

    /// A protocol that labels only `Ping`s.
    struct Pinger;
    impl Protocol for Pinger {
        fn name(&self) -> &'static str {
            "pinger"
        }
        fn roles(&self) -> Vec<RoleDef> {
            Vec::new()
        }
        fn checks(&self, _: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
            Vec::new()
        }
        fn label(&self, msg: &Payload) -> Option<String> {
            msg.downcast_ref::<Text>()
                .filter(|t| t.0 == "Ping")
                .map(|_| "a ping".into())
        }
    }

    #[test]
    fn keeps_window_messages_with_their_fates() {
        let w = Window {
            start: SimTime(10),
            end: SimTime(20),
        };
        let (mut tc, out) = TraceCollector::new(Some(w), &crate::protocols![Pinger]);
        let (a, b) = (NodeId(0), NodeId(1));
        let ping = Payload::new(Text("Ping"));
        let ret = Payload::new(Text("Rpc(Return { call: 1, reply: Ok(42) })"));
        let send = |id, msg| TraceEvent::Send {
            from: a,
            to: b,
            id,
            arrive: None,
            msg,
        };
        let heal = Fault::Heal;
        let restart = Fault::Restart { node: b };
        let crash = Fault::Crash { node: b };
        let fault = |index, fault, applied| TraceEvent::Fault {
            index,
            fault,
            until: None,
            applied,
        };
        let events: Vec<(u64, TraceEvent<'_, Payload>)> = vec![
            (5, send(1, &ping)),
            (12, send(2, &ret)),
            (
                12,
                TraceEvent::Duplicate {
                    from: a,
                    to: b,
                    id: 2,
                    arrive: SimTime(15),
                },
            ),
            (
                13,
                TraceEvent::Timer {
                    node: a,
                    timer: 1,
                    tag: 0,
                },
            ),
            (
                13,
                TraceEvent::Hold {
                    from: a,
                    to: b,
                    id: 2,
                    reason: HoldReason::Clogged,
                },
            ),
            (14, TraceEvent::Deliver { from: a, to: b, id: 2 }),
            (
                15,
                TraceEvent::Drop {
                    from: a,
                    to: b,
                    id: 2,
                    reason: DropReason::Partition,
                },
            ),
            (16, fault(0, &heal, true)),
            (17, fault(1, &restart, false)),
            (
                18,
                TraceEvent::Send {
                    from: b,
                    to: a,
                    id: 3,
                    arrive: None,
                    msg: &ping,
                },
            ),
            (18, fault(2, &crash, true)),
            (
                19,
                TraceEvent::FaultEnd {
                    index: 2,
                    fault: &crash,
                    applied: true,
                },
            ),
            (
                19,
                TraceEvent::Start {
                    node: b,
                    incarnation: 1,
                },
            ),
        ];
        for (t, ev) in &events {
            tc.event(SimTime(*t), ev);
        }
        let c = out.borrow();
        assert_eq!(c.sends.total(), 3);
        assert_eq!(c.sent_in_window, 2);
        assert_eq!(c.messages.len(), 2);
        assert_eq!((c.messages[1].from, c.messages[1].to), (1, 0));
        let m = &c.messages[0];
        assert_eq!((m.id, m.label.as_str(), m.duplicated), (2, "= 42", true));
        assert_eq!(m.debug, format!("{ret:?}"));
        assert_eq!(c.messages[1].label, "a ping", "the protocol's label wins");
        assert_eq!(m.held.as_deref(), Some("clogged"));
        assert_eq!(m.outcomes.len(), 2);
        assert_eq!(m.outcomes[1].fate, Fate::Dropped("partition".into()));
        assert_eq!(c.faults.len(), 3, "only applied faults and ends");
        assert_eq!(
            c.faults[1].fault, crash,
            "the fault, typed (the restart was not applied)"
        );
        assert!(c.faults[2].end && c.faults[2].index == 2);
        assert_eq!(c.restarts, vec![(SimTime(19), 1, 1)]);
    }
}
