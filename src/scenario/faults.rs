//! The scenario file's form of a fault, and its serde: a scenario's faults are the
//! engine's own [`TimedFault`] naming nodes by their ids ([`super::FaultSpec`]), written
//! and read as `{"kind": "crash", "at": "1s", "until": "2s", "node": "s1"}`, a clog's
//! `target` as `{"node": ID}` or `{"from": ID, "to": ID}`, a `set_link`'s link as its
//! `from` and `to` (neither: the default).
//!
//! The private `FaultSpec` and `ClogSpec` are that shape as serde derives it (serde's
//! messages name them, and `words` puts them in the format's words); the two conversions below are the only
//! mapping between it and the engine's type, and the compiler checks both to be
//! exhaustive: a new fault kind is one variant here. The nemesis's [`DurationRange`] is
//! a remote derive of the engine's type.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::LinkSpec;
use super::clock::SignedDuration;
use crate::engine::fault::{ClogTarget, Fault, TimedFault};
use crate::engine::time::SimTime;

/// A deserialization error that is about the whole object serde reports it at (not about
/// one of its fields): `load` reports it there, without narrowing the path down.
pub(crate) const WHOLE_OBJECT: &str = "\u{1}";

/// A fault naming nodes by their ids: the scenario's [`super::FaultSpec`].
type Spec = TimedFault<String>;

/// What a clog holds: `{"node": "w1"}` (all its traffic) or `{"from": "a", "to": "b"}`
/// (one direction of one link).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClogSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
}

/// A fault as the file holds it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultSpec {
    Crash {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
    },
    Restart {
        at: SimTime,
        node: String,
    },
    Pause {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
    },
    Resume {
        at: SimTime,
        node: String,
    },
    Partition {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        groups: Vec<Vec<String>>,
    },
    Block {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        from: String,
        to: String,
    },
    Isolate {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
    },
    Heal {
        at: SimTime,
    },
    Clog {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        target: ClogSpec,
    },
    Unclog {
        at: SimTime,
        target: ClogSpec,
    },
    UnclogAll {
        at: SimTime,
    },
    SetLink {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        config: LinkSpec,
    },
    SlowNode {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
        factor: f64,
    },
    ThinLink {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        from: String,
        to: String,
        rate: f64,
    },
    DiskFull {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
    },
    DiskFree {
        at: SimTime,
        node: String,
    },
    ClockStep {
        at: SimTime,
        node: String,
        by: SignedDuration,
    },
    ClockDrift {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
        ppm: i64,
    },
}

fn clog_spec(t: &ClogTarget<String>) -> ClogSpec {
    match t {
        ClogTarget::Node { node } => ClogSpec {
            node: Some(node.clone()),
            from: None,
            to: None,
        },
        ClogTarget::Link { from, to } => ClogSpec {
            node: None,
            from: Some(from.clone()),
            to: Some(to.clone()),
        },
    }
}

fn clog_target(c: ClogSpec) -> Result<ClogTarget<String>, String> {
    match (c.node, c.from, c.to) {
        (Some(node), None, None) => Ok(ClogTarget::Node { node }),
        (None, Some(from), Some(to)) => Ok(ClogTarget::Link { from, to }),
        _ => Err("expected either {\"node\": ID} or {\"from\": ID, \"to\": ID}".into()),
    }
}

