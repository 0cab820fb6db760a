//! `pool.work_conservation` (safety): no worker slot sits idle beyond one round trip
//! while jobs wait in its dispatcher's queue.
//!
//! ## The property, and its exact tolerance
//!
//! A freed slot can be refilled no sooner than one round trip: the worker's word that it
//! is free (its result, or its first hello) must reach the dispatcher, and an assignment
//! must travel back. The check grants every slot exactly that round trip, *as measured
//! for that slot*, and nothing more: from the moment the dispatcher has received the
//! worker's word about a slot that is still idle (the slot is **known free**), while a
//! job waits in that dispatcher's queue, an assignment to that worker must already be on
//! its way. Formally, per worker `w` joined to dispatcher `d`, the condition
//!
//! > a job waits at `d`, and `w` has more known-free idle slots than assignments from
//! > `d` in flight to it
//!
//! must never hold for a positive stretch of time (handlers take no virtual time, so a
//! dispatcher that reacts when it learns reacts at that very instant). The tolerance is
//! therefore the slot's own round trip, whatever the latency distribution; a global
//! bound such as twice the longest latency measured would let a phantom booking shorter
//! than the slowest message of the run hide behind the network's jitter.
//!
//! ## What is observed (never the dispatcher's bookkeeping)
//!
//! - **Idle slots**, from the workers' own records: a worker's slots are offered to a
//!   dispatcher from its `Joined` (its first hello there); `Started` fills one,
//!   `Completed` frees one, `WorkerUp` (a restart) empties them.
//! - **Known free**: a slot freed by `Completed` of lease `a` becomes known when the
//!   dispatcher records receiving that result (`Accepted` or `DuplicateResult` of `a`);
//!   the slots offered by a `Joined` when it records that hello (`WorkerJoined` with the
//!   same report sequence number). Slots are fungible, so a fill takes a known slot
//!   first, else the idle slot whose word arrives first: of all the ways to match fills
//!   with slots this leaves the fewest slots known free at every later moment, so no
//!   violation is an artefact of the matching. The check runs online, so it does not
//!   know at the fill which word arrives first: the fill waits, and the first word to
//!   arrive for a slot that was idle at the fill is the one it took (the same matching). (A dispatcher may also learn that a slot
//!   is free from a later report of the worker and fill it early; that only helps it.)
//! - **In flight**: from the dispatcher's `Assigned` until the worker's `Started` of the
//!   same lease, or until the dispatcher records the worker's refusal of it (`Refused`):
//!   until then the dispatcher may rightly believe that the assignment fills the slot.
//! - **Waiting jobs**, rebuilt per dispatcher from its events (not its `queue_len`
//!   counters): a job waits from `Submitted`, from a `Reassigned` (expired lease) or a
//!   `Refused` that requeued it, until its next `Assigned` or its `Accepted`.
//!
//! A slot is judged from the moment its dispatcher records the worker's word: a word it
//! never records (lost, cut by a fault, still in flight when the window ends) leaves the
//! slot unjudged, since no dispatcher can act on what it has not heard. A dispatcher
//! that never hears its workers leaves its jobs undone, which `pool.liveness` judges.
//!
//! At most [`MAX_REPORTED`] violations are reported (the first ones); the last one says
//! how many more there were.
//!
//! ## When it is judged
//!
//! Only where nothing but the protocol can keep a slot idle: the caller passes `until`,
//! the end of the run's fault-free prefix (its first fault: crash, pause, partition,
//! clog or link change, scheduled or by the nemesis), and the check judges
//! `[0, min(until, end))`. A worker that is down, paused or cut off looks idle in the
//! history, and after a fault a dispatcher legitimately needs a heartbeat or a lease to
//! learn the truth; recovery after faults is what `pool.liveness` judges. For the same
//! reason a network that loses or duplicates messages from the start leaves nothing to
//! judge: a lost result keeps a slot booked until the worker's next heartbeat.
//!
//! The check **cannot pass vacuously**: [`Conservation::judged`] is false, and the
//! scenario layer then does not list the check at all rather than say "pass", unless at
//! some moment of the judged window a job waited at a dispatcher that had recorded the
//! hello of at least one joined worker. A pool with no worker, a dispatcher that never
//! heard one, or a window in which no job ever waited, claims nothing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::check::job_name;
use crate::check::{CheckContext, CheckId, Evidence, IdSet, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Observation};
use crate::protocols::Obs;
use crate::protocols::worker_pool::{JobId, PoolObs};

