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
//!   violation is an artefact of the matching. (A dispatcher may also learn that a slot
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
use crate::check::{CheckContext, CheckId, Evidence, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
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
    /// When it will receive it (from the whole history; `MAX`: never).
    receipt: SimTime,
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
    /// Assignments on their way to it: (dispatcher, lease).
    in_flight: BTreeSet<(NodeId, u64)>,
    /// Since when it has had a known-free slot not answered while jobs waited.
    neglected_since: Option<SimTime>,
    /// Its dispatcher recorded its hello.
    heard: bool,
}

impl Worker {
    fn idle(&self) -> usize {
        self.unknown.len() + self.known.len()
    }

    fn answered(&self, d: NodeId) -> usize {
        self.in_flight.range((d, 0)..=(d, u64::MAX)).count()
    }
}

#[derive(Default)]
struct Dispatcher {
    waiting: BTreeSet<JobId>,
    /// Since when some job has waited, and the job that started it.
    work_since: SimTime,
    first_waiting: Option<JobId>,
    /// Workers joined to it whose hello it recorded.
    heard_workers: u32,
}

struct Judge<'a> {
    ctx: &'a CheckContext,
    /// When each dispatcher recorded each word of each worker: (worker, dispatcher, word).
    receipts: BTreeMap<(NodeId, NodeId, Word), SimTime>,
    workers: BTreeMap<NodeId, Worker>,
    dispatchers: BTreeMap<NodeId, Dispatcher>,
    judged: bool,
    violations: Vec<Violation>,
    more: usize,
}