impl From<&Spec> for FaultSpec {
    fn from(tf: &Spec) -> FaultSpec {
        let (at, until) = (tf.at, tf.until);
        match &tf.fault {
            Fault::Crash { node } => FaultSpec::Crash {
                at,
                until,
                node: node.clone(),
            },
            Fault::Restart { node } => FaultSpec::Restart { at, node: node.clone() },
            Fault::Pause { node } => FaultSpec::Pause {
                at,
                until,
                node: node.clone(),
            },
            Fault::Resume { node } => FaultSpec::Resume { at, node: node.clone() },
            Fault::Partition { groups } => FaultSpec::Partition {
                at,
                until,
                groups: groups.clone(),
            },
            Fault::Block { from, to } => FaultSpec::Block {
                at,
                until,
                from: from.clone(),
                to: to.clone(),
            },
            Fault::Isolate { node } => FaultSpec::Isolate {
                at,
                until,
                node: node.clone(),
            },
            Fault::Heal => FaultSpec::Heal { at },
            Fault::Clog { target } => FaultSpec::Clog {
                at,
                until,
                target: clog_spec(target),
            },
            Fault::Unclog { target } => FaultSpec::Unclog {
                at,
                target: clog_spec(target),
            },
            Fault::UnclogAll => FaultSpec::UnclogAll { at },
            Fault::SetLink { link, config } => FaultSpec::SetLink {
                at,
                until,
                from: link.as_ref().map(|(f, _)| f.clone()),
                to: link.as_ref().map(|(_, t)| t.clone()),
                config: LinkSpec::from(config),
            },
            Fault::SlowNode { node, factor } => FaultSpec::SlowNode {
                at,
                until,
                node: node.clone(),
                factor: *factor,
            },
            Fault::ThinLink { from, to, rate } => FaultSpec::ThinLink {
                at,
                until,
                from: from.clone(),
                to: to.clone(),
                rate: *rate,
            },
            Fault::DiskFull { node } => FaultSpec::DiskFull {
                at,
                until,
                node: node.clone(),
            },
            Fault::DiskFree { node } => FaultSpec::DiskFree { at, node: node.clone() },
            Fault::ClockStep { node, by_ns } => FaultSpec::ClockStep {
                at,
                node: node.clone(),
                by: SignedDuration(*by_ns),
            },
            Fault::ClockDrift { node, ppm } => FaultSpec::ClockDrift {
                at,
                until,
                node: node.clone(),
                ppm: *ppm,
            },
        }
    }
}

impl TryFrom<FaultSpec> for Spec {
    type Error = String;

    fn try_from(f: FaultSpec) -> Result<Spec, String> {
        let timed = |at: SimTime, until: Option<SimTime>, fault| TimedFault { at, until, fault };
        Ok(match f {
            FaultSpec::Crash { at, until, node } => timed(at, until, Fault::Crash { node }),
            FaultSpec::Restart { at, node } => timed(at, None, Fault::Restart { node }),
            FaultSpec::Pause { at, until, node } => timed(at, until, Fault::Pause { node }),
            FaultSpec::Resume { at, node } => timed(at, None, Fault::Resume { node }),
            FaultSpec::Partition { at, until, groups } => timed(at, until, Fault::Partition { groups }),
            FaultSpec::Block { at, until, from, to } => timed(at, until, Fault::Block { from, to }),
            FaultSpec::Isolate { at, until, node } => timed(at, until, Fault::Isolate { node }),
            FaultSpec::Heal { at } => timed(at, None, Fault::Heal),
            FaultSpec::DiskFull { at, until, node } => timed(at, until, Fault::DiskFull { node }),
            FaultSpec::DiskFree { at, node } => timed(at, None, Fault::DiskFree { node }),
            FaultSpec::Clog { at, until, target } => timed(
                at,
                until,
                Fault::Clog {
                    target: clog_target(target)?,
                },
            ),
            FaultSpec::Unclog { at, target } => timed(
                at,
                None,
                Fault::Unclog {
                    target: clog_target(target)?,
                },
            ),
            FaultSpec::UnclogAll { at } => timed(at, None, Fault::UnclogAll),
            FaultSpec::SetLink {
                at,
                until,
                from,
                to,
                config,
            } => {
                let link = match (from, to) {
                    (Some(f), Some(t)) => Some((f, t)),
                    (None, None) => None,
                    _ => {
                        return Err(format!(
                            "{WHOLE_OBJECT}give both `from` and `to` (one link) or neither (the default)"
                        ));
                    }
                };
                timed(
                    at,
                    until,
                    Fault::SetLink {
                        link,
                        config: config.to_config(),
                    },
                )
            }
            FaultSpec::SlowNode {
                at,
                until,
                node,
                factor,
            } => timed(at, until, Fault::SlowNode { node, factor }),
            FaultSpec::ThinLink {
                at,
                until,
                from,
                to,
                rate,
            } => timed(at, until, Fault::ThinLink { from, to, rate }),
            FaultSpec::ClockStep { at, node, by } => timed(at, None, Fault::ClockStep { node, by_ns: by.0 }),
            FaultSpec::ClockDrift { at, until, node, ppm } => timed(at, until, Fault::ClockDrift { node, ppm }),
        })
    }
}

/// One fault of a list, read through its file form.
#[derive(Deserialize)]
#[serde(try_from = "FaultSpec")]
struct Entry(Spec);

impl TryFrom<FaultSpec> for Entry {
    type Error = String;
    fn try_from(f: FaultSpec) -> Result<Entry, String> {
        Spec::try_from(f).map(Entry)
    }
}

