//! The `rkv_replica` node: Raft-like leader election and log replication with read
//! leases (see the module doc of [`super`] for the rules it keeps).
//!
//! Leases, vote refusals and election waits are timed on the replica's monotonic clock
//! ([`crate::Ctx::monotonic_now`]; `sent_at` is the leader's): a step of a wall clock
//! changes nothing. The lease assumes the replicas' clocks run at nearly the same rate
//! (the slack is one message delay): a `clock_drift` that makes a follower's clock much
//! faster than its leader's can let two leaders serve reads, as it would in a real Raft.
//!
//! Durable: the current term, the vote of that term, the log (one durable value). Every
//! handler syncs it before it returns, so no vote, acknowledgement or reply leaves
//! before the term, vote and log entries it vouches for are durable (a handler runs in
//! an instant: nothing it sends arrives before it returns); a crash that loses unsynced
//! writes never loses a granted vote or an acknowledged entry. Volatile: the role, the
//! commit index, the state machine (rebuilt from the log as entries are committed
//! again), the lease.

use std::collections::BTreeMap;

use super::state_machine::StateMachine;
use super::{Command, Entry, KvOp, ReplyBody, RkvMsg, RkvObs};
use crate::engine::node::{Node, NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};
use crate::protocols::ProtoCtx;

/// Most entries one `Append` carries.
const MAX_BATCH: usize = 32;

/// A replica's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaConfig {
    /// The other replicas.
    pub peers: Vec<NodeId>,
    /// How often the leader sends heartbeats.
    pub heartbeat: SimTime,
    /// How long a majority's acknowledgement of a heartbeat lets the leader serve reads,
    /// from when it sent it (and how long a follower refuses to vote after hearing from
    /// a leader).
    pub lease: SimTime,
    /// Election timeouts are drawn in `[election_min, election_max]`.
    pub election_min: SimTime,
    /// See `election_min`.
    pub election_max: SimTime,
    /// CANARY: serve reads as the leader without checking the lease.
    pub stale_read: bool,
    /// CANARY: acknowledge writes once in the leader's own log (before a majority has
    /// them), reading only when its whole log is committed.
    pub lost_write: bool,
}

/// What survives a crash.
#[derive(Clone, Default)]
struct Durable {
    term: u64,
    voted_for: Option<NodeId>,
    log: Vec<Entry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

const ELECTION: u64 = 1;
const HEARTBEAT: u64 = 2;

/// One replica.
pub struct Replica {
    cfg: ReplicaConfig,
    role: Role,
    /// The leader of the current term, if known.
    leader: Option<NodeId>,
    commit: u64,
    applied: u64,
    sm: StateMachine,
    votes: Vec<NodeId>,
    next_index: BTreeMap<NodeId, u64>,
    match_index: BTreeMap<NodeId, u64>,
    /// Per peer, the latest `sent_at` of this term's heartbeats it acknowledged.
    acked: BTreeMap<NodeId, SimTime>,
    /// As leader, reads may be served before this.
    lease_until: SimTime,
    /// The index of this leader's first entry (its no-op): reads wait for it to commit.
    first_index: u64,
    /// Refuse votes before this (a leader was heard from, or this replica just started).
    no_vote_until: SimTime,
    /// Clients waiting for their write: (client, seq).
    waiting: Vec<(NodeId, u64)>,
    election_timer: Option<TimerId>,
    heartbeat_timer: Option<TimerId>,
}

impl Replica {
    /// A replica with `cfg`, as it starts (or restarts).
    pub fn new(cfg: ReplicaConfig) -> Self {
        Replica {
            cfg,
            role: Role::Follower,
            leader: None,
            commit: 0,
            applied: 0,
            sm: StateMachine::new(),
            votes: Vec::new(),
            next_index: BTreeMap::new(),
            match_index: BTreeMap::new(),
            acked: BTreeMap::new(),
            lease_until: SimTime::ZERO,
            first_index: 0,
            no_vote_until: SimTime::ZERO,
            waiting: Vec::new(),
            election_timer: None,
            heartbeat_timer: None,
        }
    }

    fn majority(&self) -> usize {
        let group = self.cfg.peers.len() + 1;
        group / 2 + 1
    }

    fn last_index(ctx: &mut ProtoCtx<'_>) -> u64 {
        ctx.durable::<Durable>().log.len() as u64
    }

    fn term_at(ctx: &mut ProtoCtx<'_>, index: u64) -> u64 {
        if index == 0 {
            return 0;
        }
        ctx.durable::<Durable>()
            .log
            .get(index as usize - 1)
            .map_or(0, |e| e.term)
    }

