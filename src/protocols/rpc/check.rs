//! RPC checkers: correct results, deposit consistency, at-most-once execution, and
//! liveness after the last fault healed. Each is an online [`Check`] fed every
//! observation as it is made, keeping only live state (open calls, account balances,
//! runs of settled call ids); the `check_*` functions run them over a history.
//!
//! | check | property |
//! |---|---|
//! | `rpc.correct_result` | every reply (seen by a client, or produced by a server) to `Multiply` / `Divide` is the product / quotient, or the right error (overflow, divide by zero), by the checker's own oracle ([`oracle`]: 128-bit arithmetic with explicit range checks, independent of the server's `u64` checked arithmetic) |
//! | `rpc.deposit_consistency` | on each (server, account), each executed deposit's balance is the previous balance plus the amount (from 0), or an overflow error when that does not fit; every deposit reply a client got is the balance one execution of that call produced on that server |
//! | `rpc.at_most_once` | no (client, call id) is executed more than once (the promise of servers with dedupe on): a `Deposit` on all servers together, an idempotent call on each server (clients may retry those elsewhere) |
//! | `rpc.liveness` | every call returns (ok or application error) within its retry budget (or the scenario's `checks.liveness`) of `max(invoked, heal)`. A call that fails (the client gave up) is a violation when no fault had happened yet when it failed, or it was invoked at or after the heal; a call that failed while faults were in force is excused when the run healed, and undone (`not_judged`) when it never did; a call still unanswered at the end is judged by the rule of [`crate::check`] (a violation once due, or when the run healed and ended quiescent; otherwise `not_judged`), unless its client crashed after invoking it (a call abandoned by its caller); every client must have invoked a call |

use std::collections::{BTreeMap, VecDeque};

use crate::{FastMap, FastSet};

use crate::check::liveness::Judge;
use crate::check::{CheckContext, CheckId, Evidence, IdSet, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Observation};
use crate::protocols::Obs;
use crate::protocols::rpc::{AppError, CallError, Reply, Request, RpcObs};

/// The id of `rpc.correct_result`.
pub const CORRECT_RESULT: CheckId = CheckId::new("rpc.correct_result");
/// The id of `rpc.deposit_consistency`.
pub const DEPOSIT_CONSISTENCY: CheckId = CheckId::new("rpc.deposit_consistency");
/// The id of `rpc.at_most_once`.
pub const AT_MOST_ONCE: CheckId = CheckId::new("rpc.at_most_once");
/// The id of `rpc.liveness`.
pub const LIVENESS: CheckId = CheckId::new("rpc.liveness");

