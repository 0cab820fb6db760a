//! `pool.work_conservation` (safety): no worker slot sits idle for longer than one round
//! trip while jobs wait in its dispatcher's queue.
//!
//! ## What is observed (never the dispatcher's bookkeeping)
//!
//! - **Slots**, from the workers' own records: a worker offers `slots` slots to a
//!   dispatcher from its `Joined` (its first hello there); `Started` fills one, `Completed`
//!   frees one, `WorkerUp` (a restart) empties them. Slots are fungible, so a fill is
//!   matched with the slot idle the longest: of every way to match fills with idle slots
//!   this gives the shortest longest idle stretch, so a violation cannot be an artefact
//!   of the matching.
//! - **Waiting jobs**, rebuilt per dispatcher from its events (not its `queue_len`
//!   counters): a job waits from `Submitted`, from a `Reassigned` (expired lease) or a
//!   `Refused` that requeued it, until its next `Assigned` or its `Accepted`.
//! - **Latency**, measured per message from the sender's and the receiver's records of
//!   it: `Assigned` -> `Started`/`Declined` (the assignment), `Completed` ->
//!   `Accepted`/`DuplicateResult` (the result), `Declined` -> `Refused` (the refusal),
//!   `Joined` -> `WorkerJoined` (the first hello, matched by its report sequence number).
//!
//! ## The property and its tolerance
//!
//! A slot is *idle with work* while it is idle and its dispatcher has a job waiting. Each
//! such stretch must end (the slot is filled, or nothing waits any more) within the
//! **tolerance `2 * L`**, where `L` is the longest one-way latency measured in the
//! judged window (above). Two messages are the least any dispatcher needs to fill a
//! slot that freed up: the worker's word that it is free (its result, or its first
//! hello) and the assignment back. An idle stretch is judged when it ends, or at the end
//! of the judged window. With no message measured, `L` is 0: a slot may not stay idle at
//! all while a job waits. At most [`MAX_REPORTED`] violations are reported (the first
//! ones); the last one says how many more there were.
//!
//! ## When it is judged
//!
//! Only in a stretch where nothing but the protocol can keep a slot idle: the caller
//! passes `until`, the end of the fault-free prefix of the run (the first fault, crash,
//! pause, partition, clog or link change, scheduled or by the nemesis), and the check
//! judges `[0, min(until, end))`. A worker that is down, paused or cut off is
//! indistinguishable from an idle one in the history, and after a fault a dispatcher
//! legitimately needs a heartbeat or a lease to learn the truth; recovery after faults is
//! what `pool.liveness` judges. For the same reason a network that loses or duplicates
//! messages from the start leaves nothing to judge ([`Conservation::judged`] is false):
//! a lost result keeps a slot booked until the worker's next heartbeat.
//!
//! The check **cannot pass vacuously**: it reports [`Conservation::judged`] = false,
//! which the scenario layer turns into "not run" rather than "pass", unless at some
//! moment of the judged window a job waited at a dispatcher that had at least one worker
//! joined. So a pool with no worker, or a window in which no job ever waited, claims
//! nothing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{CheckContext, Evidence, Violation};
use crate::history::Record;
use crate::node::NodeId;
use crate::protocols::Obs;
use crate::protocols::worker_pool::{JobId, PoolObs};
use crate::time::SimTime;

/// The check's name.
pub const NAME: &str = "pool.work_conservation";

/// At most this many violations are reported.
pub const MAX_REPORTED: usize = 10;

/// What the check found.
#[derive(Clone, Debug, PartialEq)]
pub struct Conservation {
    /// Whether anything was judged: some job waited, in the judged window, at a
    /// dispatcher with at least one worker. When false the check makes no claim.
    pub judged: bool,
    /// The end of the judged window, `min(until, end)`.
    pub judged_until: SimTime,
    /// The tolerance used: twice the longest one-way latency measured in the window.
    pub tolerance: SimTime,
    /// The violations (at most [`MAX_REPORTED`]).
    pub violations: Vec<Violation>,
}

/// Why a slot became idle.
#[derive(Clone, Copy, Debug)]
enum IdleCause {
    /// The worker joined the dispatcher.
    Joined,
    /// The worker finished this job.
    Finished(JobId),
}

