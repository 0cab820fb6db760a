//! Durable storage: a node's typed values ([`Storage`], reached through
//! [`Ctx::durable`](crate::Ctx::durable)) and its byte disk (a key → bytes store, reached
//! through [`Ctx::disk`](crate::Ctx::disk)), both kept across crashes, with an explicit
//! `sync`, the crash model of unsynced writes ([`StorageFaults`]) and the full disk.
//!
//! **Writes and syncs.** What a handler writes is seen at once by every later read (a
//! page cache). It is *durable* once synced: [`Ctx::sync`](crate::Ctx::sync) syncs one
//! typed value, [`Ctx::sync_all`](crate::Ctx::sync_all) every typed value and the disk,
//! [`Disk::sync`](crate::Disk::sync) the disk. A handler runs in an instant, so a sync
//! anywhere in it makes its writes durable before any message it sends can arrive or
//! any crash can strike: "sync before you answer" is "sync in the handler that answers".
//!
//! **What a crash does to unsynced writes.** By default ([`StorageFaults::default`])
//! nothing: a crash keeps every write, synced or not (the storage of detsim before
//! `sync` existed; `sync` costs nothing). With [`StorageFaults::lose_unsynced`], a crash
//! keeps what was synced and, of what was not, what a real disk could have written
//! back before it lost power, drawn from the storage stream of the seed:
//!
//! - A **typed value** is a file of its own, rewritten whole by each handler that
//!   borrows it (one *write* per handler, the value as the handler left it). A file's
//!   writes reach the disk in order, files independently: after a crash each value
//!   holds its synced image followed by a *prefix* of its unsynced writes, that is, one
//!   of the values it held at the end of a handler since its last sync. Each unsynced
//!   write in turn survives with probability 1/2, and the first lost one ends the
//!   prefix. A typed value is never torn.
//! - The **disk** is one ordered journal of writes (`write`, `remove`) across its keys:
//!   a prefix of its unsynced writes survives, each in turn with probability 1/2. With
//!   [`StorageFaults::torn_writes`], the first lost write, if it wrote bytes, is *torn*
//!   instead: its key holds the first `n` bytes of the new value (`n` drawn uniformly
//!   in `0..len`) followed by the old value's bytes from `n` on (none when the key was
//!   new or the old value shorter), as an overwrite in place that lost power part-way.
//!
//! A disk's cache is bounded: at most [`MAX_UNSYNCED`] unsynced writes per typed value
//! and on the disk; past that, the oldest is written back (becomes durable) on its own,
//! as a real disk flushes old dirty data. So memory stays bounded for a node that never
//! syncs.
//!
//! **A full disk** (the `disk_full` fault, a window on one node) refuses new bytes:
//! [`Disk::write`](crate::Disk::write) returns [`DiskFull`] and writes nothing. Removing
//! a key, syncing and typed values (their space is allocated once, like a database's
//! preallocated files) never fail.
//!
//! Every crash that loses or tears a write puts a `storage_loss` event in the trace, and
//! every refused write a `disk_full_error` event (see
//! [`TraceEvent`](crate::TraceEvent)); with the default model and no `disk_full` fault
//! there are none, so the trace of a run that never needed them is unchanged.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::engine::rng::SimRng;

/// Most unsynced writes kept per typed value and on the disk: past it, the oldest is
/// written back (made durable) on its own.
pub const MAX_UNSYNCED: usize = 64;

/// How a crash treats the writes that were not synced: the scenario's `storage`.
///
/// By default a crash keeps every write. With `lose_unsynced`, it keeps what was synced
/// and, of the rest, a prefix drawn from the seed: a typed value (a file of its own,
/// rewritten whole by each handler that borrows it) holds one of the values it had at
/// the end of a handler since its last sync; the disk (one ordered journal) a prefix of
/// its unsynced writes; each unsynced write in turn survives with probability 1/2, up to
/// the first lost one. With `torn_writes` too, the first lost disk write is torn: its key
/// holds the new value's first `n` bytes (`n` uniform in `0..len`) over the old value's
/// bytes from `n` on. At most [`MAX_UNSYNCED`] unsynced writes are kept per file (the
/// oldest is then written back on its own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageFaults {
    /// A crash loses unsynced writes (each survives or not, drawn from the seed, in the
    /// order a disk writes them back). `false`: a crash keeps every write.
    pub lose_unsynced: bool,
    /// The first unsynced write of the disk that a crash loses is torn instead (half
    /// written). Only with `lose_unsynced`.
    pub torn_writes: bool,
}