/// The check's name.
pub const NAME: CheckId = CheckId::new("pool.work_conservation");

/// At most this many violations are reported.
pub const MAX_REPORTED: usize = 10;

/// What the check found.
#[derive(Clone, Debug, PartialEq)]
pub struct Conservation {
    /// Whether anything was judged: some job waited, in the judged window, at a
    /// dispatcher that had heard from at least one worker. When false the check makes
    /// no claim.
    pub judged: bool,
    /// The end of the judged window, `min(until, end)`.
    pub judged_until: SimTime,
    /// The violations (at most [`MAX_REPORTED`]).
    pub violations: Vec<Violation>,
}

/// The message that tells the dispatcher a slot is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Word {
    /// The result of this lease.
    Result(u64),
    /// The hello with this report sequence number.
    Hello(u64),
}

/// One idle slot.
#[derive(Clone, Copy, Debug)]
struct Idle {
    since: SimTime,
    /// The message that will tell the dispatcher (none: a result sent to another one).
    word: Option<Word>,
    /// The job whose end freed it (none: the worker joined).
    freed_by: Option<JobId>,
    /// When the dispatcher received the word.
    known_at: Option<SimTime>,
    /// Its number among the worker's idle slots (a fill may take only a slot that was
    /// idle when it happened).
    born: u64,
}

#[derive(Default)]
struct Worker {
    slots: u32,
    running: u32,
    /// The dispatcher its slots are offered to.
    joined: Option<NodeId>,
    /// Idle slots the dispatcher has not heard of yet (a few: at most `slots`).
    unknown: Vec<Idle>,
    /// Idle slots the dispatcher has heard of, in the order it heard.
    known: VecDeque<Idle>,
    /// Fills that took an unknown slot, not yet told which: each takes the first slot
    /// born before it (`born <` its number) whose word arrives.
    fills: VecDeque<u64>,
    /// The next idle slot's `born`.
    born: u64,
    /// Assignments on their way to it: (dispatcher, lease).
    in_flight: BTreeSet<(NodeId, u64)>,
    /// Since when it has had a known-free slot not answered while jobs waited.
    neglected_since: Option<SimTime>,
    /// Its dispatcher recorded its hello.
    heard: bool,
}

impl Worker {
    fn idle(&self) -> usize {
        self.unknown.len() + self.known.len() - self.fills.len()
    }

    fn answered(&self, d: NodeId) -> usize {
        self.in_flight.range((d, 0)..=(d, u64::MAX)).count()
    }

    fn clear_idle(&mut self) {
        self.known.clear();
        self.unknown.clear();
        self.fills.clear();
    }
}

#[derive(Default)]
struct Dispatcher {
    /// The jobs waiting in its queue, by origin (a batch is one run).
    waiting: BTreeMap<NodeId, IdSet>,
    /// How many jobs wait.
    waiting_len: u64,
    /// Since when some job has waited, and the job that started it.
    work_since: SimTime,
    first_waiting: Option<JobId>,
    /// Workers joined to it whose hello it recorded.
    heard_workers: u32,
}

/// What changed when a stretch ended (the last event of a violation), kept raw and put
/// in words at the end of the run.
#[derive(Clone, Copy, Debug)]
enum Why {
    /// A change that can only start a stretch (a job starts waiting, a slot becomes
    /// known free, a refusal arrives), never end one, so it is never part of a report.
    StartsOnly(SimTime, NodeId),
    /// The dispatcher `d` assigned `job` to `worker`.
    Assigned {
        at: SimTime,
        d: NodeId,
        job: JobId,
        worker: NodeId,
        assign: u64,
    },
    /// `job` left the queue of `d`, and nothing waits.
    LeftQueue { at: SimTime, d: NodeId, job: JobId },
    /// Worker `w` left dispatcher `d`.
    Left { at: SimTime, w: NodeId, d: NodeId },
    /// Worker `w` started `job`.
    Started { at: SimTime, w: NodeId, job: JobId },
    /// The judged window ended with `waiting` jobs waiting.
    WindowEnd { at: SimTime, w: NodeId, waiting: u64 },
}