/// One idle slot.
#[derive(Clone, Copy, Debug)]
struct Idle {
    since: SimTime,
    /// Unique per idle slot (ties in `since` between slots of one worker).
    id: u64,
    cause: IdleCause,
}

#[derive(Default)]
struct Worker {
    slots: u32,
    running: u32,
    /// The dispatcher its slots are offered to.
    joined: Option<NodeId>,
    /// Its idle slots, longest idle first.
    idle: VecDeque<Idle>,
}

#[derive(Default)]
struct Dispatcher {
    waiting: BTreeSet<JobId>,
    /// Since when some job has waited, and the job that started it.
    work_since: SimTime,
    first_waiting: Option<JobId>,
    /// Every idle slot of its joined workers: (since, id, worker).
    idle: BTreeSet<(SimTime, u64, NodeId)>,
    joined_workers: u32,
}

/// How an idle stretch ended.
enum End {
    Filled(JobId),
    QueueEmptied(JobId),
    /// The worker joined another dispatcher.
    Left,
    WindowEnd,
}

struct Judge<'a> {
    ctx: &'a CheckContext,
    tolerance: SimTime,
    workers: BTreeMap<NodeId, Worker>,
    dispatchers: BTreeMap<NodeId, Dispatcher>,
    next_id: u64,
    judged: bool,
    violations: Vec<Violation>,
    more: usize,
}

