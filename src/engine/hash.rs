//! The stable 64-bit trace hash: a word-at-a-time multiplicative hash over a canonical
//! encoding of events as little-endian `u64` words, finished with an avalanche step.
//!
//! It is specified here, not borrowed from `std`: the same words give the same hash on
//! every machine, process and Rust version (unlike `DefaultHasher`). Each absorbed word is
//! `h = (rotl(h, 5) ^ w) * 0x517c_c1b7_2722_0a95` (the FxHash step); `finish` applies the
//! `fmix64` finaliser of MurmurHash3 so nearby inputs spread over all 64 bits.

/// A streaming stable hasher over `u64` words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StableHasher {
    h: u64,
}

const SEED: u64 = 0xcbf2_9ce4_8422_2325; // the FNV-1a offset basis, as a non-zero start
const K: u64 = 0x517c_c1b7_2722_0a95;

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher { h: SEED }
    }
}

impl StableHasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Absorb one word.
    #[inline(always)]
    pub fn word(&mut self, w: u64) {
        self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(K);
    }

    /// Absorb a float by its exact bit pattern.
    #[inline]
    pub fn f64(&mut self, x: f64) {
        self.word(x.to_bits());
    }

    /// Absorb bytes: their length, then 8-byte little-endian chunks (the last zero-padded).
    pub fn bytes(&mut self, b: &[u8]) {
        self.word(b.len() as u64);
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(buf));
        }
    }

    /// Absorb a string (as its UTF-8 bytes).
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// The hash of everything absorbed so far (the state is not consumed).
    pub fn finish(&self) -> u64 {
        let mut x = self.h;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^= x >> 33;
        x
    }
}

/// Something with a canonical encoding into the trace hash. Message types implement it
/// so that their content is part of every run's fingerprint.
pub trait StableHash {
    /// Feed a canonical encoding of `self` into `h`.
    fn stable_hash(&self, h: &mut StableHasher);
}

macro_rules! int_stable_hash {
    ($($t:ty),*) => {$(
        impl StableHash for $t {
            #[inline]
            fn stable_hash(&self, h: &mut StableHasher) {
                h.word(*self as u64);
            }
        }
    )*};
}
int_stable_hash!(u8, u16, u32, u64, usize, i8, i16, i32, i64, bool);

impl StableHash for () {
    fn stable_hash(&self, _h: &mut StableHasher) {}
}

impl StableHash for f64 {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.f64(*self);
    }
}

impl StableHash for str {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.str(self);
    }
}

impl StableHash for String {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.str(self);
    }
}

impl<T: StableHash> StableHash for Vec<T> {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(self.len() as u64);
        for x in self {
            x.stable_hash(h);
        }
    }
}

impl<T: StableHash> StableHash for Option<T> {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            None => h.word(0),
            Some(x) => {
                h.word(1);
                x.stable_hash(h);
            }
        }
    }
}

impl<A: StableHash, B: StableHash> StableHash for (A, B) {
    fn stable_hash(&self, h: &mut StableHasher) {
        self.0.stable_hash(h);
        self.1.stable_hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_values_never_change() {
        // These constants pin the algorithm: if they change, every golden trace hash does.
        let mut h = StableHasher::new();
        assert_eq!(h.finish(), 0xefd0_1f60_ba99_2926, "{:#x}", h.finish());
        h.word(42);
        assert_eq!(h.finish(), 0x68b7_ec50_f224_1ca7, "{:#x}", h.finish());
        h.str("Multiply");
        assert_eq!(h.finish(), 0x9991_b595_f016_7816, "{:#x}", h.finish());
    }

    #[test]
    fn order_and_content_matter() {
        let hash = |ws: &[u64]| {
            let mut h = StableHasher::new();
            ws.iter().for_each(|w| h.word(*w));
            h.finish()
        };
        assert_ne!(hash(&[1, 2]), hash(&[2, 1]));
        assert_ne!(hash(&[0]), hash(&[]));
        assert_ne!(hash(&[1]), hash(&[2]));
    }
}
