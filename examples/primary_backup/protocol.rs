//! A user-defined protocol on detsim: a primary/backup register with its own message and
//! observation types, built and run in a few lines, and a property checked over the
//! history. Shared by the `primary_backup` example and its property test
//! (`tests/it/user_protocol.rs`).
//!
//! The client writes 1, 2, 3, ... to the primary; the primary replicates each value to
//! the backup (durable) and acknowledges the write once the backup has it; after each
//! acknowledged write the client reads the register from the backup.
//!
//! Property (`check`): a read never returns less than the last write acknowledged before
//! it was sent. The planted bug (`ack_before_replicate`) acknowledges a write before the
//! backup has it: a lost replication message, a partition or a backup crash then makes a
//! read return a stale value.

use detsim::{
    Ctx, Error, LinkConfig, Node, NodeId, Record, SimConfig, SimTime, Simulation, StableHash, StableHasher, TimedFault,
    TimerId,
};

/// The primary, the backup and the client, in that order.
pub const PRIMARY: NodeId = NodeId(0);
/// The backup.
pub const BACKUP: NodeId = NodeId(1);
/// The client.
pub const CLIENT: NodeId = NodeId(2);
/// Every node.
pub const NODES: [NodeId; 3] = [PRIMARY, BACKUP, CLIENT];

/// The protocol's messages.
#[derive(Clone, Debug, PartialEq)]
pub enum PbMsg {
    /// Client -> primary: write `val`.
    Write { id: u64, val: u64 },
    /// Primary -> client: the write is done.
    WriteAck { id: u64 },
    /// Primary -> backup: store `val`.
    Replicate { id: u64, val: u64 },
    /// Backup -> primary: stored.
    ReplAck { id: u64 },
    /// Client -> backup: read the register.
    Read { id: u64 },
    /// Backup -> client: the register holds `val`.
    ReadReply { id: u64, val: u64 },
}

impl StableHash for PbMsg {
    fn stable_hash(&self, h: &mut StableHasher) {
        let (tag, id, val) = match *self {
            PbMsg::Write { id, val } => (1, id, val),
            PbMsg::WriteAck { id } => (2, id, 0),
            PbMsg::Replicate { id, val } => (3, id, val),
            PbMsg::ReplAck { id } => (4, id, 0),
            PbMsg::Read { id } => (5, id, 0),
            PbMsg::ReadReply { id, val } => (6, id, val),
        };
        h.word(tag);
        h.word(id);
        h.word(val);
    }
}

/// What the client observes.
#[derive(Clone, Debug, PartialEq)]
pub enum PbObs {
    /// A write of `val` was acknowledged.
    Acked { val: u64 },
    /// A read returned `val`; `acked_before` was the last acknowledged write when it was sent.
    Read { val: u64, acked_before: u64 },
}

/// How a run is set up.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// The seed.
    pub seed: u64,
    /// How many values the client writes.
    pub writes: u64,
    /// THE PLANTED BUG: acknowledge writes before the backup has them.
    pub ack_before_replicate: bool,
    /// Every link.
    pub link: LinkConfig,
    /// How long to run.
    pub duration: SimTime,
    /// Faults.
    pub faults: Vec<TimedFault>,
}

struct Primary {
    bug: bool,
    /// The write being replicated: (client, id).
    pending: Option<(NodeId, u64)>,
}

impl Node<PbMsg, PbObs> for Primary {
    fn on_message(&mut self, ctx: &mut Ctx<'_, PbMsg, PbObs>, from: NodeId, msg: PbMsg) {
        match msg {
            PbMsg::Write { id, val } => {
                if self.bug {
                    ctx.send(from, PbMsg::WriteAck { id });
                } else {
                    self.pending = Some((from, id));
                }
                ctx.send(BACKUP, PbMsg::Replicate { id, val });
            }
            PbMsg::ReplAck { id } => {
                if let Some((client, pid)) = self.pending
                    && pid == id
                {
                    self.pending = None;
                    ctx.send(client, PbMsg::WriteAck { id });
                }
            }
            _ => {}
        }
    }
}

struct Backup;

