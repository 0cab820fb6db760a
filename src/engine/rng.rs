//! Seeded randomness: [`SimRng`], a ChaCha8 generator with one independent stream per
//! purpose, all derived from the scenario seed. Nothing else in detsim makes random numbers.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a random stream is for. Each purpose gets its own ChaCha stream, so adding a
/// node or a fault does not shift the draws of any other stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Network latency, loss and duplication draws.
    Network,
    /// The random nemesis (fault injection).
    Nemesis,
    /// Random tie-breaking among same-time events.
    TieBreak,
    /// Workload generation (arrivals, values) by drivers outside nodes.
    Workload,
    /// A node's own generator, by node index.
    Node(u32),
    /// A free-form stream for users' own purposes.
    Custom(u64),
    /// A node's service times (its processing model), by node index.
    Service(u32),
    /// The nemesis's slow-node and thin-link windows.
    GrayNemesis,
    /// Which unsynced writes a crash keeps (and where a torn write tears).
    Storage,
    /// The nemesis's clock faults (steps and drift windows), apart from its other kinds.
    Clock,
    /// Code-level fault points (`Ctx::buggify`): whether each is active, and each firing.
    Buggify,
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Network => 1,
            Stream::Nemesis => 2,
            Stream::TieBreak => 3,
            Stream::Workload => 4,
            Stream::Node(i) => (1 << 32) | i as u64,
            Stream::Custom(c) => (2 << 32) ^ c.rotate_left(34),
            Stream::Service(i) => (0x67 << 32) | i as u64,
            Stream::GrayNemesis => 0x67_7261_7900,
            Stream::Storage => (3 << 32) | 0x5354,
            Stream::Clock => 0xC10C,
            // Far from the small ids, so streams added beside it do not collide.
            Stream::Buggify => 0x0B06_61F7,
        }
    }
}

/// A deterministic random generator: ChaCha8 keyed by the seed, on one stream.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The generator for `stream` under `seed`.
    pub fn new(seed: u64, stream: Stream) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        // A fixed tag in the key so detsim's streams never coincide with a plain
        // `ChaCha8Rng::seed_from_u64`.
        key[8..16].copy_from_slice(b"detsim\x00\x01");
        let mut inner = ChaCha8Rng::from_seed(key);
        inner.set_stream(stream.id());
        SimRng { inner }
    }

    /// A uniform `u64`.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform float in `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        // 53 random bits, exactly representable.
        (self.inner.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (no draw at all when `p` is 0 or 1).
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }

    /// A uniform integer in `[lo, hi)`; `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { self.inner.random_range(lo..hi) }
    }

    /// Draw from a `rand_distr` distribution.
    pub fn sample<T, D: rand_distr::Distribution<T>>(&mut self, dist: &D) -> T {
        dist.sample(&mut self.inner)
    }

    /// The underlying `rand` generator, for APIs that want `&mut impl Rng`.
    pub fn as_rng(&mut self) -> &mut impl Rng {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let draw = |seed, s| {
            let mut r = SimRng::new(seed, s);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, Stream::Node(3)), draw(7, Stream::Node(3)));
        assert_ne!(draw(7, Stream::Node(3)), draw(7, Stream::Node(4)));
        assert_ne!(draw(7, Stream::Network), draw(8, Stream::Network));
        assert_ne!(draw(7, Stream::Network), draw(7, Stream::Nemesis));
    }

    #[test]
    fn unit_is_in_range() {
        let mut r = SimRng::new(1, Stream::Network);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
