//! Short arrow labels made from a message's `Debug` text, e.g.
//! `Rpc(Call { call: 3, ack_below: 1, req: Multiply { a: 6, b: 7 } })` becomes
//! `Multiply(6, 7)` and `Rpc(Return { call: 3, reply: Ok(42) })` becomes `= 42`.
//!
//! Works for any message type with a derived `Debug`; what it cannot read it shortens.

/// The longest label, in characters.
pub const MAX_LABEL: usize = 40;

/// Bookkeeping fields left out of labels.
const SKIP: [&str; 6] = ["call", "ack_below", "assign", "incarnation", "req_id", "report"];

#[derive(Debug, PartialEq)]
enum Tree {
    Atom(String),
    Tuple(String, Vec<Tree>),
    Struct(String, Vec<(String, Tree)>),
    List(Vec<Tree>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i] == b' ' {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn word(&mut self) -> String {
        self.ws();
        let start = self.i;
        if self.s.get(self.i) == Some(&b'"') {
            self.i += 1;
            while self.i < self.s.len() && self.s[self.i] != b'"' {
                if self.s[self.i] == b'\\' {
                    self.i += 1;
                }
                self.i += 1;
            }
            self.i = (self.i + 1).min(self.s.len());
        } else {
            while self.i < self.s.len() && !b"{}()[], :".contains(&self.s[self.i]) {
                self.i += 1;
            }
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn value(&mut self) -> Option<Tree> {
        self.depth += 1;
        if self.depth > 32 {
            return None;
        }
        let out = if self.eat(b'[') {
            let mut items = Vec::new();
            while !self.eat(b']') {
                items.push(self.value()?);
                if !self.eat(b',') && !self.eat(b']') {
                    return None;
                } else if self.s.get(self.i - 1) == Some(&b']') {
                    break;
                }
            }
            Some(Tree::List(items))
        } else if self.eat(b'(') {
            // A bare tuple: keep it as an unnamed tuple.
            self.tuple_rest(String::new())
        } else {
            let name = self.word();
            if name.is_empty() {
                return None;
            }
            if self.eat(b'(') {
                self.tuple_rest(name)
            } else if self.eat(b'{') {
                let mut fields = Vec::new();
                loop {
                    if self.eat(b'}') {
                        break;
                    }
                    let f = self.word();
                    if f.is_empty() || !self.eat(b':') {
                        return None;
                    }
                    fields.push((f, self.value()?));
                    if !self.eat(b',') && !self.eat(b'}') {
                        return None;
                    } else if self.s.get(self.i - 1) == Some(&b'}') {
                        break;
                    }
                }
                Some(Tree::Struct(name, fields))
            } else {
                Some(Tree::Atom(name))
            }
        };
        self.depth -= 1;
        out
    }
    fn tuple_rest(&mut self, name: String) -> Option<Tree> {
        let mut items = Vec::new();
        loop {
            if self.eat(b')') {
                break;
            }
            items.push(self.value()?);
            if !self.eat(b',') && !self.eat(b')') {
                return None;
            } else if self.s.get(self.i - 1) == Some(&b')') {
                break;
            }
        }
        Some(Tree::Tuple(name, items))
    }
}

fn parse(text: &str) -> Option<Tree> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let t = p.value()?;
    p.ws();
    (p.i == p.s.len()).then_some(t)
}

/// A value in few characters: `NodeId(0)` -> `0`, `JobId { origin: .., seq: 3 }` -> `0/3`.
fn compact(t: &Tree) -> String {
    match t {
        Tree::Atom(a) => a.clone(),
        Tree::Tuple(_, items) if items.len() == 1 => compact(&items[0]),
        Tree::Tuple(_, items) => format!("({})", join(items.iter().map(compact))),
        Tree::Struct(_, fields) => fields.iter().map(|(_, v)| compact(v)).collect::<Vec<_>>().join("/"),
        Tree::List(items) => format!("[{}]", join(items.iter().map(compact))),
    }
}

fn join(it: impl Iterator<Item = String>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// `Name(v1, v2)` from a struct's or tuple's values.
fn call_form(t: &Tree) -> String {
    match t {
        Tree::Struct(name, fields) => {
            let args = join(
                fields
                    .iter()
                    .filter(|(f, _)| !SKIP.contains(&f.as_str()))
                    .map(|(_, v)| compact(v)),
            );
            format!("{name}({args})")
        }
        Tree::Tuple(name, items) => format!("{name}({})", join(items.iter().map(compact))),
        other => compact(other),
    }
}

fn label_tree(t: &Tree) -> String {
    match t {
        // An enum wrapping one message (`Rpc(...)`): label what it wraps.
        Tree::Tuple(_, items) if items.len() == 1 && !matches!(items[0], Tree::Atom(_)) => label_tree(&items[0]),
        Tree::Struct(_, fields) => {
            if let Some((_, req)) = fields.iter().find(|(f, v)| f == "req" && !matches!(v, Tree::Atom(_))) {
                return call_form(req);
            }
            if let Some((_, reply)) = fields.iter().find(|(f, _)| f == "reply") {
                return match reply {
                    Tree::Tuple(n, items) if n == "Ok" && items.len() == 1 => format!("= {}", compact(&items[0])),
                    Tree::Tuple(n, items) if n == "Err" && items.len() == 1 => format!("= {}", compact(&items[0])),
                    other => format!("= {}", compact(other)),
                };
            }
            call_form(t)
        }
        other => call_form(other),
    }
}

/// `s`, cut to [`MAX_LABEL`] characters (the last one `…`) when longer.
pub fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX_LABEL - 1).collect();
        out.push('…');
        out
    }
}