impl Node<PbMsg, PbObs> for Backup {
    fn on_message(&mut self, ctx: &mut Ctx<'_, PbMsg, PbObs>, from: NodeId, msg: PbMsg) {
        match msg {
            PbMsg::Replicate { id, val } => {
                let reg = ctx.durable::<u64>();
                *reg = (*reg).max(val);
                ctx.send(from, PbMsg::ReplAck { id });
            }
            PbMsg::Read { id } => {
                let val = *ctx.durable::<u64>();
                ctx.send(from, PbMsg::ReadReply { id, val });
            }
            _ => {}
        }
    }
}

struct Client {
    writes: u64,
    /// The value being written or the write just acknowledged and being read back.
    k: u64,
    reading: bool,
    acked: u64,
    /// The request in flight.
    id: u64,
    next_id: u64,
}

const RETRY: SimTime = SimTime::from_millis(30);

impl Client {
    fn send_current(&mut self, ctx: &mut Ctx<'_, PbMsg, PbObs>) {
        if self.k > self.writes {
            return;
        }
        self.next_id += 1;
        self.id = (u64::from(ctx.incarnation()) << 32) | self.next_id;
        let (to, msg) = if self.reading {
            (BACKUP, PbMsg::Read { id: self.id })
        } else {
            (
                PRIMARY,
                PbMsg::Write {
                    id: self.id,
                    val: self.k,
                },
            )
        };
        ctx.send(to, msg);
        ctx.set_timer(RETRY, self.id);
    }
}

impl Node<PbMsg, PbObs> for Client {
    fn on_start(&mut self, ctx: &mut Ctx<'_, PbMsg, PbObs>) {
        self.send_current(ctx);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, PbMsg, PbObs>, _from: NodeId, msg: PbMsg) {
        match msg {
            PbMsg::WriteAck { id } if id == self.id && !self.reading => {
                self.acked = self.k;
                ctx.observe(PbObs::Acked { val: self.k });
                self.reading = true;
                self.send_current(ctx);
            }
            PbMsg::ReadReply { id, val } if id == self.id && self.reading => {
                ctx.observe(PbObs::Read {
                    val,
                    acked_before: self.acked,
                });
                self.reading = false;
                self.k += 1;
                self.send_current(ctx);
            }
            _ => {}
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbMsg, PbObs>, _t: TimerId, tag: u64) {
        if tag == self.id {
            self.send_current(ctx); // no answer in time: ask again
        }
    }
}

/// The simulation of `setup`, ready to run.
pub fn simulation(setup: &Setup) -> Result<Simulation<PbMsg, PbObs>, Error> {
    let mut sim = Simulation::new(SimConfig::new(setup.seed).max_time(setup.duration));
    sim.network_mut()?.set_default(setup.link.clone())?;
    let bug = setup.ack_before_replicate;
    sim.add_node("primary", move || Box::new(Primary { bug, pending: None }))?;
    sim.add_node("backup", || Box::new(Backup))?;
    let writes = setup.writes;
    sim.add_node("client", move || {
        Box::new(Client {
            writes,
            k: 1,
            reading: false,
            acked: 0,
            id: 0,
            next_id: 0,
        })
    })?;
    for f in &setup.faults {
        sim.schedule_timed(f.clone())?;
    }
    Ok(sim)
}

/// The property over a history: every read returns at least the last acknowledged write.
pub fn check(records: &[Record<PbObs>]) -> Result<(), String> {
    for r in records {
        if let PbObs::Read { val, acked_before } = r.obs
            && val < acked_before
        {
            return Err(format!(
                "stale read at {}: got {val} after write {acked_before} was acknowledged",
                r.at
            ));
        }
    }
    Ok(())
}

/// Run `setup` and check the property; also says how many writes were acknowledged.
pub fn run(setup: &Setup) -> Result<(u64, Result<(), String>), Error> {
    let mut sim = simulation(setup)?;
    sim.run()?;
    let acked = sim
        .history()
        .records()
        .iter()
        .filter(|r| matches!(r.obs, PbObs::Acked { .. }))
        .count() as u64;
    Ok((acked, check(sim.history().records())))
}