impl Judge<'_> {
    /// Re-evaluate worker `w`'s condition at `at`; `why` says what changed, for evidence.
    fn update(&mut self, w: NodeId, at: SimTime, why: &dyn Fn() -> Evidence) {
        let Some(wk) = self.workers.get(&w) else {
            return;
        };
        let waiting = wk
            .joined
            .and_then(|d| self.dispatchers.get(&d))
            .is_some_and(|d| !d.waiting.is_empty());
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
                    self.report(w, since, at, why());
                }
            }
            _ => {}
        }
    }

    fn report(&mut self, w: NodeId, since: SimTime, at: SimTime, end: Evidence) {
        if self.violations.len() == MAX_REPORTED {
            self.more += 1;
            return;
        }
        let Some(wk) = self.workers.get(&w) else {
            return;
        };
        let Some(d) = wk.joined else {
            return;
        };
        let ctx = self.ctx;
        let n = |id: NodeId| ctx.name(id);
        let j = |job: JobId| job_name(ctx, job);
        let mut events = Vec::with_capacity(4);
        // The slot known free the longest (the first one the dispatcher heard of).
        if let Some(slot) = wk.known.front() {
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
        if let Some(disp) = self.dispatchers.get(&d)
            && let Some(job) = disp.first_waiting
        {
            events.push(ctx.evidence(
                disp.work_since,
                d,
                format!("{} joined the queue of {}; jobs have waited since", j(job), n(d)),
            ));
        }
        events.push(end);
        events.sort_by_key(|e| e.at);
        let message = format!(
            "{} knew a slot of {} was free but sent it no job for {} while jobs waited (from {since} to {at}); \
             a slot may stay idle only for the round trip that frees and refills it",
            self.ctx.name(d),
            self.ctx.name(w),
            at - since
        );
        self.violations
            .push(Violation::new(NAME, message, since, self.ctx, events));
    }

    /// Every worker joined to `d`, re-evaluated (its queue changed).
    fn update_all(&mut self, d: NodeId, at: SimTime, why: &dyn Fn() -> Evidence) {
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
        let was_empty = disp.waiting.is_empty();
        if was_empty {
            disp.work_since = at;
            disp.first_waiting = Some(job);
        }
        disp.waiting.insert(job);
        if disp.heard_workers > 0 {
            self.judged = true;
        }
        if was_empty {
            self.update_all(d, at, &|| starts_only(at, d));
        }
    }

    fn remove_waiting(&mut self, d: NodeId, job: JobId, at: SimTime) {
        let Some(disp) = self.dispatchers.get_mut(&d) else {
            return;
        };
        if !disp.waiting.remove(&job) || !disp.waiting.is_empty() {
            return;
        }
        disp.first_waiting = None;
        let ctx = self.ctx;
        let why = || {
            ctx.evidence(
                at,
                d,
                format!(
                    "{} left the queue of {}: nothing waits",
                    job_name(ctx, job),
                    ctx.name(d)
                ),
            )
        };
        self.update_all(d, at, &why);
    }

    /// Worker `w` leaves the dispatcher it joined (a restart, or another dispatcher).
    fn leave(&mut self, w: NodeId, at: SimTime) {
        let Some(wk) = self.workers.get_mut(&w) else {
            return;
        };
        let Some(d) = wk.joined else {
            return;
        };
        wk.known.clear();
        wk.unknown.clear();
        let ctx = self.ctx;
        let why = || ctx.evidence(at, w, format!("{} left {}", ctx.name(w), ctx.name(d)));
        self.update(w, at, &why);
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
            if !disp.waiting.is_empty() {
                self.judged = true;
            }
        }
        let Some(wk) = self.workers.get_mut(&w) else {
            return;
        };
        let before = wk.known.len();
        // One pass, in order (removing each slot from the middle was quadratic in a
        // worker's slots: a million-slot worker took minutes).
        let (now_known, still): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut wk.unknown)
            .into_iter()
            .partition(|s| s.word == Some(word));
        wk.unknown = still;
        for mut slot in now_known {
            slot.known_at = Some(at);
            wk.known.push_back(slot);
        }
        if wk.known.len() > before {
            self.update(w, at, &|| starts_only(at, w));
        }
    }

    fn observe(&mut self, r: &Record<Obs>) {
        let Obs::Pool(o) = &r.obs else {
            return;
        };
        let (at, node) = (r.at, r.node);
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
                let ctx = self.ctx;
                let why = || {
                    ctx.evidence(
                        at,
                        node,
                        format!(
                            "{} assigned {} to {} (lease {assign})",
                            ctx.name(node),
                            job_name(ctx, *job),
                            ctx.name(*worker)
                        ),
                    )
                };
                self.update(*worker, at, &why);
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
                let receipt = self.receipts.get(&(node, *dispatcher, word)).copied();
                let Some(wk) = self.workers.get_mut(&node) else {
                    return;
                };
                for _ in 0..free {
                    wk.unknown.push(Idle {
                        since: at,
                        word: Some(word),
                        freed_by: None,
                        known_at: None,
                        receipt: receipt.unwrap_or(SimTime::MAX),
                    });
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
                // word will arrive first. Of all choices this leaves the fewest known
                // slots at every later time, so a violation never depends on the choice.
                if wk.known.pop_front().is_none()
                    && let Some(i) = (0..wk.unknown.len()).min_by_key(|&i| wk.unknown[i].receipt)
                {
                    wk.unknown.remove(i);
                }
                let ctx = self.ctx;
                let why = || ctx.evidence(at, node, format!("{} started {}", ctx.name(node), job_name(ctx, *job)));
                self.update(node, at, &why);
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
                self.update(*worker, at, &|| starts_only(at, *worker));
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
                    let receipt = word
                        .and_then(|wd| self.receipts.get(&(node, *dispatcher, wd)))
                        .copied()
                        .unwrap_or(SimTime::MAX);
                    if let Some(wk) = self.workers.get_mut(&node) {
                        wk.unknown.push(Idle {
                            since: at,
                            word,
                            freed_by: Some(*job),
                            known_at: None,
                            receipt,
                        });
                    }
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
                .map_or(0, |d| d.waiting.len());
            if let Some(since) = since
                && at > since
            {
                let end = self.ctx.evidence(
                    at,
                    w,
                    format!(
                        "the judged window ends with {} waiting",
                        crate::plural::count(waiting as u64, "job")
                    ),
                );
                self.report(w, since, at, end);
            }
        }
    }
}

/// The evidence passed with a change that can only start a stretch (a job starts
/// waiting, a slot becomes known free, a refusal arrives), never end one, so it is never
/// part of a report.
fn starts_only(at: SimTime, node: NodeId) -> Evidence {
    Evidence {
        at,
        node,
        name: String::new(),
        what: String::new(),
    }
}

/// When each dispatcher recorded each word of each worker (the first time).
fn receipts(records: &[Record<Obs>]) -> BTreeMap<(NodeId, NodeId, Word), SimTime> {
    let mut out = BTreeMap::new();
    for r in records {
        let key = match &r.obs {
            Obs::Pool(PoolObs::Accepted { worker, assign, .. } | PoolObs::DuplicateResult { worker, assign, .. }) => {
                (*worker, r.node, Word::Result(*assign))
            }
            Obs::Pool(PoolObs::WorkerJoined { worker, seq, .. }) => (*worker, r.node, Word::Hello(*seq)),
            _ => continue,
        };
        out.entry(key).or_insert(r.at);
    }
    out
}

/// `pool.work_conservation` over the records before `until` (the end of the run's
/// fault-free prefix; see the module docs for what is judged).
pub fn check_work_conservation(records: &[Record<Obs>], ctx: &CheckContext, until: SimTime) -> Conservation {
    let until = until.min(ctx.end);
    let mut j = Judge {
        ctx,
        receipts: receipts(records),
        workers: BTreeMap::new(),
        dispatchers: BTreeMap::new(),
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
        violations,
    }
}
