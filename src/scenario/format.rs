//! How the engine's values are written in scenario files (and read back): durations as
//! text (`"250ms"`), node ids as numbers, distributions (`{"dist": "exponential", "mean":
//! "10ms"}`), link settings and clog targets. The engine has no serde; these impls live
//! here, in the file format's layer.
//!
//! Derived formats are `#[serde(remote = ...)]` mirrors of the engine's types, so the
//! compiler checks that they name every field and variant; each mirror has the engine
//! type's own name, so serde's messages ("internally tagged enum Dist") are unchanged.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::dist::Dist;
use crate::engine::net::{ClogTarget, LinkConfig};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A duration is a string with a unit; saying so in the error.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = SimTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"250ms\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SimTime, E> {
                text.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Text)
    }
}

/// A node id is its index, a bare number.
impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

/// The mirrors the formats are derived from (named as the engine names them).
mod def {
    use serde::{Deserialize, Serialize};

    use crate::engine::node::NodeId;
    use crate::engine::time::SimTime;

    #[derive(Serialize, Deserialize)]
    #[serde(
        remote = "crate::engine::dist::Dist",
        tag = "dist",
        rename_all = "snake_case",
        deny_unknown_fields
    )]
    pub enum Dist {
        Constant { value: SimTime },
        Uniform { min: SimTime, max: SimTime },
        Normal { mean: SimTime, std_dev: SimTime },
        Exponential { mean: SimTime },
        LogNormal { median: SimTime, sigma: f64 },
        Pareto { scale: SimTime, alpha: f64 },
    }

    #[derive(Serialize)]
    #[serde(remote = "crate::engine::net::LinkConfig")]
    pub struct LinkConfig {
        latency: crate::engine::dist::Dist,
        drop: f64,
        duplicate: f64,
        fifo: bool,
    }

    #[derive(Serialize)]
    #[serde(remote = "crate::engine::net::ClogTarget", tag = "kind", rename_all = "snake_case")]
    pub enum ClogTarget {
        Node { node: NodeId },
        Link { from: NodeId, to: NodeId },
    }
}

impl Serialize for Dist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        def::Dist::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        def::Dist::deserialize(d)
    }
}

impl Serialize for LinkConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        def::LinkConfig::serialize(self, s)
    }
}

impl Serialize for ClogTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        def::ClogTarget::serialize(self, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_values_in_the_file_format() {
        let err = serde_json::from_str::<Dist>(r#""1ms""#).unwrap_err();
        assert!(
            err.to_string().contains("expected internally tagged enum Dist"),
            "{err}"
        );
        let j = |v: serde_json::Value| v.to_string();
        assert_eq!(
            j(serde_json::to_value(SimTime::from_millis(1500)).unwrap()),
            r#""1.5s""#
        );
        assert_eq!(j(serde_json::to_value(NodeId(3)).unwrap()), "3");
        let d = Dist::LogNormal {
            median: SimTime::from_millis(10),
            sigma: 0.5,
        };
        let text = j(serde_json::to_value(&d).unwrap());
        assert_eq!(text, r#"{"dist":"log_normal","median":"10ms","sigma":0.5}"#);
        assert_eq!(serde_json::from_str::<Dist>(&text).unwrap(), d);
        let err = serde_json::from_str::<Dist>(r#"{"dist":"constant","value":"1ms","x":1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `x`"), "{err}");
        let err = serde_json::from_str::<SimTime>("5").unwrap_err();
        assert!(err.to_string().contains("a duration such as"), "{err}");
        assert_eq!(
            j(serde_json::to_value(LinkConfig::default()).unwrap()),
            r#"{"drop":0.0,"duplicate":0.0,"fifo":true,"latency":{"dist":"constant","value":"1ms"}}"#
        );
        let link = ClogTarget::Link {
            from: NodeId(0),
            to: NodeId(2),
        };
        assert_eq!(
            j(serde_json::to_value(link).unwrap()),
            r#"{"from":0,"kind":"link","to":2}"#
        );
    }
}
