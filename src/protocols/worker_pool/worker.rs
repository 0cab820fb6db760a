//! A pool worker: says hello to the dispatcher on start and every heartbeat, runs up to
//! `slots` assigned jobs at once, each for a drawn service time (a timer), and sends back
//! the job's value doubled. All its state is volatile: a crash loses the jobs it holds.

use std::rc::Rc;

use super::config::WorkerConfig;
use super::{JobId, PoolMsg, PoolObs, expected_result, observe, send};
use crate::dist::Sampler;
use crate::node::{Node, NodeId, TimerId};
use crate::protocols::{Msg, Obs, ProtoCtx};
use crate::time::SimTime;

/// The heartbeat timer's tag; job timers are tagged with their lease number.
const HEARTBEAT: u64 = u64::MAX;

struct Running {
    assign: u64,
    job: JobId,
    value: u64,
    started: SimTime,
}

pub(super) struct Worker {
    cfg: Rc<WorkerConfig>,
    service: Sampler,
    /// At most `slots` jobs: a short vector beats a map.
    running: Vec<Running>,
}

impl Worker {
    pub(super) fn new(cfg: Rc<WorkerConfig>, service: Sampler) -> Self {
        Worker {
            cfg,
            service,
            running: Vec::new(),
        }
    }

    fn hello(&self, ctx: &mut ProtoCtx<'_>) {
        let m = PoolMsg::Hello {
            slots: self.cfg.slots,
            incarnation: ctx.incarnation(),
        };
        send(ctx, self.cfg.dispatcher, m);
    }
}

impl Node<Msg, Obs> for Worker {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        observe(
            ctx,
            PoolObs::WorkerUp {
                slots: self.cfg.slots,
                incarnation: ctx.incarnation(),
            },
        );
        self.hello(ctx);
        ctx.set_timer(self.cfg.heartbeat, HEARTBEAT);
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Msg) {
        let Msg::Pool(PoolMsg::Assign { assign, job, value }) = msg else {
            return;
        };
        // A duplicate of a running assignment, or more than the slots allow (the
        // dispatcher's view was stale): ignore it; the lease brings the job back.
        if from != self.cfg.dispatcher
            || self.running.len() >= self.cfg.slots as usize
            || self.running.iter().any(|r| r.assign == assign)
        {
            return;
        }
        let service = self.service.sample(ctx.rng());
        let _: TimerId = ctx.set_timer(service, assign);
        self.running.push(Running {
            assign,
            job,
            value,
            started: ctx.now(),
        });
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, _timer: TimerId, tag: u64) {
        if tag == HEARTBEAT {
            self.hello(ctx);
            ctx.set_timer(self.cfg.heartbeat, HEARTBEAT);
            return;
        }
        let Some(i) = self.running.iter().position(|r| r.assign == tag) else {
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
                result,
                service: ctx.now() - r.started,
            },
        );
        send(
            ctx,
            self.cfg.dispatcher,
            PoolMsg::Done {
                assign: r.assign,
                job: r.job,
                result,
            },
        );
    }
}
