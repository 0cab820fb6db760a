//! Finding the field a type error is about when serde cannot say. serde reads an
//! internally tagged object (a node with its `role`, a fault with its `kind`, a
//! distribution with its `dist`, arrivals with their `kind`) by buffering it whole and
//! then deserializing the variant from the buffer, so an error inside it reaches
//! `serde_path_to_error` with the object's path only (`nodes[4]`, not `nodes[4].think`).
//!
//! [`locate`] narrows the path down the same way for every such object, knowing nothing
//! of the format: starting at the reported path, it re-checks the file with only a prefix
//! of the object's entries (or of the array's elements) kept; the first entry whose
//! inclusion brings the same error back is the one at fault, and the search descends into
//! it. Tag entries (those whose value names a variant: replacing it by a name that is no
//! variant gives "unknown variant") are always kept, since without them nothing inside is
//! read. For "missing field `f`", the search descends instead into the object that
//! lacks `f`: the one that, given `"f": null`, stops giving that error without refusing
//! the field. This runs only after an error, on a bounded budget of re-checks, and falls
//! back to serde's own path when it finds nothing.

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// An object's entry.
    Key(String),
    /// An array's element.
    Index(usize),
}

/// A field path as the error messages write it: `nodes[4].service_time.mean`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// A value's place in the text, byte offsets `[start, end)`, and, for containers, their
/// parts.
#[derive(Clone, Debug)]
struct Span {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Scalar,
    /// Entries: the key, where the entry starts (its key's quote), and the value.
    Object(Vec<(String, usize, Span)>),
    Array(Vec<Span>),
}

/// Deepest nesting scanned (serde_json refuses more than 128 anyway).
const MAX_DEPTH: usize = 200;
/// Most values scanned: a larger file is not narrowed down (its memory stays bounded).
const MAX_VALUES: usize = 300_000;

/// A minimal JSON scanner that records where each value is. The text has already been
/// accepted by serde_json's parser (the error is a type error), but any surprise gives
/// `None`, never a panic.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    values: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn string_end(&mut self) -> Option<()> {
        // At the opening quote.
        self.i += 1;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
        None
    }

    fn value(&mut self, depth: usize) -> Option<Span> {
        self.values += 1;
        if depth > MAX_DEPTH || self.values > MAX_VALUES {
            return None;
        }
        self.ws();
        let start = self.i;
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.ws();
                    match *self.b.get(self.i)? {
                        b'}' => {
                            self.i += 1;
                            break;
                        }
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        b'"' => {
                            let key_start = self.i;
                            self.string_end()?;
                            let key: String = serde_json::from_slice(&self.b[key_start..self.i]).ok()?;
                            self.ws();
                            if self.b.get(self.i) != Some(&b':') {
                                return None;
                            }
                            self.i += 1;
                            let v = self.value(depth + 1)?;
                            entries.push((key, key_start, v));
                        }
                        _ => return None,
                    }
                }
                Some(Span {
                    start,
                    end: self.i,
                    kind: Kind::Object(entries),
                })
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    match *self.b.get(self.i)? {
                        b']' => {
                            self.i += 1;
                            break;
                        }
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => items.push(self.value(depth + 1)?),
                    }
                }
                Some(Span {
                    start,
                    end: self.i,
                    kind: Kind::Array(items),
                })
            }
            b'"' => {
                self.string_end()?;
                Some(Span {
                    start,
                    end: self.i,
                    kind: Kind::Scalar,
                })
            }
            _ => {
                while self.i < self.b.len()
                    && !matches!(self.b[self.i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    self.i += 1;
                }
                (self.i > start).then_some(Span {
                    start,
                    end: self.i,
                    kind: Kind::Scalar,
                })
            }
        }
    }
}

/// What one re-check of a changed text gave: `None` when it parsed, else the error's
/// path and message (without its line and column).
pub type Outcome = Option<(String, String)>;

/// At most this many re-checks per error.
const MAX_TRIALS: usize = 200;
/// At most this many bytes re-checked per error, over all re-checks.
const MAX_TRIAL_BYTES: usize = 64 << 20;

/// Where the error is: the refined path, and the byte offset of the entry (its key) or
/// element it names. `None` when the reported path cannot be refined.
pub struct Located {
    /// The full path.
    pub path: Vec<Seg>,
    /// Byte offset in the text of what the path names.
    pub offset: usize,
}

