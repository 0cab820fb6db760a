//! The checks' counterexamples in a run's report ([`crate::plugin::Check::evidence`]):
//! each drawn as the per-key timeline of [`super::linearizability`], and the operation
//! that cannot be placed marked on the space-time diagram at its client's lane from its
//! call to its return, the mark and the timeline's bar linked to each other
//! (`#lin{n}-mark-{op}` and `#lin{n}-op-{op}`, `n` the counterexample's position).
//! Drawn for any check that gives evidence; the models' words come with it.

use std::fmt::Write;

use super::linearizability::{Links, section};
use super::svg::{esc, short_time};
use super::window::Window;
use crate::engine::time::SimTime;
use crate::linearizability::{Model, Operation};
use crate::run::CheckEvidence;

/// Operations marked on the diagram at most, over all counterexamples.
const MAX_MARKS: usize = 20;

/// A model that only repeats the words it is given: evidence comes described.
struct Described;

impl Model for Described {
    type State = ();
    type Input = String;
    type Output = ();
    fn init(&self) {}
    fn step(&self, _: &(), _: &String, _: Option<&()>) -> Option<()> {
        Some(())
    }
    fn describe_op(&self, input: &String, _: Option<&()>) -> String {
        input.clone()
    }
    fn describe_state(&self, _: &()) -> String {
        String::new()
    }
}

/// One operation marked on the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Which counterexample (its position in the evidence).
    pub evidence: usize,
    /// The operation (its index in that evidence's operations).
    pub op: usize,
    /// The mark's element id (`lin{n}-mark-{op}`).
    pub id: String,
    /// The id of its bar in the timeline.
    pub bar: String,
    /// Its client node's index.
    pub node: u32,
    /// Its call.
    pub call: SimTime,
    /// Its return (None: never, or not known: drawn to the window's end).
    pub ret: Option<SimTime>,
    /// What it was, for the tooltip and label.
    pub what: String,
}

/// The id prefix of the `n`th counterexample.
fn ids(n: usize) -> String {
    format!("lin{n}-")
}

/// The operations that cannot be placed, marked where they meet `window`, at most
/// [`MAX_MARKS`].
pub fn marks(evidence: &[CheckEvidence], window: Window) -> Vec<Mark> {
    let mut out = Vec::new();
    for (n, (check, e)) in evidence.iter().enumerate() {
        for p in &e.counterexample.partitions {
            let Some(op) = e.ops.get(p.blocked) else { continue };
            let ret = op.ret.filter(|_| !op.unknown);
            if op.call > window.end || ret.is_some_and(|r| r < window.start) || out.len() == MAX_MARKS {
                continue;
            }
            let prefix = ids(n);
            out.push(Mark {
                evidence: n,
                op: p.blocked,
                id: format!("{prefix}mark-{}", p.blocked),
                bar: format!("{prefix}op-{}", p.blocked),
                node: op.node.0,
                call: op.call,
                ret,
                what: format!("{check}: op {} {} cannot be placed", p.blocked, op.description),
            });
        }
    }
    out
}

/// The time span the default window should cover: the first counterexample's first
/// operation that cannot be placed, from its call to its return.
pub fn focus(evidence: &[CheckEvidence]) -> Option<(SimTime, SimTime)> {
    let (_, e) = evidence.first()?;
    let op = e.ops.get(e.counterexample.partitions.first()?.blocked)?;
    Some((op.call, op.ret.unwrap_or(op.call).max(op.call)))
}

/// The report's section: each counterexample's timelines, ops marked on the diagram
/// linked to their marks. `names`: node names by index.
pub fn section_html(evidence: &[CheckEvidence], names: &[String], marks: &[Mark]) -> String {
    let mut s = String::new();
    if evidence.is_empty() {
        return s;
    }
    s.push_str(r#"<h2 id="counterexamples">Linearizability counterexample</h2><p class="note">Bars run from call to return, one lane per client; dashed bars have an unknown outcome (they may take effect at any time after their call, or never). Green bars are the partial linearization, numbered in order; the red bar cannot be placed after it: click it to see it on the space-time diagram (and its mark there to come back).</p>"#);
    for (n, (check, e)) in evidence.iter().enumerate() {
        let prefix = ids(n);
        let ops: Vec<Operation<String, ()>> = e
            .ops
            .iter()
            .map(|o| Operation {
                client: u64::from(o.node.0),
                input: o.description.clone(),
                call: o.call.0,
                ret: o.ret.map(|t| t.0),
                output: (!o.unknown).then_some(()),
            })
            .collect();
        let mut marked: Vec<usize> = marks.iter().filter(|m| m.evidence == n).map(|m| m.op).collect();
        marked.sort_unstable();
        let _ = write!(
            s,
            r#"<div class="counterexample" data-check="{}"><p>From <span class="mono">{}</span>:</p>"#,
            esc(check.as_str()),
            esc(check.as_str())
        );
        s.push_str(&section(
            &Described,
            &ops,
            &e.counterexample,
            true,
            &Links {
                ids: &prefix,
                names,
                marked: &marked,
            },
        ));
        s.push_str("</div>");
    }
    s
}

/// A mark in words, for its tooltip.
pub fn describe(m: &Mark) -> String {
    format!(
        "{} (called {}, {})",
        m.what,
        short_time(m.call.0),
        m.ret.map_or_else(
            || "never returned".to_string(),
            |r| format!("returned {}", short_time(r.0))
        )
    )
}
