//! EDN history lines, one map per line as Jepsen writes them and as in Porcupine's kv
//! test data: `{:process 0, :type :invoke, :f :get, :key "x", :value nil}` (`:time` in
//! ns is read if present; `:process :nemesis` lines are skipped). Also the small EDN value
//! reader the Jepsen log parser uses: nil, booleans, integers, strings, keywords and
//! vectors.

use super::event::{Cols, Event, FUNCS, Func, Kind, LineError, Value};

/// A cursor over one line, counting 1-based columns in characters.
pub(crate) struct Cursor {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    /// Column of the line's first character (for a slice of a longer line).
    base: usize,
    /// Vectors open around the current value.
    depth: usize,
}

/// Vectors nest at most this deep (the reader is recursive).
const MAX_DEPTH: usize = 32;

impl Cursor {
    /// A cursor over `text`, which is line `line` starting at column `base`.
    pub(crate) fn new(text: &str, line: usize, base: usize) -> Cursor {
        Cursor {
            chars: text.chars().collect(),
            pos: 0,
            line,
            base,
            depth: 0,
        }
    }

    /// The current column.
    pub(crate) fn col(&self) -> usize {
        self.base + self.pos
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, LineError> {
        Err((self.line, self.col(), message.into()))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Skip whitespace and commas (EDN whitespace).
    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_whitespace() || c == ',') {
            self.pos += 1;
        }
    }

