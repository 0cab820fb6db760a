//! Operations of a history ([`Operation`]) and the sorted call/return entries the search
//! walks: by time, calls before returns at equal times (as Porcupine does); an operation
//! whose outcome is unknown returns at +infinity.

/// One operation of a history: who, what, when it was called and when it returned.
///
/// Times are in any monotone unit (ns in detsim). `ret: None` means it never returned;
/// `output: None` means its outcome is unknown (a timeout, Jepsen's `:info`). Either way
/// the operation may take effect or not, at any time after its call: the checker gives it
/// a return time of +infinity (`ret` is then kept only for drawing).
#[derive(Clone, Debug, PartialEq)]
pub struct Operation<I, O> {
    /// The client (process) that called it.
    pub client: u64,
    /// What was asked.
    pub input: I,
    /// When it was called.
    pub call: u64,
    /// When it returned (None = never).
    pub ret: Option<u64>,
    /// What it returned (None = unknown).
    pub output: Option<O>,
}

impl<I, O> Operation<I, O> {
    /// Whether the outcome is unknown (no return, or no output).
    pub fn unknown(&self) -> bool {
        self.ret.is_none() || self.output.is_none()
    }

    /// The return time the checker uses: `ret`, or +infinity (`u64::MAX`) when unknown.
    pub fn effective_return(&self) -> u64 {
        match (self.ret, &self.output) {
            (Some(r), Some(_)) => r,
            _ => u64::MAX,
        }
    }
}

/// The first operation (by index) whose times make no sense, as a reason: a return
/// before its call, or a call at +infinity.
pub(crate) fn invalid_times<I, O>(ops: &[Operation<I, O>]) -> Option<String> {
    ops.iter().enumerate().find_map(|(i, op)| {
        if op.call == u64::MAX {
            Some(format!(
                "operation {i} is called at time u64::MAX (reserved for +infinity)"
            ))
        } else if op.ret.is_some_and(|r| r < op.call) {
            Some(format!(
                "operation {i} returns (at {}) before its call (at {})",
                op.ret.unwrap_or(0),
                op.call
            ))
        } else {
            None
        }
    })
}

/// One end of an operation in the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The operation's position in the partition's list.
    pub op: usize,
    /// Call (true) or return (false).
    pub call: bool,
    /// Its time (+infinity = `u64::MAX` for an unknown return).
    pub time: u64,
}

/// The call and return entries of `ops` (the partition's operations, indices into
/// `all`), sorted by time, calls before returns at equal times, then by position.
pub(crate) fn entries<I, O>(all: &[Operation<I, O>], ops: &[usize]) -> Vec<Entry> {
    let mut out = Vec::with_capacity(ops.len() * 2);
    for (local, &i) in ops.iter().enumerate() {
        let op = &all[i];
        out.push(Entry {
            op: local,
            call: true,
            time: op.call,
        });
        out.push(Entry {
            op: local,
            call: false,
            time: op.effective_return(),
        });
    }
    out.sort_by_key(|e| (e.time, !e.call, e.op));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call: u64, ret: Option<u64>, output: Option<u8>) -> Operation<u8, u8> {
        Operation {
            client: 0,
            input: 0,
            call,
            ret,
            output,
        }
    }

    #[test]
    fn calls_come_before_returns_at_equal_times_and_unknown_returns_last() {
        let all = [
            op(5, Some(10), Some(1)),
            op(10, Some(12), Some(1)),
            op(0, None, None),
            op(1, Some(2), None),
        ];
        let e = entries(&all, &[0, 1, 2, 3]);
        let seq: Vec<(usize, bool)> = e.iter().map(|e| (e.op, e.call)).collect();
        assert_eq!(
            seq,
            vec![
                (2, true),
                (3, true),
                (0, true),
                (1, true),
                (0, false),
                (1, false),
                (2, false),
                (3, false)
            ]
        );
        assert_eq!(all[3].effective_return(), u64::MAX);
        assert!(all[3].unknown() && !all[0].unknown());
    }

    #[test]
    fn times_are_validated() {
        assert_eq!(invalid_times(&[op(1, Some(2), Some(0))]), None);
        assert!(
            invalid_times(&[op(5, Some(2), Some(0))])
                .unwrap()
                .contains("before its call")
        );
        assert!(invalid_times(&[op(u64::MAX, None, None)]).is_some());
    }
}