/// Every RPC check, in order: `rpc.correct_result`, `rpc.deposit_consistency`,
/// `rpc.at_most_once`, `rpc.liveness`.
pub fn check_all(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Verdict> {
    vec![
        Verdict::judged(CORRECT_RESULT, check_results(records, ctx)),
        Verdict::judged(DEPOSIT_CONSISTENCY, check_deposits(records, ctx)),
        Verdict::judged(AT_MOST_ONCE, check_at_most_once(records, ctx)),
        check_liveness(records, ctx),
    ]
}

/// The checker's own answer to `req`, computed independently of the server
/// ([`Request::expected`], `u64` checked arithmetic): the exact product or quotient in
/// 128 bits, then an explicit range check against `u64::MAX`. `None` for `Deposit`,
/// whose reply depends on the account's history.
pub fn oracle(req: &Request) -> Option<Reply> {
    const MAX: u128 = u64::MAX as u128;
    match *req {
        Request::Multiply { a, b } => {
            let exact = u128::from(a) * u128::from(b); // < 2^128: exact
            Some(if exact > MAX {
                Err(AppError::Overflow)
            } else {
                Ok(exact as u64)
            })
        }
        Request::Divide { a, b } => Some(if b == 0 {
            Err(AppError::DivideByZero)
        } else {
            let q = u128::from(a) / u128::from(b);
            debug_assert!(q <= MAX && q * u128::from(b) <= u128::from(a));
            Ok(q as u64)
        }),
        Request::Deposit { .. } => None,
    }
}

/// The RPC observation in `rec`, if it is one.
fn rpc_of(rec: &Record<Observation>) -> Option<&RpcObs> {
    match rec.obs.get::<Obs>() {
        Some(Obs::Rpc(o)) => Some(o),
        _ => None,
    }
}

/// Feed `records` to `f` (a check's own feed), skipping other protocols' observations.
fn replay(records: &[Record<Obs>], mut f: impl FnMut(SimTime, NodeId, &RpcObs)) {
    for r in records {
        if let Obs::Rpc(o) = &r.obs {
            f(r.at, r.node, o);
        }
    }
}

fn reply_str(r: &Reply) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// Which calls each client has invoked and not yet settled (ok or failed): call ids
/// come from a durable counter, so every id below a client's next one was invoked, and
/// the settled ones are those no longer open.
#[derive(Default)]
struct Calls {
    /// Per client, one more than the highest call id it invoked.
    next: FastMap<NodeId, u64>,
    open: FastSet<(NodeId, u64)>,
}

impl Calls {
    fn invoke(&mut self, client: NodeId, call: u64) {
        let next = self.next.entry(client).or_default();
        *next = (*next).max(call + 1);
        self.open.insert((client, call));
    }

    fn settle(&mut self, client: NodeId, call: u64) {
        self.open.remove(&(client, call));
    }

    /// Was `call` invoked by `client`, and has it settled?
    fn settled(&self, client: NodeId, call: u64) -> bool {
        self.next.get(&client).is_some_and(|&n| call < n) && !self.open.contains(&(client, call))
    }

    fn len(&self) -> usize {
        self.next.len() + self.open.len()
    }
}

/// `rpc.correct_result`, online: every `Multiply` / `Divide` reply, at a client or a
/// server, is right. Keeps only the wrong ones.
#[derive(Default)]
pub struct CorrectResult {
    bad: Vec<(SimTime, NodeId, RpcObs)>,
}

impl CorrectResult {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &RpcObs) {
        let (RpcObs::Ok { req, reply, .. } | RpcObs::Executed { req, reply, .. }) = o else {
            return;
        };
        if let Some(want) = oracle(req)
            && want != *reply
        {
            self.bad.push((at, node, o.clone()));
        }
    }

    fn violations(&self, ctx: &CheckContext) -> Vec<Violation> {
        let mut out = Vec::new();
        for (at, node, o) in &self.bad {
            let (at, node) = (*at, *node);
            // (request, reply, who saw it, what happened in words)
            let (req, reply, seen, what) = match o {
                RpcObs::Ok {
                    call,
                    req,
                    reply,
                    server,
                    ..
                } => (
                    req,
                    reply,
                    format!("call {call} of {} (answered by {})", ctx.name(node), ctx.name(*server)),
                    format!(
                        "call {call} {req} returned {} from {}",
                        reply_str(reply),
                        ctx.name(*server)
                    ),
                ),
                RpcObs::Executed {
                    client,
                    call,
                    req,
                    reply,
                } => (
                    req,
                    reply,
                    format!("call {call} of {} (executed by {})", ctx.name(*client), ctx.name(node)),
                    format!(
                        "executed call {call} of {}: {req} = {}",
                        ctx.name(*client),
                        reply_str(reply)
                    ),
                ),
                _ => continue,
            };
            let Some(want) = oracle(req) else { continue };
            out.push(Violation::new(
                CORRECT_RESULT,
                format!("{req} gave {}, expected {}: {seen}", reply_str(reply), reply_str(&want)),
                at,
                ctx,
                vec![ctx.evidence(at, node, what)],
            ));
        }
        out
    }
}

