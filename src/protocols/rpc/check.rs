//! RPC checkers over a history of [`Obs`]: correct results, deposit consistency,
//! at-most-once execution, and liveness after the last fault healed.
//!
//! | check | property |
//! |---|---|
//! | `rpc.correct_result` | every reply (seen by a client, or produced by a server) to `Multiply` / `Divide` is the product / quotient, or the right error (overflow, divide by zero), by the checker's own oracle ([`oracle`]: 128-bit arithmetic with explicit range checks, independent of the server's `u64` checked arithmetic) |
//! | `rpc.deposit_consistency` | on each (server, account), each executed deposit's balance is the previous balance plus the amount (from 0), or an overflow error when that does not fit; every deposit reply a client got is the balance one execution of that call produced on that server |
//! | `rpc.at_most_once` | no (client, call id) is executed more than once (the promise of servers with dedupe on): a `Deposit` on all servers together, an idempotent call on each server (clients may retry those elsewhere) |
//! | `rpc.liveness` | every call returns (ok or application error) within its retry budget of `max(invoked, heal)`. A call that fails (the client gave up) is a violation when no fault had happened yet when it failed, or it was invoked at or after the heal; a call that failed while faults were in force is excused when the run healed, and undone (`not_judged`) when it never did; a call still unanswered at the end is judged by the rule of [`crate::check`] (a violation once due, or when the run healed and ended quiescent; otherwise `not_judged`), unless its client crashed after invoking it (a call abandoned by its caller); every client must have invoked a call |

use std::collections::BTreeMap;

use crate::check::liveness::Judge;
use crate::check::{CheckContext, CheckId, Evidence, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
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

fn rpc(rec: &Record<Obs>) -> Option<&RpcObs> {
    match &rec.obs {
        Obs::Rpc(o) => Some(o),
        _ => None,
    }
}

fn reply_str(r: &Reply) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// `rpc.correct_result`: every `Multiply` / `Divide` reply, at a client or a server, is right.
pub fn check_results(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut out = Vec::new();
    for rec in records {
        // (request, reply, who saw it, what happened in words)
        let (req, reply, seen, what) = match rpc(rec) {
            Some(RpcObs::Ok {
                call,
                req,
                reply,
                server,
                ..
            }) => (
                req,
                reply,
                format!(
                    "call {call} of {} (answered by {})",
                    ctx.name(rec.node),
                    ctx.name(*server)
                ),
                format!(
                    "call {call} {req} returned {} from {}",
                    reply_str(reply),
                    ctx.name(*server)
                ),
            ),
            Some(RpcObs::Executed {
                client,
                call,
                req,
                reply,
            }) => (
                req,
                reply,
                format!(
                    "call {call} of {} (executed by {})",
                    ctx.name(*client),
                    ctx.name(rec.node)
                ),
                format!(
                    "executed call {call} of {}: {req} = {}",
                    ctx.name(*client),
                    reply_str(reply)
                ),
            ),
            _ => continue,
        };
        if let Some(want) = oracle(req)
            && want != *reply
        {
            out.push(Violation::new(
                CORRECT_RESULT,
                format!("{req} gave {}, expected {}: {seen}", reply_str(reply), reply_str(&want)),
                rec.at,
                ctx,
                vec![ctx.evidence_of(rec, what)],
            ));
        }
    }
    out
}

/// `rpc.deposit_consistency`: balances follow the executed deposits; replies match an execution.
pub fn check_deposits(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut out = Vec::new();
    // (server, account) -> (balance, the record that set it).
    let mut balances: BTreeMap<(NodeId, u32), (u64, usize)> = BTreeMap::new();
    // (client, call, server) -> replies of its executions.
    let mut executed: BTreeMap<(NodeId, u64, NodeId), Vec<Reply>> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        let Some(RpcObs::Executed {
            client,
            call,
            req: Request::Deposit { account, amount },
            reply,
        }) = rpc(rec)
        else {
            continue;
        };
        executed.entry((*client, *call, rec.node)).or_default().push(*reply);
        let (prev, prev_idx) = balances
            .get(&(rec.node, *account))
            .copied()
            .map_or((0, None), |(b, i)| (b, Some(i)));
        let want = prev.checked_add(*amount).ok_or(AppError::Overflow);
        if want != *reply {
            let mut events = Vec::new();
            if let Some(j) = prev_idx {
                events.push(ctx.evidence_of(&records[j], format!("account {account} balance became {prev}")));
            }
            events.push(ctx.evidence_of(
                rec,
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
                    ctx.name(rec.node),
                    reply_str(reply),
                    reply_str(&want)
                ),
                rec.at,
                ctx,
                events,
            ));
        }
        if let Ok(b) = reply {
            balances.insert((rec.node, *account), (*b, i));
        }
    }
    for rec in records {
        let Some(RpcObs::Ok {
            call,
            req: req @ Request::Deposit { .. },
            reply,
            server,
            ..
        }) = rpc(rec)
        else {
            continue;
        };
        let known = executed.get(&(rec.node, *call, *server));
        if !known.is_some_and(|rs| rs.contains(reply)) {
            out.push(Violation::new(
                DEPOSIT_CONSISTENCY,
                format!(
                    "call {call} {req} of {} returned {} from {}, which no execution of that call there produced (executions: {:?})",
                    ctx.name(rec.node),
                    reply_str(reply),
                    ctx.name(*server),
                    known.map(|rs| rs.iter().map(reply_str).collect::<Vec<_>>()).unwrap_or_default()
                ),
                rec.at,
                ctx,
                vec![ctx.evidence_of(rec, format!("call {call} {req} returned {}", reply_str(reply)))],
            ));
        }
    }
    out
}

