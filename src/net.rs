//! The simulated network: per-link settings over a default (latency distribution, loss,
//! duplication, FIFO or datagram), partitions, one-way blocks, isolation and clogging.
//!
//! Sending decides loss, duplication and each copy's delivery time (drawing from the
//! network stream); partitions and clogs are checked when a message would be delivered,
//! so a partition also cuts messages already in flight.

use serde::Serialize;

use crate::dist::Sampler;
use crate::error::Error;
use crate::hash::StableHasher;
use crate::node::NodeId;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::{FastMap, FastSet};

/// A one-way latency distribution: the shared duration distribution [`crate::dist::Dist`].
pub type Latency = crate::dist::Dist;

/// The settings of one direction of one link (or the network-wide default).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkConfig {
    /// One-way latency.
    pub latency: Latency,
    /// Probability that a message is lost.
    pub drop: f64,
    /// Probability that a message is delivered twice (the copy has its own latency).
    pub duplicate: f64,
    /// `true`: a TCP-like link that never reorders; `false`: datagrams may overtake.
    pub fifo: bool,
}

impl Default for LinkConfig {
    /// 1 ms constant latency, no loss, no duplication, FIFO.
    fn default() -> Self {
        LinkConfig {
            latency: Latency::constant(SimTime::from_millis(1)),
            drop: 0.0,
            duplicate: 0.0,
            fifo: true,
        }
    }
}

impl LinkConfig {
    /// Check every parameter; the network only ever holds validated settings.
    pub fn validate(&self) -> Result<(), Error> {
        self.checked_sampler().map(|_| ())
    }

    /// Check every parameter and build the latency sampler.
    fn checked_sampler(&self) -> Result<Sampler, Error> {
        check_probability("drop", self.drop)?;
        check_probability("duplicate", self.duplicate)?;
        Sampler::build(&self.latency)
    }

    pub(crate) fn stable_hash(&self, h: &mut StableHasher) {
        self.latency.stable_hash(h);
        h.f64(self.drop);
        h.f64(self.duplicate);
        h.word(self.fifo as u64);
    }
}

/// A probability must be a number in `[0, 1]`.
pub fn check_probability(what: &str, p: f64) -> Result<(), Error> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::InvalidProbability {
            what: what.to_string(),
            value: p,
        })
    }
}

/// Validated settings with their sampler.
#[derive(Clone, Debug)]
struct Link {
    config: LinkConfig,
    sampler: Sampler,
}

impl Link {
    fn new(config: LinkConfig) -> Result<Link, Error> {
        let sampler = config.checked_sampler()?;
        Ok(Link { config, sampler })
    }
}

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Lost at random (the link's drop probability).
    Loss,
    /// Cut by a partition, block or isolation at delivery time.
    Partition,
    /// The destination was down (crashed) at delivery time.
    NodeDown,
    /// The destination id does not exist.
    UnknownNode,
    /// The destination crashed while paused, holding the message. (A message held by a
    /// clog is delivered when the clog is released; if its destination is down by then,
    /// it is dropped as [`DropReason::NodeDown`].)
    Crashed,
}

impl DropReason {
    pub(crate) fn code(self) -> u64 {
        match self {
            DropReason::Loss => 1,
            DropReason::Partition => 2,
            DropReason::NodeDown => 3,
            DropReason::UnknownNode => 4,
            DropReason::Crashed => 5,
        }
    }
}

/// What the network decided for one sent message: when each copy arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transmission {
    /// Delivery time of the original, or `None` when it was lost.
    pub first: Option<SimTime>,
    /// Delivery time of a duplicate copy, when one was made.
    pub copy: Option<SimTime>,
}

/// What can be clogged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClogTarget {
    /// All traffic to and from a node.
    Node { node: NodeId },
    /// One direction of one link.
    Link { from: NodeId, to: NodeId },
}

