//! A pool worker: says hello to the dispatcher on start and every heartbeat, runs up to
//! `slots` assigned jobs at once, each for a drawn service time (a timer), and sends back
//! the job's value doubled to the dispatcher that assigned it. All its state is volatile:
//! a crash loses the jobs it holds.
//!
//! Its slots are its own to report: every hello, result and refusal carries a
//! [`SlotReport`] (what it runs now), and an assignment that finds every slot busy is
//! declined at once ([`PoolMsg::Declined`]) rather than dropped, so that the dispatcher
//! never keeps a slot booked for a job that is not running.
//!
//! The dispatcher is a fixed node or found through the registry (an [`Endpoint`]). A
//! discovered dispatcher that sends no assignment for three heartbeats is looked up
//! again: kept if the registry still lists it, replaced (or waited for, with no hellos)
//! if not; the worker says hello as soon as an answer names a new dispatcher.

use std::rc::Rc;

use super::config::WorkerConfig;
use super::{JobId, PoolMsg, PoolObs, SlotReport, expected_result, observe, send};
use crate::engine::dist::Sampler;
use crate::engine::node::{Node, NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};
use crate::protocols::discovery::Endpoint;
use crate::protocols::{Msg, ProtoCtx};

/// The heartbeat timer's tag; job timers are tagged with their lease number.
const HEARTBEAT: u64 = u64::MAX;

/// Heartbeats without an assignment before a discovered dispatcher is looked up again.
const SILENT_BEATS: u64 = 3;

/// At most this many recently finished assignments go with a report: a report goes with
/// every result, so the dispatcher hears of each one many times over.
const FINISHED_KEPT: usize = 32;

struct Running {
    /// Its service timer (tagged with `assign`).
    timer: TimerId,
    assign: u64,
    job: JobId,
    value: u64,
    started: SimTime,
    /// The dispatcher that assigned it (where the result goes).
    from: NodeId,
}

pub(super) struct Worker {
    cfg: Rc<WorkerConfig>,
    service: Sampler,
    /// The dispatcher: fixed, or found through the registry.
    dispatcher: Endpoint,
    /// When the current dispatcher was last heard from (an assignment), or looked up.
    heard_at: SimTime,
    /// At most `slots` jobs: a short vector beats a map.
    running: Vec<Running>,
    /// Reports sent in this incarnation (the last report's sequence number).
    reports: u64,
    /// The last assignments it finished or declined, oldest first: (dispatcher, lease).
    finished: std::collections::VecDeque<(NodeId, u64)>,
    /// The dispatcher it last said hello to (its slots are offered there).
    joined: Option<NodeId>,
}

impl Worker {
    pub(super) fn new(cfg: Rc<WorkerConfig>, service: Sampler) -> Self {
        let dispatcher = Endpoint::new(&cfg.dispatcher);
        Worker {
            cfg,
            service,
            dispatcher,
            heard_at: SimTime::ZERO,
            running: Vec::new(),
            reports: 0,
            finished: std::collections::VecDeque::new(),
            joined: None,
        }
    }

    /// What its slots hold now, for dispatcher `to` (the next report in sequence).
    fn report(&mut self, ctx: &ProtoCtx<'_>, to: NodeId) -> Box<SlotReport> {
        self.reports += 1;
        let mut held: Vec<u64> = self.running.iter().filter(|r| r.from == to).map(|r| r.assign).collect();
        held.sort_unstable();
        let finished = self
            .finished
            .iter()
            .filter(|(d, _)| *d == to)
            .map(|(_, a)| *a)
            .collect();
        Box::new(SlotReport {
            incarnation: ctx.incarnation(),
            seq: self.reports,
            busy: self.running.len() as u32,
            held,
            finished,
        })
    }

    /// Remember that it is done with lease `assign` of dispatcher `from` (the last
    /// `2 * slots`, at most [`FINISHED_KEPT`], go with every report).
    fn finish(&mut self, from: NodeId, assign: u64) {
        let keep = (self.cfg.slots as usize).saturating_mul(2).min(FINISHED_KEPT);
        if self.finished.len() >= keep {
            self.finished.pop_front();
        }
        self.finished.push_back((from, assign));
    }

