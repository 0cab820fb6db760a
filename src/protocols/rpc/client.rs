//! The RPC client node: runs a workload of calls against a fixed server or a service
//! found through the registry, with a per-attempt timeout and retries with exponential
//! backoff and jitter (drawn from the node's rng), then fails with a clear error.
//!
//! Call ids come from a durable counter, synced before a call's first request leaves,
//! so a restarted client never reuses one; calls
//! in flight at a crash are abandoned. With a service target, a timed-out attempt makes
//! the client forget that server and look the service up again; a non-idempotent call
//! (`Deposit`) keeps retrying the server it was first sent to (switching servers could
//! execute it twice), idempotent calls go to any member.

use std::collections::BTreeMap;

use crate::engine::error::Error;
use crate::engine::node::{Node, NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};
use crate::protocols::discovery::Resolver;
pub use crate::protocols::discovery::Target;
use crate::protocols::rpc::{CallError, Request, RpcMsg, RpcObs};
use crate::protocols::{Msg, Obs, ProtoCtx, ProtoNode};

/// Per-call timeout and retry budget.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// How long each attempt waits for its reply.
    pub timeout: SimTime,
    /// Attempts before the call fails (at least 1).
    pub max_attempts: u32,
    /// The backoff before attempt 2; it doubles for each later attempt...
    pub backoff_base: SimTime,
    /// ... up to this cap. The wait actually drawn is uniform in `[cap_k / 2, cap_k]`.
    pub backoff_max: SimTime,
}

impl Default for RetryPolicy {
    /// 50 ms timeout, 6 attempts, backoff 20 ms doubling up to 400 ms.
    fn default() -> Self {
        RetryPolicy {
            timeout: SimTime::from_millis(50),
            max_attempts: 6,
            backoff_base: SimTime::from_millis(20),
            backoff_max: SimTime::from_millis(400),
        }
    }
}

impl RetryPolicy {
    /// The backoff cap before attempt `next` (2-based): `min(base * 2^(next-2), max)`.
    pub fn backoff_cap(&self, next: u32) -> SimTime {
        let shift = next.saturating_sub(2).min(63);
        SimTime(self.backoff_base.0.saturating_mul(1u64 << shift)).min(self.backoff_max)
    }

    /// The longest a call can take: every attempt's timeout plus every backoff's cap.
    ///
    /// Constant time in `max_attempts`: the caps stop changing once they reach
    /// `backoff_max` (or the doubling stops at 2^63), and the rest are added at once.
    pub fn budget(&self) -> SimTime {
        let n = self.max_attempts.max(1);
        let mut t = SimTime(self.timeout.0.saturating_mul(n as u64));
        for next in 2..=n {
            let cap = self.backoff_cap(next);
            if cap >= self.backoff_max || next >= 65 {
                // This backoff and every later one is `cap`.
                return t + SimTime(cap.0.saturating_mul(u64::from(n - next + 1)));
            }
            t = t + cap;
        }
        t
    }
}

/// Relative weights of the generated calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallMix {
    /// Weight of `Arithmetic.Multiply`.
    pub multiply: u32,
    /// Weight of `Arithmetic.Divide`.
    pub divide: u32,
    /// Weight of `Account.Deposit`.
    pub deposit: u32,
}

impl Default for CallMix {
    /// Equal weights.
    fn default() -> Self {
        CallMix {
            multiply: 1,
            divide: 1,
            deposit: 1,
        }
    }
}

/// When calls are issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pacing {
    /// One call every interval, whatever is in flight (open loop).
    Interval(SimTime),
    /// One call at a time; the next one `think` after the previous finished.
    ClosedLoop {
        /// Pause between a call's end and the next call.
        think: SimTime,
    },
}

/// Which calls a client makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Calls {
    /// `count` calls drawn from `mix` with values from the node's rng; deposits go to
    /// accounts `0..accounts`.
    Generated {
        /// How many calls.
        count: u64,
        /// The method weights.
        mix: CallMix,
        /// How many accounts deposits spread over (at least 1).
        accounts: u32,
    },
    /// Exactly these calls, in order.
    Script(Vec<Request>),
}

