//! A closed-loop client: submits a job, waits for its result (resubmitting the same job
//! every `retry` until it comes), thinks, submits the next. Its current job lives in
//! durable storage, synced whenever it changes (before the job is submitted, and when
//! its result came), so a restarted client resubmits it instead of starting over.
//!
//! The dispatcher is a fixed node or found through the registry (an [`Endpoint`]): with
//! discovery, a submission that goes `retry` without an answer makes the client forget
//! that dispatcher and look the service up again; it resubmits to whichever dispatcher
//! the answer names.

use std::rc::Rc;

use super::config::ClientConfig;
use super::{JobId, PoolMsg, PoolObs, observe, send};
use crate::engine::dist::Sampler;
use crate::engine::node::{Node, NodeId, TimerId};
use crate::plugin::{Observation, Payload};
use crate::protocols::discovery::Endpoint;
use crate::protocols::{Msg, ProtoCtx};

const RETRY: u64 = 1;
const THINK: u64 = 2;

/// What survives a client crash.
#[derive(Clone, Default)]
struct Durable {
    /// The current job's sequence number (0: none yet).
    seq: u64,
    /// Its input.
    value: u64,
    /// Waiting for its result.
    waiting: bool,
}

pub(super) struct Client {
    cfg: Rc<ClientConfig>,
    think: Sampler,
    /// The dispatcher: fixed, or found through the registry.
    dispatcher: Endpoint,
    retry: Option<TimerId>,
}

impl Client {
    pub(super) fn new(cfg: Rc<ClientConfig>, think: Sampler) -> Self {
        let dispatcher = Endpoint::new(&cfg.dispatcher);
        Client {
            cfg,
            think,
            dispatcher,
            retry: None,
        }
    }

    /// (Re)send the current job, if a dispatcher is known, and arm the retry timer.
    fn submit_current(&mut self, ctx: &mut ProtoCtx<'_>) {
        let d = ctx.durable::<Durable>();
        let (seq, value) = (d.seq, d.value);
        let job = JobId { origin: ctx.me(), seq };
        if let Some(to) = self.dispatcher.current() {
            send(ctx, to, PoolMsg::Submit { job, value });
        }
        if let Some(t) = self.retry.take() {
            ctx.cancel_timer(t);
        }
        self.retry = Some(ctx.set_timer(self.cfg.retry, RETRY));
    }

    /// Start the next job, unless the client has submitted all it should.
    fn next_job(&mut self, ctx: &mut ProtoCtx<'_>) {
        if self.cfg.jobs.is_some_and(|n| ctx.durable::<Durable>().seq >= n) {
            return;
        }
        let value = ctx.rng().range(1, 1 << 32);
        let d = ctx.durable::<Durable>();
        d.seq += 1;
        d.value = value;
        d.waiting = true;
        ctx.sync::<Durable>();
        self.submit_current(ctx);
    }

    /// The current job is over (result or rejection): think, then go on.
    fn finished(&mut self, ctx: &mut ProtoCtx<'_>) {
        ctx.durable::<Durable>().waiting = false;
        ctx.sync::<Durable>();
        if let Some(t) = self.retry.take() {
            ctx.cancel_timer(t);
        }
        let think = self.think.sample(ctx.rng());
        if think.0 == 0 {
            self.next_job(ctx);
        } else {
            ctx.set_timer(think, THINK);
        }
    }
}

impl Node<Payload, Observation> for Client {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        self.dispatcher.start(ctx);
        if ctx.durable::<Durable>().waiting {
            self.submit_current(ctx);
        } else {
            self.next_job(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Ok(msg) = msg.downcast::<Msg>() else { return };
        if let Msg::Disc(m) = &msg {
            // A dispatcher is known (again, or a new one): resubmit the job waiting there.
            if self.dispatcher.on_message(ctx, from, m) && ctx.durable::<Durable>().waiting {
                self.submit_current(ctx);
            }
            return;
        }
        let me = ctx.me();
        let d = ctx.durable::<Durable>();
        let current = JobId { origin: me, seq: d.seq };
        if !d.waiting {
            return;
        }
        match msg {
            Msg::Pool(PoolMsg::Result { job, result }) if job == current => {
                observe(ctx, PoolObs::Returned { job, result });
                self.finished(ctx);
            }
            Msg::Pool(PoolMsg::Rejected { job }) if job == current => self.finished(ctx),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) {
        if self.dispatcher.on_timer(ctx, timer, tag) {
            return;
        }
        match tag {
            RETRY if self.retry == Some(timer) => {
                self.retry = None;
                if ctx.durable::<Durable>().waiting {
                    // No answer: a discovered dispatcher is forgotten and looked up again.
                    self.dispatcher.failed(ctx);
                    self.submit_current(ctx);
                }
            }
            THINK => self.next_job(ctx),
            _ => {}
        }
    }
}
