//! Test nodes shared by the engine tests: a scripted sender and a recording sink.

use detsim::{Ctx, Node, NodeId, SimConfig, SimTime, Simulation};

/// What a sink observed: (sender, payload).
pub type Got = (NodeId, u64);

/// Sends `count` numbered messages (0, 1, 2, ...) to `to`, one every `every`, from start.
pub struct Sender {
    pub to: NodeId,
    pub count: u64,
    pub every: SimTime,
    pub next: u64,
}

impl Node<u64, Got> for Sender {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, Got>) {
        self.tick(ctx);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64, Got>, from: NodeId, msg: u64) {
        ctx.observe((from, msg));
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64, Got>, _t: detsim::TimerId, _tag: u64) {
        self.tick(ctx);
    }
}

impl Sender {
    fn tick(&mut self, ctx: &mut Ctx<'_, u64, Got>) {
        if self.next < self.count {
            ctx.send(self.to, self.next);
            self.next += 1;
            if self.every == SimTime::ZERO {
                while self.next < self.count {
                    ctx.send(self.to, self.next);
                    self.next += 1;
                }
            } else {
                ctx.set_timer(self.every, 0);
            }
        }
    }
}

/// Records every message it receives.
pub struct Sink;

impl Node<u64, Got> for Sink {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64, Got>, from: NodeId, msg: u64) {
        ctx.observe((from, msg));
    }
}

/// A simulation with node 0 a sink and node 1 a sender of `count` messages every `every`.
pub fn sender_sink(seed: u64, count: u64, every: SimTime) -> Simulation<u64, Got> {
    let mut sim = Simulation::new(SimConfig::new(seed));
    let sink = sim.add_node("sink", || Box::new(Sink)).unwrap();
    sim.add_node("sender", move || {
        Box::new(Sender {
            to: sink,
            count,
            every,
            next: 0,
        })
    })
    .unwrap();
    sim
}

/// Payloads received by `node`, in delivery order, with their delivery times.
pub fn received(sim: &Simulation<u64, Got>, node: NodeId) -> Vec<(SimTime, u64)> {
    sim.history()
        .records()
        .iter()
        .filter(|r| r.node == node)
        .map(|r| (r.at, r.obs.1))
        .collect()
}

/// A fresh, empty directory for one test (`tag` must be unique across the test binary).
pub fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("detsim-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