/// The network: settings, partition and clog state, and the FIFO bookkeeping.
#[derive(Debug)]
pub struct Network {
    default: Link,
    overrides: FastMap<(u32, u32), Link>,
    /// Last scheduled delivery per FIFO link, so later messages never overtake.
    fifo_last: FastMap<(u32, u32), SimTime>,
    /// Strict FIFO: every later message on a FIFO link arrives strictly later (needed when
    /// same-time events are ordered at random).
    strict_fifo: bool,
    /// Partition group of each node (`None`: no group partition in force).
    groups: Option<Vec<u32>>,
    blocked: FastSet<(u32, u32)>,
    isolated: Vec<bool>,
    /// Any partition, block or isolation in force (fast path when false).
    cut: bool,
    clogged_nodes: Vec<bool>,
    clogged_links: FastSet<(u32, u32)>,
    /// Any clog in force (fast path when false).
    clogged: bool,
    nodes: u32,
}

impl Network {
    pub(crate) fn new(strict_fifo: bool) -> Network {
        Network {
            default: Link::new(LinkConfig::default()).unwrap_or_else(|_| unreachable!("default link config is valid")),
            overrides: FastMap::default(),
            fifo_last: FastMap::default(),
            strict_fifo,
            groups: None,
            blocked: FastSet::default(),
            isolated: Vec::new(),
            cut: false,
            clogged_nodes: Vec::new(),
            clogged_links: FastSet::default(),
            clogged: false,
            nodes: 0,
        }
    }

    pub(crate) fn add_node(&mut self) {
        self.nodes += 1;
        self.isolated.push(false);
        self.clogged_nodes.push(false);
        if let Some(g) = &mut self.groups {
            g.push(u32::MAX);
        }
    }

    fn check_node(&self, n: NodeId) -> Result<(), Error> {
        if n.0 < self.nodes {
            Ok(())
        } else {
            Err(Error::UnknownNode(n))
        }
    }

    /// The network-wide default settings.
    pub fn default_config(&self) -> &LinkConfig {
        &self.default.config
    }

    /// The settings in force on `from -> to`.
    pub fn link_config(&self, from: NodeId, to: NodeId) -> &LinkConfig {
        &self.link(from, to).config
    }

    #[inline]
    fn link(&self, from: NodeId, to: NodeId) -> &Link {
        if self.overrides.is_empty() {
            &self.default
        } else {
            self.overrides.get(&(from.0, to.0)).unwrap_or(&self.default)
        }
    }

    /// Replace the default settings (links with their own settings keep them).
    pub fn set_default(&mut self, config: LinkConfig) -> Result<(), Error> {
        self.default = Link::new(config)?;
        Ok(())
    }

