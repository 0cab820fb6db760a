//! The simulated network: per-link settings over a default (latency distribution, loss,
//! duplication, FIFO or datagram), partitions, one-way blocks, isolation and clogging.
//!
//! Sending decides loss, duplication and each copy's delivery time (drawing from the
//! network stream); partitions and clogs are checked when a message would be delivered,
//! so a partition also cuts messages already in flight.

use crate::FastMap;
use crate::engine::dist::Sampler;
use crate::engine::error::Error;
use crate::engine::hash::StableHasher;
use crate::engine::node::NodeId;
use crate::engine::rng::SimRng;
use crate::engine::time::SimTime;

/// A one-way latency distribution: the shared duration distribution [`crate::engine::dist::Dist`].
pub type Latency = crate::engine::dist::Dist;

/// The settings of one direction of one link (or the network-wide default).
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// The link's queue was full when it was sent (a link with a bandwidth; see
    /// `engine/bandwidth.rs`).
    QueueFull,
}

impl DropReason {
    pub(crate) fn code(self) -> u64 {
        match self {
            DropReason::Loss => 1,
            DropReason::Partition => 2,
            DropReason::NodeDown => 3,
            DropReason::UnknownNode => 4,
            DropReason::Crashed => 5,
            DropReason::QueueFull => 6,
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

pub use crate::engine::fault::ClogTarget;

/// A fault window's id: its index in the simulation's realized fault schedule.
pub type WindowId = u32;

/// A directed link as a key: (from, to).
type LinkKey = (u32, u32);

/// What one cut window (partition, block, isolation) cuts.
#[derive(Clone, Debug)]
enum Cut {
    /// A partition: the group of each node (`u32::MAX`: not named).
    Groups(Vec<u32>),
    /// One direction of one link.
    Block(u32, u32),
    /// Every link of one node.
    Isolate(u32),
}

/// The network: settings, the fault windows in force (cuts, clogs, link settings), and
/// the FIFO bookkeeping.
///
/// **Each fault window undoes only itself.** Cuts, clogs and link-setting windows are
/// kept per window: a link is cut while *any* cut window cuts it, clogged while any
/// clog window clogs it, and ending one window removes that window's effect alone.
/// Only the explicit undo faults (`heal`, `unclog`, `unclog_all`) remove several.
#[derive(Debug)]
pub struct Network {
    /// The default settings in force: the latest link window on the default, else `base_default`.
    default: Link,
    /// Per-link settings in force (a link window or a base override).
    overrides: FastMap<(u32, u32), Link>,
    /// The default as configured (and changed by un-windowed `set_link`).
    base_default: Link,
    /// Per-link settings as configured (and changed by un-windowed `set_link`).
    base_links: FastMap<(u32, u32), Link>,
    /// Link-setting windows in force, in the order they started (the latest wins).
    link_windows: Vec<(WindowId, Option<LinkKey>, Link)>,
    /// Last scheduled delivery per FIFO link, so later messages never overtake.
    fifo_last: FastMap<(u32, u32), SimTime>,
    /// Strict FIFO: every later message on a FIFO link arrives strictly later (needed when
    /// same-time events are ordered at random).
    strict_fifo: bool,
    /// `fifo_last` is not kept: every link in force has been FIFO with one constant
    /// latency since the first message was sent, and ties need no strict order, so no
    /// message can arrive before an earlier one on its link and the bound never binds.
    /// Once a message was sent, a change of settings turns this off for good and asks
    /// for [`Network::rebuild_fifo`] (the in-flight messages give the exact bounds).
    fifo_skip: bool,
    /// Some message was sent (after this, `fifo_skip` can only turn off).
    sent_any: bool,
    /// `fifo_skip` was turned off with messages in flight: `fifo_last` must be rebuilt.
    fifo_stale: bool,
    /// Cut windows in force, by window.
    cuts: FastMap<WindowId, Cut>,
    /// Partition windows in force: (window, group of each node), in start order.
    partitions: Vec<(WindowId, Vec<u32>)>,
    /// Block windows in force per directed link.
    blocked: FastMap<(u32, u32), u32>,
    /// Isolation windows in force per node.
    isolated: Vec<u32>,
    /// Clog windows in force, by window.
    clogs: FastMap<WindowId, ClogTarget>,
    /// Clog windows in force per node.
    clogged_nodes: Vec<u32>,
    /// Clog windows in force per directed link.
    clogged_links: FastMap<(u32, u32), u32>,
    nodes: u32,
    /// The one latency of every message when sending needs no decision at all: every
    /// link has the default settings, a constant latency, no loss, no duplication, and
    /// no FIFO bound to keep (datagrams, or `fifo_skip`). Then [`Network::transmit`]
    /// draws nothing and bounds nothing, exactly as its general path would.
    plain: Option<SimTime>,
}

fn valid_link(config: LinkConfig) -> Link {
    Link::new(config).unwrap_or_else(|_| unreachable!("default link config is valid"))
}

impl Network {
    pub(crate) fn new(strict_fifo: bool) -> Network {
        Network {
            default: valid_link(LinkConfig::default()),
            overrides: FastMap::default(),
            base_default: valid_link(LinkConfig::default()),
            base_links: FastMap::default(),
            link_windows: Vec::new(),
            fifo_last: FastMap::default(),
            strict_fifo,
            fifo_skip: !strict_fifo,
            sent_any: false,
            fifo_stale: false,
            cuts: FastMap::default(),
            partitions: Vec::new(),
            blocked: FastMap::default(),
            isolated: Vec::new(),
            clogs: FastMap::default(),
            clogged_nodes: Vec::new(),
            clogged_links: FastMap::default(),
            nodes: 0,
            plain: None,
        }
        .with_plain()
    }

    /// With [`Network::plain`] recomputed from the settings in force.
    fn with_plain(mut self) -> Network {
        self.refresh_plain();
        self
    }

    /// Recompute `plain` (after any change of the settings in force or of `fifo_skip`).
    fn refresh_plain(&mut self) {
        self.plain = None;
        if !self.overrides.is_empty() {
            return;
        }
        // Every setting named: a new one must say here whether it needs a decision.
        let LinkConfig {
            latency: _,
            drop,
            duplicate,
            fifo,
        } = &self.default.config;
        if let Sampler::Constant(v) = self.default.sampler
            && *drop <= 0.0
            && *duplicate <= 0.0
            && (!*fifo || self.fifo_skip)
        {
            self.plain = Some(SimTime(v));
        }
    }

    pub(crate) fn add_node(&mut self) {
        self.nodes += 1;
        self.isolated.push(0);
        self.clogged_nodes.push(0);
        for (_, g) in &mut self.partitions {
            g.push(u32::MAX);
        }
        for cut in self.cuts.values_mut() {
            if let Cut::Groups(g) = cut {
                g.push(u32::MAX);
            }
        }
    }

    fn check_node(&self, n: NodeId) -> Result<(), Error> {
        if n.0 < self.nodes {
            Ok(())
        } else {
            Err(Error::UnknownNode(n))
        }
    }

    /// The network-wide default settings in force.
    pub fn default_config(&self) -> &LinkConfig {
        &self.default.config
    }

    /// The settings in force on `from -> to`.
    pub fn link_config(&self, from: NodeId, to: NodeId) -> &LinkConfig {
        &self.link(from, to).config
    }

    #[inline(always)]
    fn link(&self, from: NodeId, to: NodeId) -> &Link {
        if self.overrides.is_empty() {
            &self.default
        } else {
            self.overrides.get(&(from.0, to.0)).unwrap_or(&self.default)
        }
    }

    /// Recompute the settings in force on `link` (`None`: the default) from its base and
    /// its windows: the latest window in force wins, else the base.
    fn refresh_link(&mut self, link: Option<(u32, u32)>) {
        let window = self
            .link_windows
            .iter()
            .rev()
            .find(|(_, l, _)| *l == link)
            .map(|(_, _, k)| k);
        match link {
            None => self.default = window.unwrap_or(&self.base_default).clone(),
            Some(key) => match window.or_else(|| self.base_links.get(&key)) {
                Some(l) => {
                    self.overrides.insert(key, l.clone());
                }
                None => {
                    self.overrides.remove(&key);
                }
            },
        }
        if !self.sent_any {
            let constant_fifo = |l: &Link| l.config.fifo && matches!(l.sampler, Sampler::Constant(_));
            self.fifo_skip =
                !self.strict_fifo && constant_fifo(&self.default) && self.overrides.values().all(constant_fifo);
        } else if self.fifo_skip {
            self.fifo_skip = false;
            self.fifo_stale = true;
        }
        self.refresh_plain();
    }

    /// `fifo_last` must be rebuilt (with [`Network::rebuild_fifo`]) before the next send.
    #[inline]
    pub(crate) fn fifo_stale(&self) -> bool {
        self.fifo_stale
    }

    /// Rebuild `fifo_last` from the messages in flight, `(from, to, arrival)` each: the
    /// last arrival of each link still ahead. (Every message sent so far went over a
    /// constant-latency FIFO link without a bound; those already delivered arrived no
    /// later than now, so they can no longer bound a later message.)
    pub(crate) fn rebuild_fifo(&mut self, in_flight: impl IntoIterator<Item = (NodeId, NodeId, SimTime)>) {
        self.fifo_stale = false;
        for (from, to, at) in in_flight {
            let last = self.fifo_last.entry((from.0, to.0)).or_insert(SimTime::ZERO);
            *last = (*last).max(at);
        }
    }

    /// Replace the default settings (links with their own settings keep them). A window
    /// of settings on the default in force stays in force until it ends.
    pub fn set_default(&mut self, config: LinkConfig) -> Result<(), Error> {
        self.base_default = Link::new(config)?;
        self.refresh_link(None);
        Ok(())
    }

    /// Give `from -> to` its own settings.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, config: LinkConfig) -> Result<(), Error> {
        self.check_node(from)?;
        self.check_node(to)?;
        self.base_links.insert((from.0, to.0), Link::new(config)?);
        self.refresh_link(Some((from.0, to.0)));
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
        self.base_links.remove(&(from.0, to.0));
        self.refresh_link(Some((from.0, to.0)));
        Ok(())
    }

    /// Start window `w` of settings on `link` (`None`: the default). While it is in force
    /// (and no later window on the same link is), these settings apply; when it ends,
    /// whatever would be in force without it applies again.
    pub(crate) fn start_link_window(
        &mut self,
        w: WindowId,
        link: Option<(NodeId, NodeId)>,
        config: LinkConfig,
    ) -> Result<(), Error> {
        if let Some((from, to)) = link {
            self.check_node(from)?;
            self.check_node(to)?;
        }
        let key = link.map(|(f, t)| (f.0, t.0));
        self.link_windows.push((w, key, Link::new(config)?));
        self.refresh_link(key);
        Ok(())
    }

    /// End link window `w`; false when it was not in force.
    pub(crate) fn end_link_window(&mut self, w: WindowId) -> bool {
        let Some(i) = self.link_windows.iter().position(|(id, _, _)| *id == w) else {
            return false;
        };
        let (_, key, _) = self.link_windows.remove(i);
        self.refresh_link(key);
        true
    }

    /// When a message sent now arrives, if the network is plain (see `plain`): then
    /// nothing is drawn or bounded, and this is all [`Network::transmit`] would decide
    /// (the original at this time, no copy); `None` otherwise. Counts as a send.
    #[inline(always)]
    pub(crate) fn plain_arrival(&mut self, now: SimTime) -> Option<SimTime> {
        self.sent_any = true;
        Some(now + self.plain?)
    }

    /// Decide the fate of one message sent now on `from -> to`.
    #[inline(always)]
    pub(crate) fn transmit(&mut self, now: SimTime, from: NodeId, to: NodeId, rng: &mut SimRng) -> Transmission {
        if let Some(first) = self.plain_arrival(now) {
            // What the general path below gives here: no draw (zero probabilities, a
            // constant), no FIFO bound.
            return Transmission {
                first: Some(first),
                copy: None,
            };
        }
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
        if !fifo || self.fifo_skip {
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

    /// Is `from -> to` cut by a partition, block or isolation right now (by any window)?
    #[inline(always)]
    pub(crate) fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        if self.cuts.is_empty() || from == to {
            return false;
        }
        let (f, t) = (from.0 as usize, to.0 as usize);
        if self.isolated[f] > 0 || self.isolated[t] > 0 {
            return true;
        }
        if self.partitions.iter().any(|(_, g)| g[f] != g[t]) {
            return true;
        }
        !self.blocked.is_empty() && self.blocked.contains_key(&(from.0, to.0))
    }

    /// Is `from -> to` clogged right now (by any window)?
    #[inline(always)]
    pub(crate) fn is_clogged(&self, from: NodeId, to: NodeId) -> bool {
        !self.clogs.is_empty()
            && (self.clogged_nodes[from.0 as usize] > 0
                || self.clogged_nodes[to.0 as usize] > 0
                || self.clogged_links.contains_key(&(from.0, to.0)))
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

    /// Start cut window `w`: split the nodes into groups that cannot reach each other.
    /// Nodes not named form one more group together. Groups must be non-empty and name
    /// each node at most once.
    pub(crate) fn partition(&mut self, w: WindowId, groups: &[Vec<NodeId>]) -> Result<(), Error> {
        let g = self.group_of_each_node(groups)?;
        self.partitions.push((w, g.clone()));
        self.cuts.insert(w, Cut::Groups(g));
        Ok(())
    }

    /// Start cut window `w`: block one direction of one link.
    pub(crate) fn block(&mut self, w: WindowId, from: NodeId, to: NodeId) -> Result<(), Error> {
        self.check_node(from)?;
        self.check_node(to)?;
        *self.blocked.entry((from.0, to.0)).or_insert(0) += 1;
        self.cuts.insert(w, Cut::Block(from.0, to.0));
        Ok(())
    }

    /// Start cut window `w`: cut a node off from every other node.
    pub(crate) fn isolate(&mut self, w: WindowId, n: NodeId) -> Result<(), Error> {
        self.check_node(n)?;
        self.isolated[n.0 as usize] += 1;
        self.cuts.insert(w, Cut::Isolate(n.0));
        Ok(())
    }

    /// End cut window `w` alone; false when it was not in force.
    pub(crate) fn end_cut(&mut self, w: WindowId) -> bool {
        let Some(cut) = self.cuts.remove(&w) else {
            return false;
        };
        match cut {
            Cut::Groups(_) => self.partitions.retain(|(id, _)| *id != w),
            Cut::Block(f, t) => {
                if let Some(c) = self.blocked.get_mut(&(f, t)) {
                    *c -= 1;
                    if *c == 0 {
                        self.blocked.remove(&(f, t));
                    }
                }
            }
            Cut::Isolate(n) => self.isolated[n as usize] -= 1,
        }
        true
    }

    /// End every cut window (partitions, blocks, isolations; clogs stay until unclogged).
    /// Returns the windows it ended, in order.
    pub(crate) fn heal(&mut self) -> Vec<WindowId> {
        let mut ended: Vec<WindowId> = self.cuts.keys().copied().collect();
        ended.sort_unstable();
        self.cuts.clear();
        self.partitions.clear();
        self.blocked.clear();
        self.isolated.iter_mut().for_each(|x| *x = 0);
        ended
    }

    /// How many cut, clog and link-setting windows are in force.
    pub(crate) fn windows_in_force(&self) -> usize {
        self.cuts.len() + self.clogs.len() + self.link_windows.len()
    }

    /// Cut windows in force, in order.
    pub(crate) fn cut_windows(&self) -> Vec<WindowId> {
        let mut w: Vec<WindowId> = self.cuts.keys().copied().collect();
        w.sort_unstable();
        w
    }

    /// Clog windows in force, in order.
    pub(crate) fn clog_windows(&self) -> Vec<WindowId> {
        let mut w: Vec<WindowId> = self.clogs.keys().copied().collect();
        w.sort_unstable();
        w
    }

    /// Link-setting windows in force, in order.
    pub(crate) fn link_setting_windows(&self) -> Vec<WindowId> {
        let mut w: Vec<WindowId> = self.link_windows.iter().map(|(id, _, _)| *id).collect();
        w.sort_unstable();
        w
    }

    /// Start clog window `w`: hold traffic on a node or link until it ends.
    pub(crate) fn clog(&mut self, w: WindowId, target: ClogTarget) -> Result<(), Error> {
        match target {
            ClogTarget::Node { node } => {
                self.check_node(node)?;
                self.clogged_nodes[node.0 as usize] += 1;
            }
            ClogTarget::Link { from, to } => {
                self.check_node(from)?;
                self.check_node(to)?;
                *self.clogged_links.entry((from.0, to.0)).or_insert(0) += 1;
            }
        }
        self.clogs.insert(w, target);
        Ok(())
    }

    /// End clog window `w` alone; false when it was not in force. Held messages whose
    /// link is no longer clogged are then delivered (late, not lost).
    pub(crate) fn end_clog(&mut self, w: WindowId) -> bool {
        let Some(target) = self.clogs.remove(&w) else {
            return false;
        };
        match target {
            ClogTarget::Node { node } => self.clogged_nodes[node.0 as usize] -= 1,
            ClogTarget::Link { from, to } => {
                let key = (from.0, to.0);
                if let Some(c) = self.clogged_links.get_mut(&key) {
                    *c -= 1;
                    if *c == 0 {
                        self.clogged_links.remove(&key);
                    }
                }
            }
        }
        true
    }

    /// End every clog window on exactly `target`; returns them, in order.
    pub(crate) fn unclog(&mut self, target: ClogTarget) -> Result<Vec<WindowId>, Error> {
        for n in match target {
            ClogTarget::Node { node } => vec![node],
            ClogTarget::Link { from, to } => vec![from, to],
        } {
            self.check_node(n)?;
        }
        let mut ended: Vec<WindowId> = self
            .clogs
            .iter()
            .filter(|(_, t)| **t == target)
            .map(|(w, _)| *w)
            .collect();
        ended.sort_unstable();
        for w in &ended {
            self.end_clog(*w);
        }
        Ok(ended)
    }

    /// End every clog window; returns them, in order.
    pub(crate) fn unclog_all(&mut self) -> Vec<WindowId> {
        let ended = self.clog_windows();
        self.clogs.clear();
        self.clogged_links.clear();
        self.clogged_nodes.iter_mut().for_each(|x| *x = 0);
        ended
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
            net.partition(0, &[vec![NodeId(0)], vec![]]),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(
            net.partition(0, &[vec![NodeId(0), NodeId(0)]]),
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
    fn the_network_is_plain_only_while_sending_decides_nothing() {
        let n = NodeId;
        let ms = SimTime::from_millis;
        let mut net = Network::new(false);
        (0..2).for_each(|_| net.add_node());
        assert_eq!(
            net.plain,
            Some(ms(1)),
            "the default: constant, lossless, FIFO never binds"
        );
        let lossy = LinkConfig {
            drop: 0.1,
            ..LinkConfig::default()
        };
        net.set_default(lossy).unwrap();
        assert_eq!(net.plain, None, "loss is drawn");
        let jitter = LinkConfig {
            latency: Latency::Uniform { min: ms(1), max: ms(2) },
            fifo: false,
            ..LinkConfig::default()
        };
        net.set_default(jitter).unwrap();
        assert_eq!(net.plain, None, "latency is drawn");
        net.set_default(LinkConfig::default()).unwrap();
        assert_eq!(net.plain, Some(ms(1)));
        net.set_link(n(0), n(1), LinkConfig::default()).unwrap();
        assert_eq!(net.plain, None, "a link with its own settings");
        net.reset_link(n(0), n(1)).unwrap();
        assert_eq!(net.plain, Some(ms(1)));
        // Once sent on, a change turns the FIFO shortcut off for good: FIFO links bound.
        let mut rng = SimRng::new(1, crate::engine::rng::Stream::Network);
        let tx = net.transmit(SimTime(5), n(0), n(1), &mut rng);
        assert_eq!((tx.first, tx.copy), (Some(SimTime(5) + ms(1)), None));
        net.set_default(LinkConfig::default()).unwrap();
        assert_eq!(net.plain, None, "FIFO bounds are kept from now on");
        // Strict FIFO (random tie-breaking) always bounds a FIFO link; datagrams are plain.
        let mut strict = Network::new(true);
        assert_eq!(strict.plain, None);
        let datagrams = LinkConfig {
            fifo: false,
            ..LinkConfig::default()
        };
        strict.set_default(datagrams).unwrap();
        assert_eq!(strict.plain, Some(ms(1)));
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
        let mut rng = SimRng::new(1, crate::engine::rng::Stream::Network);
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
        net.partition(0, &[vec![n(0), n(1)]]).unwrap();
        assert!(!net.is_cut(n(0), n(1)));
        assert!(net.is_cut(n(0), n(2)));
        assert!(!net.is_cut(n(2), n(3)), "unnamed nodes share one group");
        assert_eq!(net.heal(), vec![0]);
        assert!(!net.is_cut(n(0), n(2)));
        net.block(1, n(0), n(1)).unwrap();
        assert!(net.is_cut(n(0), n(1)));
        assert!(!net.is_cut(n(1), n(0)));
    }

    #[test]
    fn each_window_undoes_only_itself() {
        let mut net = Network::new(false);
        (0..3).for_each(|_| net.add_node());
        let n = NodeId;
        // A partition and a block of the same link, and two isolations of one node.
        net.partition(0, &[vec![n(0)], vec![n(1), n(2)]]).unwrap();
        net.block(1, n(1), n(0)).unwrap();
        assert!(net.end_cut(1), "the block ends");
        assert!(net.is_cut(n(1), n(0)), "the partition still cuts the link");
        assert!(!net.end_cut(1), "a window ends once");
        assert!(net.end_cut(0));
        assert!(!net.is_cut(n(1), n(0)));
        net.isolate(2, n(2)).unwrap();
        net.isolate(3, n(2)).unwrap();
        net.end_cut(3);
        assert!(net.is_cut(n(0), n(2)), "the other isolation is still in force");
        net.end_cut(2);
        assert!(!net.is_cut(n(0), n(2)));
        // Clogs count the same way; `unclog` ends every window on its target only.
        let t = ClogTarget::Node { node: n(1) };
        net.clog(4, t).unwrap();
        net.clog(5, t).unwrap();
        net.clog(6, ClogTarget::Link { from: n(0), to: n(2) }).unwrap();
        assert!(net.end_clog(4));
        assert!(net.is_clogged(n(0), n(1)));
        assert_eq!(net.unclog(t).unwrap(), vec![5]);
        assert!(!net.is_clogged(n(0), n(1)));
        assert!(net.is_clogged(n(0), n(2)));
        assert_eq!(net.unclog_all(), vec![6]);
        assert!(!net.is_clogged(n(0), n(2)));
    }

    #[test]
    fn link_windows_stack_over_the_base() {
        let mut net = Network::new(false);
        (0..2).for_each(|_| net.add_node());
        let n = NodeId;
        let cfg = |drop: f64| LinkConfig {
            drop,
            ..LinkConfig::default()
        };
        net.set_link(n(0), n(1), cfg(0.1)).unwrap();
        net.start_link_window(7, Some((n(0), n(1))), cfg(0.5)).unwrap();
        net.start_link_window(8, Some((n(0), n(1))), cfg(0.9)).unwrap();
        assert_eq!(net.link_config(n(0), n(1)).drop, 0.9, "the latest window wins");
        assert!(net.end_link_window(7));
        assert_eq!(
            net.link_config(n(0), n(1)).drop,
            0.9,
            "ending the older one changes nothing"
        );
        // An un-windowed change while a window is in force changes what it returns to.
        net.set_link(n(0), n(1), cfg(0.2)).unwrap();
        assert!(net.end_link_window(8));
        assert_eq!(net.link_config(n(0), n(1)).drop, 0.2);
        net.start_link_window(9, None, cfg(0.3)).unwrap();
        assert_eq!(net.link_config(n(1), n(0)).drop, 0.3, "a default window");
        assert_eq!(net.link_config(n(0), n(1)).drop, 0.2, "the link's own settings win");
        net.end_link_window(9);
        assert_eq!(net.link_config(n(1), n(0)).drop, 0.0);
    }
}
