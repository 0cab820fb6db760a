//! The search of one partition: Wing & Gong's algorithm with Lowe's just-in-time
//! linearization and memoisation, as Porcupine's `checkSingle` does it. The sorted call
//! and return entries form a doubly linked list; linearizing an operation lifts its call
//! and return out of the list, backtracking puts them back. A memo cache of (bitset of
//! linearized operations, model state) prunes every configuration already explored.
//! While searching it keeps the longest partial linearization, the operation that
//! blocked it and the states the model could be in there, for the counterexample.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

use super::budget::{Exhausted, Meter};
use super::counterexample::MAX_STATES;
use super::history::{Entry, Operation, entries};
use super::model::Model;

/// No node.
const NONE: usize = usize::MAX;
/// The list's head sentinel.
const HEAD: usize = 0;

/// How a partition's search ended.
pub(crate) enum SearchEnd<S> {
    /// A full linearization: positions in the partition's list, in order.
    Linearizable(Vec<usize>),
    /// None exists.
    NotLinearizable(Failure<S>),
    /// The budget ran out first.
    OutOfBudget(Exhausted),
}

/// The raw counterexample of one partition (positions in the partition's list).
pub(crate) struct Failure<S> {
    /// The longest partial linearization: each operation with the state after it.
    pub prefix: Vec<(usize, S)>,
    /// The operation whose return blocked it.
    pub blocked: usize,
    /// Distinct states of the prefixes that reached the blocked operation's return without
    /// placing it (the longest prefix's first).
    pub states: Vec<S>,
    /// More states were seen than kept.
    pub more_states: bool,
}

/// The linked list of entries: node 0 is the head, node `k + 1` is `entries[k]`.
struct List {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For a call node, its return node; NONE for a return node.
    matching: Vec<usize>,
    /// The operation of each node (NONE for the head).
    op: Vec<usize>,
}

impl List {
    fn new(entries: &[Entry], n_ops: usize) -> List {
        let len = entries.len() + 1;
        let mut ret_node = vec![NONE; n_ops];
        for (k, e) in entries.iter().enumerate() {
            if !e.call {
                ret_node[e.op] = k + 1;
            }
        }
        let mut l = List {
            next: (1..=len).map(|i| if i == len { NONE } else { i }).collect(),
            prev: (0..len).map(|i| if i == 0 { NONE } else { i - 1 }).collect(),
            matching: vec![NONE; len],
            op: vec![NONE; len],
        };
        for (k, e) in entries.iter().enumerate() {
            l.op[k + 1] = e.op;
            if e.call {
                l.matching[k + 1] = ret_node[e.op];
            }
        }
        l
    }

    fn unlink(&mut self, n: usize) {
        let (p, x) = (self.prev[n], self.next[n]);
        self.next[p] = x;
        if x != NONE {
            self.prev[x] = p;
        }
    }

    fn relink(&mut self, n: usize) {
        let (p, x) = (self.prev[n], self.next[n]);
        self.next[p] = n;
        if x != NONE {
            self.prev[x] = n;
        }
    }

    /// Take a call and its return out of the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.matching[call]);
    }

    /// Put them back (the reverse order of `lift`).
    fn unlift(&mut self, call: usize) {
        self.relink(self.matching[call]);
        self.relink(call);
    }
}

/// A fixed-size set of operation positions.
struct Bits(Box<[u64]>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)].into_boxed_slice())
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// The memo cache: configurations already explored. Each entry is (its hash, where its
/// bitset starts in `pool`, its state): bitsets live in one pool (no allocation per entry,
/// no rehashing of bitsets when the table grows).
struct Cache<S> {
    table: HashTable<(u64, usize, S)>,
    pool: Vec<u64>,
    hasher: rustc_hash::FxBuildHasher,
}

impl<S: Hash + Eq + Clone> Cache<S> {
    fn new() -> Cache<S> {
        Cache {
            table: HashTable::new(),
            pool: Vec::new(),
            hasher: rustc_hash::FxBuildHasher,
        }
    }

    /// Insert (bits, state) if new; whether it was.
    fn insert(&mut self, bits: &Bits, state: &S) -> bool {
        let words = &bits.0[..];
        let h = self.hasher.hash_one((words, state));
        let pool = &self.pool;
        let same = |(eh, at, s): &(u64, usize, S)| {
            *eh == h && pool[*at..*at + words.len()].iter().zip(words).all(|(a, b)| a == b) && s == state
        };
        if self.table.find(h, same).is_some() {
            return false;
        }
        let at = self.pool.len();
        self.pool.extend_from_slice(words);
        self.table.insert_unique(h, (h, at, state.clone()), |e| e.0);
        true
    }
}

