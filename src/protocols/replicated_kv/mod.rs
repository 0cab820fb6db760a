//! A replicated key-value store (protocol `rkv`): a leader with a majority quorum and
//! read leases, Raft-like, simplified but correct, with clients doing get / put / append
//! on a small key set, and the linearizability of what the clients saw checked by
//! [`crate::linearizability`] with its key-value model (independent of the store's own
//! state machine).
//!
//! - `rkv_replica` nodes (`replica.rs`): terms and votes and the log live in durable
//!   storage; a candidate needs a majority of votes (and an up-to-date log); the leader
//!   replicates its log and commits an entry of its term once a majority has it, then
//!   applies entries in order to the state machine ([`StateMachine`]), which dedupes
//!   writes by (client, sequence number), so a retried append is applied once. Reads are
//!   served by the leader alone, only while it holds a lease (a majority acknowledged a
//!   heartbeat sent less than `lease` ago; a follower that heard from a leader refuses to
//!   vote for `lease` after, and a restarted replica for `lease` after its start) and
//!   after an entry of its own term committed. Followers redirect clients to the leader.
//! - `rkv_client` nodes (`client.rs`): one operation at a time, each observed at its
//!   invocation and its return (with the value read), retried with the same (client,
//!   sequence number) on a timeout, a redirect or a refusal; a client that gives up
//!   records the outcome as unknown.
//!
//! Checks (`check.rs`, [`Linearizable`], [`Progress`]): `rkv.linearizable` (on by default) and `rkv.progress`. Canaries
//! (replica settings): `canary_stale_read` (the leader serves reads without a lease) and
//! `canary_lost_write` (the leader acknowledges a write as soon as it is in its own log,
//! before a majority has it; it reads only when its whole log is committed, so that
//! without a leader change it is right).

pub(crate) mod check;
pub(crate) mod client;
pub(crate) mod metrics;
mod protocol;
pub(crate) mod replica;
pub(crate) mod roles;
pub(crate) mod state_machine;

pub use check::{ClientOp, LINEARIZABLE, Linearizable, MAX_STEPS, Ops, PROGRESS, Progress, judge_linearizable};
pub use metrics::RkvMetrics;
pub use protocol::ReplicatedKv;
pub use roles::{RkvClientRole, RkvReplicaRole};
pub use state_machine::StateMachine;

use std::fmt;

use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};

/// One operation on the store. Keys are small numbers (written `k0`, `k1`, ...); a key
/// holds a string, empty until written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// Read a key.
    Get {
        /// The key.
        key: u64,
    },
    /// Overwrite a key.
    Put {
        /// The key.
        key: u64,
        /// The new value.
        value: String,
    },
    /// Append to a key's value.
    Append {
        /// The key.
        key: u64,
        /// What is appended.
        value: String,
    },
}

impl KvOp {
    /// The key it touches.
    pub fn key(&self) -> u64 {
        match self {
            KvOp::Get { key } | KvOp::Put { key, .. } | KvOp::Append { key, .. } => *key,
        }
    }
}

impl fmt::Display for KvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOp::Get { key } => write!(f, "get k{key}"),
            KvOp::Put { key, value } => write!(f, "put k{key}={value:?}"),
            KvOp::Append { key, value } => write!(f, "append k{key}+={value:?}"),
        }
    }
}

impl StableHash for KvOp {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            KvOp::Get { key } => {
                h.word(1);
                h.word(*key);
            }
            KvOp::Put { key, value } => {
                h.word(2);
                h.word(*key);
                h.str(value);
            }
            KvOp::Append { key, value } => {
                h.word(3);
                h.word(*key);
                h.str(value);
            }
        }
    }
}

/// A client's write, as the log holds it: who asked, under which sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The client.
    pub client: NodeId,
    /// The client's sequence number of the operation (retries reuse it).
    pub seq: u64,
    /// The write.
    pub op: KvOp,
}

/// One log entry: its term, and a client's write (`None`: the no-op a new leader
/// commits to learn what is committed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The term of the leader that appended it.
    pub term: u64,
    /// The write, or `None` for a leader's no-op.
    pub cmd: Option<Command>,
}

impl StableHash for Entry {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(self.term);
        match &self.cmd {
            None => h.word(0),
            Some(c) => {
                h.word(1);
                h.word(u64::from(c.client.0));
                h.word(c.seq);
                c.op.stable_hash(h);
            }
        }
    }
}

/// A replica's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyBody {
    /// Done: the value read (a get), or `None` (a write).
    Ok(Option<String>),
    /// Not the leader; the leader it knows of, if any.
    NotLeader(Option<NodeId>),
    /// The leader cannot serve it now (no lease yet, or its first entry not committed).
    Retry,
}