impl Why {
    fn evidence(self, ctx: &CheckContext) -> Evidence {
        let n = |id: NodeId| ctx.name(id);
        match self {
            Why::StartsOnly(at, node) => Evidence {
                at,
                node,
                name: String::new(),
                what: String::new(),
            },
            Why::Assigned {
                at,
                d,
                job,
                worker,
                assign,
            } => ctx.evidence(
                at,
                d,
                format!(
                    "{} assigned {} to {} (lease {assign})",
                    n(d),
                    job_name(ctx, job),
                    n(worker)
                ),
            ),
            Why::LeftQueue { at, d, job } => ctx.evidence(
                at,
                d,
                format!("{} left the queue of {}: nothing waits", job_name(ctx, job), n(d)),
            ),
            Why::Left { at, w, d } => ctx.evidence(at, w, format!("{} left {}", n(w), n(d))),
            Why::Started { at, w, job } => ctx.evidence(at, w, format!("{} started {}", n(w), job_name(ctx, job))),
            Why::WindowEnd { at, w, waiting } => ctx.evidence(
                at,
                w,
                format!(
                    "the judged window ends with {} waiting",
                    crate::plural::count(waiting, "job")
                ),
            ),
        }
    }
}

/// A stretch to report, as it was when it ended (put in words at the end of the run).
struct Stretch {
    w: NodeId,
    d: NodeId,
    since: SimTime,
    at: SimTime,
    /// The slot known free the longest.
    slot: Option<Idle>,
    /// Since when jobs had waited, and the first of them.
    waiting: Option<(SimTime, JobId)>,
    end: Why,
}

impl Stretch {
    fn violation(&self, ctx: &CheckContext) -> Violation {
        let (w, d, since, at) = (self.w, self.d, self.since, self.at);
        let n = |id: NodeId| ctx.name(id);
        let j = |job: JobId| job_name(ctx, job);
        let mut events = Vec::with_capacity(4);
        if let Some(slot) = self.slot {
            events.push(ctx.evidence(
                slot.since,
                w,
                match slot.freed_by {
                    Some(job) => format!("{} finished {}: a slot is idle", n(w), j(job)),
                    None => format!("{} joined {}: its slots are idle", n(w), n(d)),
                },
            ));
            if let Some(k) = slot.known_at {
                events.push(ctx.evidence(
                    k,
                    d,
                    match slot.word {
                        Some(Word::Result(a)) => {
                            format!(
                                "{} received the result of lease {a} from {}: the slot is free",
                                n(d),
                                n(w)
                            )
                        }
                        _ => format!("{} received the hello of {}: its slots are free", n(d), n(w)),
                    },
                ));
            }
        }
        if let Some((work_since, job)) = self.waiting {
            events.push(ctx.evidence(
                work_since,
                d,
                format!("{} joined the queue of {}; jobs have waited since", j(job), n(d)),
            ));
        }
        events.push(self.end.evidence(ctx));
        events.sort_by_key(|e| e.at);
        let message = format!(
            "{} knew a slot of {} was free but sent it no job for {} while jobs waited (from {since} to {at}); \
             a slot may stay idle only for the round trip that frees and refills it",
            n(d),
            n(w),
            at - since
        );
        Violation::new(NAME, message, since, ctx, events)
    }
}

/// `pool.work_conservation` as an online [`Check`]: fed each observation of the
/// judged window `[0, until)` as it is made, it keeps per worker its idle slots (at most
/// its slot count) and the assignments in flight to it, per dispatcher the jobs waiting
/// in its queue (as runs of ids), and at most `MAX_REPORTED` (10) stretches.
pub struct WorkConservation {
    until: SimTime,
    workers: BTreeMap<NodeId, Worker>,
    dispatchers: BTreeMap<NodeId, Dispatcher>,
    judged: bool,
    stretches: Vec<Stretch>,
    more: usize,
    /// The judged window's last instant seen, and whether the window is closed.
    closed: bool,
}

