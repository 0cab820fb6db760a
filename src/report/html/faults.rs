//! Fault spans: each fault window of a run, from its start to its own end (its `until`,
//! or the explicit undo that ended it: the trace says which, by the fault's index), with
//! the lanes it touches and its description (from the typed fault the collector kept),
//! for the diagram's bands and the plots' shading. Overlapping windows are separate spans.

use super::collect::FaultEvent;
use crate::engine::fault::{Effect, Fault, Touch};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// What kind of fault a span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpanKind {
    /// A node is down.
    Crash,
    /// A node is paused.
    Pause,
    /// A partition, block or isolation cuts links.
    Partition,
    /// A node or link is clogged.
    Clog,
    /// Link settings changed (an instant).
    LinkChange,
}

impl SpanKind {
    /// The span of a fault with this effect.
    pub fn of(e: Effect) -> SpanKind {
        match e {
            Effect::Down => SpanKind::Crash,
            Effect::Paused => SpanKind::Pause,
            Effect::Cut => SpanKind::Partition,
            // A full disk holds a node's writes back as a clog holds its messages: drawn alike.
            Effect::Clogged | Effect::DiskFull => SpanKind::Clog,
            Effect::LinkSettings | Effect::ClockRate => SpanKind::LinkChange,
            // A slow node is drawn like a paused one, a thin link like changed settings.
            Effect::Slowed => SpanKind::Pause,
            Effect::Thinned => SpanKind::LinkChange,
        }
    }

    /// The CSS class of its shading.
    pub fn class(self) -> &'static str {
        match self {
            SpanKind::Crash => "f-crash",
            SpanKind::Pause => "f-pause",
            SpanKind::Partition => "f-part",
            SpanKind::Clog => "f-clog",
            SpanKind::LinkChange => "f-link",
        }
    }
}

/// One fault over an interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Its kind.
    pub kind: SpanKind,
    /// When it began.
    pub start: SimTime,
    /// When it was undone (or the run ended).
    pub end: SimTime,
    /// The lanes it touches (node indices); empty means every lane.
    pub nodes: Vec<u32>,
    /// What it was, in words, e.g. `partition {bank} | {alice, bob}`.
    pub label: String,
}

/// What a lasting fault is as a span: its kind, lanes and label (`None`: not a window).
fn describe(fault: &Fault, names: &[String]) -> Option<(SpanKind, Vec<u32>, String)> {
    let kind = SpanKind::of(fault.effect()?);
    let nodes = match fault.touches() {
        Touch::All => Vec::new(),
        Touch::Node(n) => vec![n.0],
        Touch::Link(a, b) => vec![a.0, b.0],
    };
    let name = |n: &NodeId| names.get(n.0 as usize).cloned().unwrap_or_else(|| n.to_string());
    Some((kind, nodes, fault.describe(&name)))
}

/// The most fault spans a report draws (in the diagram, the plots and the table), like
/// [`super::collect::MAX_DRAWN`] for messages; the page says how many were left out.
pub const MAX_FAULTS_DRAWN: usize = 4_000;

/// At most [`MAX_FAULTS_DRAWN`] of `spans` (sorted by start): those that overlap
/// `window` first, then the earliest others; still sorted by start. Also how many were
/// left out.
pub fn drawn(mut spans: Vec<Span>, window: (SimTime, SimTime)) -> (Vec<Span>, usize) {
    if spans.len() <= MAX_FAULTS_DRAWN {
        return (spans, 0);
    }
    let left_out = spans.len() - MAX_FAULTS_DRAWN;
    let outside = |s: &Span| s.end < window.0 || s.start > window.1;
    // Stable: within each group, by start.
    spans.sort_by_key(|s| outside(s));
    spans.truncate(MAX_FAULTS_DRAWN);
    spans.sort_by_key(|s| (s.start, s.kind));
    (spans, left_out)
}