impl Check for CorrectResult {
    fn id(&self) -> CheckId {
        CORRECT_RESULT
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = rpc_of(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(Verdict::judged(CORRECT_RESULT, self.violations(cx)))
    }
    fn retained(&self) -> usize {
        self.bad.len()
    }
}

/// `rpc.correct_result`: every `Multiply` / `Divide` reply, at a client or a server, is right.
pub fn check_results(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut c = CorrectResult::new();
    replay(records, |at, node, o| c.feed(at, node, o));
    c.violations(ctx)
}

/// An executed deposit that gave the wrong balance.
struct BadDeposit {
    at: SimTime,
    server: NodeId,
    client: NodeId,
    call: u64,
    account: u32,
    amount: u64,
    reply: Reply,
    want: Reply,
    /// The previous balance, and when it was set (`None`: the account was new).
    prev: (u64, Option<SimTime>),
}

/// A deposit reply a client got that no execution of that call on that server gave.
struct BadReply {
    at: SimTime,
    client: NodeId,
    call: u64,
    req: Request,
    reply: Reply,
    server: NodeId,
    /// The replies of the executions of that call there.
    known: Option<Vec<Reply>>,
}

/// `rpc.deposit_consistency`, online: balances follow the executed deposits, and every
/// deposit reply a client gets is one an execution of that call on that server gave.
/// Keeps each account's balance, the replies of deposits executed for calls still open
/// at their client (dropped when the call settles: its reply has arrived or it failed),
/// the open calls, and the violations.
#[derive(Default)]
pub struct DepositConsistency {
    /// (server, account) -> (balance, when it was set).
    balances: FastMap<(NodeId, u32), (u64, SimTime)>,
    /// (client, call) -> (server, reply) of its executions, while the call is open.
    executed: FastMap<(NodeId, u64), Vec<(NodeId, Reply)>>,
    calls: Calls,
    bad_deposits: Vec<BadDeposit>,
    bad_replies: Vec<BadReply>,
}

impl DepositConsistency {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn settle(&mut self, client: NodeId, call: u64) {
        self.calls.settle(client, call);
        self.executed.remove(&(client, call));
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &RpcObs) {
        match o {
            RpcObs::Invoke { call, .. } => self.calls.invoke(node, *call),
            RpcObs::Executed {
                client,
                call,
                req: Request::Deposit { account, amount },
                reply,
            } => {
                // Once the call settled at its client, no reply to it will be judged.
                if !self.calls.settled(*client, *call) {
                    self.executed.entry((*client, *call)).or_default().push((node, *reply));
                }
                let (prev, prev_at) = self
                    .balances
                    .get(&(node, *account))
                    .copied()
                    .map_or((0, None), |(b, t)| (b, Some(t)));
                let want = prev.checked_add(*amount).ok_or(AppError::Overflow);
                if want != *reply {
                    self.bad_deposits.push(BadDeposit {
                        at,
                        server: node,
                        client: *client,
                        call: *call,
                        account: *account,
                        amount: *amount,
                        reply: *reply,
                        want,
                        prev: (prev, prev_at),
                    });
                }
                if let Ok(b) = reply {
                    self.balances.insert((node, *account), (*b, at));
                }
            }
            RpcObs::Ok {
                call,
                req,
                reply,
                server,
                ..
            } => {
                if let Request::Deposit { .. } = req {
                    let known: Option<Vec<Reply>> = self.executed.get(&(node, *call)).and_then(|es| {
                        let rs: Vec<Reply> = es.iter().filter(|e| e.0 == *server).map(|e| e.1).collect();
                        (!rs.is_empty()).then_some(rs)
                    });
                    if !known.as_ref().is_some_and(|rs| rs.contains(reply)) {
                        self.bad_replies.push(BadReply {
                            at,
                            client: node,
                            call: *call,
                            req: *req,
                            reply: *reply,
                            server: *server,
                            known,
                        });
                    }
                }
                self.settle(node, *call);
            }
            RpcObs::Fail { call, .. } => self.settle(node, *call),
            _ => {}
        }
    }

