//! The engine benchmark workload: RPC ping-pong (one server, C clients; each client sends
//! two u64, the server replies with their product, the client checks it and sends the
//! next), and a minimal hand-written reference loop running the same workload, so the
//! engine's cost can be stated as a ratio. Timing is the caller's job: the library
//! never reads the wall clock.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::error::Error;
use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::net::{Latency, LinkConfig};
use crate::engine::node::{Ctx, Node, NodeId};
use crate::engine::sim::{SimConfig, Simulation};
use crate::engine::time::SimTime;

/// Ping-pong messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingMsg {
    /// Multiply these.
    Req { a: u64, b: u64 },
    /// The product.
    Resp { product: u64 },
}

impl StableHash for PingMsg {
    #[inline]
    fn stable_hash(&self, h: &mut StableHasher) {
        match *self {
            PingMsg::Req { a, b } => {
                h.word(1);
                h.word(a);
                h.word(b);
            }
            PingMsg::Resp { product } => {
                h.word(2);
                h.word(product);
            }
        }
    }
}

struct Server;

impl Node<PingMsg> for Server {
    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, PingMsg, ()>, from: NodeId, msg: PingMsg) {
        if let PingMsg::Req { a, b } = msg {
            ctx.send(
                from,
                PingMsg::Resp {
                    product: a.wrapping_mul(b),
                },
            );
        }
    }
}

struct Client {
    server: NodeId,
    expect: u64,
    wrong: Rc<Cell<u64>>,
}

impl Client {
    #[inline]
    fn call(&mut self, ctx: &mut Ctx<'_, PingMsg, ()>) {
        let r = ctx.rng().next_u64();
        let (a, b) = (r >> 32, r & 0xffff_ffff);
        self.expect = a.wrapping_mul(b);
        ctx.send(self.server, PingMsg::Req { a, b });
    }
}

impl Node<PingMsg> for Client {
    fn on_start(&mut self, ctx: &mut Ctx<'_, PingMsg, ()>) {
        self.call(ctx);
    }
    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, PingMsg, ()>, _from: NodeId, msg: PingMsg) {
        if let PingMsg::Resp { product } = msg {
            if product != self.expect {
                self.wrong.set(self.wrong.get() + 1);
            }
            self.call(ctx);
        }
    }
}

/// What one benchmark run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingPongResult {
    /// Messages delivered.
    pub delivered: u64,
    /// Replies whose product was wrong (0 unless something is broken).
    pub wrong: u64,
    /// The run's trace hash (0 for the reference loop).
    pub trace_hash: u64,
    /// Virtual time reached, in nanoseconds.
    pub sim_time_ns: u64,
}

/// The ping-pong workload on the detsim engine: 1 server and `clients` clients, 1 ms
/// one-way latency (`jitter`: uniform 0.5–1.5 ms instead), trace hashing on, no trace
/// file, stopped after `messages` deliveries.
pub fn ping_pong(clients: u32, messages: u64, seed: u64, jitter: bool) -> Result<PingPongResult, Error> {
    let mut sim = Simulation::<PingMsg>::new(SimConfig::new(seed).max_events(messages + clients as u64 + 1));
    let latency = if jitter {
        Latency::Uniform {
            min: SimTime::from_micros(500),
            max: SimTime::from_micros(1500),
        }
    } else {
        Latency::constant(SimTime::from_millis(1))
    };
    sim.network_mut()?.set_default(LinkConfig {
        latency,
        fifo: !jitter,
        ..LinkConfig::default()
    })?;
    let server = sim.add_node("server", || Box::new(Server))?;
    let wrong = Rc::new(Cell::new(0));
    for i in 0..clients {
        let wrong = wrong.clone();
        sim.add_node(&format!("client{i}"), move || {
            Box::new(Client {
                server,
                expect: 0,
                wrong: wrong.clone(),
            })
        })?;
    }
    sim.run()?;
    Ok(PingPongResult {
        delivered: sim.stats().delivered,
        wrong: wrong.get(),
        trace_hash: sim.trace_hash(),
        sim_time_ns: sim.now().as_nanos(),
    })
}

/// The same workload as a minimal hand-written loop: a `BinaryHeap` of (time, seq), a
/// payload vector, and one ChaCha8 draw per message. No tracing, no network model.
pub fn reference_loop(clients: u32, messages: u64, seed: u64) -> PingPongResult {
    const LAT: u64 = 1_000_000;
    // Payload: (to, from, a, b or product, is_request).
    let mut payloads: Vec<(u32, u32, u64, u64, bool)> = Vec::with_capacity(clients as usize * 2);
    let mut free: Vec<u32> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut expect = vec![0u64; clients as usize + 1];
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, payloads: &mut Vec<_>, free: &mut Vec<u32>, at: u64, p| {
        let slot = match free.pop() {
            Some(s) => {
                payloads[s as usize] = p;
                s
            }
            None => {
                payloads.push(p);
                (payloads.len() - 1) as u32
            }
        };
        heap.push(Reverse((at, seq, slot)));
        seq += 1;
    };
    for c in 1..=clients {
        let r = rng.next_u64();
        let (a, b) = (r >> 32, r & 0xffff_ffff);
        expect[c as usize] = a.wrapping_mul(b);
        push(&mut heap, &mut payloads, &mut free, LAT, (0, c, a, b, true));
    }
    let (mut delivered, mut now, mut wrong) = (0u64, 0u64, 0u64);
    while delivered < messages {
        let Some(Reverse((at, _, slot))) = heap.pop() else {
            break;
        };
        now = at;
        delivered += 1;
        let (to, from, x, y, req) = payloads[slot as usize];
        free.push(slot);
        if req {
            // The server's draw (one ChaCha8 draw per message, as the workload's spec says).
            std::hint::black_box(rng.next_u64());
            push(
                &mut heap,
                &mut payloads,
                &mut free,
                now + LAT,
                (from, to, x.wrapping_mul(y), 0, false),
            );
        } else {
            if x != expect[to as usize] {
                wrong += 1;
            }
            let r = rng.next_u64();
            let (a, b) = (r >> 32, r & 0xffff_ffff);
            expect[to as usize] = a.wrapping_mul(b);
            push(&mut heap, &mut payloads, &mut free, now + LAT, (0, to, a, b, true));
        }
    }
    PingPongResult {
        delivered,
        wrong,
        trace_hash: 0,
        sim_time_ns: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_pong_matches_reference_in_work_done() {
        let ours = ping_pong(10, 10_000, 1, false).unwrap();
        let reference = reference_loop(10, 10_000, 1);
        assert_eq!(ours.delivered, 10_000);
        assert_eq!((ours.wrong, reference.wrong), (0, 0));
        assert_eq!(reference.delivered, 10_000);
        // Both move 10 clients in lock-step at 1 ms per hop: same virtual time reached.
        assert_eq!(ours.sim_time_ns, reference.sim_time_ns);
    }
}