/// A write refused because the disk is full (a `disk_full` fault is in force on the node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskFull;

impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no space left on the disk")
    }
}

impl std::error::Error for DiskFull {}

/// What a crash did to one file's unsynced writes: the trace's `storage_loss` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loss {
    /// The typed value, by its position in first-use order; `None` for the disk.
    pub file: Option<u32>,
    /// Unsynced writes when the node crashed.
    pub unsynced: u32,
    /// How many of them survived (a prefix).
    pub kept: u32,
    /// The first lost write was torn (the disk only).
    pub torn: bool,
}

/// One typed value's file.
struct Slot {
    type_id: TypeId,
    /// What reads see: the value as the last handler left it.
    value: Box<dyn Any>,
    /// Copies the value (the type's `Clone`).
    copy: fn(&dyn Any) -> Box<dyn Any>,
    /// The durable image, while the value has unsynced writes (`None`: `value` is synced).
    synced: Option<Box<dyn Any>>,
    /// The unsynced writes before the last one (which is `value`), oldest first.
    older: Vec<Box<dyn Any>>,
    /// Borrowed by the handler running now.
    borrowed: bool,
}

fn copy_of<T: Clone + 'static>(v: &dyn Any) -> Box<dyn Any> {
    match v.downcast_ref::<T>() {
        Some(t) => Box::new(t.clone()),
        None => unreachable!("a slot's copy function is its own type's"),
    }
}

/// A node's durable storage: its typed values, each in its own slot by type, and its
/// byte disk.
///
/// **Each type has its own slot**: a node (or a component embedded in it) may keep a
/// `u64` and a `String` and its own state struct side by side, and storing one never
/// touches another. Slots are found by [`TypeId`] with a linear scan over a vector in
/// first-use order: a node holds a handful of types, and nothing ever iterates the slots
/// in a way that could change behaviour, so the storage is as deterministic as the node.
/// Two components that want separate values of the same type should wrap it in their own
/// newtype. Writes are durable once synced ([`Ctx::sync`](crate::Ctx::sync)); see
/// [`StorageFaults`] for what a crash keeps of the others.
#[derive(Default)]
pub struct Storage {
    slots: Vec<Slot>,
    disk: DiskData,
    /// Unsynced writes are tracked (a crash may lose them).
    lossy: bool,
    torn: bool,
    /// Some slot was borrowed by the running handler (only when `lossy`).
    touched: bool,
    /// The `disk_full` windows in force on the node.
    full: Vec<u32>,
    /// The node has used its byte disk (`Ctx::disk`): only then can a full disk refuse
    /// it anything, so only then is a `disk_full` fault applied.
    pub(crate) disk_used: bool,
}

impl Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("types", &self.slots.len()).finish()
    }
}