impl WorkConservation {
    /// The check over the fault-free prefix `[0, until)` (see the module docs).
    pub fn new(until: SimTime) -> Self {
        WorkConservation {
            until,
            workers: BTreeMap::new(),
            dispatchers: BTreeMap::new(),
            judged: false,
            stretches: Vec::new(),
            more: 0,
            closed: false,
        }
    }

    /// Re-evaluate worker `w`'s condition at `at`; `why` says what changed, for evidence.
    fn update(&mut self, w: NodeId, at: SimTime, why: Why) {
        let Some(wk) = self.workers.get(&w) else {
            return;
        };
        let waiting = wk
            .joined
            .and_then(|d| self.dispatchers.get(&d))
            .is_some_and(|d| d.waiting_len > 0);
        let neglected = waiting && wk.joined.is_some_and(|d| wk.known.len() > wk.answered(d));
        match (wk.neglected_since, neglected) {
            (None, true) => {
                if let Some(wk) = self.workers.get_mut(&w) {
                    wk.neglected_since = Some(at);
                }
            }
            (Some(since), false) => {
                if let Some(wk) = self.workers.get_mut(&w) {
                    wk.neglected_since = None;
                }
                if at > since {
                    self.report(w, since, at, why);
                }
            }
            _ => {}
        }
    }

    fn report(&mut self, w: NodeId, since: SimTime, at: SimTime, end: Why) {
        if self.stretches.len() == MAX_REPORTED {
            self.more += 1;
            return;
        }
        let Some(wk) = self.workers.get(&w) else {
            return;
        };
        let Some(d) = wk.joined else {
            return;
        };
        let waiting = self
            .dispatchers
            .get(&d)
            .and_then(|disp| disp.first_waiting.map(|job| (disp.work_since, job)));
        self.stretches.push(Stretch {
            w,
            d,
            since,
            at,
            slot: wk.known.front().copied(),
            waiting,
            end,
        });
    }

    /// Every worker joined to `d`, re-evaluated (its queue changed).
    fn update_all(&mut self, d: NodeId, at: SimTime, why: Why) {
        let ws: Vec<NodeId> = self
            .workers
            .iter()
            .filter(|(_, wk)| wk.joined == Some(d))
            .map(|(w, _)| *w)
            .collect();
        for w in ws {
            self.update(w, at, why);
        }
    }

    fn add_waiting(&mut self, d: NodeId, job: JobId, at: SimTime) {
        let disp = self.dispatchers.entry(d).or_default();
        let was_empty = disp.waiting_len == 0;
        if was_empty {
            disp.work_since = at;
            disp.first_waiting = Some(job);
        }
        let set = disp.waiting.entry(job.origin).or_default();
        if !set.contains(job.seq) {
            set.insert(job.seq, ());
            disp.waiting_len += 1;
        }
        if disp.heard_workers > 0 {
            self.judged = true;
        }
        if was_empty {
            self.update_all(d, at, Why::StartsOnly(at, d));
        }
    }

    fn remove_waiting(&mut self, d: NodeId, job: JobId, at: SimTime) {
        let Some(disp) = self.dispatchers.get_mut(&d) else {
            return;
        };
        let Some(set) = disp.waiting.get_mut(&job.origin) else {
            return;
        };
        if set.remove(job.seq).is_none() {
            return;
        }
        if set.is_empty() {
            disp.waiting.remove(&job.origin);
        }
        disp.waiting_len -= 1;
        if disp.waiting_len > 0 {
            return;
        }
        disp.first_waiting = None;
        self.update_all(d, at, Why::LeftQueue { at, d, job });
    }

    /// Worker `w` leaves the dispatcher it joined (a restart, or another dispatcher).
    fn leave(&mut self, w: NodeId, at: SimTime) {
        let Some(wk) = self.workers.get_mut(&w) else {
            return;
        };
        let Some(d) = wk.joined else {
            return;
        };
        wk.clear_idle();
        self.update(w, at, Why::Left { at, w, d });
        let mut was_heard = false;
        if let Some(wk) = self.workers.get_mut(&w) {
            wk.joined = None;
            wk.neglected_since = None;
            was_heard = std::mem::take(&mut wk.heard);
        }
        if was_heard && let Some(disp) = self.dispatchers.get_mut(&d) {
            disp.heard_workers = disp.heard_workers.saturating_sub(1);
        }
    }

