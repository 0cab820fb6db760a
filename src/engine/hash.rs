//! The stable 64-bit trace hash: a word-at-a-time multiplicative hash over a canonical
//! encoding of events as little-endian `u64` words, finished with an avalanche step.
//!
//! It is specified here, not borrowed from `std`: the same words give the same hash on
//! every machine, process and Rust version (unlike `DefaultHasher`). Each absorbed word is
//! `h = (rotl(h, 5) ^ w) * 0x517c_c1b7_2722_0a95` (the FxHash step); `finish` applies the
//! `fmix64` finaliser of MurmurHash3 so nearby inputs spread over all 64 bits.
//!
//! [`StableHash`] is a value's canonical encoding into those words: its impls for std types,
//! [`SimTime`] and [`NodeId`], and the encoding of `#[derive(StableHash)]` (the
//! `detsim-derive` crate), are specified on the trait.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

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

/// The derive's doc example (a doc test only when the derive is built).
#[cfg(feature = "derive")]
macro_rules! derive_example {
    () => {
        r#"
```
use detsim::{StableHash, StableHasher};

#[derive(StableHash)]
enum Msg {
    Ping,                                   // word 0
    Put { key: String, val: u64 },          // word 1, str(key), word(val)
    #[stable_hash(tag = 7)]
    Ack(u64),                               // word 7, word(.0)
    Nack(#[stable_hash(skip)] String, u64), // word 8, word(.1)
}

let hash = |m: &Msg| { let mut h = StableHasher::new(); m.stable_hash(&mut h); h.finish() };
let mut by_hand = StableHasher::new();
by_hand.word(1);
by_hand.str("k");
by_hand.word(5);
assert_eq!(hash(&Msg::Put { key: "k".into(), val: 5 }), by_hand.finish());
assert_eq!(hash(&Msg::Nack("why".into(), 3)), hash(&Msg::Nack("not".into(), 3)));
assert_ne!(hash(&Msg::Ping), hash(&Msg::Ack(0)));
```
"#
    };
}

/// Something with a canonical encoding into the trace hash. Message types implement it
/// so that their content is part of every run's fingerprint.
///
/// # The encoding
///
/// Every value is a sequence of `u64` words fed to a [`StableHasher`]; these rules are part
/// of every trace hash, so they never change (`tests/it/derive.rs` pins them):
///
/// | type | words |
/// |---|---|
/// | `u8`..`u64`, `usize`, `i8`..`i64`, `isize`, `bool` | one word, the value `as u64` (signed values sign-extended: `-1` is `u64::MAX`) |
/// | `u128`, `i128` | two words: the low 64 bits, then the high 64 bits |
/// | `char` | one word, its code point |
/// | `f64`, `f32` | one word, the exact bit pattern (`to_bits`, widened for `f32`) |
/// | `str`, `String` | [`StableHasher::bytes`] of the UTF-8: the length in bytes, then 8-byte little-endian chunks (the last zero-padded) |
/// | `[T]`, `[T; N]`, `Vec`, `VecDeque`, `BTreeSet` | the length, then each element in order (ascending for `BTreeSet`) |
/// | `BTreeMap` | the length, then key and value of each entry in ascending key order |
/// | `Option` | `None`: `0`; `Some(x)`: `1`, then `x` |
/// | `Result` | `Ok(x)`: `0`, then `x`; `Err(e)`: `1`, then `e` |
/// | tuples (up to 6) | each element in order; `()` and `PhantomData` encode to nothing |
/// | `&T`, `&mut T`, `Box`, `Rc`, `Arc`, `Cow` | as the `T` they hold |
/// | [`SimTime`] | one word, nanoseconds |
/// | [`NodeId`] | one word, the index |
///
/// `std::collections::HashMap` / `HashSet` have no impl, on purpose: their iteration order
/// differs from process to process.
///
/// # `#[derive(StableHash)]`
///
/// With the `derive` feature (on by default) `detsim::StableHash` is also a derive macro
/// (the `detsim-derive` crate):
///
/// - a **struct** (named, tuple or unit) encodes its fields in declaration order, nothing else
///   (no type or field names, no count); a unit struct encodes to nothing;
/// - an **enum** encodes one word, the variant's tag, then the variant's fields in order. The
///   tag is the variant's position from 0 in declaration order, unless
///   `#[stable_hash(tag = N)]` sets it (later variants without a tag continue from `N + 1`,
///   as Rust discriminants do; Rust's own discriminants are ignored; duplicate tags are a
///   compile error). **Reordering variants, or inserting one before others, changes every
///   hash that involves the type** unless their tags are pinned;
/// - `#[stable_hash(skip)]` on a field leaves it out;
/// - every type parameter gets a `T: StableHash` bound;
/// - `#[stable_hash(crate = "path")]` on the type names where `StableHash` lives (default
///   `::detsim`); unions are a compile error.
///
/// Renaming a type, field or variant keeps the hash; reordering or retyping fields changes it.
#[cfg_attr(feature = "derive", doc = derive_example!())]
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
int_stable_hash!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, bool);

