//! The scenario's `checks` section: one switch per registered protocol, by its name
//! (`"rpc": false` turns the RPC checks off; default on), and the protocols' own settings
//! (`"pool_liveness_bound": "10s"`). Read through the registered protocols: an unknown
//! key lists the known ones.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::plugin::{Protocols, Settings};

/// The `checks` section: `(key, value)` as given (a scenario read by
/// [`super::parse_scenario`] has every registered key, in the protocols' order: each
/// protocol's switch, then its settings, defaults filled in).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChecksSpec {
    /// The entries.
    pub entries: Vec<(String, serde_json::Value)>,
}

impl ChecksSpec {
    /// Are the checks of protocol `name` on (the default)?
    pub fn enabled(&self, name: &str) -> bool {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_bool())
            .unwrap_or(true)
    }

    /// Set `key` to `value`.
    pub fn set(&mut self, key: &str, value: serde_json::Value) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    /// Every protocol's settings: the given values, else the defaults.
    pub fn settings(&self, protocols: &Protocols) -> Settings {
        let mut out = Settings::default();
        for (_, settings) in protocols.with_settings() {
            for s in settings {
                out.0.insert(s.key.to_string(), s.default.clone());
            }
        }
        for (k, v) in &self.entries {
            if out.0.contains_key(k) || k == crate::check::LIVENESS_KEY {
                out.0.insert(k.clone(), v.clone());
            }
        }
        out
    }

    /// The same section with every key of `protocols` present, in their order (switches
    /// default on, settings at their defaults), then any other entries.
    pub fn completed(&self, protocols: &Protocols) -> ChecksSpec {
        let mut entries = Vec::new();
        let mut take = |key: &str, default: serde_json::Value| {
            let v = self
                .entries
                .iter()
                .find(|(k, _)| k == key)
                .map_or(default, |(_, v)| v.clone());
            entries.push((key.to_string(), v));
        };
        for (p, settings) in protocols.with_settings() {
            take(p.name(), true.into());
            for s in settings {
                take(s.key, s.default.clone());
            }
        }
        for (k, v) in &self.entries {
            if !entries.iter().any(|(e, _)| e == k) {
                entries.push((k.clone(), v.clone()));
            }
        }
        ChecksSpec { entries }
    }
}

impl Serialize for ChecksSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One value of the section: a switch (`bool`) or a setting (its own type).
struct Value(Option<Parse>);

/// A setting's parser (see [`crate::plugin::Setting::parse`]).
type Parse = fn(&str) -> Result<serde_json::Value, serde_json::Error>;

/// The scenario's one liveness bound (`"liveness": "10s"`): a duration.
fn parse_liveness(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_str::<crate::engine::time::SimTime>(text).and_then(serde_json::to_value)
}

impl<'de> DeserializeSeed<'de> for Value {
    type Value = serde_json::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<serde_json::Value, D::Error> {
        match self.0 {
            None => bool::deserialize(d).map(serde_json::Value::Bool),
            Some(parse) => {
                let raw = serde_json::Value::deserialize(d)?;
                let text = raw.to_string();
                parse(&text).map_err(|e| {
                    let m = e.to_string();
                    de::Error::custom(match m.rfind(" at line ") {
                        Some(i) => m[..i].to_string(),
                        None => m,
                    })
                })
            }
        }
    }
}

impl<'de> Deserialize<'de> for ChecksSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V(Protocols);
        impl<'de> Visitor<'de> for V {
            type Value = ChecksSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("struct ChecksSpec")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<ChecksSpec, A::Error> {
                let mut out = ChecksSpec::default();
                while let Some(key) = a.next_key::<String>()? {
                    let parse = if self.0.get(&key).is_some() {
                        None
                    } else if key == crate::check::LIVENESS_KEY {
                        Some(parse_liveness as Parse)
                    } else if let Some(s) = self
                        .0
                        .with_settings()
                        .flat_map(|(_, s)| s.iter())
                        .find(|s| s.key == key)
                    {
                        Some(s.parse)
                    } else {
                        let known: Vec<String> = self
                            .0
                            .with_settings()
                            .flat_map(|(p, s)| std::iter::once(p.name()).chain(s.iter().map(|s| s.key)))
                            .chain(std::iter::once(crate::check::LIVENESS_KEY))
                            .map(|k| format!("`{k}`"))
                            .collect();
                        return Err(de::Error::custom(format!(
                            "unknown field `{key}`, expected one of {}",
                            known.join(", ")
                        )));
                    };
                    if out.entries.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("duplicate field `{key}`")));
                    }
                    let v = a.next_value_seed(Value(parse))?;
                    out.entries.push((key, v));
                }
                Ok(out)
            }
        }
        let Some(protocols) = Protocols::current() else {
            return Err(de::Error::custom(
                "no protocols to read the checks section with (read scenarios with `parse_scenario`)",
            ));
        };
        d.deserialize_map(V(protocols))
    }
}