/// Search for a linearization of `ops` (indices into `all`, one partition).
pub(crate) fn search<M: Model>(
    model: &M,
    all: &[Operation<M::Input, M::Output>],
    ops: &[usize],
    meter: &mut Meter<'_>,
) -> SearchEnd<M::State> {
    let n = ops.len();
    let mut list = List::new(&entries(all, ops), n);
    let mut bits = Bits::new(n);
    let mut cache = Cache::new();
    // An entry, its bitset in the pool and the table's control byte (load factor aside).
    let entry_bytes = (std::mem::size_of::<(u64, usize, M::State)>() + bits.0.len() * 8 + 1) as u64;
    // The stack of linearized calls, with the state before each.
    let mut calls: Vec<(usize, M::State)> = Vec::new();
    let mut state = model.init();
    let mut best: Option<Failure<M::State>> = None;
    // Operations with a known outcome not yet linearized: when none is left, the rest
    // (unknown outcomes, which every state accepts) can all go last, in any order.
    let known = |p: usize| !all[ops[p]].unknown();
    let mut open_known = (0..n).filter(|&p| known(p)).count();
    let mut node = list.next[HEAD];
    while list.next[HEAD] != NONE {
        if open_known == 0 && rest_accepted(model, &list, all, ops, &state) {
            let mut order: Vec<usize> = calls.iter().map(|(c, _)| list.op[*c]).collect();
            let mut placed = vec![false; n];
            order.iter().for_each(|&p| placed[p] = true);
            order.extend((0..n).filter(|&p| !placed[p]));
            return SearchEnd::Linearizable(order);
        }
        if let Err(e) = meter.step() {
            return SearchEnd::OutOfBudget(e);
        }
        let ret = list.matching[node];
        if ret != NONE {
            let op = &all[ops[list.op[node]]];
            match model.step(&state, &op.input, op.output.as_ref()) {
                Some(next) => {
                    bits.set(list.op[node]);
                    if cache.insert(&bits, &next) {
                        let more = entry_bytes + model.state_heap_bytes(&next) as u64;
                        if let Err(e) = meter.alloc(more) {
                            return SearchEnd::OutOfBudget(e);
                        }
                        calls.push((node, std::mem::replace(&mut state, next)));
                        open_known -= usize::from(known(list.op[node]));
                        list.lift(node);
                        node = list.next[HEAD];
                    } else {
                        bits.clear(list.op[node]);
                        node = list.next[node];
                    }
                }
                None => node = list.next[node],
            }
        } else {
            // A return whose operation is not linearized: the prefix cannot be extended.
            note_block(&mut best, &calls, &list.op, &state, list.op[node]);
            let Some((call, before)) = calls.pop() else {
                let failure = best.unwrap_or_else(|| Failure {
                    prefix: Vec::new(),
                    blocked: list.op[node],
                    states: vec![state],
                    more_states: false,
                });
                return SearchEnd::NotLinearizable(failure);
            };
            state = before;
            open_known += usize::from(known(list.op[call]));
            bits.clear(list.op[call]);
            list.unlift(call);
            node = list.next[call];
        }
    }
    SearchEnd::Linearizable(calls.iter().map(|(c, _)| list.op[*c]).collect())
}

/// Whether the operations still in `list` (all of unknown outcome) can go last, in list
/// order, from `state`: the shortcut that ends the search when only unknown outcomes are
/// left is taken only when the model really accepts them (a model that breaks the
/// contract of [`Model::step`] for unknown outcomes gets the full search instead, never a
/// wrong pass).
fn rest_accepted<M: Model>(
    model: &M,
    list: &List,
    all: &[Operation<M::Input, M::Output>],
    ops: &[usize],
    state: &M::State,
) -> bool {
    let mut s = state.clone();
    let mut node = list.next[HEAD];
    while node != NONE {
        if list.matching[node] != NONE {
            let op = &all[ops[list.op[node]]];
            match model.step(&s, &op.input, op.output.as_ref()) {
                Some(next) => s = next,
                None => return false,
            }
        }
        node = list.next[node];
    }
    true
}

/// Keep the longest blocked prefix (the first of its length) and the operation that
/// blocked it; then, each time that operation blocks a prefix (of any length), the state
/// it left, if new (at most `MAX_STATES`).
fn note_block<S: Clone + Eq>(
    best: &mut Option<Failure<S>>,
    calls: &[(usize, S)],
    op_of: &[usize],
    state: &S,
    blocked_op: usize,
) {
    let len = calls.len();
    match best {
        Some(b) if b.prefix.len() >= len => {
            if b.blocked == blocked_op && !b.states.contains(state) {
                if b.states.len() < MAX_STATES {
                    b.states.push(state.clone());
                } else {
                    b.more_states = true;
                }
            }
        }
        _ => {
            // States after each call: the next call's state before, the current for the last.
            let prefix = (0..len)
                .map(|i| {
                    let after = calls.get(i + 1).map_or(state, |(_, s)| s);
                    (op_of[calls[i].0], after.clone())
                })
                .collect();
            *best = Some(Failure {
                prefix,
                blocked: blocked_op,
                states: vec![state.clone()],
                more_states: false,
            });
        }
    }
}
