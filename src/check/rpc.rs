//! RPC checkers over a history of [`Obs`]: correct results, deposit consistency,
//! at-most-once execution, and liveness after the last fault healed.
//!
//! | check | property |
//! |---|---|
//! | `rpc.correct_result` | every reply (seen by a client, or produced by a server) to `Multiply` / `Divide` is the product / quotient, or the right error (overflow, divide by zero) |
//! | `rpc.deposit_consistency` | on each (server, account), each executed deposit's balance is the previous balance plus the amount (from 0), or an overflow error when that does not fit; every deposit reply a client got is the balance one execution of that call produced on that server |
//! | `rpc.at_most_once` | no (client, call id) is executed more than once (the promise of servers with dedupe on): a `Deposit` on all servers together, an idempotent call on each server (clients may retry those elsewhere) |
//! | `rpc.liveness` | every call invoked at or after `heal_at` returns (ok or application error): it neither fails nor stays unanswered past its retry budget (judged when `invoked + budget <= end`) |

use std::collections::BTreeMap;

use crate::check::{CheckContext, Evidence, Violation};
use crate::history::Record;
use crate::node::NodeId;
use crate::protocols::Obs;
use crate::protocols::rpc::{AppError, Reply, Request, RpcObs};

/// Every RPC check.
pub fn check_all(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut v = check_results(records, ctx);
    v.extend(check_deposits(records, ctx));
    v.extend(check_at_most_once(records, ctx));
    v.extend(check_liveness(records, ctx));
    v
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
        let (req, reply, what) = match rpc(rec) {
            Some(RpcObs::Ok {
                call,
                req,
                reply,
                server,
                ..
            }) => (
                req,
                reply,
                format!("call {call} {req} returned {} from {server}", reply_str(reply)),
            ),
            Some(RpcObs::Executed {
                client,
                call,
                req,
                reply,
            }) => (
                req,
                reply,
                format!("executed call {call} of {client}: {req} = {}", reply_str(reply)),
            ),
            _ => continue,
        };
        if let Some(want) = req.expected()
            && want != *reply
        {
            out.push(Violation::new(
                "rpc.correct_result",
                format!("{req} gave {}, expected {}", reply_str(reply), reply_str(&want)),
                rec.at,
                ctx,
                vec![Evidence::of(rec, what)],
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
                events.push(Evidence::of(
                    &records[j],
                    format!("account {account} balance became {prev}"),
                ));
            }
            events.push(Evidence::of(
                rec,
                format!(
                    "executed call {call} of {client}: deposit {amount} into account {account} = {}",
                    reply_str(reply)
                ),
            ));
            out.push(Violation::new(
                "rpc.deposit_consistency",
                format!(
                    "deposit of {amount} into account {account} on {} gave {}, expected {} (previous balance {prev})",
                    rec.node,
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
                "rpc.deposit_consistency",
                format!(
                    "call {call} {req} of {} returned {} from {server}, which no execution of that call there produced (executions: {:?})",
                    rec.node,
                    reply_str(reply),
                    known.map(|rs| rs.iter().map(reply_str).collect::<Vec<_>>()).unwrap_or_default()
                ),
                rec.at,
                ctx,
                vec![Evidence::of(rec, format!("call {call} {req} returned {}", reply_str(reply)))],
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
                    Evidence::of(rec, what)
                })
                .collect();
            let second = &records[execs[1]];
            let method = match rpc(second) {
                Some(RpcObs::Executed { req, .. }) => req.method(),
                _ => "?",
            };
            Violation::new(
                "rpc.at_most_once",
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

/// `rpc.liveness`: every call invoked at or after `ctx.heal_at` returns within its budget.
pub fn check_liveness(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    // (client, call) -> index of the Invoke record.
    let mut open: BTreeMap<(NodeId, u64), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        match rpc(rec) {
            Some(RpcObs::Invoke { call, .. }) if rec.at >= ctx.heal_at => {
                open.insert((rec.node, *call), i);
            }
            Some(RpcObs::Ok { call, .. }) => {
                open.remove(&(rec.node, *call));
            }
            Some(RpcObs::Fail {
                call,
                req,
                error,
                invoked_at,
                ..
            }) => {
                if let Some(j) = open.remove(&(rec.node, *call)) {
                    out.push(Violation::new(
                        "rpc.liveness",
                        format!(
                            "call {call} {req} of {} invoked at {} ns, after the last fault healed at {} ns, failed: {error}",
                            rec.node, invoked_at.0, ctx.heal_at.0
                        ),
                        rec.at,
                        ctx,
                        vec![
                            Evidence::of(&records[j], format!("invoke call {call} {req}")),
                            Evidence::of(rec, format!("call {call} failed: {error}")),
                        ],
                    ));
                }
            }
            _ => {}
        }
    }
    for (_, j) in open {
        let rec = &records[j];
        if let Some(RpcObs::Invoke { call, req, budget }) = rpc(rec) {
            let deadline = rec.at + *budget;
            if deadline <= ctx.end {
                out.push(Violation::new(
                    "rpc.liveness",
                    format!(
                        "call {call} {req} of {} invoked at {} ns, after the last fault healed at {} ns, never returned (budget {} ns)",
                        rec.node, rec.at.0, ctx.heal_at.0, budget.0
                    ),
                    deadline,
                    ctx,
                    vec![Evidence::of(rec, format!("invoke call {call} {req}"))],
                ));
            }
        }
    }
    out.sort_by_key(|v| v.at);
    out
}
