//! The `rkv_client` node: `ops` operations, one at a time, on keys `k0..k{keys-1}`
//! (half gets, a fifth puts, the rest appends, drawn from the node's own stream), each
//! observed at its invocation and its return. An attempt goes to the replica it believes
//! leads; a redirect follows the hint, a refusal or a timeout moves on to the next
//! replica (a refusal waits `backoff` times the attempts so far first, at most 8
//! times); every retry reuses the operation's (client, sequence number), so the store
//! applies a write once. After `max_attempts` the client gives up: the outcome is
//! unknown (the write may still be applied later).
//!
//! Its sequence number and operation count are durable (synced before the operation's
//! first request leaves), so a restarted client never reuses a sequence number; the operation it had in flight is abandoned (unknown).

use super::{KvOp, ReplyBody, RkvMsg, RkvObs};
use crate::engine::node::{Node, NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};
use crate::protocols::ProtoCtx;

/// A client's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// The replicas.
    pub replicas: Vec<NodeId>,
    /// How many operations.
    pub ops: u64,
    /// Keys `0..keys`.
    pub keys: u64,
    /// Per-attempt timeout.
    pub timeout: SimTime,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Wait after a refusal or a redirect before the next attempt.
    pub backoff: SimTime,
    /// Pause between an operation's end and the next.
    pub think: SimTime,
    /// Delay before the first operation.
    pub start_after: SimTime,
}

#[derive(Clone, Default)]
struct Progress {
    /// The last sequence number used.
    seq: u64,
    /// Operations invoked.
    invoked: u64,
}

struct InFlight {
    seq: u64,
    op: KvOp,
    attempts: u32,
    invoked_at: SimTime,
}

const NEXT: u64 = 1 << 48;
const TIMEOUT: u64 = 2 << 48;
const RESEND: u64 = 3 << 48;

/// One client.
pub struct Client {
    cfg: ClientConfig,
    /// Index in `replicas` of the replica it sends to.
    target: usize,
    current: Option<InFlight>,
    /// The id of the current attempt (timer tags carry it).
    attempt_id: u64,
}

impl Client {
    /// A client with `cfg`, as it starts (or restarts).
    pub fn new(cfg: ClientConfig) -> Self {
        Client {
            cfg,
            target: 0,
            current: None,
            attempt_id: 0,
        }
    }

    fn next_op(&mut self, ctx: &mut ProtoCtx<'_>) {
        let progress = ctx.durable::<Progress>();
        if progress.invoked >= self.cfg.ops {
            let ops = progress.invoked;
            ctx.observe(RkvObs::Done { ops });
            return;
        }
        progress.invoked += 1;
        progress.seq += 1;
        let seq = progress.seq;
        // Durable before the request leaves: a restart never reuses the number.
        ctx.sync::<Progress>();
        let me = ctx.me();
        let key = ctx.rng().range(0, self.cfg.keys);
        let roll = ctx.rng().range(0, 10);
        let op = match roll {
            0..5 => KvOp::Get { key },
            5..7 => KvOp::Put {
                key,
                value: format!("{me}#{seq} "),
            },
            _ => KvOp::Append {
                key,
                value: format!("{me}#{seq} "),
            },
        };
        ctx.observe(RkvObs::Invoke { seq, op: op.clone() });
        self.current = Some(InFlight {
            seq,
            op,
            attempts: 0,
            invoked_at: ctx.now(),
        });
        self.attempt(ctx);
    }

    fn attempt(&mut self, ctx: &mut ProtoCtx<'_>) {
        let Some(cur) = &mut self.current else { return };
        if cur.attempts >= self.cfg.max_attempts {
            let (seq, invoked_at) = (cur.seq, cur.invoked_at);
            let write = !matches!(cur.op, KvOp::Get { .. });
            self.current = None;
            ctx.observe(RkvObs::GaveUp { seq, write, invoked_at });
            ctx.set_timer(self.cfg.think, NEXT);
            return;
        }
        cur.attempts += 1;
        self.attempt_id += 1;
        let msg = RkvMsg::Request {
            seq: cur.seq,
            op: cur.op.clone(),
        };
        ctx.send(self.cfg.replicas[self.target], msg);
        ctx.set_timer(self.cfg.timeout, TIMEOUT | self.attempt_id);
    }

    /// Try again after `backoff` times the attempts so far, at most 8 times (a new
    /// attempt id: the pending timeout is void).
    fn retry_later(&mut self, ctx: &mut ProtoCtx<'_>) {
        let attempts = self.current.as_ref().map_or(1, |c| c.attempts).clamp(1, 8);
        self.attempt_id += 1;
        let wait = SimTime(self.cfg.backoff.as_nanos() * u64::from(attempts));
        ctx.set_timer(wait, RESEND | self.attempt_id);
    }

    fn rotate(&mut self) {
        self.target = (self.target + 1) % self.cfg.replicas.len();
    }
}

impl Node<Payload, Observation> for Client {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        self.target = ctx.me().0 as usize % self.cfg.replicas.len();
        let after = if ctx.incarnation() == 0 {
            self.cfg.start_after
        } else {
            self.cfg.think
        };
        ctx.set_timer(after, NEXT);
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Some(RkvMsg::Reply { seq, body }) = msg.downcast_ref::<RkvMsg>() else {
            return;
        };
        let Some(cur) = &self.current else { return };
        if cur.seq != *seq {
            return;
        }
        match body {
            ReplyBody::Ok(value) => {
                let (seq, attempts, invoked_at) = (cur.seq, cur.attempts, cur.invoked_at);
                self.current = None;
                self.attempt_id += 1; // its timeout is void
                ctx.observe(RkvObs::Return {
                    seq,
                    value: value.clone(),
                    attempts,
                    invoked_at,
                });
                ctx.set_timer(self.cfg.think, NEXT);
            }
            // A refusal from a replica it no longer sends to is old news.
            _ if self.cfg.replicas[self.target] != from => {}
            ReplyBody::NotLeader(Some(l)) if *l != from => {
                match self.cfg.replicas.iter().position(|r| r == l) {
                    Some(i) => self.target = i,
                    None => self.rotate(),
                }
                self.retry_later(ctx);
            }
            ReplyBody::NotLeader(_) | ReplyBody::Retry => {
                self.rotate();
                self.retry_later(ctx);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, _timer: TimerId, tag: u64) {
        let (kind, id) = (tag & !((1 << 48) - 1), tag & ((1 << 48) - 1));
        match kind {
            NEXT if self.current.is_none() => self.next_op(ctx),
            TIMEOUT if id == self.attempt_id && self.current.is_some() => {
                self.rotate();
                self.attempt(ctx);
            }
            RESEND if id == self.attempt_id && self.current.is_some() => self.attempt(ctx),
            _ => {}
        }
    }
}