    fn reset_election(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        let (lo, hi) = (self.cfg.election_min.as_nanos(), self.cfg.election_max.as_nanos());
        let after = ctx.rng().range(lo, hi.max(lo) + 1);
        self.election_timer = Some(ctx.set_timer(SimTime(after), ELECTION));
    }

    /// A higher term was seen: adopt it, with no vote, as a follower.
    fn adopt_term(&mut self, ctx: &mut ProtoCtx<'_>, term: u64) {
        let d = ctx.durable::<Durable>();
        if term > d.term {
            d.term = term;
            d.voted_for = None;
            self.leader = None;
        }
        self.step_down(ctx);
    }

    fn step_down(&mut self, ctx: &mut ProtoCtx<'_>) {
        if self.role == Role::Follower {
            return;
        }
        self.role = Role::Follower;
        self.votes.clear();
        self.waiting.clear();
        self.lease_until = SimTime::ZERO;
        if let Some(t) = self.heartbeat_timer.take() {
            ctx.cancel_timer(t);
        }
        self.reset_election(ctx);
    }

    fn start_election(&mut self, ctx: &mut ProtoCtx<'_>) {
        let me = ctx.me();
        let d = ctx.durable::<Durable>();
        d.term += 1;
        d.voted_for = Some(me);
        let term = d.term;
        self.role = Role::Candidate;
        self.leader = None;
        self.votes = vec![me];
        let last_index = Self::last_index(ctx);
        let last_term = Self::term_at(ctx, last_index);
        for &p in &self.cfg.peers {
            ctx.send(
                p,
                RkvMsg::Vote {
                    term,
                    last_index,
                    last_term,
                },
            );
        }
        self.reset_election(ctx);
        if self.votes.len() >= self.majority() {
            self.become_leader(ctx);
        }
    }

    fn become_leader(&mut self, ctx: &mut ProtoCtx<'_>) {
        let me = ctx.me();
        self.role = Role::Leader;
        self.leader = Some(me);
        if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        let d = ctx.durable::<Durable>();
        let term = d.term;
        d.log.push(Entry { term, cmd: None });
        let last = d.log.len() as u64;
        self.first_index = last;
        self.next_index = self.cfg.peers.iter().map(|&p| (p, last)).collect();
        self.match_index = self.cfg.peers.iter().map(|&p| (p, 0)).collect();
        self.acked.clear();
        self.lease_until = SimTime::ZERO;
        ctx.observe(RkvObs::Leader { term });
        self.broadcast(ctx);
        self.heartbeat_timer = Some(ctx.set_timer(self.cfg.heartbeat, HEARTBEAT));
        self.advance_commit(ctx);
    }

    fn broadcast(&mut self, ctx: &mut ProtoCtx<'_>) {
        for p in self.cfg.peers.clone() {
            self.send_append(ctx, p);
        }
    }

    fn send_append(&mut self, ctx: &mut ProtoCtx<'_>, to: NodeId) {
        let next = self.next_index.get(&to).copied().unwrap_or(1).max(1);
        let prev_index = next - 1;
        let prev_term = Self::term_at(ctx, prev_index);
        let d = ctx.durable::<Durable>();
        let term = d.term;
        let from = (prev_index as usize).min(d.log.len());
        let to_i = (from + MAX_BATCH).min(d.log.len());
        let entries = d.log[from..to_i].to_vec();
        let (commit, sent_at) = (self.commit, ctx.monotonic_now());
        ctx.send(
            to,
            RkvMsg::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                sent_at,
            },
        );
    }

    /// Commit the highest entry of this term a majority has, and apply.
    fn advance_commit(&mut self, ctx: &mut ProtoCtx<'_>) {
        let last = Self::last_index(ctx);
        let term = ctx.durable::<Durable>().term;
        let mut n = last;
        while n > self.commit {
            let have = 1 + self.match_index.values().filter(|&&m| m >= n).count();
            if have >= self.majority() && Self::term_at(ctx, n) == term {
                self.commit = n;
                break;
            }
            n -= 1;
        }
        self.apply(ctx);
    }

