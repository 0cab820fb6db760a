//! The pool dispatcher: a FIFO job queue (optionally bounded), a registry of workers and
//! their free slots, leases on every assignment, first-result-wins acceptance, and the
//! batch and Poisson arrival processes. With `register` set it embeds a [`Registrant`]
//! and registers under a service name (again at every restart), renewing by heartbeat.
//!
//! All job state is durable (see the module docs of `worker_pool`): each handler takes the
//! [`State`] out of durable storage, works on it, puts it back and syncs it. Per-job state exists
//! only for jobs not yet accepted; per-client state is one entry per client.
//!
//! Slots: each worker's slots are `booked` (an assignment holds them: its lease live, or
//! expired while the job may still run), `foreign` (busy, by the worker's last report,
//! with work not booked here), or free. Every free slot is either offered (one entry in
//! `State::free`, least recently freed first) or parked (its worker went silent). Only
//! the worker's word frees a booked slot (see the module docs of `worker_pool`); a lease
//! expiry puts the job back but keeps the slot booked.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use rand_distr::Exp;

use super::config::{Arrivals, DispatcherConfig};
use super::{JobId, PoolMsg, PoolObs, SlotReport, observe, send};
use crate::FastMap;
use crate::engine::node::{Node, NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};
use crate::protocols::discovery::Registrant;
use crate::protocols::{Msg, ProtoCtx};

/// The arrival timer's tag; lease timers are tagged with their lease number (< 2^63).
const ARRIVAL: u64 = u64::MAX;

/// A job not yet accepted.
#[derive(Clone)]
struct Job {
    value: u64,
    submitted_at: SimTime,
    assigned_once: bool,
    /// In the queue (the queue may also hold stale ids of accepted jobs; they are skipped).
    queued: bool,
}

/// An assignment out at a worker.
#[derive(Clone)]
struct Lease {
    job: JobId,
    worker: NodeId,
    /// The worker's incarnation when assigned: only then does its slot come back.
    incarnation: u32,
    deadline: SimTime,
    timer: TimerId,
}

/// What the dispatcher knows of a worker.
#[derive(Clone)]
struct WorkerInfo {
    incarnation: u32,
    last_seen: SimTime,
    /// Its slots (from its hello).
    slots: u32,
    /// Free slots offered, i.e. its entries in `State::free`.
    offered: u32,
    /// Free slots set aside because the worker went silent; back at its next hello.
    parked: u32,
    /// Assignments holding one of its slots, by lease number: `true` while the lease is
    /// live, `false` once it expired (the job went back to the queue, but the worker may
    /// still be running it, so the slot stays booked until the worker says otherwise).
    booked: Bookings,
    /// Slots its last report said were busy with work not booked here.
    foreign: u32,
    /// Sequence number of the last report reconciled (0: none).
    report_seq: u64,
}

/// A worker's bookings, `(lease, live)` sorted by lease: leases are numbered in order,
/// so a new one goes at the end, and a worker's few bookings keep their allocation.
#[derive(Clone, Default)]
struct Bookings(Vec<(u64, bool)>);

impl Bookings {
    /// Book a new (live) lease, numbered above every earlier one.
    fn push(&mut self, assign: u64) {
        match self.0.last() {
            Some(&(last, _)) if last >= assign => {
                if let Err(i) = self.0.binary_search_by_key(&assign, |b| b.0) {
                    self.0.insert(i, (assign, true));
                }
            }
            _ => self.0.push((assign, true)),
        }
    }

    fn get_mut(&mut self, assign: u64) -> Option<&mut bool> {
        let i = self.0.binary_search_by_key(&assign, |b| b.0).ok()?;
        Some(&mut self.0[i].1)
    }

