//! One node of a scenario file, `{"id": "s1", "role": "rpc_server", ...}`: its id, its
//! role, and its config, resolved through the registered [`Protocols`] (the role names
//! the protocol and the config type). Read like an internally tagged object: the role
//! first, then the id, then the role's fields, with serde's own messages (an unknown role
//! lists the registered ones; an unknown field lists `id` and the role's fields), so that
//! [`super::locate`] narrows errors down inside it as inside any tagged object.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use super::clock::ClockSpec;
use crate::plugin::{NodeConfig, NodeRef, Protocols};

/// A node of the scenario.
#[derive(Debug)]
pub struct NodeEntry {
    /// Its id.
    pub id: String,
    /// Its role (`"rpc_server"`, ...).
    pub role: &'static str,
    /// The protocol of its role (`"rpc"`, ...).
    pub protocol: &'static str,
    /// Its config.
    pub config: Box<dyn NodeConfig>,
    /// Its processing model (`"processing": {"service": ..., "speed": 1.0}`), if any:
    /// it then handles its messages one at a time (see `engine/processing.rs`).
    pub processing: Option<super::gray::ProcessingSpec>,
    /// Its clock (`"clock": {...}`, any role; see `scenario/clock.rs`), if it has one.
    pub clock: Option<ClockSpec>,
}

impl NodeEntry {
    /// The node `id` of `role` (of `protocol`) with `config`.
    pub fn new(id: &str, protocol: &'static str, role: &'static str, config: impl NodeConfig) -> NodeEntry {
        NodeEntry {
            id: id.to_string(),
            role,
            protocol,
            config: Box::new(config),
            processing: None,
            clock: None,
        }
    }

    /// The same node with this clock.
    pub fn with_clock(self, clock: ClockSpec) -> NodeEntry {
        NodeEntry {
            clock: Some(clock),
            ..self
        }
    }

    /// The node's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The node as protocols see it.
    pub fn as_ref(&self) -> NodeRef<'_> {
        NodeRef {
            id: &self.id,
            role: self.role,
            protocol: self.protocol,
            config: self.config.as_ref(),
        }
    }

    /// The same node with every planted bug (canary) switched off.
    pub fn without_canaries(&self) -> NodeEntry {
        NodeEntry {
            config: self.config.without_canaries(),
            ..self.clone()
        }
    }
}