    fn violations(&self, ctx: &CheckContext) -> Vec<Violation> {
        let mut out = Vec::new();
        for d in &self.bad_deposits {
            let BadDeposit {
                at,
                server,
                client,
                call,
                account,
                amount,
                reply,
                want,
                prev: (prev, prev_at),
            } = d;
            let mut events = Vec::new();
            if let Some(t) = prev_at {
                events.push(ctx.evidence(*t, *server, format!("account {account} balance became {prev}")));
            }
            events.push(ctx.evidence(
                *at,
                *server,
                format!(
                    "executed call {call} of {}: deposit {amount} into account {account} = {}",
                    ctx.name(*client),
                    reply_str(reply)
                ),
            ));
            out.push(Violation::new(
                DEPOSIT_CONSISTENCY,
                format!(
                    "deposit of {amount} into account {account} on {} gave {}, expected {} (previous balance {prev})",
                    ctx.name(*server),
                    reply_str(reply),
                    reply_str(want)
                ),
                *at,
                ctx,
                events,
            ));
        }
        for r in &self.bad_replies {
            let BadReply {
                at,
                client,
                call,
                req,
                reply,
                server,
                known,
            } = r;
            out.push(Violation::new(
                DEPOSIT_CONSISTENCY,
                format!(
                    "call {call} {req} of {} returned {} from {}, which no execution of that call there produced (executions: {:?})",
                    ctx.name(*client),
                    reply_str(reply),
                    ctx.name(*server),
                    known
                        .as_ref()
                        .map(|rs| rs.iter().map(reply_str).collect::<Vec<_>>())
                        .unwrap_or_default()
                ),
                *at,
                ctx,
                vec![ctx.evidence(*at, *client, format!("call {call} {req} returned {}", reply_str(reply)))],
            ));
        }
        out
    }
}

impl Check for DepositConsistency {
    fn id(&self) -> CheckId {
        DEPOSIT_CONSISTENCY
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = rpc_of(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(Verdict::judged(DEPOSIT_CONSISTENCY, self.violations(cx)))
    }
    fn retained(&self) -> usize {
        self.balances.len() + self.executed.len() + self.calls.len() + self.bad_deposits.len() + self.bad_replies.len()
    }
}

/// `rpc.deposit_consistency`: balances follow the executed deposits; replies match an execution.
pub fn check_deposits(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut c = DepositConsistency::new();
    replay(records, |at, node, o| c.feed(at, node, o));
    c.violations(ctx)
}

/// One execution of a call.
#[derive(Clone, Copy)]
struct Exec {
    at: SimTime,
    server: NodeId,
    req: Request,
    reply: Reply,
}

/// What at-most-once counts executions by: (client, call, the server for an
/// idempotent call).
type Key = (NodeId, u64, Option<NodeId>);

/// `rpc.at_most_once`, online: no (client, call id) executes twice: a non-idempotent
/// call (`Deposit`) on any servers together, an idempotent one on any one server (a
/// client may legitimately retry it on another server).
///
/// Keeps the executions of each call from the first until one retry budget after its
/// client settled it (ok or failed): a copy of an attempt still in flight when the call
/// settled (a retry racing the reply) arrives within that. After that, only the call's
/// id, in runs per (client, server) of the ids settled once-executed (a client's calls
/// settle mostly in order, so the runs are few). A later execution of such a call is
/// still a violation, quoting the executions it saw and counting the earlier one.
#[derive(Default)]
pub struct AtMostOnce {
    clients: FastMap<NodeId, ClientCalls>,
    /// The execution of each call open or in its window (a second one makes it `twice`).
    live: FastMap<Key, Exec>,
    /// Settled calls executed once, per (client, server for idempotent calls); a
    /// `Deposit` set also holds the settled idempotent calls, and each server's set
    /// the settled deposits (which it never asks about), so that the runs stay long.
    done: FastMap<(NodeId, Option<NodeId>), IdSet>,
    /// Calls executed more than once: how many executions are no longer quoted, and
    /// those that are.
    twice: BTreeMap<Key, (usize, Vec<Exec>)>,
}

/// One client's calls, as `rpc.at_most_once` follows them.
#[derive(Default)]
struct ClientCalls {
    /// One more than the highest call id it invoked.
    next: u64,
    /// Open calls, with their retry budget.
    open: FastMap<u64, SimTime>,
    /// Settled calls whose executions are still kept, in the order they settled: until
    /// when, the call, its request.
    window: VecDeque<(SimTime, u64, Request)>,
    /// The calls in `window`.
    windowed: FastSet<u64>,
    /// The servers that executed its idempotent calls.
    servers: Vec<NodeId>,
}

impl AtMostOnce {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Let go of `client`'s calls whose window ended before `now`: keep only their ids.
    fn expire(&mut self, client: NodeId, now: SimTime) {
        let AtMostOnce {
            clients, live, done, ..
        } = self;
        let Some(cc) = clients.get_mut(&client) else {
            return;
        };
        while let Some(&(until, call, req)) = cc.window.front() {
            if until >= now {
                break;
            }
            cc.window.pop_front();
            cc.windowed.remove(&call);
            for k in std::iter::once(None).chain(cc.servers.iter().map(|s| Some(*s))) {
                if live.remove(&(client, call, k)).is_some() {
                    done.entry((client, k)).or_default().insert(call, ());
                }
            }
            if req.is_idempotent() {
                // The deposits' set never asks about it.
                done.entry((client, None)).or_default().insert(call, ());
            } else {
                for s in &cc.servers {
                    done.entry((client, Some(*s))).or_default().insert(call, ());
                }
            }
        }
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &RpcObs) {
        match o {
            RpcObs::Invoke { call, budget, .. } => {
                self.expire(node, at);
                let cc = self.clients.entry(node).or_default();
                cc.next = cc.next.max(call + 1);
                cc.open.insert(*call, *budget);
            }
            RpcObs::Ok { call, req, .. } | RpcObs::Fail { call, req, .. } => {
                self.expire(node, at);
                let cc = self.clients.entry(node).or_default();
                let budget = cc.open.remove(call).unwrap_or(SimTime::ZERO);
                cc.window.push_back((at + budget, *call, *req));
                cc.windowed.insert(*call);
            }
            RpcObs::Executed {
                client,
                call,
                req,
                reply,
            } => {
                self.expire(*client, at);
                let server = req.is_idempotent().then_some(node);
                let key: Key = (*client, *call, server);
                let exec = Exec {
                    at,
                    server: node,
                    req: *req,
                    reply: *reply,
                };
                let cc = self.clients.entry(*client).or_default();
                if let Some(s) = server
                    && !cc.servers.contains(&s)
                {
                    cc.servers.push(s);
                }
                // Settled, and its window ended: only its id is left.
                let gone = *call < cc.next && !cc.open.contains_key(call) && !cc.windowed.contains(call);
                if let Some(t) = self.twice.get_mut(&key) {
                    t.1.push(exec);
                } else if let Some(first) = self.live.remove(&key) {
                    self.twice.insert(key, (0, vec![first, exec]));
                } else if gone {
                    let done = self.done.entry((*client, server)).or_default();
                    if done.contains(*call) {
                        self.twice.insert(key, (1, vec![exec]));
                    } else {
                        done.insert(*call, ());
                    }
                } else {
                    self.live.insert(key, exec);
                }
            }
            _ => {}
        }
    }

