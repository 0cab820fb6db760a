//! RPC: the Go `net/rpc` example made distributed. A server offers
//! `Arithmetic.Multiply`, `Arithmetic.Divide` and the non-idempotent `Account.Deposit`;
//! clients call with a per-call timeout and retry with exponential backoff and jitter.
//!
//! This file holds the requests and replies ([`Request`], [`Reply`], [`execute`]), the
//! wire messages ([`RpcMsg`]) and the observations ([`RpcObs`]); the nodes live in
//! `server.rs` ([`RpcServerConfig`], [`server()`]) and `client.rs` ([`RpcClientConfig`],
//! [`client()`]); the checks ([`check_all`]) and metrics ([`RpcMetrics`]) in their own files.
//!
//! At-most-once: every request names its call id, and the client's `ack_below` (every
//! call of that client below it is finished). With `dedupe` on, a server keeps, in
//! durable storage, the reply of every call at or above the client's `ack_below`, answers
//! a retried call from it without executing again, and ignores requests for calls below
//! `ack_below` (late duplicates of finished calls). So a call executes at most once, even
//! across server restarts, with memory bounded by the calls in flight.

pub(crate) mod check;
pub(crate) mod client;
pub(crate) mod metrics;
mod protocol;
pub(crate) mod roles;
pub(crate) mod series;
pub(crate) mod server;

pub use check::{
    AT_MOST_ONCE, AtMostOnce, CORRECT_RESULT, CorrectResult, DEPOSIT_CONSISTENCY, DepositConsistency, LIVENESS,
    RpcLiveness, check_all, check_at_most_once, check_deposits, check_liveness, check_results,
};
pub use client::{CallMix, Calls, Pacing, RetryPolicy, RpcClientConfig, Target, Workload, client};
pub use metrics::{RpcMetrics, RpcSummary};
pub use protocol::Rpc;
pub use roles::{MixSpec, RpcClientRole, RpcServerRole};
pub use server::{RpcServerConfig, server};

use std::collections::BTreeMap;

use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// One call's method and arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `Arithmetic.Multiply(Args{A, B})`: `a * b`, or [`AppError::Overflow`].
    Multiply {
        /// A.
        a: u64,
        /// B.
        b: u64,
    },
    /// `Arithmetic.Divide(Args{A, B})`: `a / b` (integer quotient), or
    /// [`AppError::DivideByZero`].
    Divide {
        /// A.
        a: u64,
        /// B.
        b: u64,
    },
    /// `Account.Deposit(account, amount)`: adds `amount`, returns the new balance, or
    /// [`AppError::Overflow`] (then nothing is added). Not idempotent.
    Deposit {
        /// Which account.
        account: u32,
        /// How much.
        amount: u64,
    },
}

impl Request {
    /// The Go-style method name, e.g. `"Arithmetic.Multiply"`.
    pub fn method(&self) -> &'static str {
        match self {
            Request::Multiply { .. } => "Arithmetic.Multiply",
            Request::Divide { .. } => "Arithmetic.Divide",
            Request::Deposit { .. } => "Account.Deposit",
        }
    }

    /// May this request be executed twice without harm?
    pub fn is_idempotent(&self) -> bool {
        !matches!(self, Request::Deposit { .. })
    }

    /// The reply a correct server gives, when it depends on the arguments only
    /// (`None` for `Deposit`, whose reply depends on the account's history).
    pub fn expected(&self) -> Option<Reply> {
        match *self {
            Request::Multiply { a, b } => Some(a.checked_mul(b).ok_or(AppError::Overflow)),
            Request::Divide { a, b } => Some(a.checked_div(b).ok_or(AppError::DivideByZero)),
            Request::Deposit { .. } => None,
        }
    }

    fn stable_hash(&self, h: &mut StableHasher) {
        match *self {
            Request::Multiply { a, b } => {
                h.word(1);
                h.word(a);
                h.word(b);
            }
            Request::Divide { a, b } => {
                h.word(2);
                h.word(a);
                h.word(b);
            }
            Request::Deposit { account, amount } => {
                h.word(3);
                h.word(account as u64);
                h.word(amount);
            }
        }
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Multiply { a, b } | Request::Divide { a, b } => write!(f, "{}({a}, {b})", self.method()),
            Request::Deposit { account, amount } => write!(f, "{}({account}, {amount})", self.method()),
        }
    }
}