/// Faults written in the file's form: `serialize_field("faults", &AsFile(&faults))`.
pub struct AsFile<'a>(pub &'a [Spec]);

impl Serialize for AsFile<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(FaultSpec::from))
    }
}

/// `#[serde(with = "faults::list")]` for a scenario's list of faults.
pub mod list {
    use super::*;

    /// Write `faults` in the file's form.
    pub fn serialize<S: Serializer>(faults: &[Spec], s: S) -> Result<S::Ok, S::Error> {
        AsFile(faults).serialize(s)
    }

    /// Read faults in the file's form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Spec>, D::Error> {
        Ok(Vec::<Entry>::deserialize(d)?.into_iter().map(|e| e.0).collect())
    }
}

/// The nemesis's `{"min": "100ms", "max": "1s"}`: a remote derive of the engine's
/// [`crate::engine::fault::DurationRange`] (`#[serde(with = "faults::DurationRange")]`).
#[derive(Serialize, Deserialize)]
#[serde(remote = "crate::engine::fault::DurationRange", deny_unknown_fields)]
pub struct DurationRange {
    /// Shortest.
    pub min: SimTime,
    /// Longest.
    pub max: SimTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind reads from and writes back to the same bytes, and the file form of a
    /// `set_link` and a clog target are the file's, not the trace's.
    #[test]
    fn every_kind_round_trips_byte_for_byte() {
        let text = [
            r#"{"kind":"crash","at":"1s","until":"2s","node":"s1"}"#,
            r#"{"kind":"restart","at":"1s","node":"s1"}"#,
            r#"{"kind":"pause","at":"1ms","node":"c1"}"#,
            r#"{"kind":"resume","at":"2ms","node":"c1"}"#,
            r#"{"kind":"partition","at":"1ms","until":"5ms","groups":[["s1"],["c1","c2"]]}"#,
            r#"{"kind":"block","at":"1ms","from":"c1","to":"s1"}"#,
            r#"{"kind":"isolate","at":"1ms","until":"3ms","node":"s1"}"#,
            r#"{"kind":"heal","at":"4ms"}"#,
            r#"{"kind":"clog","at":"1ms","target":{"node":"w1"}}"#,
            r#"{"kind":"unclog","at":"2ms","target":{"from":"c1","to":"s1"}}"#,
            r#"{"kind":"unclog_all","at":"3ms"}"#,
            r#"{"kind":"set_link","at":"1ms","until":"2ms","from":"c1","to":"s1","config":{"latency":{"dist":"constant","value":"1ms"},"drop":0.5,"duplicate":0.0,"fifo":true}}"#,
            r#"{"kind":"slow_node","at":"1ms","until":"2ms","node":"s1","factor":10.0}"#,
            r#"{"kind":"thin_link","at":"1ms","until":"2ms","from":"c1","to":"s1","rate":100.0}"#,
            r#"{"kind":"disk_full","at":"1ms","until":"2ms","node":"s1"}"#,
            r#"{"kind":"disk_free","at":"3ms","node":"s1"}"#,
            r#"{"kind":"clock_step","at":"2s","node":"s1","by":"-1.5s"}"#,
            r#"{"kind":"clock_drift","at":"1s","until":"3s","node":"c1","ppm":-250}"#,
            r#"{"kind":"set_link","at":"1ms","config":{"latency":{"dist":"constant","value":"1ms"},"drop":0.0,"duplicate":0.0,"fifo":false}}"#,
        ];
        let list = format!("[{}]", text.join(","));
        let faults = list::deserialize(&mut serde_json::Deserializer::from_str(&list)).unwrap();
        assert_eq!(faults.len(), Fault::<String>::KINDS.len() + 1);
        let kinds: Vec<&str> = faults.iter().map(|f| f.fault.kind()).collect();
        assert_eq!(kinds[..18], Fault::<String>::KINDS);
        assert_eq!(serde_json::to_string(&AsFile(&faults)).unwrap(), list);
    }

    #[test]
    fn ill_shaped_clogs_and_links_are_refused() {
        let read = |t: &str| list::deserialize(&mut serde_json::Deserializer::from_str(t)).unwrap_err();
        let clog = read(r#"[{"kind":"clog","at":"1ms","target":{"node":"a","from":"b"}}]"#);
        assert!(clog.to_string().starts_with("expected either"), "{clog}");
        let link = read(r#"[{"kind":"set_link","at":"1ms","to":"b","config":{}}]"#);
        assert!(link.to_string().starts_with(WHOLE_OBJECT), "{link}");
    }
}