/// Each fault window as a span from its start to its own end; a window still in force
/// closes at `end`. An un-windowed change of link settings is an instant.
pub fn spans(faults: &[FaultEvent], end: SimTime, names: &[String]) -> Vec<Span> {
    let mut done: Vec<Span> = Vec::new();
    let mut open: std::collections::BTreeMap<u32, Span> = std::collections::BTreeMap::new();
    for f in faults {
        if f.end {
            if let Some(mut s) = open.remove(&f.index) {
                s.end = f.at;
                done.push(s);
            }
            continue;
        }
        let Some((kind, nodes, label)) = describe(&f.fault, names) else {
            continue;
        };
        let span = Span {
            kind,
            start: f.at,
            end: f.at,
            nodes,
            label,
        };
        if kind == SpanKind::LinkChange && f.until.is_none() {
            done.push(span);
        } else {
            open.insert(f.index, span);
        }
    }
    done.extend(open.into_values().map(|mut s| {
        s.end = end;
        s
    }));
    done.sort_by_key(|s| (s.start, s.kind));
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fault::ClogTarget;

    fn ev(ms: u64, index: u32, end: bool, fault: Fault) -> FaultEvent {
        FaultEvent {
            at: SimTime::from_millis(ms),
            index,
            end,
            until: None,
            fault,
        }
    }

    #[test]
    fn at_most_max_faults_drawn_the_window_s_first() {
        let span = |ms: u64| Span {
            kind: SpanKind::Crash,
            start: SimTime::from_millis(ms),
            end: SimTime::from_millis(ms + 1),
            nodes: vec![0],
            label: String::new(),
        };
        let all: Vec<Span> = (0..MAX_FAULTS_DRAWN as u64 + 10).map(span).collect();
        let late = (SimTime::from_millis(MAX_FAULTS_DRAWN as u64 + 5), SimTime::MAX);
        let (kept, out) = drawn(all.clone(), late);
        assert_eq!((kept.len(), out), (MAX_FAULTS_DRAWN, 10));
        assert!(kept.windows(2).all(|w| w[0].start <= w[1].start));
        assert_eq!(kept.last(), all.last(), "the window's spans are drawn");
        let (few, none) = drawn(all[..5].to_vec(), late);
        assert_eq!((few.len(), none), (5, 0));
    }

    #[test]
    fn each_window_is_its_own_span() {
        let names: Vec<String> = ["bank", "alice", "bob"].iter().map(|s| s.to_string()).collect();
        let n = NodeId;
        let part = Fault::Partition {
            groups: vec![vec![n(0)], vec![n(1), n(2)]],
        };
        let block = Fault::Block { from: n(1), to: n(0) };
        let faults = [
            ev(300, 0, false, part.clone()),
            // A shorter block inside the partition ends alone: the partition goes on.
            ev(400, 1, false, block.clone()),
            ev(500, 1, true, block),
            ev(700, 0, true, part),
            ev(1000, 2, false, Fault::Crash { node: n(0) }),
            ev(1200, 2, true, Fault::Crash { node: n(0) }),
            ev(
                1300,
                3,
                false,
                Fault::Clog {
                    target: ClogTarget::Link { from: n(1), to: n(0) },
                },
            ),
            ev(1400, 4, false, Fault::Pause { node: n(2) }),
            ev(1500, 5, false, Fault::Restart { node: n(0) }),
        ];
        let s = spans(&faults, SimTime::from_secs(2), &names);
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].label, "partition {bank} | {alice, bob}");
        assert_eq!(
            (s[0].start, s[0].end),
            (SimTime::from_millis(300), SimTime::from_millis(700)),
            "the partition keeps its own end"
        );
        assert_eq!(
            (s[1].label.as_str(), s[1].end),
            ("block alice→bank", SimTime::from_millis(500))
        );
        assert_eq!((s[2].kind, s[2].nodes.clone()), (SpanKind::Crash, vec![0]));
        assert_eq!(s[2].end, SimTime::from_millis(1200));
        assert_eq!(s[3].label, "clog alice→bank");
        assert_eq!(s[3].end, SimTime::from_secs(2), "still open at the end");
        assert_eq!(s[4].kind, SpanKind::Pause);
    }
}
