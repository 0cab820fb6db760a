//! Fault spans: the applied faults of a run paired into intervals (crash..restart,
//! pause..resume, partition..heal, clog..unclog) with the lanes they touch, for the
//! diagram's bands and the plots' shading.

use super::collect::FaultEvent;
use crate::time::SimTime;

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

fn node(v: &serde_json::Value, key: &str) -> Option<u32> {
    v.get(key)?.as_u64().map(|n| n as u32)
}

fn name(names: &[String], n: u32) -> String {
    names.get(n as usize).cloned().unwrap_or_else(|| format!("n{n}"))
}

fn target(v: &serde_json::Value, names: &[String]) -> Option<(Vec<u32>, String)> {
    let t = v.get("target")?;
    match t.get("kind")?.as_str()? {
        "node" => {
            let n = node(t, "node")?;
            Some((vec![n], name(names, n)))
        }
        _ => {
            let (f, to) = (node(t, "from")?, node(t, "to")?);
            Some((vec![f, to], format!("{}→{}", name(names, f), name(names, to))))
        }
    }
}

/// Pair the applied faults into spans; whatever is still open at `end` closes there.
pub fn spans(faults: &[FaultEvent], end: SimTime, names: &[String]) -> Vec<Span> {
    let mut done: Vec<Span> = Vec::new();
    let mut open: Vec<Span> = Vec::new();
    fn close(open: &mut Vec<Span>, done: &mut Vec<Span>, at: SimTime, pred: &dyn Fn(&Span) -> bool) {
        let (closing, keep): (Vec<Span>, Vec<Span>) = open.drain(..).partition(|s| pred(s));
        *open = keep;
        done.extend(closing.into_iter().map(|mut s| {
            s.end = at;
            s
        }));
    }
    for f in faults {
        let v = &f.fault;
        let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let mut start = |kind: SpanKind, nodes: Vec<u32>, label: String| {
            open.push(Span {
                kind,
                start: f.at,
                end: f.at,
                nodes,
                label,
            })
        };
        match kind {
            "crash" | "pause" | "isolate" => {
                let Some(n) = node(v, "node") else { continue };
                let k = match kind {
                    "crash" => SpanKind::Crash,
                    "pause" => SpanKind::Pause,
                    _ => SpanKind::Partition,
                };
                start(k, vec![n], format!("{kind} {}", name(names, n)));
            }
            "restart" | "resume" => {
                let Some(n) = node(v, "node") else { continue };
                let k = if kind == "restart" {
                    SpanKind::Crash
                } else {
                    SpanKind::Pause
                };
                close(&mut open, &mut done, f.at, &|s| s.kind == k && s.nodes == [n]);
            }
            "partition" => {
                let groups: Vec<Vec<u32>> = v
                    .get("groups")
                    .and_then(|g| g.as_array())
                    .map(|gs| {
                        gs.iter()
                            .map(|g| {
                                g.as_array()
                                    .map(|ns| ns.iter().filter_map(|n| n.as_u64()).map(|n| n as u32).collect())
                                    .unwrap_or_default()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let text: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        format!(
                            "{{{}}}",
                            g.iter().map(|n| name(names, *n)).collect::<Vec<_>>().join(", ")
                        )
                    })
                    .collect();
                start(
                    SpanKind::Partition,
                    Vec::new(),
                    format!("partition {}", text.join(" | ")),
                );
            }
            "block" => {
                let (Some(a), Some(b)) = (node(v, "from"), node(v, "to")) else {
                    continue;
                };
                start(
                    SpanKind::Partition,
                    vec![a, b],
                    format!("block {}→{}", name(names, a), name(names, b)),
                );
            }
            "heal" => close(&mut open, &mut done, f.at, &|s| s.kind == SpanKind::Partition),
            "clog" => {
                if let Some((nodes, what)) = target(v, names) {
                    start(SpanKind::Clog, nodes, format!("clog {what}"));
                }
            }
            "unclog" => {
                if let Some((nodes, what)) = target(v, names) {
                    let label = format!("clog {what}");
                    close(&mut open, &mut done, f.at, &|s| {
                        s.kind == SpanKind::Clog && s.nodes == nodes && s.label == label
                    });
                }
            }
            "unclog_all" => close(&mut open, &mut done, f.at, &|s| s.kind == SpanKind::Clog),
            "set_link" => {
                let (nodes, what) = match v.get("link").and_then(|l| l.as_array()) {
                    Some(l) if l.len() == 2 => {
                        let (a, b) = (l[0].as_u64().unwrap_or(0) as u32, l[1].as_u64().unwrap_or(0) as u32);
                        (
                            vec![a, b],
                            format!("link {}→{} settings", name(names, a), name(names, b)),
                        )
                    }
                    _ => (Vec::new(), "default link settings".to_string()),
                };
                done.push(Span {
                    kind: SpanKind::LinkChange,
                    start: f.at,
                    end: f.at,
                    nodes,
                    label: format!("{what} changed"),
                });
            }
            _ => {}
        }
    }
    close(&mut open, &mut done, end, &|_| true);
    done.sort_by_key(|s| (s.start, s.kind));
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(ms: u64, fault: serde_json::Value) -> FaultEvent {
        FaultEvent {
            at: SimTime::from_millis(ms),
            fault,
        }
    }

    #[test]
    fn pairs_faults_into_spans() {
        let names: Vec<String> = ["bank", "alice", "bob"].iter().map(|s| s.to_string()).collect();
        let faults = [
            ev(300, json!({"kind": "partition", "groups": [[0], [1, 2]]})),
            ev(700, json!({"kind": "heal"})),
            ev(1000, json!({"kind": "crash", "node": 0})),
            ev(1200, json!({"kind": "restart", "node": 0})),
            ev(
                1300,
                json!({"kind": "clog", "target": {"kind": "link", "from": 1, "to": 0}}),
            ),
            ev(1400, json!({"kind": "pause", "node": 2})),
        ];
        let s = spans(&faults, SimTime::from_secs(2), &names);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].label, "partition {bank} | {alice, bob}");
        assert_eq!(
            (s[0].start, s[0].end),
            (SimTime::from_millis(300), SimTime::from_millis(700))
        );
        assert_eq!((s[1].kind, s[1].nodes.clone()), (SpanKind::Crash, vec![0]));
        assert_eq!(s[1].end, SimTime::from_millis(1200));
        assert_eq!(s[2].label, "clog alice→bank");
        assert_eq!(s[2].end, SimTime::from_secs(2), "still open at the end");
        assert_eq!(s[3].kind, SpanKind::Pause);
    }
}