/// Narrow down the error `(reported, message)` that `check` gives on `text` (see the
/// module doc). `check` re-runs the same deserialization on a changed text.
pub fn locate(text: &str, reported: &[Seg], message: &str, check: &mut dyn FnMut(&str) -> Outcome) -> Option<Located> {
    let baseline: Outcome = Some((path_string(reported), message.to_string()));
    let mut budget = Budget {
        trials: 0,
        bytes: 0,
        len: text.len(),
    };
    // "missing field `f`": the object that lacks `f` may be one inside the reported one.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
        .map(str::to_string);
    let mut path = reported.to_vec();
    // Each step searches in the text that brought the error back at the step before:
    // with what came after the culprit left out, an identical error further on cannot
    // be mistaken for it.
    let mut working = text.to_string();
    while let Some(root) = scan(&working) {
        let Some((here, _)) = find(&root, &path) else { break };
        let found = match &missing {
            Some(field) => lacking(&working, here, field, &baseline, check, &mut budget).map(|s| (s, working.clone())),
            None => culprit(&working, here, &baseline, check, &mut budget),
        };
        let Some((seg, next)) = found else { break };
        path.push(seg);
        working = next;
    }
    if path.len() == reported.len() {
        return None;
    }
    let root = scan(text)?;
    let (_, offset) = find(&root, &path)?;
    Some(Located { path, offset })
}

/// The values of `text`, with their places.
fn scan(text: &str) -> Option<Span> {
    Scanner {
        b: text.as_bytes(),
        i: 0,
        values: 0,
    }
    .value(0)
}

/// The value at `path` under `root`, and where its last step starts (the entry's key, or
/// the element).
fn find<'s>(root: &'s Span, path: &[Seg]) -> Option<(&'s Span, usize)> {
    let mut here = root;
    let mut at = root.start;
    for seg in path {
        (here, at) = match (seg, &here.kind) {
            (Seg::Key(k), Kind::Object(entries)) => {
                let (_, key_at, v) = entries.iter().find(|(key, _, _)| key == k)?;
                (v, *key_at)
            }
            (Seg::Index(i), Kind::Array(items)) => {
                let v = items.get(*i)?;
                (v, v.start)
            }
            _ => return None,
        };
    }
    Some((here, at))
}

struct Budget {
    trials: usize,
    bytes: usize,
    len: usize,
}

impl Budget {
    fn take(&mut self) -> bool {
        self.trials += 1;
        self.bytes += self.len;
        self.trials <= MAX_TRIALS && self.bytes <= MAX_TRIAL_BYTES
    }
}

/// `text` with `span` replaced by `with`.
fn splice(text: &str, span: &Span, with: &str) -> String {
    let mut s = String::with_capacity(text.len() + with.len());
    s.push_str(&text[..span.start]);
    s.push_str(with);
    s.push_str(&text[span.end..]);
    s
}

/// The entry or element of `here` that is (or holds) the object lacking `field`: giving
/// it the field (`null`) changes the error to one that is neither the baseline nor an
/// "unknown field" (an object that has no such field refuses it).
fn lacking(
    text: &str,
    here: &Span,
    field: &str,
    baseline: &Outcome,
    check: &mut dyn FnMut(&str) -> Outcome,
    budget: &mut Budget,
) -> Option<Seg> {
    let key = serde_json::to_string(field).ok()?;
    let candidates: Vec<(Seg, &Span)> = match &here.kind {
        Kind::Scalar => return None,
        Kind::Object(entries) => entries.iter().map(|(k, _, v)| (Seg::Key(k.clone()), v)).collect(),
        Kind::Array(items) => items.iter().enumerate().map(|(i, v)| (Seg::Index(i), v)).collect(),
    };
    for (seg, v) in candidates {
        match &v.kind {
            // Only objects without the field ...
            Kind::Object(entries) if !entries.iter().any(|(k, _, _)| k == field) => {
                if !budget.take() {
                    return None;
                }
                let sep = if entries.is_empty() { "" } else { "," };
                let with = format!("{{{key}:null{sep}{}", &text[v.start + 1..v.end]);
                let got = check(&splice(text, v, &with));
                let refused = got
                    .as_ref()
                    .is_some_and(|(_, m)| m.starts_with(&format!("unknown field `{field}`")));
                if got != *baseline && !refused {
                    return Some(seg);
                }
            }
            // ... and arrays that hold one.
            Kind::Array(_) if lacking(text, v, field, baseline, check, budget).is_some() => return Some(seg),
            _ => {}
        }
    }
    None
}