    fn violations(&self, ctx: &CheckContext) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .twice
            .iter()
            .map(|(&(client, call, _), (unquoted, execs))| {
                let client = ctx.name(client);
                let events: Vec<Evidence> = execs
                    .iter()
                    .map(|e| {
                        ctx.evidence(
                            e.at,
                            e.server,
                            format!("executed call {call} of {client}: {} = {}", e.req, reply_str(&e.reply)),
                        )
                    })
                    .collect();
                let second = execs[1usize.saturating_sub(*unquoted).min(execs.len() - 1)];
                Violation::new(
                    AT_MOST_ONCE,
                    format!(
                        "call {call} of {client} ({}) was executed {} times",
                        second.req.method(),
                        execs.len() + unquoted
                    ),
                    second.at,
                    ctx,
                    events,
                )
            })
            .collect();
        out.sort_by_key(|v| v.at);
        out
    }
}

impl Check for AtMostOnce {
    fn id(&self) -> CheckId {
        AT_MOST_ONCE
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = rpc_of(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(Verdict::judged(AT_MOST_ONCE, self.violations(cx)))
    }
    fn retained(&self) -> usize {
        self.clients
            .values()
            .map(|c| 1 + c.open.len() + c.window.len() + c.servers.len())
            .sum::<usize>()
            + self.live.len()
            + self.done.values().map(IdSet::runs).sum::<usize>()
            + self.twice.len()
    }
}

/// `rpc.at_most_once`: no (client, call id) executes twice: a non-idempotent call
/// (`Deposit`) on any servers together, an idempotent one on any one server (a client
/// may legitimately retry it on another server).
pub fn check_at_most_once(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut c = AtMostOnce::new();
    replay(records, |at, node, o| c.feed(at, node, o));
    c.violations(ctx)
}

/// A call that failed (the client gave up): judged at the end, against the faults.
struct Failed {
    at: SimTime,
    client: NodeId,
    call: u64,
    req: Request,
    error: CallError,
    invoked_at: SimTime,
    /// When the client recorded invoking it.
    invoke_at: SimTime,
    /// The servers its attempts were sent to.
    servers: Vec<NodeId>,
}

/// An open call: when it was invoked, what, and its budget.
struct Invoked {
    at: SimTime,
    req: Request,
    budget: SimTime,
}

/// `rpc.liveness`, online: every call returns within its budget of `max(invoked,
/// heal)`. Keeps the open calls (and the servers they tried), a count per client, and
/// the calls that failed (whether a fault excuses them is known only at the end).
#[derive(Default)]
pub struct RpcLiveness {
    open: FastMap<(NodeId, u64), Invoked>,
    sent_to: FastMap<(NodeId, u64), Vec<NodeId>>,
    invoked: FastMap<NodeId, u64>,
    failed: Vec<Failed>,
}

impl RpcLiveness {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &RpcObs) {
        match o {
            RpcObs::Invoke { call, req, budget } => {
                self.open.insert(
                    (node, *call),
                    Invoked {
                        at,
                        req: *req,
                        budget: *budget,
                    },
                );
                *self.invoked.entry(node).or_default() += 1;
            }
            RpcObs::Attempt { call, server, .. } => {
                let servers = self.sent_to.entry((node, *call)).or_default();
                if !servers.contains(server) {
                    servers.push(*server);
                }
            }
            RpcObs::Ok { call, .. } => {
                self.open.remove(&(node, *call));
                self.sent_to.remove(&(node, *call));
            }
            RpcObs::Fail {
                call,
                req,
                error,
                invoked_at,
                ..
            } => {
                let Some(inv) = self.open.remove(&(node, *call)) else {
                    return;
                };
                let servers = self.sent_to.remove(&(node, *call)).unwrap_or_default();
                self.failed.push(Failed {
                    at,
                    client: node,
                    call: *call,
                    req: *req,
                    error: error.clone(),
                    invoked_at: *invoked_at,
                    invoke_at: inv.at,
                    servers,
                });
            }
            _ => {}
        }
    }