    /// The dispatcher `d` received `word` from worker `w` at `at`.
    fn heard(&mut self, d: NodeId, w: NodeId, word: Word, at: SimTime) {
        let Some(wk) = self.workers.get_mut(&w) else {
            return;
        };
        if wk.joined != Some(d) {
            return;
        }
        if matches!(word, Word::Hello(_)) && !std::mem::replace(&mut wk.heard, true) {
            let disp = self.dispatchers.entry(d).or_default();
            disp.heard_workers += 1;
            if disp.waiting_len > 0 {
                self.judged = true;
            }
        }
        let Some(wk) = self.workers.get_mut(&w) else {
            return;
        };
        let before = wk.known.len();
        // One pass, in order (removing each slot from the middle was quadratic in a
        // worker's slots: a million-slot worker took minutes).
        let pending = std::mem::take(&mut wk.unknown);
        let mut still = Vec::with_capacity(pending.len());
        for mut slot in pending {
            if slot.word != Some(word) {
                still.push(slot);
                continue;
            }
            // The first waiting fill that this slot was idle for took it: its word is
            // the first to arrive among that fill's candidates.
            if let Some(f) = wk.fills.iter().position(|&limit| slot.born < limit) {
                wk.fills.remove(f);
                continue;
            }
            slot.known_at = Some(at);
            wk.known.push_back(slot);
        }
        wk.unknown = still;
        if wk.known.len() > before {
            self.update(w, at, Why::StartsOnly(at, w));
        }
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &PoolObs) {
        match o {
            PoolObs::Submitted { job, .. } | PoolObs::Reassigned { job, .. } => self.add_waiting(node, *job, at),
            PoolObs::Assigned {
                job, worker, assign, ..
            } => {
                self.workers
                    .entry(*worker)
                    .or_default()
                    .in_flight
                    .insert((node, *assign));
                let why = Why::Assigned {
                    at,
                    d: node,
                    job: *job,
                    worker: *worker,
                    assign: *assign,
                };
                self.update(*worker, at, why);
                self.remove_waiting(node, *job, at);
            }
            PoolObs::Accepted {
                job, worker, assign, ..
            } => {
                self.heard(node, *worker, Word::Result(*assign), at);
                self.remove_waiting(node, *job, at);
            }
            PoolObs::DuplicateResult { worker, assign, .. } => self.heard(node, *worker, Word::Result(*assign), at),
            PoolObs::WorkerJoined { worker, seq, .. } => self.heard(node, *worker, Word::Hello(*seq), at),
            PoolObs::WorkerUp { slots, .. } => {
                // A (re)start: whatever ran died; nothing is offered until it joins.
                self.leave(node, at);
                let wk = self.workers.entry(node).or_default();
                wk.slots = *slots;
                wk.running = 0;
                wk.in_flight.clear();
            }
            PoolObs::Joined { dispatcher, seq } => {
                self.leave(node, at);
                let wk = self.workers.entry(node).or_default();
                wk.joined = Some(*dispatcher);
                let free = wk.slots.saturating_sub(wk.running);
                let word = Word::Hello(*seq);
                for _ in 0..free {
                    wk.unknown.push(Idle {
                        since: at,
                        word: Some(word),
                        freed_by: None,
                        known_at: None,
                        born: wk.born,
                    });
                    wk.born += 1;
                }
            }
            PoolObs::Started {
                job,
                assign,
                dispatcher,
            } => {
                let wk = self.workers.entry(node).or_default();
                wk.running += 1;
                wk.in_flight.remove(&(*dispatcher, *assign));
                // Slots are fungible: a fill takes a known slot first, else the one whose
                // word arrives first (decided when it arrives, see `heard`). Of all choices
                // this leaves the fewest known slots at every later time, so a violation
                // never depends on the choice.
                if wk.known.pop_front().is_none() && wk.unknown.len() > wk.fills.len() {
                    wk.fills.push_back(wk.born);
                }
                self.update(node, at, Why::Started { at, w: node, job: *job });
            }
            PoolObs::Refused {
                job,
                worker,
                assign,
                requeued,
                ..
            } => {
                if *requeued {
                    self.add_waiting(node, *job, at);
                }
                // The dispatcher learns that its assignment will not fill a slot.
                if let Some(wk) = self.workers.get_mut(worker) {
                    wk.in_flight.remove(&(node, *assign));
                }
                self.update(*worker, at, Why::StartsOnly(at, *worker));
            }
            PoolObs::Completed {
                job,
                assign,
                dispatcher,
                ..
            } => {
                let wk = self.workers.entry(node).or_default();
                wk.running = wk.running.saturating_sub(1);
                let free = wk.slots.saturating_sub(wk.running) as usize;
                if wk.joined.is_some() && wk.idle() < free {
                    // A result sent to another dispatcher than the one joined never tells it.
                    let word = (wk.joined == Some(*dispatcher)).then_some(Word::Result(*assign));
                    wk.unknown.push(Idle {
                        since: at,
                        word,
                        freed_by: Some(*job),
                        known_at: None,
                        born: wk.born,
                    });
                    wk.born += 1;
                }
            }
            _ => {}
        }
    }