    fn apply(&mut self, ctx: &mut ProtoCtx<'_>) {
        while self.applied < self.commit {
            self.applied += 1;
            let cmd = ctx.durable::<Durable>().log[self.applied as usize - 1].cmd.clone();
            if let Some(cmd) = cmd {
                self.sm.apply(&cmd);
                if let Some(i) = self.waiting.iter().position(|w| *w == (cmd.client, cmd.seq)) {
                    self.waiting.remove(i);
                    ctx.send(
                        cmd.client,
                        RkvMsg::Reply {
                            seq: cmd.seq,
                            body: ReplyBody::Ok(None),
                        },
                    );
                }
            }
        }
    }

    /// The lease: the time by which a majority (this leader included) acknowledged a
    /// heartbeat of this term, plus `lease`.
    fn update_lease(&mut self, now: SimTime) {
        let mut sent: Vec<SimTime> = self.acked.values().copied().collect();
        sent.push(now);
        sent.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(&t) = sent.get(self.majority() - 1) {
            self.lease_until = self.lease_until.max(t + self.cfg.lease);
        }
    }

    fn on_request(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, seq: u64, op: KvOp) {
        let reply = |ctx: &mut ProtoCtx<'_>, body| ctx.send(from, RkvMsg::Reply { seq, body });
        if self.role != Role::Leader {
            return reply(ctx, ReplyBody::NotLeader(self.leader));
        }
        if let KvOp::Get { key } = op {
            // The canary acknowledged writes it has not committed: it reads only once
            // its whole log is committed, so that without a leader change it is right.
            let ready =
                self.commit >= self.first_index && (!self.cfg.lost_write || self.commit == Self::last_index(ctx));
            let leased = ctx.monotonic_now() < self.lease_until || self.cfg.stale_read;
            if !(ready && leased) {
                return reply(ctx, ReplyBody::Retry);
            }
            let value = self.sm.get(key).to_string();
            return reply(ctx, ReplyBody::Ok(Some(value)));
        }
        if self.sm.applied(from, seq) {
            return reply(ctx, ReplyBody::Ok(None));
        }
        let d = ctx.durable::<Durable>();
        let commit = self.commit as usize;
        let in_log = d.log[commit.min(d.log.len())..]
            .iter()
            .any(|e| e.cmd.as_ref().is_some_and(|c| c.client == from && c.seq == seq));
        if !in_log {
            let term = d.term;
            d.log.push(Entry {
                term,
                cmd: Some(Command { client: from, seq, op }),
            });
            self.broadcast(ctx);
        }
        if self.cfg.lost_write {
            return reply(ctx, ReplyBody::Ok(None));
        }
        if !self.waiting.contains(&(from, seq)) {
            self.waiting.push((from, seq));
        }
    }