impl Judge<'_> {
    /// Judge one idle stretch of `worker`'s slot `idle` at dispatcher `d`, ending at `at`.
    fn judge(&mut self, d: NodeId, worker: NodeId, idle: Idle, at: SimTime, end: End) {
        let Some(disp) = self.dispatchers.get(&d) else {
            return;
        };
        if disp.waiting.is_empty() {
            return;
        }
        let start = idle.since.max(disp.work_since);
        let stretch = at.saturating_sub(start);
        if stretch <= self.tolerance {
            return;
        }
        if self.violations.len() == MAX_REPORTED {
            self.more += 1;
            return;
        }
        let mut events = Vec::with_capacity(3);
        events.push(Evidence {
            at: idle.since,
            node: worker,
            what: match idle.cause {
                IdleCause::Joined => format!("{worker} joined {d}: a slot is idle"),
                IdleCause::Finished(job) => format!("{worker} finished {job}: a slot is idle"),
            },
        });
        if let Some(job) = disp.first_waiting {
            events.push(Evidence {
                at: disp.work_since,
                node: d,
                what: format!("{job} waits in the queue of {d}"),
            });
        }
        let (node, what) = match end {
            End::Filled(job) => (worker, format!("{worker} started {job}: the slot is filled")),
            End::QueueEmptied(job) => (d, format!("{job} leaves the queue of {d}: nothing waits")),
            End::Left => (worker, format!("{worker} leaves {d} for another dispatcher")),
            End::WindowEnd => (d, format!("the judged window ends with {} jobs waiting", disp.waiting.len())),
        };
        events.push(Evidence { at, node, what });
        events.sort_by_key(|e| e.at);
        let message = format!(
            "a slot of {worker} was idle for {stretch:?} while jobs waited at {d} (from {start:?} to {at:?}); \
             tolerance {:?} (twice the longest one-way latency measured)",
            self.tolerance
        );
        // Visible once the stretch outlasted the tolerance.
        let visible = start.saturating_add(self.tolerance);
        self.violations.push(Violation::new(NAME, message, visible, self.ctx, events));
    }

    fn add_waiting(&mut self, d: NodeId, job: JobId, at: SimTime) {
        let disp = self.dispatchers.entry(d).or_default();
        if disp.waiting.is_empty() {
            disp.work_since = at;
            disp.first_waiting = Some(job);
        }
        disp.waiting.insert(job);
        if disp.joined_workers > 0 {
            self.judged = true;
        }
    }

    fn remove_waiting(&mut self, d: NodeId, job: JobId, at: SimTime) {
        let Some(disp) = self.dispatchers.get(&d) else {
            return;
        };
        if !disp.waiting.contains(&job) {
            return;
        }
        if disp.waiting.len() == 1 {
            // The last waiting job leaves: every idle stretch at `d` ends; the longest
            // idle slot has the longest one.
            if let Some(&(since, id, w)) = disp.idle.first()
                && let Some(idle) = self.workers.get(&w).and_then(|wk| wk.idle.iter().find(|i| i.id == id)).copied()
            {
                debug_assert_eq!(idle.since, since);
                self.judge(d, w, idle, at, End::QueueEmptied(job));
            }
        }
        if let Some(disp) = self.dispatchers.get_mut(&d) {
            disp.waiting.remove(&job);
            if disp.waiting.is_empty() {
                disp.first_waiting = None;
            }
        }
    }

    /// Worker `w` gets a new idle slot at `at`, offered to the dispatcher it joined.
    fn push_idle(&mut self, w: NodeId, at: SimTime, cause: IdleCause) {
        let id = self.next_id;
        self.next_id += 1;
        let Some(wk) = self.workers.get_mut(&w) else {
            return;
        };
        let Some(d) = wk.joined else {
            return;
        };
        wk.idle.push_back(Idle { since: at, id, cause });
        self.dispatchers.entry(d).or_default().idle.insert((at, id, w));
    }

    /// Worker `w`'s longest idle slot is no longer idle at `at` (judged if `end` says so).
    fn pop_idle(&mut self, w: NodeId, at: SimTime, end: Option<End>) {
        let Some(wk) = self.workers.get_mut(&w) else {
            return;
        };
        let (Some(d), Some(idle)) = (wk.joined, wk.idle.pop_front()) else {
            return;
        };
        if let Some(disp) = self.dispatchers.get_mut(&d) {
            disp.idle.remove(&(idle.since, idle.id, w));
        }
        if let Some(end) = end {
            self.judge(d, w, idle, at, end);
        }
    }

    /// Worker `w` leaves the dispatcher it joined: its idle stretches there end at `at`.
    fn leave(&mut self, w: NodeId, at: SimTime, judge: bool) {
        let n = self.workers.get(&w).map_or(0, |wk| wk.idle.len());
        for _ in 0..n {
            self.pop_idle(w, at, judge.then_some(End::Left));
        }
        if let Some(wk) = self.workers.get_mut(&w)
            && let Some(d) = wk.joined.take()
            && let Some(disp) = self.dispatchers.get_mut(&d)
        {
            disp.joined_workers -= 1;
        }
    }

    fn observe(&mut self, r: &Record<Obs>) {
        let Obs::Pool(o) = &r.obs else {
            return;
        };
        let (at, node) = (r.at, r.node);
        match o {
            PoolObs::Submitted { job, .. }
            | PoolObs::Reassigned { job, .. }
            | PoolObs::Refused {
                job, requeued: true, ..
            } => self.add_waiting(node, *job, at),
            PoolObs::Assigned { job, .. } | PoolObs::Accepted { job, .. } => self.remove_waiting(node, *job, at),
            PoolObs::WorkerUp { slots, .. } => {
                // A (re)start: whatever ran died; nothing is offered until it joins.
                self.leave(node, at, false);
                let wk = self.workers.entry(node).or_default();
                wk.slots = *slots;
                wk.running = 0;
            }
            PoolObs::Joined { dispatcher, .. } => {
                self.leave(node, at, true);
                let wk = self.workers.entry(node).or_default();
                wk.joined = Some(*dispatcher);
                let free = wk.slots.saturating_sub(wk.running);
                let disp = self.dispatchers.entry(*dispatcher).or_default();
                disp.joined_workers += 1;
                if !disp.waiting.is_empty() {
                    self.judged = true;
                }
                for _ in 0..free {
                    self.push_idle(node, at, IdleCause::Joined);
                }
            }
            PoolObs::Started { job, .. } => {
                let wk = self.workers.entry(node).or_default();
                wk.running += 1;
                self.pop_idle(node, at, Some(End::Filled(*job)));
            }
            PoolObs::Completed { job, .. } => {
                let wk = self.workers.entry(node).or_default();
                wk.running = wk.running.saturating_sub(1);
                if wk.idle.len() < wk.slots.saturating_sub(wk.running) as usize {
                    self.push_idle(node, at, IdleCause::Finished(*job));
                }
            }
            _ => {}
        }
    }

    /// The window ends at `at`: judge the longest idle slot of each dispatcher with work.
    fn finish(&mut self, at: SimTime) {
        let open: Vec<(NodeId, NodeId, u64)> = self
            .dispatchers
            .iter()
            .filter(|(_, d)| !d.waiting.is_empty())
            .filter_map(|(id, d)| d.idle.first().map(|&(_, i, w)| (*id, w, i)))
            .collect();
        for (d, w, id) in open {
            if let Some(idle) = self.workers.get(&w).and_then(|wk| wk.idle.iter().find(|i| i.id == id)).copied() {
                self.judge(d, w, idle, at, End::WindowEnd);
            }
        }
    }
}