    fn remove(&mut self, assign: u64) {
        if let Ok(i) = self.0.binary_search_by_key(&assign, |b| b.0) {
            self.0.remove(i);
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl WorkerInfo {
    fn new(incarnation: u32, slots: u32, now: SimTime) -> Self {
        WorkerInfo {
            incarnation,
            last_seen: now,
            slots,
            offered: 0,
            parked: 0,
            booked: Bookings::default(),
            foreign: 0,
            report_seq: 0,
        }
    }

    /// Slots neither booked nor busy with foreign work.
    fn free_slots(&self) -> u32 {
        let used = (self.booked.len() as u32).saturating_add(self.foreign);
        self.slots.saturating_sub(used)
    }

    /// Bring the bookings in line with a report from the worker: a booking it says it
    /// finished (or declined) is freed, even if that result is still on its way; an
    /// expired booking it no longer holds is freed (the assignment was lost); what it runs
    /// beyond our bookings is foreign. Other live bookings stay (the assignment may be on
    /// its way). A report of another incarnation is ignored, and one older than a report
    /// already used is used only for what it finished (that never stops being true).
    fn reconcile(&mut self, r: &SlotReport) {
        if r.incarnation != self.incarnation {
            return;
        }
        for a in &r.finished {
            self.booked.remove(*a);
        }
        if r.seq <= self.report_seq {
            return;
        }
        self.report_seq = r.seq;
        self.booked
            .0
            .retain(|(a, live)| *live || r.held.binary_search(a).is_ok());
        let held_here = r.held.iter().filter(|a| self.booked.get_mut(**a).is_some()).count() as u32;
        self.foreign = r.busy.saturating_sub(held_here);
    }
}

/// The dispatcher's durable state.
#[derive(Clone, Default)]
struct State {
    started: bool,
    jobs: FastMap<JobId, Job>,
    queue: VecDeque<JobId>,
    /// Live entries in `queue`.
    queued: u32,
    leases: FastMap<u64, Lease>,
    next_assign: u64,
    /// Jobs made by the dispatcher itself (batch, Poisson).
    generated: u64,
    workers: BTreeMap<NodeId, WorkerInfo>,
    /// One entry per free slot, least recently freed first: (worker, its incarnation).
    free: VecDeque<(NodeId, u32)>,
    /// Per client: the last accepted job's sequence number and result.
    clients: FastMap<NodeId, (u64, u64)>,
}

pub(super) struct Dispatcher {
    cfg: Rc<DispatcherConfig>,
    /// Inter-arrival distribution in nanoseconds (Poisson arrivals only).
    gap: Option<Exp<f64>>,
    /// Registers the dispatcher under its service name, if configured (volatile).
    registrant: Option<Registrant>,
}

impl Dispatcher {
    pub(super) fn new(cfg: Rc<DispatcherConfig>) -> Self {
        let gap = match cfg.arrivals {
            Arrivals::Poisson { rate, .. } => Exp::new(rate / 1e9).ok(),
            _ => None,
        };
        let registrant = cfg.register.clone().map(Registrant::new);
        Dispatcher { cfg, gap, registrant }
    }

    /// Run `f` on the durable state taken out of storage, then put it back.
    fn with_state(&mut self, ctx: &mut ProtoCtx<'_>, f: impl FnOnce(&mut Self, &mut ProtoCtx<'_>, &mut State)) {
        let mut st = std::mem::take(ctx.durable::<State>());
        f(self, ctx, &mut st);
        *ctx.durable::<State>() = st;
        // Synced before the handler returns, so before anything it sent can arrive.
        ctx.sync::<State>();
    }

    fn arm_arrival(&self, ctx: &mut ProtoCtx<'_>, st: &State) {
        if let (Some(gap), Arrivals::Poisson { jobs, .. }) = (&self.gap, &self.cfg.arrivals)
            && jobs.is_none_or(|n| st.generated < n)
        {
            let after = SimTime::from_nanos_f64(ctx.rng().sample(gap));
            ctx.set_timer(after, ARRIVAL);
        }
    }

    /// A job the dispatcher makes itself.
    fn generate(&self, ctx: &mut ProtoCtx<'_>, st: &mut State) {
        st.generated += 1;
        let job = JobId {
            origin: ctx.me(),
            seq: st.generated,
        };
        let value = ctx.rng().range(1, 1 << 32);
        self.enqueue(ctx, st, job, value);
    }

    /// Put a new job at the tail of the queue, or reject it when the queue is full.
    /// Returns whether it was taken.
    fn enqueue(&self, ctx: &mut ProtoCtx<'_>, st: &mut State, job: JobId, value: u64) -> bool {
        if self.cfg.queue_capacity.is_some_and(|c| st.queued >= c) {
            observe(ctx, PoolObs::Rejected { job });
            return false;
        }
        st.jobs.insert(
            job,
            Job {
                value,
                submitted_at: ctx.now(),
                assigned_once: false,
                queued: true,
            },
        );
        st.queue.push_back(job);
        st.queued += 1;
        observe(
            ctx,
            PoolObs::Submitted {
                job,
                value,
                queue_len: st.queued,
            },
        );
        true
    }

    /// Hand queued jobs to free slots while there are both.
    fn dispatch(&self, ctx: &mut ProtoCtx<'_>, st: &mut State) {
        while st.queued > 0 {
            let Some((w, inc)) = st.free.pop_front() else {
                return;
            };
            // Leases and worker timeouts are timed on the dispatcher's monotonic clock.
            let now = ctx.monotonic_now();
            let Some(info) = st.workers.get_mut(&w) else {
                continue;
            };
            if info.incarnation != inc {
                continue; // a slot of a previous incarnation
            }
            info.offered = info.offered.saturating_sub(1);
            if now.saturating_sub(info.last_seen) > self.cfg.worker_timeout {
                info.parked += 1;
                continue;
            }
            // The head of the queue, skipping ids of jobs accepted meanwhile.
            let (job, value, submitted_at, first) = loop {
                let Some(id) = st.queue.pop_front() else {
                    return; // unreachable while `queued > 0`
                };
                if let Some(j) = st.jobs.get_mut(&id).filter(|j| j.queued) {
                    j.queued = false;
                    let first = !std::mem::replace(&mut j.assigned_once, true);
                    break (id, j.value, j.submitted_at, first);
                }
            };
            st.queued -= 1;
            let assign = st.next_assign;
            st.next_assign += 1;
            if let Some(info) = st.workers.get_mut(&w) {
                info.booked.push(assign);
            }
            let timer = ctx.set_timer(self.cfg.lease, assign);
            st.leases.insert(
                assign,
                Lease {
                    job,
                    worker: w,
                    incarnation: inc,
                    deadline: now + self.cfg.lease,
                    timer,
                },
            );
            observe(
                ctx,
                PoolObs::Assigned {
                    job,
                    worker: w,
                    assign,
                    submitted_at,
                    first,
                    queue_len: st.queued,
                },
            );
            send(ctx, w, PoolMsg::Assign { assign, job, value });
        }
    }

    /// Make worker `w`'s offered and parked slots add up to its free slots again: offer
    /// new ones at the back of `free`, or withdraw the most recently offered ones (parked
    /// ones first).
    fn settle(st: &mut State, w: NodeId) {
        let State { workers, free, .. } = st;
        let Some(info) = workers.get_mut(&w) else {
            return;
        };
        let (want, have) = (info.free_slots(), info.offered + info.parked);
        if want > have {
            for _ in have..want {
                free.push_back((w, info.incarnation));
            }
            info.offered += want - have;
        } else if want < have {
            let mut excess = have - want;
            let unpark = excess.min(info.parked);
            info.parked -= unpark;
            excess -= unpark;
            let mut i = free.len();
            while excess > 0 && i > 0 {
                i -= 1;
                if free[i] == (w, info.incarnation) {
                    free.remove(i);
                    info.offered = info.offered.saturating_sub(1);
                    excess -= 1;
                }
            }
        }
    }

    /// Free the slot of assignment `assign` at `w`, if it is booked there.
    fn unbook(st: &mut State, w: NodeId, assign: u64) {
        if let Some(info) = st.workers.get_mut(&w) {
            info.booked.remove(assign);
        }
    }

    /// Take in a report from worker `w`, then settle its bookings.
    fn take_report(&self, st: &mut State, w: NodeId, report: &SlotReport) {
        self.reconcile(st, w, report);
        Self::settle(st, w);
    }

    /// Use a report from worker `w` (not with the canary, which trusts only its leases).
    fn reconcile(&self, st: &mut State, w: NodeId, report: &SlotReport) {
        if self.cfg.book_refused_slots {
            return;
        }
        if let Some(info) = st.workers.get_mut(&w) {
            info.reconcile(report);
        }
    }

    fn on_hello(&self, ctx: &mut ProtoCtx<'_>, st: &mut State, from: NodeId, slots: u32, report: &SlotReport) {
        let now = ctx.monotonic_now();
        let incarnation = report.incarnation;
        match st.workers.get_mut(&from) {
            Some(w) if incarnation < w.incarnation => return, // a late hello of a past life
            Some(w) if incarnation == w.incarnation => {
                w.last_seen = now;
                w.slots = slots;
                for _ in 0..std::mem::take(&mut w.parked) {
                    st.free.push_back((from, incarnation));
                    w.offered += 1;
                }
            }
            _ => {
                // New, or restarted: all its slots are free; old slots and leases are stale.
                // Drop its old free slots now: `dispatch` would skip them, but only once
                // jobs wait, so an idle pool would keep `slots` more per restart.
                if st.workers.contains_key(&from) {
                    st.free.retain(|(w, _)| *w != from);
                }
                st.workers.insert(from, WorkerInfo::new(incarnation, slots, now));
                observe(
                    ctx,
                    PoolObs::WorkerJoined {
                        worker: from,
                        incarnation,
                        slots,
                        seq: report.seq,
                    },
                );
            }
        }
        self.take_report(st, from, report);
        self.dispatch(ctx, st);
    }

    fn on_submit(&self, ctx: &mut ProtoCtx<'_>, st: &mut State, from: NodeId, job: JobId, value: u64) {
        if job.origin != from {
            return;
        }
        if let Some(&(seq, result)) = st.clients.get(&from) {
            if job.seq == seq {
                send(ctx, from, PoolMsg::Result { job, result }); // the result was lost
                return;
            }
            if job.seq < seq {
                return;
            }
        }
        if st.jobs.contains_key(&job) {
            return; // a resubmission of a job in progress
        }
        if self.enqueue(ctx, st, job, value) {
            self.dispatch(ctx, st);
        } else {
            send(ctx, from, PoolMsg::Rejected { job });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_done(
        &self,
        ctx: &mut ProtoCtx<'_>,
        st: &mut State,
        from: NodeId,
        assign: u64,
        job: JobId,
        result: u64,
        report: &SlotReport,
    ) {
        if let Some(lease) = st.leases.remove(&assign) {
            ctx.cancel_timer(lease.timer);
        }
        // The worker finished it: its slot is free, whether the lease was live or not.
        Self::unbook(st, from, assign);
        self.take_report(st, from, report);
        match st.jobs.remove(&job) {
            Some(j) => {
                if j.queued {
                    st.queued -= 1;
                }
                observe(
                    ctx,
                    PoolObs::Accepted {
                        job,
                        value: j.value,
                        result,
                        worker: from,
                        assign,
                        submitted_at: j.submitted_at,
                        queue_len: st.queued,
                    },
                );
                if job.origin != ctx.me() {
                    st.clients.insert(job.origin, (job.seq, result));
                    send(ctx, job.origin, PoolMsg::Result { job, result });
                }
            }
            None => observe(
                ctx,
                PoolObs::DuplicateResult {
                    job,
                    worker: from,
                    assign,
                },
            ),
        }
        self.dispatch(ctx, st);
    }

    /// The worker could not hold assignment `assign`: free the booking and, if the lease
    /// is still live, put the job back at the head of the queue now. The canary records
    /// the refusal and ignores it: the slot stays booked and the job waits for its lease.
    fn on_declined(
        &self,
        ctx: &mut ProtoCtx<'_>,
        st: &mut State,
        from: NodeId,
        assign: u64,
        job: JobId,
        report: &SlotReport,
    ) {
        if self.cfg.book_refused_slots {
            let refused = PoolObs::Refused {
                job,
                worker: from,
                assign,
                requeued: false,
                queue_len: st.queued,
            };
            observe(ctx, refused);
            return;
        }
        Self::unbook(st, from, assign);
        let mut requeued = false;
        if let Some(lease) = st.leases.remove(&assign) {
            ctx.cancel_timer(lease.timer);
            if let Some(j) = st.jobs.get_mut(&lease.job)
                && !j.queued
            {
                j.queued = true;
                st.queue.push_front(lease.job);
                st.queued += 1;
                requeued = true;
            }
        }
        observe(
            ctx,
            PoolObs::Refused {
                job,
                worker: from,
                assign,
                requeued,
                queue_len: st.queued,
            },
        );
        self.take_report(st, from, report);
        self.dispatch(ctx, st);
    }

    fn on_lease_expired(&self, ctx: &mut ProtoCtx<'_>, st: &mut State, assign: u64) {
        let Some(lease) = st.leases.remove(&assign) else {
            return;
        };
        // The job comes back; the slot does not: the worker may still be running it. Only
        // the canary believes the lease and frees the slot (a phantom booking, if it then
        // assigns to a worker that is still busy and ignores its refusal).
        let current = st
            .workers
            .get_mut(&lease.worker)
            .filter(|w| w.incarnation == lease.incarnation);
        if let Some(info) = current {
            if self.cfg.book_refused_slots {
                info.booked.remove(assign);
            } else if let Some(live) = info.booked.get_mut(assign) {
                *live = false;
            }
        }
        Self::settle(st, lease.worker);
        if !self.cfg.never_reassign
            && let Some(j) = st.jobs.get_mut(&lease.job)
            && !j.queued
        {
            j.queued = true;
            st.queue.push_front(lease.job);
            st.queued += 1;
            observe(
                ctx,
                PoolObs::Reassigned {
                    job: lease.job,
                    worker: lease.worker,
                    assign,
                    queue_len: st.queued,
                },
            );
        }
        self.dispatch(ctx, st);
    }
}

impl Node<Payload, Observation> for Dispatcher {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Some(r) = &mut self.registrant {
            r.start(ctx);
        }
        self.with_state(ctx, |me, ctx, st| {
            if !st.started {
                st.started = true;
                if let Arrivals::Batch { n } = me.cfg.arrivals {
                    for _ in 0..n {
                        me.generate(ctx, st);
                    }
                }
            } else {
                // A restart: the timers died with the crash; re-arm the leases, in order.
                let mut leases: Vec<(u64, SimTime)> = st.leases.iter().map(|(a, l)| (*a, l.deadline)).collect();
                leases.sort_unstable();
                let now = ctx.monotonic_now();
                for (assign, deadline) in leases {
                    let t = ctx.set_timer(deadline.saturating_sub(now), assign);
                    if let Some(l) = st.leases.get_mut(&assign) {
                        l.timer = t;
                    }
                }
            }
            me.arm_arrival(ctx, st);
            me.dispatch(ctx, st);
        });
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Ok(msg) = msg.downcast::<Msg>() else { return };
        let Msg::Pool(m) = msg else {
            return;
        };
        self.with_state(ctx, |me, ctx, st| match m {
            PoolMsg::Hello { slots, report } => me.on_hello(ctx, st, from, slots, &report),
            PoolMsg::Submit { job, value } => me.on_submit(ctx, st, from, job, value),
            PoolMsg::Done {
                assign,
                job,
                result,
                report,
            } => me.on_done(ctx, st, from, assign, job, result, &report),
            PoolMsg::Declined { assign, job, report } => me.on_declined(ctx, st, from, assign, job, &report),
            PoolMsg::Assign { .. } | PoolMsg::Result { .. } | PoolMsg::Rejected { .. } => {}
        });
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) {
        if let Some(r) = &mut self.registrant
            && r.on_timer(ctx, timer, tag)
        {
            return;
        }
        self.with_state(ctx, |me, ctx, st| {
            if tag == ARRIVAL {
                me.generate(ctx, st);
                me.arm_arrival(ctx, st);
                me.dispatch(ctx, st);
            } else {
                me.on_lease_expired(ctx, st, tag);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sim::{SimConfig, Simulation};

    /// Says hello as `restarts` successive incarnations of a worker with `slots` slots.
    struct Restarting {
        dispatcher: NodeId,
        slots: u32,
        restarts: u32,
    }

    impl Node<Payload, Observation> for Restarting {
        fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
            for incarnation in 0..self.restarts {
                let slots = self.slots;
                let report = Box::new(SlotReport {
                    incarnation,
                    ..SlotReport::default()
                });
                send(ctx, self.dispatcher, PoolMsg::Hello { slots, report });
            }
        }
        fn on_message(&mut self, _: &mut ProtoCtx<'_>, _: NodeId, _: Payload) {}
    }

    #[test]
    fn free_slots_of_an_idle_pool_stay_bounded_across_worker_restarts() {
        let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(1).max_time(SimTime::from_secs(1)));
        let cfg = DispatcherConfig {
            arrivals: Arrivals::Batch { n: 0 },
            queue_capacity: None,
            lease: SimTime::from_secs(1),
            worker_timeout: SimTime::from_secs(3),
            never_reassign: false,
            book_refused_slots: false,
            register: None,
        };
        let d = sim
            .add_node("dispatcher", crate::protocols::worker_pool::dispatcher(cfg).unwrap())
            .unwrap();
        sim.add_node("worker", move || {
            Box::new(Restarting {
                dispatcher: d,
                slots: 50,
                restarts: 40,
            }) as Box<crate::protocols::ProtoNode>
        })
        .unwrap();
        sim.run().unwrap();
        let st = sim.storage(d).and_then(|s| s.get::<State>()).expect("dispatcher state");
        assert_eq!(st.workers.get(&NodeId(1)).map(|w| w.incarnation), Some(39));
        assert_eq!(st.free.len(), 50, "only the last incarnation's slots are free");
        assert!(st.free.iter().all(|&(w, inc)| w == NodeId(1) && inc == 39));
    }

    /// A scripted single-slot worker: declines assignments in `foreign` (busy with work
    /// the dispatcher never booked), drops the first `lose` assignments
    /// silently (as if lost on the way), runs the rest for 5 ms, and says hello every
    /// `heartbeat` with an honest report.
    struct Scripted {
        dispatcher: NodeId,
        foreign: std::ops::Range<SimTime>,
        lose: u32,
        heartbeat: SimTime,
        running: Option<(u64, JobId, u64)>,
        seq: u64,
    }

    impl Scripted {
        fn report(&mut self, ctx: &ProtoCtx<'_>) -> Box<SlotReport> {
            self.seq += 1;
            let foreign = self.foreign.contains(&ctx.now());
            Box::new(SlotReport {
                incarnation: 0,
                seq: self.seq,
                busy: u32::from(foreign || self.running.is_some()),
                held: self.running.iter().map(|r| r.0).collect(),
                finished: Vec::new(),
            })
        }
        fn hello(&mut self, ctx: &mut ProtoCtx<'_>) {
            let report = self.report(ctx);
            send(ctx, self.dispatcher, PoolMsg::Hello { slots: 1, report });
            ctx.set_timer(self.heartbeat, 0);
        }
    }

    impl Node<Payload, Observation> for Scripted {
        fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
            self.hello(ctx);
        }
        fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, _: NodeId, m: Payload) {
            let Ok(m) = m.downcast::<Msg>() else { return };
            let Msg::Pool(PoolMsg::Assign { assign, job, value }) = m else {
                return;
            };
            if self.lose > 0 {
                self.lose -= 1;
                return;
            }
            if self.foreign.contains(&ctx.now()) || self.running.is_some() {
                let report = self.report(ctx);
                send(ctx, self.dispatcher, PoolMsg::Declined { assign, job, report });
                return;
            }
            self.running = Some((assign, job, value));
            ctx.set_timer(SimTime::from_millis(5), 1);
        }
        fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, _: TimerId, tag: u64) {
            if tag == 0 {
                self.hello(ctx);
            } else if let Some((assign, job, value)) = self.running.take() {
                let report = self.report(ctx);
                let result = super::super::expected_result(value);
                send(
                    ctx,
                    self.dispatcher,
                    PoolMsg::Done {
                        assign,
                        job,
                        result,
                        report,
                    },
                );
            }
        }
    }

    /// One dispatcher with `jobs` batch jobs and `lease`, and a [`Scripted`] worker; the
    /// dispatcher's observations with their times (ms).
    fn scripted(jobs: u64, lease: SimTime, worker: Scripted) -> Vec<(u64, PoolObs)> {
        let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(1).max_time(SimTime::from_millis(400)));
        let cfg = DispatcherConfig {
            arrivals: Arrivals::Batch { n: jobs },
            lease,
            ..DispatcherConfig::default()
        };
        let d = sim
            .add_node("dispatcher", crate::protocols::worker_pool::dispatcher(cfg).unwrap())
            .unwrap();
        let mut worker = Some(worker);
        sim.add_node("worker", move || {
            Box::new(worker.take().expect("started once")) as Box<crate::protocols::ProtoNode>
        })
        .unwrap();
        sim.run().unwrap();
        sim.history()
            .records()
            .iter()
            .filter(|r| r.node == d)
            .filter_map(|r| match r.obs.get::<crate::protocols::Obs>() {
                Some(crate::protocols::Obs::Pool(o)) => Some((r.at.as_nanos() / 1_000_000, o.clone())),
                _ => None,
            })
            .collect()
    }

    fn assigned_at(obs: &[(u64, PoolObs)]) -> Vec<u64> {
        obs.iter()
            .filter(|(_, o)| matches!(o, PoolObs::Assigned { .. }))
            .map(|(t, _)| *t)
            .collect()
    }

    #[test]
    fn a_declined_assignment_is_requeued_at_once_and_foreign_work_is_not_offered() {
        // The worker says hello free at 0 ms, then is busy with foreign work from 1 ms
        // to 100 ms: it declines the first assignment (sent at 1 ms, declined at 2 ms,
        // heard at 3 ms). The dispatcher frees the booking and requeues the job at once,
        // and, told that the slot is busy, sends nothing more until a hello says it is
        // free (the one sent at 150 ms).
        let worker = Scripted {
            dispatcher: NodeId(0),
            foreign: SimTime::from_millis(1)..SimTime::from_millis(100),
            lose: 0,
            heartbeat: SimTime::from_millis(150),
            running: None,
            seq: 0,
        };
        let obs = scripted(1, SimTime::from_secs(10), worker);
        let refused: Vec<_> = obs
            .iter()
            .filter_map(|(t, o)| match o {
                PoolObs::Refused { requeued, .. } => Some((*t, *requeued)),
                _ => None,
            })
            .collect();
        assert_eq!(refused, vec![(3, true)], "{obs:#?}");
        assert_eq!(assigned_at(&obs), vec![1, 151], "{obs:#?}");
        assert!(
            obs.iter()
                .any(|(t, o)| *t == 158 && matches!(o, PoolObs::Accepted { .. }))
        );
    }

    #[test]
    fn an_expired_lease_keeps_its_slot_until_the_worker_reports_it_free() {
        // The first assignment is lost on its way (the worker never sees it). Its lease
        // expires at 31 ms and the job goes back to the queue, but the slot stays booked:
        // the worker may be running it. The worker's next hello (sent at 100 ms, heard at
        // 101 ms) does not hold it, so the slot is freed and the job sent again then, not
        // at the lease's expiry.
        let worker = Scripted {
            dispatcher: NodeId(0),
            foreign: SimTime::ZERO..SimTime::ZERO,
            lose: 1,
            heartbeat: SimTime::from_millis(100),
            running: None,
            seq: 0,
        };
        let obs = scripted(1, SimTime::from_millis(30), worker);
        assert!(
            obs.iter()
                .any(|(t, o)| *t == 31 && matches!(o, PoolObs::Reassigned { .. })),
            "{obs:#?}"
        );
        assert_eq!(assigned_at(&obs), vec![1, 101], "{obs:#?}");
    }
}