/// A client's workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Which calls.
    pub calls: Calls,
    /// When.
    pub pacing: Pacing,
    /// Delay before the first call (after every start and restart).
    pub start_after: SimTime,
}

impl Workload {
    /// `count` calls of an equal mix over 4 accounts, one every `interval`.
    pub fn generated(count: u64, interval: SimTime) -> Self {
        Workload {
            calls: Calls::Generated {
                count,
                mix: CallMix::default(),
                accounts: 4,
            },
            pacing: Pacing::Interval(interval),
            start_after: SimTime::from_millis(10),
        }
    }

    fn count(&self) -> u64 {
        match &self.calls {
            Calls::Generated { count, .. } => *count,
            Calls::Script(s) => s.len() as u64,
        }
    }
}

/// An RPC client's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcClientConfig {
    /// Where calls go.
    pub target: Target,
    /// Timeout and retries.
    pub retry: RetryPolicy,
    /// What to call and when.
    pub workload: Workload,
    /// CANARY: retry every `timeout` with no backoff, no jitter and no attempt limit.
    pub retry_storm: bool,
}

impl RpcClientConfig {
    /// A client of `target` running `workload` with the default retry policy.
    pub fn new(target: Target, workload: Workload) -> Self {
        RpcClientConfig {
            target,
            retry: RetryPolicy::default(),
            workload,
            retry_storm: false,
        }
    }

    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |s: &str| Err(Error::InvalidParameter(format!("rpc client: {s}")));
        if self.retry.max_attempts == 0 {
            return bad("max_attempts must be at least 1");
        }
        if self.retry.timeout == SimTime::ZERO {
            return bad("timeout must be positive");
        }
        if let Calls::Generated { mix, accounts, .. } = &self.workload.calls {
            if mix.multiply as u64 + mix.divide as u64 + mix.deposit as u64 == 0 {
                return bad("the call mix has no positive weight");
            }
            if *accounts == 0 {
                return bad("accounts must be at least 1");
            }
        }
        if let Pacing::Interval(SimTime(0)) = self.workload.pacing {
            return bad("the call interval must be positive");
        }
        if let Target::Service(r) = &self.target
            && (r.timer_tag >> 56) < 4
            && r.timer_tag >= (1 << 56)
        {
            return bad("the resolver's timer tag collides with the client's own tags");
        }
        Ok(())
    }
}

/// A factory for the client node, for `Simulation::add_node` (called again on restart).
/// Bad settings are a typed error.
pub fn client(cfg: RpcClientConfig) -> Result<impl FnMut() -> Box<ProtoNode> + 'static, Error> {
    cfg.validate()?;
    Ok(move || Box::new(RpcClient::new(cfg.clone())) as Box<ProtoNode>)
}

const KIND_SHIFT: u32 = 56;
const ATTEMPT: u64 = 1;
const BACKOFF: u64 = 2;
const NEXT: u64 = 3;
const CALL_MASK: u64 = (1 << KIND_SHIFT) - 1;

/// A call in flight.
#[derive(Debug)]
struct Pending {
    req: Request,
    invoked_at: SimTime,
    /// Attempts started.
    attempts: u32,
    /// Attempts that found a server and were sent.
    sent: u32,
    /// The server of the last attempt sent.
    server: Option<NodeId>,
    /// Waiting for a reply (`true`) or backing off (`false`).
    waiting: bool,
    /// Whether the current attempt was sent yet.
    sent_now: bool,
    timer: Option<TimerId>,
}

/// What survives a crash: the next call id.
#[derive(Clone, Debug, Default)]
struct Durable {
    next_call: u64,
}

/// The RPC client node.
#[derive(Debug)]
pub struct RpcClient {
    cfg: RpcClientConfig,
    resolver: Option<Resolver>,
    calls: BTreeMap<u64, Pending>,
    next_timer: Option<TimerId>,
}