/// The store's messages.
#[derive(Clone, Debug, PartialEq)]
pub enum RkvMsg {
    /// Client -> replica: an operation.
    Request {
        /// The client's sequence number of the operation.
        seq: u64,
        /// The operation.
        op: KvOp,
    },
    /// Replica -> client: the answer to operation `seq`.
    Reply {
        /// The operation's sequence number.
        seq: u64,
        /// The answer.
        body: ReplyBody,
    },
    /// Candidate -> replica: vote for me in `term`.
    Vote {
        /// The candidate's term.
        term: u64,
        /// The index of its last log entry.
        last_index: u64,
        /// The term of its last log entry.
        last_term: u64,
    },
    /// Replica -> candidate: the vote.
    VoteReply {
        /// The voter's term.
        term: u64,
        /// Granted?
        granted: bool,
    },
    /// Leader -> follower: entries after `prev_index` (none: a heartbeat).
    Append {
        /// The leader's term.
        term: u64,
        /// The index of the entry before `entries`.
        prev_index: u64,
        /// Its term.
        prev_term: u64,
        /// New entries.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: u64,
        /// When the leader sent it (echoed in the reply: the lease runs from here).
        sent_at: SimTime,
    },
    /// Follower -> leader: the answer to an `Append`.
    AppendReply {
        /// The follower's term.
        term: u64,
        /// The entries matched the leader's log.
        success: bool,
        /// On success the index up to which its log matches the leader's; on failure a
        /// hint (its last index).
        match_index: u64,
        /// The `sent_at` of the `Append` it answers.
        sent_at: SimTime,
    },
}

impl StableHash for ReplyBody {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            ReplyBody::Ok(v) => {
                h.word(1);
                v.stable_hash(h);
            }
            ReplyBody::NotLeader(l) => {
                h.word(2);
                l.stable_hash(h);
            }
            ReplyBody::Retry => h.word(3),
        }
    }
}

impl StableHash for RkvMsg {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            RkvMsg::Request { seq, op } => {
                h.word(1);
                h.word(*seq);
                op.stable_hash(h);
            }
            RkvMsg::Reply { seq, body } => {
                h.word(2);
                h.word(*seq);
                body.stable_hash(h);
            }
            RkvMsg::Vote {
                term,
                last_index,
                last_term,
            } => {
                h.word(3);
                h.word(*term);
                h.word(*last_index);
                h.word(*last_term);
            }
            RkvMsg::VoteReply { term, granted } => {
                h.word(4);
                h.word(*term);
                h.word(u64::from(*granted));
            }
            RkvMsg::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                sent_at,
            } => {
                h.word(5);
                h.word(*term);
                h.word(*prev_index);
                h.word(*prev_term);
                entries.stable_hash(h);
                h.word(*commit);
                sent_at.stable_hash(h);
            }
            RkvMsg::AppendReply {
                term,
                success,
                match_index,
                sent_at,
            } => {
                h.word(6);
                h.word(*term);
                h.word(u64::from(*success));
                h.word(*match_index);
                sent_at.stable_hash(h);
            }
        }
    }
}

/// How the HTML diagram labels the store's arrows.
impl fmt::Display for RkvMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RkvMsg::Request { seq, op } => write!(f, "#{seq} {op}"),
            RkvMsg::Reply { seq, body } => match body {
                ReplyBody::Ok(Some(v)) => write!(f, "#{seq} = {v:?}"),
                ReplyBody::Ok(None) => write!(f, "#{seq} ok"),
                ReplyBody::NotLeader(Some(l)) => write!(f, "#{seq} not leader (try {l})"),
                ReplyBody::NotLeader(None) => write!(f, "#{seq} not leader"),
                ReplyBody::Retry => write!(f, "#{seq} retry"),
            },
            RkvMsg::Vote { term, .. } => write!(f, "vote? t{term}"),
            RkvMsg::VoteReply { term, granted } => write!(f, "vote t{term} {}", if *granted { "yes" } else { "no" }),
            RkvMsg::Append {
                term, entries, commit, ..
            } if entries.is_empty() => write!(f, "heartbeat t{term} c{commit}"),
            RkvMsg::Append {
                term,
                prev_index,
                entries,
                commit,
                ..
            } => write!(
                f,
                "append t{term} {}..{} c{commit}",
                prev_index + 1,
                prev_index + entries.len() as u64
            ),
            RkvMsg::AppendReply {
                term,
                success,
                match_index,
                ..
            } => write!(f, "{} t{term} m{match_index}", if *success { "ack" } else { "nack" }),
        }
    }
}

impl From<RkvMsg> for Payload {
    fn from(m: RkvMsg) -> Payload {
        Payload::new(m)
    }
}

/// What the store's nodes observe.
#[derive(Clone, Debug, PartialEq)]
pub enum RkvObs {
    /// A client invoked operation `seq`.
    Invoke {
        /// Its sequence number.
        seq: u64,
        /// The operation.
        op: KvOp,
    },
    /// Operation `seq` returned: the value read (a get) or `None` (a write).
    Return {
        /// Its sequence number.
        seq: u64,
        /// The value read, for a get.
        value: Option<String>,
        /// Attempts it took.
        attempts: u32,
        /// When it was invoked.
        invoked_at: SimTime,
    },
    /// The client gave up on operation `seq`: its outcome is unknown.
    GaveUp {
        /// Its sequence number.
        seq: u64,
        /// Whether it was a write (a get that gave up had no effect).
        write: bool,
        /// When it was invoked.
        invoked_at: SimTime,
    },
    /// The client finished all its operations.
    Done {
        /// How many it made.
        ops: u64,
    },
    /// A replica became the leader of `term`.
    Leader {
        /// The term.
        term: u64,
    },
}

impl From<RkvObs> for Observation {
    fn from(o: RkvObs) -> Observation {
        Observation::new(o)
    }
}