/// `rpc.at_most_once`: no (client, call id) executes twice: a non-idempotent call
/// (`Deposit`) on any servers together, an idempotent one on any one server (a client
/// may legitimately retry it on another server).
pub fn check_at_most_once(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    // (client, call, server for idempotent calls) -> executions.
    let mut seen: BTreeMap<(NodeId, u64, Option<NodeId>), Vec<usize>> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        if let Some(RpcObs::Executed { client, call, req, .. }) = rpc(rec) {
            let server = req.is_idempotent().then_some(rec.node);
            seen.entry((*client, *call, server)).or_default().push(i);
        }
    }
    let mut out: Vec<Violation> = seen
        .into_iter()
        .filter(|(_, execs)| execs.len() > 1)
        .map(|((client, call, _), execs)| {
            let client = ctx.name(client);
            let events: Vec<Evidence> = execs
                .iter()
                .map(|&i| {
                    let rec = &records[i];
                    let what = match rpc(rec) {
                        Some(RpcObs::Executed { req, reply, .. }) => {
                            format!("executed call {call} of {client}: {req} = {}", reply_str(reply))
                        }
                        _ => String::new(),
                    };
                    ctx.evidence_of(rec, what)
                })
                .collect();
            let second = &records[execs[1]];
            let method = match rpc(second) {
                Some(RpcObs::Executed { req, .. }) => req.method(),
                _ => "?",
            };
            Violation::new(
                AT_MOST_ONCE,
                format!("call {call} of {client} ({method}) was executed {} times", execs.len()),
                second.at,
                ctx,
                events,
            )
        })
        .collect();
    out.sort_by_key(|v| v.at);
    out
}

/// `rpc.liveness`: every call returns within its budget of `max(invoked, heal)`; see
/// the module's table and [`crate::check`].
pub fn check_liveness(records: &[Record<Obs>], ctx: &CheckContext) -> Verdict {
    let mut judge = Judge::new(ctx, LIVENESS, ("call", "calls"));
    // (client, call) -> index of the Invoke record, while the call is open.
    let mut open: BTreeMap<(NodeId, u64), usize> = BTreeMap::new();
    // (client, call) -> the servers its attempts were sent to, while the call is open.
    let mut sent_to: BTreeMap<(NodeId, u64), Vec<NodeId>> = BTreeMap::new();
    let mut invoked: BTreeMap<NodeId, u64> = BTreeMap::new();
    let healed = ctx.healed_at();
    for (i, rec) in records.iter().enumerate() {
        match rpc(rec) {
            Some(RpcObs::Invoke { call, .. }) => {
                open.insert((rec.node, *call), i);
                *invoked.entry(rec.node).or_default() += 1;
            }
            Some(RpcObs::Attempt { call, server, .. }) => {
                let servers = sent_to.entry((rec.node, *call)).or_default();
                if !servers.contains(server) {
                    servers.push(*server);
                }
            }
            Some(RpcObs::Ok { call, .. }) => {
                open.remove(&(rec.node, *call));
                sent_to.remove(&(rec.node, *call));
            }
            Some(RpcObs::Fail {
                call,
                req,
                error,
                invoked_at,
                ..
            }) => {
                let Some(j) = open.remove(&(rec.node, *call)) else {
                    continue;
                };
                // The nodes the call depended on: its client and the servers it tried;
                // an attempt that found no server depended on discovery, so then any
                // fault may explain it.
                let servers = sent_to.remove(&(rec.node, *call)).unwrap_or_default();
                let CallError::RetriesExhausted { attempts, sent } = error;
                let path = (sent >= attempts).then_some(&servers[..]);
                if ctx.disturbed_for(*invoked_at, rec.at, rec.node, path) {
                    // A fault on its path was in force while it ran: excused if they all
                    // ended (the run healed); if one never did, it is undone work whose
                    // fate the run cannot judge.
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
                        "call {call} {req} of {} invoked at {invoked_at} and failed at {}, {when}: {error}",
                        ctx.name(rec.node),
                        rec.at
                    ),
                    rec.at,
                    ctx,
                    vec![
                        ctx.evidence_of(&records[j], format!("invoke call {call} {req}")),
                        ctx.evidence_of(rec, format!("call {call} failed: {error}")),
                    ],
                ));
            }
            _ => {}
        }
    }
    for ((client, _), j) in open {
        let rec = &records[j];
        let Some(RpcObs::Invoke { call, req, budget }) = rpc(rec) else {
            continue;
        };
        // A client that crashed after invoking the call abandoned it (its volatile
        // state, and the call with it, is gone): nobody owes it a reply.
        if ctx.crashes.iter().any(|&(at, n)| n == client && at >= rec.at) {
            continue;
        }
        if let Some(o) = judge.undone(rec.at, *budget) {
            judge.push(Violation::new(
                LIVENESS,
                format!(
                    "call {call} {req} of {}, invoked at {} with a retry budget of {budget}, never returned: {}",
                    ctx.name(client),
                    rec.at,
                    o.why
                ),
                o.at,
                ctx,
                vec![ctx.evidence_of(rec, format!("invoke call {call} {req}"))],
            ));
        }
    }
    judge.sources(|node| invoked.get(&node).copied().unwrap_or(0));
    judge.finish()
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