/// The longest one-way latency measured from matched send and receive records before `until`.
fn longest_one_way(records: &[Record<Obs>], until: SimTime) -> SimTime {
    // (sender, receiver, kind, key) -> send time; kinds: 0 assign, 1 result, 2 refusal, 3 hello.
    let mut sent: BTreeMap<(NodeId, NodeId, u8, u64), SimTime> = BTreeMap::new();
    let mut longest = SimTime::ZERO;
    let mut got = |sent: &mut BTreeMap<(NodeId, NodeId, u8, u64), SimTime>, key, at: SimTime| {
        if let Some(t) = sent.remove(&key) {
            longest = longest.max(at.saturating_sub(t));
        }
    };
    for r in records.iter().take_while(|r| r.at < until) {
        let Obs::Pool(o) = &r.obs else { continue };
        let (at, me) = (r.at, r.node);
        match o {
            PoolObs::Assigned { worker, assign, .. } => {
                sent.insert((me, *worker, 0, *assign), at);
            }
            PoolObs::Started { assign, dispatcher, .. } => got(&mut sent, (*dispatcher, me, 0, *assign), at),
            PoolObs::Declined { assign, dispatcher, .. } => {
                got(&mut sent, (*dispatcher, me, 0, *assign), at);
                sent.insert((me, *dispatcher, 2, *assign), at);
            }
            PoolObs::Completed { assign, dispatcher, .. } => {
                sent.insert((me, *dispatcher, 1, *assign), at);
            }
            PoolObs::Accepted { worker, assign, .. } | PoolObs::DuplicateResult { worker, assign, .. } => {
                got(&mut sent, (*worker, me, 1, *assign), at)
            }
            PoolObs::Refused { worker, assign, .. } => got(&mut sent, (*worker, me, 2, *assign), at),
            PoolObs::Joined { dispatcher, seq } => {
                sent.insert((me, *dispatcher, 3, *seq), at);
            }
            PoolObs::WorkerJoined { worker, seq, .. } => got(&mut sent, (*worker, me, 3, *seq), at),
            _ => {}
        }
    }
    longest
}

/// `pool.work_conservation` over the records before `until` (the end of the run's
/// fault-free prefix; see the module docs for what is judged and the tolerance).
pub fn check_work_conservation(records: &[Record<Obs>], ctx: &CheckContext, until: SimTime) -> Conservation {
    let until = until.min(ctx.end);
    let tolerance = SimTime(longest_one_way(records, until).0.saturating_mul(2));
    let mut j = Judge {
        ctx,
        tolerance,
        workers: BTreeMap::new(),
        dispatchers: BTreeMap::new(),
        next_id: 0,
        judged: false,
        violations: Vec::new(),
        more: 0,
    };
    for r in records.iter().take_while(|r| r.at < until) {
        j.observe(r);
    }
    j.finish(until);
    let (more, mut violations) = (j.more, j.violations);
    if more > 0
        && let Some(last) = violations.last_mut()
    {
        last.message
            .push_str(&format!(" (and {more} more such stretches, not reported)"));
    }
    violations.sort_by_key(|v| v.at);
    Conservation {
        judged: j.judged,
        judged_until: until,
        tolerance,
        violations,
    }
}