    /// Give `from -> to` its own settings.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, config: LinkConfig) -> Result<(), Error> {
        self.check_node(from)?;
        self.check_node(to)?;
        self.overrides.insert((from.0, to.0), Link::new(config)?);
        Ok(())
    }

    /// Give both directions between `a` and `b` the same settings.
    pub fn set_link_both(&mut self, a: NodeId, b: NodeId, config: LinkConfig) -> Result<(), Error> {
        self.set_link(a, b, config.clone())?;
        self.set_link(b, a, config)
    }

    /// Return `from -> to` to the default settings.
    pub fn reset_link(&mut self, from: NodeId, to: NodeId) -> Result<(), Error> {
        self.check_node(from)?;
        self.check_node(to)?;
        self.overrides.remove(&(from.0, to.0));
        Ok(())
    }

    /// Decide the fate of one message sent now on `from -> to`.
    #[inline]
    pub(crate) fn transmit(&mut self, now: SimTime, from: NodeId, to: NodeId, rng: &mut SimRng) -> Transmission {
        let link = self.link(from, to);
        let (drop, dup, fifo) = (link.config.drop, link.config.duplicate, link.config.fifo);
        if rng.chance(drop) {
            return Transmission {
                first: None,
                copy: None,
            };
        }
        let first = now + link.sampler.sample(rng);
        let copy = if rng.chance(dup) {
            Some(now + link.sampler.sample(rng))
        } else {
            None
        };
        if !fifo {
            return Transmission {
                first: Some(first),
                copy,
            };
        }
        // Saturating: a latency near `SimTime::MAX` must not wrap the bound to zero.
        let strict = SimTime(self.strict_fifo as u64);
        let last = self.fifo_last.entry((from.0, to.0)).or_insert(SimTime::ZERO);
        let first = first.max(*last + strict);
        *last = first;
        let copy = copy.map(|c| {
            let c = c.max(*last + strict);
            *last = c;
            c
        });
        Transmission {
            first: Some(first),
            copy,
        }
    }

    /// Is `from -> to` cut by a partition, block or isolation right now?
    #[inline]
    pub(crate) fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        if !self.cut || from == to {
            return false;
        }
        let (f, t) = (from.0 as usize, to.0 as usize);
        if self.isolated[f] || self.isolated[t] {
            return true;
        }
        if let Some(g) = &self.groups
            && g[f] != g[t]
        {
            return true;
        }
        self.blocked.contains(&(from.0, to.0))
    }

    /// Is `from -> to` clogged right now?
    #[inline]
    pub(crate) fn is_clogged(&self, from: NodeId, to: NodeId) -> bool {
        self.clogged
            && (self.clogged_nodes[from.0 as usize]
                || self.clogged_nodes[to.0 as usize]
                || self.clogged_links.contains(&(from.0, to.0)))
    }

    fn refresh_cut(&mut self) {
        self.cut = self.groups.is_some() || !self.blocked.is_empty() || self.isolated.iter().any(|x| *x);
    }

    /// Split the nodes into groups that cannot reach each other. Nodes not named form one
    /// more group together. Groups must be non-empty and name each node at most once.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), Error> {
        self.groups = Some(self.group_of_each_node(groups)?);
        self.refresh_cut();
        Ok(())
    }

    /// The partition group of each node (`u32::MAX`: not named), or why `groups` is not a
    /// valid partition. Changes nothing: faults are checked with it when scheduled.
    pub(crate) fn group_of_each_node(&self, groups: &[Vec<NodeId>]) -> Result<Vec<u32>, Error> {
        let mut assign = vec![u32::MAX; self.nodes as usize];
        for (gi, group) in groups.iter().enumerate() {
            if group.is_empty() {
                return Err(Error::InvalidParameter(format!("partition group {gi} is empty")));
            }
            for n in group {
                self.check_node(*n)?;
                if assign[n.0 as usize] != u32::MAX {
                    return Err(Error::InvalidParameter(format!("partition names node {} twice", n.0)));
                }
                assign[n.0 as usize] = gi as u32;
            }
        }
        Ok(assign)
    }

    /// Block one direction of one link.
    pub fn block(&mut self, from: NodeId, to: NodeId) -> Result<(), Error> {
        self.check_node(from)?;
        self.check_node(to)?;
        self.blocked.insert((from.0, to.0));
        self.refresh_cut();
        Ok(())
    }

    /// Cut a node off from every other node.
    pub fn isolate(&mut self, n: NodeId) -> Result<(), Error> {
        self.check_node(n)?;
        self.isolated[n.0 as usize] = true;
        self.refresh_cut();
        Ok(())
    }

    /// Remove every partition, block and isolation (clogs stay until unclogged).
    pub fn heal(&mut self) {
        self.groups = None;
        self.blocked.clear();
        self.isolated.iter_mut().for_each(|x| *x = false);
        self.cut = false;
    }

    /// Hold traffic on a node or link until it is unclogged.
    pub fn clog(&mut self, target: ClogTarget) -> Result<(), Error> {
        match target {
            ClogTarget::Node { node } => {
                self.check_node(node)?;
                self.clogged_nodes[node.0 as usize] = true;
            }
            ClogTarget::Link { from, to } => {
                self.check_node(from)?;
                self.check_node(to)?;
                self.clogged_links.insert((from.0, to.0));
            }
        }
        self.clogged = true;
        Ok(())
    }

    /// Release a clog; held messages are then delivered (late, not lost).
    pub fn unclog(&mut self, target: ClogTarget) -> Result<(), Error> {
        match target {
            ClogTarget::Node { node } => {
                self.check_node(node)?;
                self.clogged_nodes[node.0 as usize] = false;
            }
            ClogTarget::Link { from, to } => {
                self.check_node(from)?;
                self.check_node(to)?;
                self.clogged_links.remove(&(from.0, to.0));
            }
        }
        self.clogged = !self.clogged_links.is_empty() || self.clogged_nodes.iter().any(|x| *x);
        Ok(())
    }

    /// Release every clog.
    pub fn unclog_all(&mut self) {
        self.clogged_links.clear();
        self.clogged_nodes.iter_mut().for_each(|x| *x = false);
        self.clogged = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_typed_errors() {
        let mut net = Network::new(false);
        net.add_node();
        let bad = |drop: f64| LinkConfig {
            drop,
            ..LinkConfig::default()
        };
        assert!(matches!(
            net.set_default(bad(f64::NAN)),
            Err(Error::InvalidProbability { .. })
        ));
        assert!(matches!(
            net.set_default(bad(-0.1)),
            Err(Error::InvalidProbability { .. })
        ));
        assert!(matches!(
            net.set_default(bad(1.5)),
            Err(Error::InvalidProbability { .. })
        ));
        assert!(net.set_default(bad(1.0)).is_ok());
        assert!(matches!(
            net.set_link(NodeId(0), NodeId(5), LinkConfig::default()),
            Err(Error::UnknownNode(_))
        ));
        assert!(matches!(
            net.partition(&[vec![NodeId(0)], vec![]]),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(
            net.partition(&[vec![NodeId(0), NodeId(0)]]),
            Err(Error::InvalidParameter(_))
        ));
        let lat = LinkConfig {
            latency: Latency::Uniform {
                min: SimTime(5),
                max: SimTime(1),
            },
            ..LinkConfig::default()
        };
        assert!(net.set_default(lat).is_err());
        let lat = LinkConfig {
            latency: Latency::Pareto {
                scale: SimTime(5),
                alpha: f64::NAN,
            },
            ..LinkConfig::default()
        };
        assert!(net.set_default(lat).is_err());
    }

    #[test]
    fn strict_fifo_saturates_at_the_end_of_time() {
        let mut net = Network::new(true);
        (0..2).for_each(|_| net.add_node());
        net.set_default(LinkConfig {
            latency: Latency::constant(SimTime::MAX),
            ..LinkConfig::default()
        })
        .unwrap();
        let mut rng = SimRng::new(1, crate::rng::Stream::Network);
        for _ in 0..3 {
            let tx = net.transmit(SimTime(5), NodeId(0), NodeId(1), &mut rng);
            assert_eq!(tx.first, Some(SimTime::MAX));
        }
    }

    #[test]
    fn partition_groups_and_unnamed_nodes() {
        let mut net = Network::new(false);
        (0..4).for_each(|_| net.add_node());
        let n = NodeId;
        net.partition(&[vec![n(0), n(1)]]).unwrap();
        assert!(!net.is_cut(n(0), n(1)));
        assert!(net.is_cut(n(0), n(2)));
        assert!(!net.is_cut(n(2), n(3)), "unnamed nodes share one group");
        net.heal();
        assert!(!net.is_cut(n(0), n(2)));
        net.block(n(0), n(1)).unwrap();
        assert!(net.is_cut(n(0), n(1)));
        assert!(!net.is_cut(n(1), n(0)));
    }
}