impl StableHash for u128 {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(*self as u64);
        h.word((*self >> 64) as u64);
    }
}

impl StableHash for i128 {
    fn stable_hash(&self, h: &mut StableHasher) {
        (*self as u128).stable_hash(h);
    }
}

impl StableHash for char {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(u64::from(u32::from(*self)));
    }
}

impl StableHash for () {
    fn stable_hash(&self, _h: &mut StableHasher) {}
}

impl<T: ?Sized> StableHash for PhantomData<T> {
    fn stable_hash(&self, _h: &mut StableHasher) {}
}

impl StableHash for f64 {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.f64(*self);
    }
}

impl StableHash for f32 {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(u64::from(self.to_bits()));
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

/// A sequence: its length, then each element.
fn seq<'a, T: StableHash + 'a>(len: usize, items: impl IntoIterator<Item = &'a T>, h: &mut StableHasher) {
    h.word(len as u64);
    for x in items {
        x.stable_hash(h);
    }
}

impl<T: StableHash> StableHash for [T] {
    fn stable_hash(&self, h: &mut StableHasher) {
        seq(self.len(), self, h);
    }
}

impl<T: StableHash, const N: usize> StableHash for [T; N] {
    fn stable_hash(&self, h: &mut StableHasher) {
        seq(N, self, h);
    }
}

impl<T: StableHash> StableHash for Vec<T> {
    fn stable_hash(&self, h: &mut StableHasher) {
        seq(self.len(), self, h);
    }
}

impl<T: StableHash> StableHash for VecDeque<T> {
    fn stable_hash(&self, h: &mut StableHasher) {
        seq(self.len(), self, h);
    }
}

impl<T: StableHash> StableHash for BTreeSet<T> {
    fn stable_hash(&self, h: &mut StableHasher) {
        seq(self.len(), self, h);
    }
}

impl<K: StableHash, V: StableHash> StableHash for BTreeMap<K, V> {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(self.len() as u64);
        for (k, v) in self {
            k.stable_hash(h);
            v.stable_hash(h);
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

impl<T: StableHash, E: StableHash> StableHash for Result<T, E> {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            Ok(x) => {
                h.word(0);
                x.stable_hash(h);
            }
            Err(e) => {
                h.word(1);
                e.stable_hash(h);
            }
        }
    }
}

macro_rules! tuple_stable_hash {
    ($(($($t:ident . $i:tt),+))*) => {$(
        impl<$($t: StableHash),+> StableHash for ($($t,)+) {
            fn stable_hash(&self, h: &mut StableHasher) {
                $(self.$i.stable_hash(h);)+
            }
        }
    )*};
}
tuple_stable_hash! {
    (A.0)
    (A.0, B.1)
    (A.0, B.1, C.2)
    (A.0, B.1, C.2, D.3)
    (A.0, B.1, C.2, D.3, E.4)
    (A.0, B.1, C.2, D.3, E.4, F.5)
}

macro_rules! pointer_stable_hash {
    ($($p:ty),*) => {$(
        impl<T: StableHash + ?Sized> StableHash for $p {
            #[inline]
            fn stable_hash(&self, h: &mut StableHasher) {
                (**self).stable_hash(h);
            }
        }
    )*};
}
pointer_stable_hash!(&T, &mut T, Box<T>, Rc<T>, Arc<T>);

impl<T: StableHash + ToOwned + ?Sized> StableHash for Cow<'_, T> {
    fn stable_hash(&self, h: &mut StableHasher) {
        (**self).stable_hash(h);
    }
}

impl StableHash for SimTime {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(self.0);
    }
}

impl StableHash for NodeId {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(u64::from(self.0));
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
