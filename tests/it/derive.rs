//! `#[derive(StableHash)]` and the std impls: each encoding equals the words it documents
//! (written out by hand with `StableHasher`) and is pinned to a constant, so a change of
//! encoding, which would change users' trace hashes, fails here.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use detsim::{NodeId, SimTime, StableHash, StableHasher};

/// The hash of one value.
fn hash<T: StableHash + ?Sized>(x: &T) -> u64 {
    let mut h = StableHasher::new();
    x.stable_hash(&mut h);
    h.finish()
}

/// The hash of words fed by hand.
fn by_hand(feed: impl FnOnce(&mut StableHasher)) -> u64 {
    let mut h = StableHasher::new();
    feed(&mut h);
    h.finish()
}

/// Asserts the value hashes as the hand-written words and as the pinned constant.
#[track_caller]
fn check<T: StableHash + ?Sized>(x: &T, feed: impl FnOnce(&mut StableHasher), pinned: u64) {
    let got = hash(x);
    assert_eq!(got, by_hand(feed), "differs from the documented encoding");
    assert_eq!(got, pinned, "pinned hash changed: {got:#018x}");
}

/// A type with no `StableHash`: only skipped fields may have it.
#[derive(Clone, Debug, Default)]
struct Opaque;

#[derive(StableHash)]
struct Named {
    id: u64,
    name: String,
    ok: bool,
}

#[derive(StableHash)]
struct Tuple(u32, i64);

#[derive(StableHash)]
struct Unit;

#[derive(Clone, Debug, StableHash)]
enum Shapes {
    Empty,
    Pair(u8, String),
    Fields {
        a: u64,
        b: Option<u64>,
    },
    #[stable_hash(tag = 10)]
    Tagged,
    AfterTag(char),
}

#[derive(StableHash)]
struct Generic<'a, T: Clone, const N: usize>
where
    T: Default,
{
    items: Vec<T>,
    fixed: [u16; N],
    label: &'a str,
}

#[derive(StableHash)]
struct Skipping {
    kept: u64,
    #[stable_hash(skip)]
    #[allow(dead_code)]
    cache: Opaque,
    also: i32,
}