impl Storage {
    fn position<T: 'static>(&self) -> Option<usize> {
        let id = TypeId::of::<T>();
        self.slots.iter().position(|s| s.type_id == id)
    }

    /// Set how a crash treats unsynced writes (before the node runs).
    pub(crate) fn set_faults(&mut self, f: StorageFaults) {
        self.lossy = f.lose_unsynced;
        self.torn = f.lose_unsynced && f.torn_writes;
    }

    /// The stored `T`, created with `T::default()` in its own slot the first time; values
    /// of other types are left as they are. Borrowing it is a write of it (see the module
    /// docs).
    pub fn get_or_default<T: Default + Clone + 'static>(&mut self) -> &mut T {
        let i = match self.position::<T>() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    type_id: TypeId::of::<T>(),
                    value: Box::new(T::default()),
                    copy: copy_of::<T>,
                    synced: None,
                    older: Vec::new(),
                    borrowed: false,
                });
                self.slots.len() - 1
            }
        };
        if self.lossy {
            self.note_write(i);
        }
        match self.slots[i].value.downcast_mut::<T>() {
            Some(v) => v,
            None => unreachable!("the slot of TypeId::of::<T>() holds a T"),
        }
    }

    /// The first borrow of slot `i` in a handler starts a new unsynced write: keep the
    /// durable image (the value is clean) or the write the last handler left.
    #[cold]
    fn note_write(&mut self, i: usize) {
        let s = &mut self.slots[i];
        if s.borrowed {
            return;
        }
        s.borrowed = true;
        self.touched = true;
        let copy = (s.copy)(s.value.as_ref());
        match s.synced {
            None => s.synced = Some(copy),
            Some(_) => {
                s.older.push(copy);
                if s.older.len() >= MAX_UNSYNCED {
                    // The disk wrote the oldest back on its own.
                    s.synced = Some(s.older.remove(0));
                }
            }
        }
    }

    /// The stored `T`, if one was ever stored (as reads see it).
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.position::<T>()
            .and_then(|i| self.slots[i].value.downcast_ref::<T>())
    }

    /// How many types hold a value.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no typed value was ever stored.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many writes of `T` are not synced (always 0 unless a crash may lose them).
    pub fn unsynced<T: 'static>(&self) -> usize {
        self.position::<T>().map_or(0, |i| {
            let s = &self.slots[i];
            if s.synced.is_some() { s.older.len() + 1 } else { 0 }
        })
    }

    /// The disk's value at `key`, as reads see it.
    pub fn disk_read(&self, key: &str) -> Option<&[u8]> {
        self.disk.view.get(key).map(Vec::as_slice)
    }

    /// The disk's keys, in order.
    pub fn disk_keys(&self) -> impl Iterator<Item = &str> {
        self.disk.view.keys().map(String::as_str)
    }

    /// How many writes of the disk are not synced (always 0 unless a crash may lose them).
    pub fn disk_unsynced(&self) -> usize {
        self.disk.journal.len()
    }

    /// Whether a `disk_full` window is in force.
    pub fn is_full(&self) -> bool {
        !self.full.is_empty()
    }

    /// Whether the running handler borrowed a typed value (then [`Storage::end_handler`]
    /// must be called when it returns).
    #[inline(always)]
    pub(crate) fn touched(&self) -> bool {
        self.touched
    }

    /// The running handler returned: its borrows are its writes.
    #[cold]
    pub(crate) fn end_handler(&mut self) {
        self.touched = false;
        for s in &mut self.slots {
            s.borrowed = false;
        }
    }

    /// Sync the typed value `T`: its writes are durable.
    pub(crate) fn sync<T: 'static>(&mut self) {
        if let Some(i) = self.position::<T>() {
            let s = &mut self.slots[i];
            s.synced = None;
            s.older.clear();
            // A borrow after the sync, in the same handler, is a new unsynced write.
            s.borrowed = false;
        }
    }

    /// Sync every typed value and the disk.
    pub(crate) fn sync_all(&mut self) {
        for s in &mut self.slots {
            s.synced = None;
            s.older.clear();
            s.borrowed = false;
        }
        self.disk.sync();
    }

    pub(crate) fn sync_disk(&mut self) {
        self.disk.sync();
    }

    /// Write `bytes` at `key` on the disk; refused while the disk is full.
    pub(crate) fn disk_write(&mut self, key: &str, bytes: &[u8]) -> Result<(), DiskFull> {
        if self.is_full() {
            return Err(DiskFull);
        }
        self.disk.write(key, Some(bytes.to_vec()), self.lossy);
        Ok(())
    }

    /// Remove `key` from the disk (never refused).
    pub(crate) fn disk_remove(&mut self, key: &str) {
        self.disk.write(key, None, self.lossy);
    }

    pub(crate) fn full_windows(&mut self) -> &mut Vec<u32> {
        &mut self.full
    }

    pub(crate) fn full_windows_ref(&self) -> &[u32] {
        &self.full
    }

    /// The node crashed: each unsynced write survives or not (see the module docs),
    /// drawn from `rng`. What was lost, per file, in order (typed values by position,
    /// then the disk); files with no unsynced write draw nothing and are not listed.
    pub(crate) fn crash(&mut self, rng: &mut SimRng) -> Vec<Loss> {
        let mut out = Vec::new();
        self.touched = false;
        for (i, s) in self.slots.iter_mut().enumerate() {
            s.borrowed = false;
            let Some(synced) = s.synced.take() else { continue };
            let older = std::mem::take(&mut s.older);
            let n = older.len() + 1;
            let kept = surviving(rng, n);
            if kept < n {
                s.value = if kept == 0 {
                    synced
                } else {
                    older.into_iter().nth(kept - 1).unwrap_or(synced)
                };
            }
            out.push(Loss {
                file: Some(i as u32),
                unsynced: n as u32,
                kept: kept as u32,
                torn: false,
            });
        }
        if !self.disk.journal.is_empty() {
            out.push(self.disk.crash(rng, self.torn));
        }
        out
    }
}

/// How many of `n` unsynced writes survive: each in turn with probability 1/2, up to
/// the first lost one.
fn surviving(rng: &mut SimRng, n: usize) -> usize {
    (0..n).take_while(|_| rng.chance(0.5)).count()
}

