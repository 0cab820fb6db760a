//! [`RunMap`]: a map from integer ids (call ids, job sequence numbers) to small values,
//! stored as runs of consecutive ids with the same value, so that online checkers can
//! remember what is settled in memory proportional to the gaps, not to the ids: the
//! ids a client or dispatcher settles arrive mostly in order, so the settled ones form a
//! few runs and the gaps are the work still live.

use std::collections::BTreeMap;

/// Ids mapped to values, as runs `[start, end)` of consecutive ids with one value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMap<V> {
    /// start -> (end, exclusive; value).
    runs: BTreeMap<u64, (u64, V)>,
    len: u64,
}

/// A set of ids, as runs.
pub type IdSet = RunMap<()>;

impl<V: Copy + Eq> RunMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        RunMap {
            runs: BTreeMap::new(),
            len: 0,
        }
    }

    /// The run holding `id`: (start, end, value).
    fn run_of(&self, id: u64) -> Option<(u64, u64, V)> {
        let (&s, &(e, v)) = self.runs.range(..=id).next_back()?;
        (id < e).then_some((s, e, v))
    }

    /// The value of `id`.
    pub fn get(&self, id: u64) -> Option<V> {
        self.run_of(id).map(|r| r.2)
    }

    /// Is `id` in the map?
    pub fn contains(&self, id: u64) -> bool {
        self.run_of(id).is_some()
    }

    /// Map `id` to `v` (replacing its value); merges with the runs beside it.
    pub fn insert(&mut self, id: u64, v: V) {
        if let Some(old) = self.get(id) {
            if old == v {
                return;
            }
            self.remove(id);
        }
        self.len += 1;
        let mut start = id;
        let mut end = id.saturating_add(1);
        // The run ending just before `id`, with the same value.
        if let Some((&s, &(e, w))) = self.runs.range(..id).next_back()
            && e == id
            && w == v
        {
            self.runs.remove(&s);
            start = s;
        }
        // The run starting just after it.
        if let Some(&(e, w)) = self.runs.get(&end)
            && w == v
            && end > id
        {
            self.runs.remove(&end);
            end = e;
        }
        self.runs.insert(start, (end, v));
    }

    /// Remove `id`; its value, if it was there.
    pub fn remove(&mut self, id: u64) -> Option<V> {
        let (s, e, v) = self.run_of(id)?;
        self.len -= 1;
        self.runs.remove(&s);
        if s < id {
            self.runs.insert(s, (id, v));
        }
        if id + 1 < e {
            self.runs.insert(id + 1, (e, v));
        }
        Some(v)
    }

    /// Remove every id below `below`.
    pub fn remove_below(&mut self, below: u64) {
        while let Some((&s, &(e, v))) = self.runs.first_key_value() {
            if s >= below {
                break;
            }
            self.runs.remove(&s);
            let cut = e.min(below);
            self.len -= cut - s;
            if cut < e {
                self.runs.insert(cut, (e, v));
            }
        }
    }

    /// How many ids it holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it holds no id.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many runs it is stored as (its memory, in entries).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// The smallest id.
    pub fn first(&self) -> Option<u64> {
        self.runs.keys().next().copied()
    }

    /// Every (id, value), ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u64, V)> + '_ {
        self.runs.iter().flat_map(|(&s, &(e, v))| (s..e).map(move |i| (i, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_split_and_count() {
        let mut m = IdSet::new();
        for i in [3, 1, 2, 5, 4, 0] {
            m.insert(i, ());
        }
        assert_eq!((m.len(), m.runs()), (6, 1));
        assert_eq!(m.remove(2), Some(()));
        assert_eq!(m.remove(2), None);
        assert_eq!((m.len(), m.runs()), (5, 2));
        assert!(m.contains(1) && !m.contains(2) && m.contains(3) && !m.contains(6));
        m.remove_below(4);
        assert_eq!(m.iter().map(|x| x.0).collect::<Vec<_>>(), vec![4, 5]);
        let mut v: RunMap<u8> = RunMap::new();
        v.insert(1, 7);
        v.insert(2, 8);
        v.insert(3, 7);
        assert_eq!(v.runs(), 3);
        v.insert(2, 7);
        assert_eq!((v.runs(), v.len(), v.get(2)), (1, 3, Some(7)));
        assert_eq!(v.first(), Some(1));
    }
}