#[derive(StableHash)]
#[allow(dead_code)]
enum SkipInVariants {
    Tuple(#[stable_hash(skip)] Opaque, u64),
    Named {
        #[stable_hash(skip)]
        x: Opaque,
        y: u64,
    },
    AllSkipped(#[stable_hash(skip)] Opaque),
}

#[derive(StableHash)]
struct Envelope {
    from: NodeId,
    at: SimTime,
    body: Shapes,
    meta: BTreeMap<String, Vec<(u8, Tuple)>>,
    reply: Option<Box<Envelope>>,
}

/// An enum without variants derives too (it has no values to hash).
#[derive(StableHash)]
#[allow(dead_code)]
enum Never {}

/// A re-export of detsim under another path, for `#[stable_hash(crate = ..)]`.
mod renamed {
    pub use detsim::{StableHash, StableHasher};
}

#[derive(StableHash)]
#[stable_hash(crate = "crate::derive::renamed")]
struct ViaPath(u64);

#[test]
fn named_struct_is_its_fields_in_order() {
    let v = Named {
        id: 7,
        name: "seven".into(),
        ok: true,
    };
    check(
        &v,
        |h| {
            h.word(7);
            h.str("seven");
            h.word(1);
        },
        0x68d2_5365_0c83_81b6,
    );
}

#[test]
fn tuple_and_unit_structs() {
    check(
        &Tuple(3, -1),
        |h| {
            h.word(3);
            h.word(u64::MAX);
        },
        0xbb55_1e2c_f5be_08df,
    );
    check(&Unit, |_| {}, 0xefd0_1f60_ba99_2926);
    assert_eq!(hash(&Unit), hash(&()));
}

#[test]
fn enum_is_its_tag_then_its_fields() {
    check(&Shapes::Empty, |h| h.word(0), 0x8c32_3f58_1a10_6ab4);
    check(
        &Shapes::Pair(9, "x".into()),
        |h| {
            h.word(1);
            h.word(9);
            h.str("x");
        },
        0x300a_00ea_8acf_071e,
    );
    check(
        &Shapes::Fields { a: 5, b: Some(6) },
        |h| {
            h.word(2);
            h.word(5);
            h.word(1);
            h.word(6);
        },
        0x82d0_4f45_8509_a074,
    );
    check(&Shapes::Tagged, |h| h.word(10), 0xda50_2049_a912_f388);
    check(
        &Shapes::AfterTag('é'),
        |h| {
            h.word(11);
            h.word(0xe9);
        },
        0x2353_204a_cbfe_4446,
    );
}

#[test]
fn different_variants_and_field_orders_differ() {
    let all = [
        Shapes::Empty,
        Shapes::Pair(0, String::new()),
        Shapes::Fields { a: 0, b: None },
        Shapes::Tagged,
        Shapes::AfterTag('\0'),
    ];
    let hashes: BTreeSet<u64> = all.iter().map(hash).collect();
    assert_eq!(hashes.len(), all.len(), "two variants hash alike");

    #[derive(StableHash)]
    struct AB {
        a: u64,
        b: u64,
    }
    #[derive(StableHash)]
    struct BA {
        b: u64,
        a: u64,
    }
    /// `AB` with other names: names are not part of the encoding.
    #[derive(StableHash)]
    struct XY {
        x: u64,
        y: u64,
    }
    assert_ne!(hash(&AB { a: 1, b: 2 }), hash(&BA { a: 1, b: 2 }));
    assert_eq!(hash(&AB { a: 1, b: 2 }), hash(&XY { x: 1, y: 2 }));
    assert_ne!(hash(&AB { a: 1, b: 2 }), hash(&AB { a: 2, b: 1 }));
}

#[test]
fn generic_types_hash_their_instances() {
    let v = Generic {
        items: vec![Some(1u64), None],
        fixed: [4u16, 5],
        label: "g",
    };
    check(
        &v,
        |h| {
            h.word(2);
            h.word(1);
            h.word(1);
            h.word(0);
            h.word(2);
            h.word(4);
            h.word(5);
            h.str("g");
        },
        0xef21_d3df_e84a_4165,
    );
}

#[test]
fn skipped_fields_leave_no_trace() {
    let v = Skipping {
        kept: 1,
        cache: Opaque,
        also: -2,
    };
    check(
        &v,
        |h| {
            h.word(1);
            h.word(-2i64 as u64);
        },
        0x21bb_e0b5_7a10_4a98,
    );
    check(
        &SkipInVariants::Tuple(Opaque, 3),
        |h| {
            h.word(0);
            h.word(3);
        },
        0x4e73_e5ca_97f9_dd93,
    );
    check(
        &SkipInVariants::Named { x: Opaque, y: 3 },
        |h| {
            h.word(1);
            h.word(3);
        },
        0x0387_7531_a393_9064,
    );
    check(
        &SkipInVariants::AllSkipped(Opaque),
        |h| h.word(2),
        0xe153_cbff_2700_32b0,
    );
}

#[test]
fn nested_types_compose() {
    let inner = Envelope {
        from: NodeId(2),
        at: SimTime::from_millis(3),
        body: Shapes::Tagged,
        meta: BTreeMap::new(),
        reply: None,
    };
    let v = Envelope {
        from: NodeId(1),
        at: SimTime(5),
        body: Shapes::Pair(1, "p".into()),
        meta: BTreeMap::from([("b".to_string(), vec![(1, Tuple(2, 3))]), ("a".to_string(), vec![])]),
        reply: Some(Box::new(inner)),
    };
    check(
        &v,
        |h| {
            h.word(1); // from
            h.word(5); // at
            h.word(1); // body: Pair
            h.word(1);
            h.str("p");
            h.word(2); // meta: 2 entries, ascending keys
            h.str("a");
            h.word(0);
            h.str("b");
            h.word(1);
            h.word(1);
            h.word(2);
            h.word(3);
            h.word(1); // reply: Some
            h.word(2);
            h.word(3_000_000);
            h.word(10);
            h.word(0);
            h.word(0);
        },
        0x05ec_bbca_21ce_e3f3,
    );
}

#[test]
fn crate_path_and_message_bound() {
    check(&ViaPath(4), |h| h.word(4), 0xd4d6_352d_d2fd_ee63);
    fn is_message<M: detsim::Message>() {}
    is_message::<Shapes>();
    fn is_stable_hash<T: StableHash>() {}
    is_stable_hash::<Never>();
}

#[test]
fn std_impls_encode_as_documented() {
    check(
        &(u128::MAX - 1),
        |h| {
            h.word(u64::MAX - 1);
            h.word(u64::MAX);
        },
        0xae2e_599d_bd23_37b8,
    );
    check(
        &-2i128,
        |h| {
            h.word(u64::MAX - 1);
            h.word(u64::MAX);
        },
        0xae2e_599d_bd23_37b8,
    );
    check(&-3isize, |h| h.word(-3i64 as u64), 0x2c13_cf70_c888_9d8b);
    check(&1.5f32, |h| h.word(u64::from(1.5f32.to_bits())), 0xd4fe_972e_ba86_707b);
    check(&'λ', |h| h.word(0x3bb), 0x8ab5_96a6_3c13_eb35);
    let seq = |h: &mut StableHasher| {
        h.word(3);
        h.word(1);
        h.word(2);
        h.word(3);
    };
    let pinned_seq = 0xedaf_6f4d_abcb_2c85;
    check(&[1u8, 2, 3], seq, pinned_seq);
    check(&[1u8, 2, 3][..], seq, pinned_seq);
    check(&vec![1u8, 2, 3], seq, pinned_seq);
    check(&VecDeque::from([1u8, 2, 3]), seq, pinned_seq);
    check(&BTreeSet::from([3u8, 1, 2]), seq, pinned_seq);
    check(
        &Ok::<u8, String>(4),
        |h| {
            h.word(0);
            h.word(4);
        },
        0x78e5_b4ed_e777_c097,
    );
    check(
        &Err::<u8, String>("e".into()),
        |h| {
            h.word(1);
            h.str("e");
        },
        0xf2fd_24ba_bba6_ba76,
    );
    check(
        &(1u8, 2u16, 3u32, 4u64, 5usize, true),
        |h| (1..=5).chain([1]).for_each(|w| h.word(w)),
        0xbe93_29a1_85f3_a829,
    );
    check(&(7u8,), |h| h.word(7), 0x7629_f260_3355_a84b);
    let s = |h: &mut StableHasher| h.str("s");
    let pinned_s = 0xde4f_8132_9c1a_26f1;
    check("s", s, pinned_s);
    check(&&"s", s, pinned_s);
    check(&Box::<str>::from("s"), s, pinned_s);
    check(&Rc::<str>::from("s"), s, pinned_s);
    check(&Arc::<str>::from("s"), s, pinned_s);
    check(&Cow::Borrowed("s"), s, pinned_s);
    check(&PhantomData::<Opaque>, |_| {}, hash(&()));
    check(
        &(NodeId(3), SimTime::from_secs(1)),
        |h| {
            h.word(3);
            h.word(1_000_000_000);
        },
        0x3ebb_fbd3_9f68_5524,
    );
}