/// An application-level error reply (the call itself completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AppError {
    /// The result does not fit in a `u64`.
    Overflow,
    /// Division by zero.
    DivideByZero,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Overflow => f.write_str("overflow"),
            AppError::DivideByZero => f.write_str("divide by zero"),
        }
    }
}

/// A server's reply: the value, or an application error.
pub type Reply = Result<u64, AppError>;

fn hash_reply(r: &Reply, h: &mut StableHasher) {
    match r {
        Ok(v) => {
            h.word(0);
            h.word(*v)
        }
        Err(AppError::Overflow) => h.word(1),
        Err(AppError::DivideByZero) => h.word(2),
    }
}

/// Execute `req` against `accounts` (balances by account; absent means 0).
pub fn execute(req: &Request, accounts: &mut BTreeMap<u32, u64>) -> Reply {
    match *req {
        Request::Deposit { account, amount } => {
            let balance = accounts.entry(account).or_insert(0);
            let new = balance.checked_add(amount).ok_or(AppError::Overflow)?;
            *balance = new;
            Ok(new)
        }
        _ => req.expected().unwrap_or(Err(AppError::Overflow)),
    }
}

/// RPC traffic.
#[derive(Clone, Debug, PartialEq)]
pub enum RpcMsg {
    /// Client -> server: execute `req` as call `call` of the sender.
    Call {
        /// The client's call id (unique per client, across its restarts).
        call: u64,
        /// Every call of this client below this id is finished (ok, failed or abandoned).
        ack_below: u64,
        /// What to execute.
        req: Request,
    },
    /// Server -> client: the reply to call `call`.
    Return {
        /// The call id.
        call: u64,
        /// The reply.
        reply: Reply,
    },
}

impl StableHash for RpcMsg {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            RpcMsg::Call { call, ack_below, req } => {
                h.word(1);
                h.word(*call);
                h.word(*ack_below);
                req.stable_hash(h);
            }
            RpcMsg::Return { call, reply } => {
                h.word(2);
                h.word(*call);
                hash_reply(reply, h);
            }
        }
    }
}

/// Why a call failed (the client gave up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// No reply after `attempts` attempts, each waiting the per-call timeout.
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// How many of them found a server to send to (the others found none).
        sent: u32,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::RetriesExhausted { attempts, sent } => write!(
                f,
                "no reply after {} ({sent} sent to a server, {} found none)",
                crate::plural::count(u64::from(*attempts), "attempt"),
                attempts.saturating_sub(*sent)
            ),
        }
    }
}

