//! One line of a history file, whatever its format: an [`Event`] (a process invokes an
//! operation or learns how it ended), its [`Value`]s, and the [`HistoryError`] that names
//! the file, line and column of a problem.

/// A value in a history file (the EDN / JSON values the formats share).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `nil` / `null`, or absent.
    Nil,
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A keyword such as `:timed-out` (EDN and Jepsen logs).
    Keyword(String),
    /// `true` / `false`.
    Bool(bool),
    /// A vector such as `[1 2]`.
    List(Vec<Value>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::List(l) => {
                write!(f, "[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        write!(f, " ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
        }
    }
}

/// What happened: an invocation or one of Jepsen's three completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The process called the operation.
    Invoke,
    /// It completed and took effect.
    Ok,
    /// It definitely did not take effect (for a cas: the compare failed).
    Fail,
    /// Its outcome is unknown (e.g. a timeout).
    Info,
}

impl Kind {
    /// From `invoke`, `ok`, `fail`, `info`.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "invoke" => Kind::Invoke,
            "ok" => Kind::Ok,
            "fail" => Kind::Fail,
            "info" => Kind::Info,
            _ => return None,
        })
    }
}

/// The operations the formats know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// Register read.
    Read,
    /// Register write.
    Write,
    /// Register compare-and-set.
    Cas,
    /// Key-value get.
    Get,
    /// Key-value put.
    Put,
    /// Key-value append.
    Append,
}

impl Func {
    /// From `read`, `write`, `cas`, `get`, `put`, `append`.
    pub fn parse(s: &str) -> Option<Func> {
        Some(match s {
            "read" => Func::Read,
            "write" => Func::Write,
            "cas" => Func::Cas,
            "get" => Func::Get,
            "put" => Func::Put,
            "append" => Func::Append,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Func::Read => "read",
            Func::Write => "write",
            Func::Cas => "cas",
            Func::Get => "get",
            Func::Put => "put",
            Func::Append => "append",
        }
    }
}

/// The expected operation names, for errors.
pub(crate) const FUNCS: &str = "read, write, cas, get, put, append";

/// One event of a history file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its line (1-based).
    pub line: usize,
    /// The process.
    pub process: u64,
    /// Invoke or completion.
    pub kind: Kind,
    /// The operation.
    pub func: Func,
    /// The key (key-value operations).
    pub key: Option<Value>,
    /// The value.
    pub value: Value,
    /// Its time (ns), if the file gives one.
    pub time: Option<u64>,
    /// Columns (1-based) of the operation, key and value, for errors.
    pub cols: Cols,
}

/// Where an event's fields start on its line (1-based columns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cols {
    /// The operation name.
    pub func: usize,
    /// The key.
    pub key: usize,
    /// The value.
    pub value: usize,
    /// The time.
    pub time: usize,
}

/// A problem in a history file: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// The file.
    pub file: String,
    /// Line (1-based; 0 = the file as a whole).
    pub line: usize,
    /// Column (1-based; 0 = the line as a whole).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for HistoryError {}

/// A problem on a line, before the file name is known: (line, column, message).
pub(crate) type LineError = (usize, usize, String);