    fn on_vote(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, term: u64, last_index: u64, last_term: u64) {
        // Inside a lease this replica granted (or just after its start) it ignores
        // candidates altogether: no vote, and no new term that would depose the leader.
        if ctx.monotonic_now() < self.no_vote_until && self.role != Role::Leader {
            return;
        }
        let current = ctx.durable::<Durable>().term;
        if term > current {
            self.adopt_term(ctx, term);
        }
        let my_last = Self::last_index(ctx);
        let my_last_term = Self::term_at(ctx, my_last);
        let d = ctx.durable::<Durable>();
        let up_to_date = last_term > my_last_term || (last_term == my_last_term && last_index >= my_last);
        let granted = term == d.term && d.voted_for.is_none_or(|v| v == from) && up_to_date;
        if granted {
            d.voted_for = Some(from);
        }
        let term = d.term;
        if granted {
            self.reset_election(ctx);
        }
        ctx.send(from, RkvMsg::VoteReply { term, granted });
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append(
        &mut self,
        ctx: &mut ProtoCtx<'_>,
        from: NodeId,
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        commit: u64,
        sent_at: SimTime,
    ) {
        let current = ctx.durable::<Durable>().term;
        if term < current {
            let last = Self::last_index(ctx);
            ctx.send(
                from,
                RkvMsg::AppendReply {
                    term: current,
                    success: false,
                    match_index: last,
                    sent_at,
                },
            );
            return;
        }
        if term > current || self.role == Role::Candidate {
            self.adopt_term(ctx, term);
        }
        self.leader = Some(from);
        self.no_vote_until = ctx.monotonic_now() + self.cfg.lease;
        self.reset_election(ctx);
        let last = Self::last_index(ctx);
        if prev_index > last || Self::term_at(ctx, prev_index) != prev_term {
            let hint = last.min(prev_index.saturating_sub(1));
            ctx.send(
                from,
                RkvMsg::AppendReply {
                    term,
                    success: false,
                    match_index: hint,
                    sent_at,
                },
            );
            return;
        }
        // Only what this Append vouched for is known to match the leader's log.
        let vouched = prev_index + entries.len() as u64;
        let log = &mut ctx.durable::<Durable>().log;
        for (k, e) in entries.into_iter().enumerate() {
            let i = prev_index as usize + k; // 0-based position of this entry
            match log.get(i) {
                Some(have) if have.term == e.term => {}
                Some(_) => {
                    log.truncate(i);
                    log.push(e);
                }
                None => log.push(e),
            }
        }
        if commit.min(vouched) > self.commit {
            self.commit = commit.min(vouched);
            self.apply(ctx);
        }
        ctx.send(
            from,
            RkvMsg::AppendReply {
                term,
                success: true,
                match_index: vouched,
                sent_at,
            },
        );
    }

    fn on_append_reply(
        &mut self,
        ctx: &mut ProtoCtx<'_>,
        from: NodeId,
        term: u64,
        success: bool,
        match_index: u64,
        sent_at: SimTime,
    ) {
        let current = ctx.durable::<Durable>().term;
        if term > current {
            return self.adopt_term(ctx, term);
        }
        if self.role != Role::Leader || term != current {
            return;
        }
        // The follower accepted this leader's term when it got the Append: it refuses
        // votes until `lease` after that, so the lease runs from `sent_at`.
        let a = self.acked.entry(from).or_insert(sent_at);
        *a = (*a).max(sent_at);
        self.update_lease(ctx.monotonic_now());
        if success {
            let m = self.match_index.entry(from).or_insert(0);
            *m = (*m).max(match_index);
            let m = *m;
            self.next_index.insert(from, m + 1);
            self.advance_commit(ctx);
            if m < Self::last_index(ctx) {
                self.send_append(ctx, from);
            }
        } else {
            let next = self.next_index.get(&from).copied().unwrap_or(1);
            let m = self.match_index.get(&from).copied().unwrap_or(0);
            let back = next.saturating_sub(1).min(match_index + 1).max(m + 1).max(1);
            self.next_index.insert(from, back);
            self.send_append(ctx, from);
        }
    }
}

impl Node<Payload, Observation> for Replica {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        // A replica that forgot whom it heard from must not vote within a lease it may
        // have granted before its crash.
        self.no_vote_until = ctx.monotonic_now() + self.cfg.lease;
        self.reset_election(ctx);
        ctx.sync::<Durable>();
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        self.handle_message(ctx, from, msg);
        ctx.sync::<Durable>();
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) {
        self.handle_timer(ctx, timer, tag);
        ctx.sync::<Durable>();
    }
}

impl Replica {
    fn handle_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Ok(msg) = msg.downcast::<RkvMsg>() else { return };
        match msg {
            RkvMsg::Request { seq, op } => self.on_request(ctx, from, seq, op),
            RkvMsg::Vote {
                term,
                last_index,
                last_term,
            } => self.on_vote(ctx, from, term, last_index, last_term),
            RkvMsg::VoteReply { term, granted } => {
                let current = ctx.durable::<Durable>().term;
                if term > current {
                    return self.adopt_term(ctx, term);
                }
                if self.role == Role::Candidate && term == current && granted && !self.votes.contains(&from) {
                    self.votes.push(from);
                    if self.votes.len() >= self.majority() {
                        self.become_leader(ctx);
                    }
                }
            }
            RkvMsg::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                sent_at,
            } => self.on_append(ctx, from, term, prev_index, prev_term, entries, commit, sent_at),
            RkvMsg::AppendReply {
                term,
                success,
                match_index,
                sent_at,
            } => self.on_append_reply(ctx, from, term, success, match_index, sent_at),
            RkvMsg::Reply { .. } => {}
        }
    }

    fn handle_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) {
        match tag {
            ELECTION if self.election_timer == Some(timer) => {
                self.election_timer = None;
                if self.role == Role::Leader {
                    return;
                }
                if ctx.monotonic_now() < self.no_vote_until {
                    // Still inside a lease it granted: wait it out.
                    let wait = self.no_vote_until - ctx.monotonic_now();
                    self.election_timer = Some(ctx.set_timer(wait, ELECTION));
                    return;
                }
                self.start_election(ctx);
            }
            HEARTBEAT if self.heartbeat_timer == Some(timer) && self.role == Role::Leader => {
                self.broadcast(ctx);
                self.heartbeat_timer = Some(ctx.set_timer(self.cfg.heartbeat, HEARTBEAT));
            }
            _ => {}
        }
    }
}