    /// The window ends at `at`: every stretch still open is judged there.
    fn finish(&mut self, at: SimTime) {
        let open: Vec<NodeId> = self
            .workers
            .iter()
            .filter(|(_, wk)| wk.neglected_since.is_some())
            .map(|(w, _)| *w)
            .collect();
        for w in open {
            let since = self.workers.get(&w).and_then(|wk| wk.neglected_since);
            let waiting = self
                .workers
                .get(&w)
                .and_then(|wk| wk.joined)
                .and_then(|d| self.dispatchers.get(&d))
                .map_or(0, |d| d.waiting_len);
            if let Some(since) = since
                && at > since
            {
                self.report(w, since, at, Why::WindowEnd { at, w, waiting });
            }
        }
    }

    /// What it found, once the run ended at `ctx.end`.
    pub fn conclude(&mut self, ctx: &CheckContext) -> Conservation {
        let until = self.until.min(ctx.end);
        if !self.closed {
            self.closed = true;
            self.finish(until);
        }
        let mut violations: Vec<Violation> = self.stretches.iter().map(|s| s.violation(ctx)).collect();
        if self.more > 0
            && let Some(last) = violations.last_mut()
        {
            last.message
                .push_str(&format!(" (and {} more such stretches, not reported)", self.more));
        }
        violations.sort_by_key(|v| v.at);
        Conservation {
            judged: self.judged,
            judged_until: until,
            violations,
        }
    }
}

impl Check for WorkConservation {
    fn id(&self) -> CheckId {
        NAME
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if rec.at >= self.until {
            return;
        }
        if let Some(Obs::Pool(o)) = rec.obs.get::<Obs>() {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        let c = self.conclude(cx);
        c.judged.then(|| Verdict::judged(NAME, c.violations))
    }
    fn retained(&self) -> usize {
        let workers: usize = self
            .workers
            .values()
            .map(|w| 1 + w.unknown.len() + w.known.len() + w.fills.len() + w.in_flight.len())
            .sum();
        let queues: usize = self
            .dispatchers
            .values()
            .map(|d| 1 + d.waiting.values().map(IdSet::runs).sum::<usize>())
            .sum();
        workers + queues + self.stretches.len()
    }
}

/// `pool.work_conservation` over the records before `until` (the end of the run's
/// fault-free prefix; see the module docs for what is judged).
pub fn check_work_conservation(records: &[Record<Obs>], ctx: &CheckContext, until: SimTime) -> Conservation {
    let mut c = WorkConservation::new(until);
    for r in records.iter().take_while(|r| r.at < until.min(ctx.end)) {
        if let Obs::Pool(o) = &r.obs {
            c.feed(r.at, r.node, o);
        }
    }
    c.conclude(ctx)
}