    /// Whether the line is used up (after whitespace).
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.chars.len()
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), LineError> {
        self.skip_ws();
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => self.err(format!("expected {what}, found {x:?}")),
            None => self.err(format!("expected {what}, found the end of the line (truncated?)")),
        }
    }

    /// A symbol-like token: letters, digits and `-_.?!*+/<>=`.
    fn token(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || "-_.?!*+/<>=".contains(c))
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// One EDN value.
    pub(crate) fn value(&mut self) -> Result<Value, LineError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return self.err(
                "expected a value (nil, a number, a string, a keyword or [..]), found the end of the line (truncated?)",
            );
        };
        match c {
            '"' => self.string().map(Value::Str),
            ':' => {
                self.pos += 1;
                let k = self.token();
                if k.is_empty() {
                    return self.err("expected a keyword name after ':'");
                }
                Ok(Value::Keyword(k))
            }
            '[' => {
                if self.depth >= MAX_DEPTH {
                    return self.err(format!("vectors nest deeper than {MAX_DEPTH}"));
                }
                self.pos += 1;
                self.depth += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(']') => {
                            self.pos += 1;
                            self.depth -= 1;
                            return Ok(Value::List(items));
                        }
                        None => return self.err("expected ']' to close the vector, found the end of the line"),
                        Some(_) => items.push(self.value()?),
                    }
                }
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let col = self.col();
                let t = self.token();
                t.parse::<i64>()
                    .map(Value::Int)
                    .map_err(|_| (self.line, col, format!("expected an integer (64-bit), found {t:?}")))
            }
            c if c.is_alphabetic() => {
                let col = self.col();
                match self.token().as_str() {
                    "nil" => Ok(Value::Nil),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    t => Err((
                        self.line,
                        col,
                        format!(
                            "expected a value (nil, true, false, a number, a string, a keyword or [..]), found {t:?}"
                        ),
                    )),
                }
            }
            c => self.err(format!(
                "expected a value (nil, a number, a string, a keyword or [..]), found {c:?}"
            )),
        }
    }

    fn string(&mut self) -> Result<String, LineError> {
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return self.err("expected '\"' to close the string, found the end of the line (truncated?)"),
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') => {
                    self.pos += 1;
                    let e = match self.peek() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        _ => return self.err("expected an escape (\\n, \\t, \\r, \\\", \\\\) after '\\'"),
                    };
                    s.push(e);
                    self.pos += 1;
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Parse the EDN lines of `text`: one map per non-blank line.
pub(crate) fn parse(text: &str) -> Result<Vec<Event>, LineError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(e) = parse_line(line, i + 1)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// One map; None for a nemesis line.
fn parse_line(line: &str, n: usize) -> Result<Option<Event>, LineError> {
    let mut c = Cursor::new(line, n, 1);
    c.expect('{', "'{' (one EDN map per line)")?;
    let mut fields: Vec<(String, usize, Value)> = Vec::new();
    loop {
        c.skip_ws();
        if c.peek() == Some('}') {
            c.pos += 1;
            break;
        }
        if c.peek().is_none() {
            return c.err("expected '}' to close the map, found the end of the line (truncated?)");
        }
        let col = c.col();
        let Value::Keyword(k) = c.value()? else {
            return Err((n, col, "expected a keyword key such as :process".into()));
        };
        c.skip_ws();
        let vcol = c.col();
        let v = c.value()?;
        fields.push((k, vcol, v));
    }
    if !c.at_end() {
        return c.err("expected the end of the line after the map");
    }
    let get = |k: &str| fields.iter().find(|(name, _, _)| name == k);
    let need = |k: &str| get(k).ok_or((n, 1, format!("expected the key :{k} in the map")));
    let (_, pcol, process) = need("process")?;
    let process = match process {
        Value::Int(p) if *p >= 0 => *p as u64,
        Value::Keyword(k) if k == "nemesis" => return Ok(None),
        v => {
            return Err((
                n,
                *pcol,
                format!(":process must be a non-negative integer or :nemesis, found {v}"),
            ));
        }
    };
    let (_, tcol, kind) = need("type")?;
    let kind = match kind {
        Value::Keyword(k) => Kind::parse(k),
        _ => None,
    }
    .ok_or((
        n,
        *tcol,
        format!(":type must be :invoke, :ok, :fail or :info, found {kind}"),
    ))?;
    let (_, fcol, func) = need("f")?;
    let func = match func {
        Value::Keyword(k) => Func::parse(k),
        _ => None,
    }
    .ok_or((
        n,
        *fcol,
        format!(":f must be one of {FUNCS} (as keywords), found {func}"),
    ))?;
    let time = match get("time") {
        None => None,
        Some((_, col, Value::Int(t))) if *t >= 0 => Some((*t as u64, *col)),
        Some((_, col, v)) => return Err((n, *col, format!(":time must be a non-negative integer (ns), found {v}"))),
    };
    let (key, kcol) = get("key").map_or((None, 0), |(_, col, v)| (Some(v.clone()), *col));
    let (value, vcol) = get("value").map_or((Value::Nil, 0), |(_, col, v)| (v.clone(), *col));
    Ok(Some(Event {
        line: n,
        process,
        kind,
        func,
        key,
        value,
        time: time.map(|t| t.0),
        cols: Cols {
            func: *fcol,
            key: kcol,
            value: vcol,
            time: time.map_or(0, |t| t.1),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_maps_skips_the_nemesis_and_names_the_column_of_a_problem() {
        let text = "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\n\
                    {:process :nemesis, :type :info, :f :start, :value nil}\n\
                    {:process 1, :type :ok, :f :get, :key \"9\", :value \"a\\\"b\", :time 12}\n";
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].process, e[0].kind, e[0].func), (9, Kind::Invoke, Func::Append));
        assert_eq!(e[0].value, Value::Str("x 9 0 y".into()));
        assert_eq!((e[1].line, e[1].time), (4, Some(12)));
        assert_eq!(e[1].value, Value::Str("a\"b".into()));
        let err = parse("{:process 1, :type :invoke, :f :frob, :key \"k\"}").unwrap_err();
        assert_eq!((err.0, err.1), (1, 32));
        assert!(err.2.contains(":f must be one of"), "{err:?}");
        let err = parse("{:process 1, :type :invoke, :f :get, :key \"k").unwrap_err();
        assert!(err.2.contains("truncated"), "{err:?}");
        let err = parse("{:process 1, :type :invoke, :f :get, :value 12x}").unwrap_err();
        assert_eq!(err.1, 45);
    }

    #[test]
    fn values() {
        let mut c = Cursor::new("[3 -4] nil :timed-out true", 1, 1);
        assert_eq!(c.value().unwrap(), Value::List(vec![Value::Int(3), Value::Int(-4)]));
        assert_eq!(c.value().unwrap(), Value::Nil);
        assert_eq!(c.value().unwrap(), Value::Keyword("timed-out".into()));
        assert_eq!(c.value().unwrap(), Value::Bool(true));
        assert!(c.at_end());
        let deep = "[".repeat(100_000);
        let err = Cursor::new(&deep, 1, 1).value().unwrap_err();
        assert_eq!((err.1, err.2.as_str()), (33, "vectors nest deeper than 32"));
        assert_eq!(Value::List(vec![Value::Int(1), Value::Nil]).to_string(), "[1 nil]");
    }
}