impl Clone for NodeEntry {
    fn clone(&self) -> Self {
        NodeEntry {
            id: self.id.clone(),
            role: self.role,
            protocol: self.protocol,
            config: self.config.clone_box(),
            processing: self.processing.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl PartialEq for NodeEntry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.role == other.role
            && self.config.eq_dyn(other.config.as_ref())
            && self.processing == other.processing
            && self.clock == other.clock
    }
}

/// A JSON value that keeps its objects' entries in order, duplicates included.
#[derive(Clone, Debug)]
enum Json {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Json::Null => Unexpected::Unit,
            Json::Bool(b) => Unexpected::Bool(*b),
            Json::Num(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Unexpected::Unsigned(u),
                (_, Some(i), _) => Unexpected::Signed(i),
                (_, _, f) => Unexpected::Float(f.unwrap_or(f64::NAN)),
            },
            Json::Str(s) => Unexpected::Str(s),
            Json::Arr(_) => Unexpected::Seq,
            Json::Obj(_) => Unexpected::Map,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
                Json::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Num(n.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Num(n.into()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Json, E> {
                Ok(serde_json::Number::from_f64(x).map_or(Json::Null, Json::Num))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Json::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, Json>()? {
                    v.push((k, x));
                }
                Ok(Json::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Num(n) => n.serialize(s),
            Json::Str(x) => s.serialize_str(x),
            Json::Arr(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Json::Obj(v) => {
                let mut map = s.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    map.serialize_entry(k, x)?;
                }
                map.end()
            }
        }
    }
}

impl Serialize for NodeEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let text = self.config.to_json().map_err(S::Error::custom)?;
        let fields = match serde_json::from_str::<Json>(&text).map_err(S::Error::custom)? {
            Json::Obj(v) => v,
            _ => {
                return Err(S::Error::custom(format!(
                    "the config of node {:?} is not an object",
                    self.id
                )));
            }
        };
        let mut map = s.serialize_map(Some(fields.len() + 2 + usize::from(self.clock.is_some())))?;
        map.serialize_entry("role", self.role)?;
        map.serialize_entry("id", &self.id)?;
        for (k, v) in &fields {
            map.serialize_entry(k, v)?;
        }
        if let Some(p) = &self.processing {
            map.serialize_entry("processing", p)?;
        }
        if let Some(c) = &self.clock {
            map.serialize_entry("clock", c)?;
        }
        map.end()
    }
}

/// serde's "expected" list of names: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".into(),
        [a] => format!("`{a}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => format!(
            "one of {}",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A config's error message, without serde_json's position (the outer error has it),
/// with `id` among the fields an unknown field could have been.
fn config_error(depth: usize, e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let Some(rest) = text.strip_prefix("unknown field ") else {
        return text;
    };
    let Some((name, list)) = rest
        .split_once(", expected ")
        .or_else(|| rest.strip_suffix(", there are no fields").map(|n| (n, "")))
    else {
        return text;
    };
    // A field of the node itself may also be its `id`; a nested object's may not.
    let mut fields = if depth <= 1 { vec!["id".to_string()] } else { Vec::new() };
    let list = list.trim_start_matches("one of ");
    fields.extend(
        list.split(", ")
            .flat_map(|p| p.split(" or "))
            .map(|f| f.trim_matches('`').to_string())
            .filter(|f| !f.is_empty()),
    );
    // Every node may also have a `clock`.
    if depth <= 1 {
        fields.push("clock".to_string());
    }
    let names: Vec<&str> = fields.iter().map(String::as_str).collect();
    format!("unknown field {name}, expected {}", one_of(&names))
}

fn resolve<E: de::Error>(protocols: &Protocols, json: Json) -> Result<NodeEntry, E> {
    let Json::Obj(entries) = json else {
        return Err(E::invalid_type(json.unexpected(), &"struct Node"));
    };
    let mut role = None;
    let mut id = None;
    let mut clock = None;
    let mut rest = Vec::new();
    for (k, v) in entries {
        match k.as_str() {
            "role" if role.is_some() => return Err(E::duplicate_field("role")),
            "role" => role = Some(v),
            "id" => rest.push((k, v)),
            _ => rest.push((k, v)),
        }
    }
    let role = match role {
        None => return Err(E::missing_field("role")),
        Some(Json::Str(r)) => r,
        Some(other) => return Err(E::invalid_type(other.unexpected(), &"variant identifier")),
    };
    let Some((protocol, def)) = protocols.role(&role) else {
        return Err(E::custom(format!(
            "unknown variant `{role}`, expected {}",
            one_of(&protocols.role_names())
        )));
    };
    let mut fields = Vec::new();
    let mut processing = None;
    for (k, v) in rest {
        if k == "processing" {
            if processing.is_some() {
                return Err(E::duplicate_field("processing"));
            }
            let text = serde_json::to_string(&v).map_err(E::custom)?;
            let p = serde_json::from_str::<super::gray::ProcessingSpec>(&text).map_err(|e| {
                let m = e.to_string();
                E::custom(match m.rfind(" at line ") {
                    Some(i) => m[..i].to_string(),
                    None => m,
                })
            })?;
            processing = Some(p);
        } else if k == "id" {
            if id.is_some() {
                return Err(E::duplicate_field("id"));
            }
            match v {
                Json::Str(s) => id = Some(s),
                other => return Err(E::invalid_type(other.unexpected(), &"a string")),
            }
        } else if k == "clock" {
            if clock.is_some() {
                return Err(E::duplicate_field("clock"));
            }
            let text = serde_json::to_string(&v).map_err(E::custom)?;
            let spec: ClockSpec = serde_json::from_str(&text).map_err(|e| {
                let m = e.to_string();
                E::custom(m.rfind(" at line ").map_or(m.clone(), |i| m[..i].to_string()))
            })?;
            clock = Some(spec);
        } else {
            fields.push((k, v));
        }
    }
    // The role's fields before a missing id, as serde reports a missing field last.
    let text = serde_json::to_string(&Json::Obj(fields)).map_err(E::custom)?;
    let config = (def.parse)(&text).map_err(|(depth, e)| E::custom(config_error(depth, &e)))?;
    let Some(id) = id else {
        return Err(E::missing_field("id"));
    };
    Ok(NodeEntry {
        id,
        role: def.name,
        protocol: protocol.name(),
        config,
        processing,
        clock,
    })
}

impl<'de> Deserialize<'de> for NodeEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        let Some(protocols) = Protocols::current() else {
            return Err(de::Error::custom(
                "no protocols to read a node with (read scenarios with `parse_scenario` or inside `Protocols::scope`)",
            ));
        };
        resolve(&protocols, json)
    }
}