/// The entry or element of `here` the baseline error is about, if one can be found, with
/// the text that brought the error back (what follows the culprit left out).
fn culprit(
    text: &str,
    here: &Span,
    baseline: &Outcome,
    check: &mut dyn FnMut(&str) -> Outcome,
    budget: &mut Budget,
) -> Option<(Seg, String)> {
    match &here.kind {
        Kind::Scalar => None,
        Kind::Array(items) => {
            // The first element whose inclusion brings the error back; none if the error
            // comes without any (the array itself is what is wrong).
            for i in 0..=items.len() {
                if !budget.take() {
                    return None;
                }
                let kept: Vec<&str> = items[..i].iter().map(|s| &text[s.start..s.end]).collect();
                let trial = splice(text, here, &format!("[{}]", kept.join(",")));
                if check(&trial) == *baseline {
                    return Some((Seg::Index(i.checked_sub(1)?), trial));
                }
            }
            None
        }
        Kind::Object(entries) => {
            let value_text = |e: &(String, usize, Span)| &text[e.2.start..e.2.end];
            // Tags: string values that name a variant. A tag whose variant is unknown is
            // itself the error.
            let mut tags = vec![false; entries.len()];
            for (t, e) in tags.iter_mut().zip(entries) {
                if !matches!(e.2.kind, Kind::Scalar) || !value_text(e).starts_with('"') {
                    continue;
                }
                if !budget.take() {
                    return None;
                }
                if let Some((_, m)) = check(&splice(text, &e.2, "\"\\u0001\"")) {
                    *t = m.starts_with("unknown variant");
                }
                let name: Option<String> = serde_json::from_str(value_text(e)).ok();
                if *t
                    && let (Some(name), Some((_, b))) = (name, baseline)
                    && b.starts_with(&format!("unknown variant `{name}`"))
                {
                    return Some((Seg::Key(e.0.clone()), text.to_string()));
                }
            }
            // The first entry whose inclusion (tags always kept) brings the error back;
            // none if the error comes with the tags alone (the object itself is wrong).
            let prefixes = std::iter::once(None).chain((0..entries.len()).filter(|&i| !tags[i]).map(Some));
            for last in prefixes {
                if !budget.take() {
                    return None;
                }
                let kept: Vec<&str> = entries
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| last.is_some_and(|i| *j <= i) || tags[*j])
                    .map(|(_, e)| &text[e.1..e.2.end])
                    .collect();
                let trial = splice(text, here, &format!("{{{}}}", kept.join(",")));
                if check(&trial) == *baseline {
                    return Some((Seg::Key(entries[last?].0.clone()), trial));
                }
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_finds_every_value_and_survives_garbage() {
        let text = r#" {"a": [1, "x\"y", {"b": null}], "c": -1.5e3} "#;
        let root = scan(text).unwrap();
        let Kind::Object(entries) = &root.kind else { panic!() };
        assert_eq!(entries.len(), 2);
        assert_eq!(&text[entries[1].2.start..entries[1].2.end], "-1.5e3");
        let Kind::Array(items) = &entries[0].2.kind else {
            panic!()
        };
        assert_eq!(&text[items[1].start..items[1].end], r#""x\"y""#);
        for bad in ["", "{", "[1,", "{\"a\" 1}", "\"open", "{1:2}", &"[".repeat(500)] {
            assert!(scan(bad).is_none(), "{bad}");
        }
        let many = format!("[{}1]", "1,".repeat(MAX_VALUES));
        assert!(scan(&many).is_none(), "too many values: not scanned");
    }

    #[test]
    fn paths_print_as_the_messages_write_them() {
        let p = [Seg::Key("nodes".into()), Seg::Index(4), Seg::Key("think".into())];
        assert_eq!(path_string(&p), "nodes[4].think");
        assert_eq!(path_string(&[Seg::Index(0)]), "[0]");
    }
}