impl RpcClient {
    /// A client with this configuration (see [`RpcClientConfig::validate`]).
    pub fn new(cfg: RpcClientConfig) -> Self {
        let resolver = match &cfg.target {
            Target::Service(r) => Some(Resolver::new(r.clone())),
            Target::Fixed(_) => None,
        };
        RpcClient {
            cfg,
            resolver,
            calls: BTreeMap::new(),
            next_timer: None,
        }
    }

    fn schedule_next(&mut self, ctx: &mut ProtoCtx<'_>, after: SimTime) {
        if let Some(t) = self.next_timer.take() {
            ctx.cancel_timer(t);
        }
        self.next_timer = Some(ctx.set_timer(after, NEXT << KIND_SHIFT));
    }

    fn generate(&self, ctx: &mut ProtoCtx<'_>, call: u64) -> Option<Request> {
        match &self.cfg.workload.calls {
            Calls::Script(s) => s.get(call as usize).copied(),
            Calls::Generated { mix, accounts, .. } => {
                let total = mix.multiply as u64 + mix.divide as u64 + mix.deposit as u64;
                let rng = ctx.rng();
                let w = rng.range(0, total.max(1));
                Some(if w < mix.multiply as u64 || total == 0 {
                    // Wide enough that some products overflow.
                    let a = rng.next_u64() >> rng.range(20, 64);
                    let b = rng.next_u64() >> rng.range(20, 64);
                    Request::Multiply { a, b }
                } else if w < mix.multiply as u64 + mix.divide as u64 {
                    let a = rng.next_u64() >> rng.range(0, 64);
                    let b = if rng.chance(0.1) {
                        0
                    } else {
                        rng.next_u64() >> rng.range(32, 64)
                    };
                    Request::Divide { a, b }
                } else {
                    Request::Deposit {
                        account: rng.range(0, (*accounts).max(1) as u64) as u32,
                        amount: rng.range(1, 1000),
                    }
                })
            }
        }
    }

    fn issue_next(&mut self, ctx: &mut ProtoCtx<'_>) {
        let call = ctx.durable::<Durable>().next_call;
        if call >= self.cfg.workload.count() || call > CALL_MASK {
            return;
        }
        let Some(req) = self.generate(ctx, call) else { return };
        ctx.durable::<Durable>().next_call = call + 1;
        // Durable before the call leaves: a restarted client never reuses an id.
        ctx.sync::<Durable>();
        ctx.observe(Obs::Rpc(RpcObs::Invoke {
            call,
            req,
            budget: self.cfg.retry.budget(),
        }));
        self.calls.insert(
            call,
            Pending {
                req,
                invoked_at: ctx.now(),
                attempts: 0,
                sent: 0,
                server: None,
                waiting: false,
                sent_now: false,
                timer: None,
            },
        );
        self.start_attempt(ctx, call);
        if let Pacing::Interval(every) = self.cfg.workload.pacing {
            self.schedule_next(ctx, every);
        }
    }

    /// Start the next attempt of `call`: pick a server, send, arm the timeout.
    fn start_attempt(&mut self, ctx: &mut ProtoCtx<'_>, call: u64) {
        let timeout = self.cfg.retry.timeout;
        let Some(p) = self.calls.get_mut(&call) else { return };
        p.attempts += 1;
        p.waiting = true;
        p.sent_now = false;
        p.timer = Some(ctx.set_timer(timeout, ATTEMPT << KIND_SHIFT | call));
        self.try_send(ctx, call);
    }

    /// Send the current attempt of `call` if a server is known.
    fn try_send(&mut self, ctx: &mut ProtoCtx<'_>, call: u64) {
        let Some(p) = self.calls.get(&call) else { return };
        if !p.waiting || p.sent_now {
            return;
        }
        let server = match (&self.cfg.target, &self.resolver) {
            (Target::Fixed(s), _) => Some(*s),
            // A non-idempotent call sticks to the server it was first sent to.
            _ if !p.req.is_idempotent() && p.sent > 0 => p.server,
            (_, Some(r)) => r.pick(ctx),
            (_, None) => None,
        };
        let Some(server) = server else {
            if let Some(r) = &mut self.resolver {
                r.refresh(ctx);
            }
            return;
        };
        let ack_below = self.calls.keys().next().copied().unwrap_or(call);
        let Some(p) = self.calls.get_mut(&call) else { return };
        p.sent += 1;
        p.sent_now = true;
        p.server = Some(server);
        let (req, attempt) = (p.req, p.attempts);
        ctx.observe(Obs::Rpc(RpcObs::Attempt { call, attempt, server }));
        ctx.send(server, Msg::Rpc(RpcMsg::Call { call, ack_below, req }));
    }

