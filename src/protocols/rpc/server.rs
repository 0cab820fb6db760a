//! The RPC server node: executes calls, deduplicates them by (client, call id) in durable
//! storage (so a restart keeps the at-most-once promise), keeps account balances durable,
//! and optionally registers itself with a service registry.
//!
//! **What it syncs, and when.** Balances (`Accounts`) and the dedupe table
//! (`Dedupe`) are two durable values (two files). Every handler that writes them syncs
//! both before it answers: an executed call's new balance and its recorded reply are
//! durable before the reply leaves, so a crash that loses unsynced writes
//! (`storage.unsynced_writes: "may_be_lost"`) never makes the server forget a call it
//! answered. The canary `canary_unsynced_dedupe` syncs the balances but never the
//! dedupe table: after such a crash a retried deposit executes again.

use std::collections::BTreeMap;

use crate::engine::node::{Node, NodeId, TimerId};
use crate::plugin::{Observation, Payload};
use crate::protocols::discovery::{Registrant, RegistrantConfig};
use crate::protocols::rpc::{Reply, Request, RpcMsg, RpcObs, execute};
use crate::protocols::{Msg, Obs, ProtoCtx, ProtoNode};

/// How an RPC server behaves.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RpcServerConfig {
    /// Deduplicate by (client, call id) for at-most-once execution. Turning it off is the
    /// planted bug (canary) that `check::rpc::check_at_most_once` must catch.
    pub dedupe: bool,
    /// CANARY: answer a `Multiply` whose product overflows with the wrapped product
    /// instead of [`crate::protocols::rpc::AppError::Overflow`]. The planted bug
    /// `check::rpc::check_results` must catch (its oracle is independent of this server).
    pub wrapping_multiply: bool,
    /// Register with a service registry (and renew by heartbeat), if set.
    pub register: Option<RegistrantConfig>,
    /// CANARY: write the dedupe table but never sync it (the balances are synced). Found
    /// by `check::rpc::check_at_most_once` when a crash loses unsynced writes.
    pub unsynced_dedupe: bool,
}

impl RpcServerConfig {
    /// A correct server (dedupe on) that does not register anywhere.
    pub fn new() -> Self {
        RpcServerConfig {
            dedupe: true,
            wrapping_multiply: false,
            register: None,
            unsynced_dedupe: false,
        }
    }

    /// Register with a registry.
    pub fn registering(mut self, cfg: RegistrantConfig) -> Self {
        self.register = Some(cfg);
        self
    }
}

/// A factory for the server node, for `Simulation::add_node` (called again on restart).
pub fn server(cfg: RpcServerConfig) -> impl FnMut() -> Box<ProtoNode> + 'static {
    move || Box::new(RpcServer::new(cfg.clone()))
}

/// What one client's calls left in the dedupe table.
#[derive(Clone, Debug, Default)]
struct ClientCalls {
    /// Every call below this is finished at the client: requests for them are ignored.
    ack_below: u64,
    /// Replies of executed calls at or above `ack_below`.
    done: BTreeMap<u64, Reply>,
}

/// Durable: the account balances.
#[derive(Clone, Debug, Default)]
struct Accounts(BTreeMap<u32, u64>);

/// Durable: the dedupe table, per client.
#[derive(Clone, Debug, Default)]
struct Dedupe(BTreeMap<NodeId, ClientCalls>);

/// The RPC server node.
#[derive(Debug)]
pub struct RpcServer {
    cfg: RpcServerConfig,
    registrant: Option<Registrant>,
}

impl RpcServer {
    /// A server with this configuration.
    pub fn new(cfg: RpcServerConfig) -> Self {
        let registrant = cfg.register.clone().map(Registrant::new);
        RpcServer { cfg, registrant }
    }
}

impl RpcServer {
    /// Make the dedupe table durable (before answering), unless this is the canary.
    fn sync_dedupe(&self, ctx: &mut ProtoCtx<'_>) {
        if !self.cfg.unsynced_dedupe {
            ctx.sync::<Dedupe>();
        }
    }
}

impl Node<Payload, Observation> for RpcServer {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Some(r) = &mut self.registrant {
            r.start(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Ok(msg) = msg.downcast::<Msg>() else { return };
        let Msg::Rpc(RpcMsg::Call { call, ack_below, req }) = msg else {
            return;
        };
        let dedupe = self.cfg.dedupe;
        if dedupe {
            let calls = ctx.durable::<Dedupe>().0.entry(from).or_default();
            if ack_below > calls.ack_below {
                calls.ack_below = ack_below;
                calls.done = calls.done.split_off(&ack_below);
            }
            let (acked, done) = (call < calls.ack_below, calls.done.get(&call).copied());
            self.sync_dedupe(ctx);
            if acked {
                return; // a late duplicate of a call the client has finished
            }
            if let Some(reply) = done {
                ctx.send(from, Msg::Rpc(RpcMsg::Return { call, reply }));
                return;
            }
        }
        let reply = match req {
            Request::Multiply { a, b } if self.cfg.wrapping_multiply => Ok(a.wrapping_mul(b)),
            _ => execute(&req, &mut ctx.durable::<Accounts>().0),
        };
        ctx.sync::<Accounts>();
        if dedupe {
            ctx.durable::<Dedupe>()
                .0
                .entry(from)
                .or_default()
                .done
                .insert(call, reply);
            self.sync_dedupe(ctx);
        }
        ctx.observe(Obs::Rpc(RpcObs::Executed {
            client: from,
            call,
            req,
            reply,
        }));
        // Fault point: the call executed but its reply never leaves (the server stalls
        // past the client's timeout): the client's retry must find the dedupe entry.
        if ctx.buggify("rpc.server.drop_reply") {
            return;
        }
        ctx.send(from, Msg::Rpc(RpcMsg::Return { call, reply }));
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) {
        if let Some(r) = &mut self.registrant {
            r.on_timer(ctx, timer, tag);
        }
    }
}