/// RPC observations (the record's `node` says who observed it).
#[derive(Clone, Debug, PartialEq)]
pub enum RpcObs {
    /// A client invoked call `call`; it will finish within `budget` (ok or failed) unless
    /// the client crashes.
    Invoke {
        /// The call id.
        call: u64,
        /// What is called.
        req: Request,
        /// The longest the call can take: every attempt's timeout plus every backoff.
        budget: SimTime,
    },
    /// A client sent attempt `attempt` (1-based) of call `call` to `server`.
    Attempt {
        /// The call id.
        call: u64,
        /// Which attempt.
        attempt: u32,
        /// Where it was sent.
        server: NodeId,
    },
    /// A client got the reply to call `call` (an application error is still a reply).
    Ok {
        /// The call id.
        call: u64,
        /// What was called.
        req: Request,
        /// The reply.
        reply: Reply,
        /// Which server answered.
        server: NodeId,
        /// Attempts started (1 = no retry).
        attempts: u32,
        /// When the call was invoked.
        invoked_at: SimTime,
    },
    /// A client gave up on call `call`.
    Fail {
        /// The call id.
        call: u64,
        /// What was called.
        req: Request,
        /// Why.
        error: CallError,
        /// Attempts started.
        attempts: u32,
        /// When the call was invoked.
        invoked_at: SimTime,
    },
    /// A server executed call `call` of `client` (replays from the dedupe table are not
    /// executions and are not recorded).
    Executed {
        /// The calling client.
        client: NodeId,
        /// The call id.
        call: u64,
        /// What was executed.
        req: Request,
        /// The reply it produced.
        reply: Reply,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execute_reports_errors_instead_of_panicking() {
        let mut acc = BTreeMap::new();
        assert_eq!(execute(&Request::Multiply { a: 6, b: 7 }, &mut acc), Ok(42));
        assert_eq!(
            execute(&Request::Multiply { a: u64::MAX, b: 2 }, &mut acc),
            Err(AppError::Overflow)
        );
        assert_eq!(
            execute(&Request::Divide { a: 7, b: 0 }, &mut acc),
            Err(AppError::DivideByZero)
        );
        assert_eq!(execute(&Request::Divide { a: 7, b: 2 }, &mut acc), Ok(3));
        let dep = |amount| Request::Deposit { account: 1, amount };
        assert_eq!(execute(&dep(5), &mut acc), Ok(5));
        assert_eq!(execute(&dep(u64::MAX), &mut acc), Err(AppError::Overflow));
        assert_eq!(execute(&dep(2), &mut acc), Ok(7), "a failed deposit adds nothing");
        assert!(!dep(1).is_idempotent() && Request::Divide { a: 1, b: 1 }.is_idempotent());
        assert_eq!(dep(1).to_string(), "Account.Deposit(1, 1)");
        let once = CallError::RetriesExhausted { attempts: 1, sent: 1 };
        assert_eq!(
            once.to_string(),
            "no reply after 1 attempt (1 sent to a server, 0 found none)"
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = RetryPolicy {
            timeout: SimTime::from_millis(10),
            max_attempts: 5,
            backoff_base: SimTime::from_millis(20),
            backoff_max: SimTime::from_millis(50),
        };
        let caps: Vec<u64> = (2..=5).map(|k| p.backoff_cap(k).0 / 1_000_000).collect();
        assert_eq!(caps, vec![20, 40, 50, 50]);
        assert_eq!(p.budget(), SimTime::from_millis(5 * 10 + 20 + 40 + 50 + 50));
        let huge = RetryPolicy {
            max_attempts: 200,
            backoff_max: SimTime::MAX,
            ..p
        };
        assert!(
            huge.budget() > SimTime::from_secs(1),
            "saturates instead of overflowing"
        );
    }

    /// The budget as a plain sum over every attempt (what `budget` must equal).
    fn budget_by_sum(p: &RetryPolicy) -> SimTime {
        let n = p.max_attempts.max(1);
        (2..=n).fold(SimTime(p.timeout.0.saturating_mul(n as u64)), |t, k| {
            t + p.backoff_cap(k)
        })
    }

    #[test]
    fn budget_equals_the_sum_of_timeouts_and_backoffs() {
        let ms = SimTime::from_millis;
        for (base, max) in [
            (ms(0), ms(0)),
            (ms(0), ms(5)),
            (ms(20), ms(50)),
            (ms(3), ms(400)),
            (SimTime(1), SimTime::MAX),
        ] {
            for attempts in [0, 1, 2, 3, 7, 64, 65, 66, 200] {
                let p = RetryPolicy {
                    timeout: ms(10),
                    max_attempts: attempts,
                    backoff_base: base,
                    backoff_max: max,
                };
                assert_eq!(p.budget(), budget_by_sum(&p), "{p:?}");
            }
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a hang guard thread, outside any simulation
    fn budget_of_a_huge_attempt_count_is_computed_at_once() {
        // A scenario file may ask for u32::MAX attempts; the budget is computed for every
        // call, so it must not take one step per attempt (4 billion steps: a hung run).
        let p = RetryPolicy {
            timeout: SimTime::from_millis(10),
            max_attempts: u32::MAX,
            backoff_base: SimTime::from_millis(20),
            backoff_max: SimTime::from_millis(50),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(p.budget());
        });
        let budget = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("budget() took more than 5 s");
        let n = u32::MAX as u64;
        let want = 10_000_000 * n + 20_000_000 + 40_000_000 + 50_000_000 * (n - 3);
        assert_eq!(budget, SimTime(want));
    }
}