    fn on_attempt_timeout(&mut self, ctx: &mut ProtoCtx<'_>, call: u64) {
        let Some(p) = self.calls.get_mut(&call) else { return };
        p.waiting = false;
        let (server, sent_now, attempts) = (p.server, p.sent_now, p.attempts);
        if let Some(r) = &mut self.resolver {
            if let (Some(s), true) = (server, sent_now) {
                r.forget(s);
            }
            r.refresh(ctx);
        }
        if self.cfg.retry_storm {
            // The canary: never give up, never back off, never jitter.
            self.start_attempt(ctx, call);
            return;
        }
        if attempts >= self.cfg.retry.max_attempts.max(1) {
            let Some(p) = self.calls.remove(&call) else { return };
            ctx.observe(Obs::Rpc(RpcObs::Fail {
                call,
                req: p.req,
                error: CallError::RetriesExhausted {
                    attempts: p.attempts,
                    sent: p.sent,
                },
                attempts: p.attempts,
                invoked_at: p.invoked_at,
            }));
            self.finished(ctx);
            return;
        }
        let cap = self.cfg.retry.backoff_cap(attempts + 1).0;
        let wait = SimTime(cap / 2 + ctx.rng().range(0, cap - cap / 2 + 1));
        let timer = ctx.set_timer(wait, BACKOFF << KIND_SHIFT | call);
        if let Some(p) = self.calls.get_mut(&call) {
            p.timer = Some(timer);
        }
    }

    fn finished(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Pacing::ClosedLoop { think } = self.cfg.workload.pacing {
            self.schedule_next(ctx, think);
        }
    }
}

impl Node<Payload, Observation> for RpcClient {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Some(r) = &mut self.resolver {
            r.start(ctx);
        }
        self.schedule_next(ctx, self.cfg.workload.start_after);
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Ok(msg) = msg.downcast::<Msg>() else { return };
        match msg {
            Msg::Rpc(RpcMsg::Return { call, reply }) => {
                // Late or duplicate replies of finished calls are ignored.
                let Some(p) = self.calls.remove(&call) else { return };
                if let Some(t) = p.timer {
                    ctx.cancel_timer(t);
                }
                ctx.observe(Obs::Rpc(RpcObs::Ok {
                    call,
                    req: p.req,
                    reply,
                    server: from,
                    attempts: p.attempts,
                    invoked_at: p.invoked_at,
                }));
                self.finished(ctx);
            }
            Msg::Disc(m) => {
                let updated = match &mut self.resolver {
                    Some(r) => r.on_message(ctx, from, &m),
                    None => false,
                };
                if updated {
                    let waiting: Vec<u64> = self
                        .calls
                        .iter()
                        .filter(|(_, p)| p.waiting && !p.sent_now)
                        .map(|(c, _)| *c)
                        .collect();
                    for call in waiting {
                        self.try_send(ctx, call);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) {
        if let Some(r) = &mut self.resolver
            && r.on_timer(ctx, timer, tag)
        {
            return;
        }
        let (kind, call) = (tag >> KIND_SHIFT, tag & CALL_MASK);
        match kind {
            NEXT if self.next_timer == Some(timer) => {
                self.next_timer = None;
                self.issue_next(ctx);
            }
            ATTEMPT | BACKOFF => {
                let Some(p) = self.calls.get(&call) else { return };
                if p.timer != Some(timer) {
                    return; // stale
                }
                if kind == ATTEMPT && p.waiting {
                    self.on_attempt_timeout(ctx, call);
                } else if kind == BACKOFF && !p.waiting {
                    self.start_attempt(ctx, call);
                }
            }
            _ => {}
        }
    }
}