    fn hello(&mut self, ctx: &mut ProtoCtx<'_>) {
        let Some(to) = self.dispatcher.current() else {
            return;
        };
        let report = self.report(ctx, to);
        if self.joined != Some(to) {
            self.joined = Some(to);
            observe(
                ctx,
                PoolObs::Joined {
                    dispatcher: to,
                    seq: report.seq,
                },
            );
        }
        let m = PoolMsg::Hello {
            slots: self.cfg.slots,
            report,
        };
        send(ctx, to, m);
    }

    fn on_heartbeat(&mut self, ctx: &mut ProtoCtx<'_>) {
        if self.dispatcher.is_discovered() {
            let silent = SimTime(self.cfg.heartbeat.0.saturating_mul(SILENT_BEATS));
            if ctx.monotonic_now().saturating_sub(self.heard_at) >= silent {
                self.heard_at = ctx.monotonic_now();
                self.dispatcher.recheck(ctx);
            }
        }
        self.hello(ctx);
        ctx.set_timer(self.cfg.heartbeat, HEARTBEAT);
    }

    fn on_assign(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, assign: u64, job: JobId, value: u64) {
        let current = self.dispatcher.current();
        // A fixed worker serves its dispatcher only; a discovering one serves whoever
        // assigns (it said hello there, maybe before the registry changed its mind).
        if !self.dispatcher.is_discovered() && Some(from) != current {
            return;
        }
        if Some(from) == current {
            self.heard_at = ctx.monotonic_now();
        }
        // A duplicate of a running assignment: the dispatcher's booking is right already.
        if self.running.iter().any(|r| r.assign == assign && r.from == from) {
            return;
        }
        // More than the slots allow (the dispatcher's view was stale): say so at once, so
        // that it frees the booking and puts the job back without waiting for the lease.
        // Fault point `pool.worker.decline`: a worker with a free slot declines all the
        // same (it is shutting down, out of memory), which the dispatcher must survive.
        if self.running.len() >= self.cfg.slots as usize || ctx.buggify("pool.worker.decline") {
            observe(
                ctx,
                PoolObs::Declined {
                    job,
                    assign,
                    dispatcher: from,
                },
            );
            self.finish(from, assign);
            let report = self.report(ctx, from);
            send(ctx, from, PoolMsg::Declined { assign, job, report });
            return;
        }
        let service = self.service.sample(ctx.rng());
        let timer = ctx.set_timer(service, assign);
        self.running.push(Running {
            timer,
            assign,
            job,
            value,
            started: ctx.now(),
            from,
        });
        observe(
            ctx,
            PoolObs::Started {
                job,
                assign,
                dispatcher: from,
            },
        );
    }
}

impl Node<Payload, Observation> for Worker {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        observe(
            ctx,
            PoolObs::WorkerUp {
                slots: self.cfg.slots,
                incarnation: ctx.incarnation(),
            },
        );
        self.heard_at = ctx.monotonic_now();
        self.dispatcher.start(ctx);
        self.hello(ctx);
        ctx.set_timer(self.cfg.heartbeat, HEARTBEAT);
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Ok(msg) = msg.downcast::<Msg>() else { return };
        match msg {
            Msg::Pool(PoolMsg::Assign { assign, job, value }) => self.on_assign(ctx, from, assign, job, value),
            // A dispatcher is known (again, or a new one): be known to it now.
            Msg::Disc(m) if self.dispatcher.on_message(ctx, from, &m) => {
                self.heard_at = ctx.monotonic_now();
                self.hello(ctx);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) {
        if self.dispatcher.on_timer(ctx, timer, tag) {
            return;
        }
        if tag == HEARTBEAT {
            self.on_heartbeat(ctx);
            return;
        }
        // Found by timer, not by tag: two dispatchers (a discovered one replaced) may use
        // the same lease number.
        let Some(i) = self.running.iter().position(|r| r.timer == timer) else {
            return;
        };
        let r = self.running.swap_remove(i);
        let result = if self.cfg.return_unchanged {
            r.value
        } else {
            expected_result(r.value)
        };
        observe(
            ctx,
            PoolObs::Completed {
                job: r.job,
                assign: r.assign,
                dispatcher: r.from,
                result,
                service: ctx.now() - r.started,
            },
        );
        self.finish(r.from, r.assign);
        let report = self.report(ctx, r.from);
        send(
            ctx,
            r.from,
            PoolMsg::Done {
                assign: r.assign,
                job: r.job,
                result,
                report,
            },
        );
    }
}