/// The byte disk's data.
#[derive(Default)]
struct DiskData {
    /// What reads see.
    view: BTreeMap<String, Vec<u8>>,
    /// What is durable (kept only when a crash may lose unsynced writes).
    durable: BTreeMap<String, Vec<u8>>,
    /// Unsynced writes, oldest first (`None`: a removal).
    journal: Vec<(String, Option<Vec<u8>>)>,
}

impl DiskData {
    fn write(&mut self, key: &str, bytes: Option<Vec<u8>>, lossy: bool) {
        match &bytes {
            Some(b) => {
                self.view.insert(key.to_string(), b.clone());
            }
            None => {
                self.view.remove(key);
            }
        }
        if lossy {
            self.journal.push((key.to_string(), bytes));
            if self.journal.len() > MAX_UNSYNCED {
                let (k, v) = self.journal.remove(0);
                apply(&mut self.durable, k, v);
            }
        }
    }

    fn sync(&mut self) {
        for (k, v) in std::mem::take(&mut self.journal) {
            apply(&mut self.durable, k, v);
        }
    }

    fn crash(&mut self, rng: &mut SimRng, torn: bool) -> Loss {
        let journal = std::mem::take(&mut self.journal);
        let n = journal.len();
        let kept = surviving(rng, n);
        let mut tore = false;
        for (i, (k, v)) in journal.into_iter().enumerate() {
            if i < kept {
                apply(&mut self.durable, k, v);
                continue;
            }
            if i == kept
                && torn
                && let Some(new) = v
                && !new.is_empty()
            {
                let cut = rng.range(0, new.len() as u64) as usize;
                let old = self.durable.get(&k).cloned().unwrap_or_default();
                let mut bytes = new[..cut].to_vec();
                if old.len() > cut {
                    bytes.extend_from_slice(&old[cut..]);
                }
                self.durable.insert(k, bytes);
                tore = true;
            }
            break;
        }
        self.view = self.durable.clone();
        Loss {
            file: None,
            unsynced: n as u32,
            kept: kept as u32,
            torn: tore,
        }
    }
}

fn apply(map: &mut BTreeMap<String, Vec<u8>>, k: String, v: Option<Vec<u8>>) {
    match v {
        Some(b) => {
            map.insert(k, b);
        }
        None => {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Stream;

    #[test]
    fn each_type_has_its_own_slot() {
        let mut s = Storage::default();
        assert!(s.is_empty());
        *s.get_or_default::<u64>() = 7;
        s.get_or_default::<String>().push_str("seven");
        *s.get_or_default::<u64>() += 1;
        assert_eq!(s.get::<u64>(), Some(&8));
        assert_eq!(s.get::<String>().map(String::as_str), Some("seven"));
        assert_eq!(s.get::<i64>(), None);
        assert_eq!(s.len(), 2);
        assert_eq!(format!("{s:?}"), "Storage { types: 2 }");
    }

    #[test]
    fn without_lossy_faults_nothing_is_tracked_or_lost() {
        let mut s = Storage::default();
        *s.get_or_default::<u64>() = 5;
        s.end_handler();
        s.disk_write("k", b"v").unwrap();
        assert_eq!((s.unsynced::<u64>(), s.disk_unsynced()), (0, 0));
        assert!(s.crash(&mut SimRng::new(1, Stream::Custom(9))).is_empty());
        assert_eq!((s.get::<u64>(), s.disk_read("k")), (Some(&5), Some(&b"v"[..])));
    }

    #[test]
    fn a_crash_keeps_a_prefix_of_each_values_unsynced_writes() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let mut s = Storage::default();
            s.set_faults(StorageFaults {
                lose_unsynced: true,
                torn_writes: false,
            });
            *s.get_or_default::<u64>() = 1;
            s.end_handler();
            s.sync::<u64>();
            for v in 2..=4 {
                *s.get_or_default::<u64>() = v;
                s.end_handler();
            }
            assert_eq!(s.unsynced::<u64>(), 3);
            let loss = s.crash(&mut SimRng::new(seed, Stream::Custom(9)));
            let v = *s.get::<u64>().unwrap();
            assert_eq!(loss.len(), 1);
            assert_eq!(loss[0].unsynced, 3);
            assert_eq!(
                v,
                1 + loss[0].kept as u64,
                "the prefix of kept writes decides the value"
            );
            seen.insert(v);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    }
}