/// The arrow label for a message whose `Debug` text is `debug`.
pub fn label(debug: &str) -> String {
    match parse(debug.trim()) {
        Some(t) => shorten(&label_tree(&t)),
        None => shorten(debug.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::Msg;
    use crate::protocols::rpc::{AppError, Request, RpcMsg};
    use crate::protocols::worker_pool::{JobId, PoolMsg, SlotReport};

    fn of(m: &Msg) -> String {
        label(&format!("{m:?}"))
    }

    #[test]
    fn labels_of_the_built_in_messages() {
        let call = Msg::Rpc(RpcMsg::Call {
            call: 3,
            ack_below: 1,
            req: Request::Multiply { a: 6, b: 7 },
        });
        assert_eq!(of(&call), "Multiply(6, 7)");
        assert_eq!(of(&Msg::Rpc(RpcMsg::Return { call: 3, reply: Ok(42) })), "= 42");
        assert_eq!(
            of(&Msg::Rpc(RpcMsg::Return {
                call: 3,
                reply: Err(AppError::DivideByZero)
            })),
            "= DivideByZero"
        );
        let job = JobId {
            origin: crate::NodeId(0),
            seq: 3,
        };
        assert_eq!(of(&Msg::Pool(PoolMsg::Submit { job, value: 3 })), "Submit(0/3, 3)");
        assert_eq!(
            of(&Msg::Pool(PoolMsg::Done {
                assign: 9,
                job,
                result: 6,
                report: Box::new(SlotReport {
                    held: vec![4, 5],
                    ..SlotReport::default()
                }),
            })),
            "Done(0/3, 6)"
        );
        let report = Box::default();
        assert_eq!(
            of(&Msg::Pool(PoolMsg::Declined { assign: 9, job, report })),
            "Declined(0/3)"
        );
    }

    #[test]
    fn anything_else_is_shortened_not_refused() {
        assert_eq!(label("42"), "42");
        assert_eq!(label("Ping"), "Ping");
        assert_eq!(label("Hello { name: \"a, b\" }"), "Hello(\"a, b\")");
        let long = "x".repeat(100);
        assert_eq!(label(&long).chars().count(), MAX_LABEL);
        assert!(label("Broken { a: ").starts_with("Broken"));
        assert_eq!(label(&"(".repeat(100)).chars().count(), MAX_LABEL);
    }
}