    fn conclude(&self, ctx: &CheckContext) -> Verdict {
        let mut judge = Judge::new(ctx, LIVENESS, ("call", "calls"));
        let healed = ctx.healed_at();
        for f in &self.failed {
            let Failed {
                at,
                client,
                call,
                req,
                error,
                invoked_at,
                invoke_at,
                servers,
            } = f;
            // The nodes the call depended on: its client and the servers it tried; an
            // attempt that found no server depended on discovery, so then any fault may
            // explain it.
            let CallError::RetriesExhausted { attempts, sent } = error;
            let path = (sent >= attempts).then_some(&servers[..]);
            // With the scenario's one liveness bound, the system has that long after a
            // fault to converge: a call invoked within it is excused like one that ran
            // during the fault.
            let since = ctx.liveness.map_or(*invoked_at, |b| invoked_at.saturating_sub(b));
            if ctx.disturbed_for(since, *at, *client, path) {
                // A fault on its path was in force while it ran: excused if they all
                // ended (the run healed); if one never did, it is undone work whose fate
                // the run cannot judge.
                if healed.is_none() {
                    judge.pending();
                }
                continue;
            }
            let when = if healed.is_some_and(|h| *invoked_at >= h) && ctx.first_fault_at.is_some() {
                format!("after the last fault healed at {}", ctx.heal_at)
            } else {
                "with no fault on its path in force meanwhile".to_string()
            };
            judge.push(Violation::new(
                LIVENESS,
                format!(
                    "call {call} {req} of {} invoked at {invoked_at} and failed at {at}, {when}: {error}",
                    ctx.name(*client),
                ),
                *at,
                ctx,
                vec![
                    ctx.evidence(*invoke_at, *client, format!("invoke call {call} {req}")),
                    ctx.evidence(*at, *client, format!("call {call} failed: {error}")),
                ],
            ));
        }
        let mut open: Vec<_> = self.open.iter().collect();
        open.sort_by_key(|(k, _)| **k);
        for (&(client, call), inv) in open {
            let Invoked { at, req, budget } = inv;
            // The scenario's one liveness bound, when given, instead of the call's budget.
            let bound = ctx.liveness_bound(*budget);
            // A client that crashed after invoking the call abandoned it (its volatile
            // state, and the call with it, is gone): nobody owes it a reply.
            if ctx.crashes.iter().any(|&(t, n)| n == client && t >= *at) {
                continue;
            }
            if let Some(o) = judge.undone(*at, bound) {
                let within = if ctx.liveness.is_some() {
                    format!("to return within the scenario's liveness bound of {bound}")
                } else {
                    format!("with a retry budget of {budget}")
                };
                judge.push(Violation::new(
                    LIVENESS,
                    format!(
                        "call {call} {req} of {}, invoked at {at} {within}, never returned: {}{}",
                        ctx.name(client),
                        o.why,
                        storm(ctx, self.sent_to.get(&(client, call)).map(Vec::as_slice))
                    ),
                    o.at,
                    ctx,
                    vec![ctx.evidence(*at, client, format!("invoke call {call} {req}"))],
                ));
            }
        }
        judge.sources(|node| self.invoked.get(&node).copied().unwrap_or(0));
        judge.finish()
    }
}

impl Check for RpcLiveness {
    fn id(&self) -> CheckId {
        LIVENESS
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = rpc_of(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(self.conclude(cx))
    }
    fn retained(&self) -> usize {
        self.open.len() + self.sent_to.len() + self.invoked.len() + self.failed.len()
    }
}

/// The retry storm behind unanswered calls, in words, when the servers a call tried
/// (all servers: `None`) still had requests queued when the run ended: `; retry storm:
/// 5400 requests still queued at s1 when the run ended, never drained`.
fn storm(ctx: &CheckContext, servers: Option<&[NodeId]>) -> String {
    match ctx.largest_backlog(servers) {
        Some((node, n)) => format!(
            "; retry storm: {n} requests still queued at {} when the run ended at {}, never drained",
            ctx.name(node),
            ctx.end
        ),
        None => String::new(),
    }
}

/// `rpc.liveness`: every call returns within its budget of `max(invoked, heal)`; see
/// the module's table and [`crate::check`].
pub fn check_liveness(records: &[Record<Obs>], ctx: &CheckContext) -> Verdict {
    let mut c = RpcLiveness::new();
    replay(records, |at, node, o| c.feed(at, node, o));
    c.conclude(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_agrees_with_the_servers_arithmetic_on_edge_cases() {
        let edges = [
            0,
            1,
            2,
            3,
            u64::from(u32::MAX) - 1,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            u64::from(u32::MAX) + 2,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            u64::MAX / 2,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &a in &edges {
            for &b in &edges {
                for req in [Request::Multiply { a, b }, Request::Divide { a, b }] {
                    assert_eq!(oracle(&req), req.expected(), "{req}");
                }
            }
        }
        // The overflow boundary exactly: 2^32 * (2^32 - 1) fits, 2^32 * 2^32 does not.
        let m = |a, b| oracle(&Request::Multiply { a, b }).unwrap();
        assert_eq!(m(1 << 32, u64::from(u32::MAX)), Ok(u64::MAX - u64::from(u32::MAX)));
        assert_eq!(m(1 << 32, 1 << 32), Err(AppError::Overflow));
        assert_eq!(m(u64::MAX, 1), Ok(u64::MAX));
        assert_eq!(m(u64::MAX, 2), Err(AppError::Overflow));
        assert_eq!(m(0, u64::MAX), Ok(0));
        let d = |a, b| oracle(&Request::Divide { a, b }).unwrap();
        assert_eq!(d(u64::MAX, 0), Err(AppError::DivideByZero));
        assert_eq!(d(0, 0), Err(AppError::DivideByZero));
        assert_eq!(d(u64::MAX, u64::MAX), Ok(1));
        assert_eq!(d(u64::MAX - 1, u64::MAX), Ok(0));
        assert_eq!(d(7, 2), Ok(3));
        assert_eq!(oracle(&Request::Deposit { account: 0, amount: 1 }), None);
    }

    #[test]
    fn the_oracle_catches_a_wrapping_multiply() {
        let req = Request::Multiply { a: 1 << 40, b: 1 << 40 };
        let wrapped: Reply = Ok((1u64 << 40).wrapping_mul(1 << 40));
        let rec = Record {
            at: crate::engine::time::SimTime(5),
            node: NodeId(1),
            obs: Obs::Rpc(RpcObs::Executed {
                client: NodeId(0),
                call: 0,
                req,
                reply: wrapped,
            }),
        };
        let ctx = CheckContext {
            names: vec!["c1".into(), "s1".into()],
            ..CheckContext::new(0, crate::engine::time::SimTime(10))
        };
        let v = check_results(&[rec], &ctx);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("expected error: overflow"), "{}", v[0].message);
        assert_eq!(v[0].events[0].name, "s1");
        assert!(v[0].events[0].what.contains("of c1"), "{}", v[0].events[0].what);
    }
}
