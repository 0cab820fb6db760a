//! Discovery in scenario files: the `registry` role, and the `register` and `service`
//! objects other protocols' roles use to be found and to find their servers.

use serde::{Deserialize, Serialize};

use super::{RegistrantConfig, RegistryConfig, ResolverConfig, Target, registry};
use crate::engine::error::Error;
use crate::engine::node::NodeFactory;
use crate::engine::time::SimTime;
use crate::plugin::{BuildCx, Observation, Payload, Problem, Role, ValidateCx};

fn d_sweep() -> SimTime {
    SimTime::from_millis(50)
}

/// The `registry` role: the service registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryRole {
    /// How often expired entries are swept.
    #[serde(default = "d_sweep")]
    pub sweep_every: SimTime,
    /// CANARY: never expire entries.
    #[serde(default)]
    pub canary_never_expire: bool,
    /// CANARY: time entries by the registrant's wall-clock timestamp (`stamp + ttl`,
    /// compared with the registry's wall clock) instead of the registry's own clock.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary_trust_registrant_clock: bool,
}

impl Role for RegistryRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        cx.positive("sweep_every", self.sweep_every, out);
    }
    fn build(&self, _cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        Ok(Box::new(registry(RegistryConfig {
            sweep_every: self.sweep_every,
            never_expire: self.canary_never_expire,
            trust_registrant_clock: self.canary_trust_registrant_clock,
        })))
    }
    fn without_canaries(&self) -> Self {
        RegistryRole {
            canary_never_expire: false,
            canary_trust_registrant_clock: false,
            ..self.clone()
        }
    }
}

/// Register this node in a registry under a service name, renewing by heartbeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// The registry node's id.
    pub registry: String,
    /// The service name.
    pub service: String,
    /// Time to live of the entry.
    pub ttl: SimTime,
    /// Renewal interval (default: a third of the TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<SimTime>,
}

impl RegisterSpec {
    /// Problems of a node's `register` field.
    pub fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        cx.expect_role("register.registry", &self.registry, "registry", out);
        cx.positive("register.ttl", self.ttl, out);
        if let Some(i) = self.interval {
            cx.positive("register.interval", i, out);
            if i >= self.ttl {
                out.push((
                    cx.field("register.interval"),
                    format!(
                        "{i} must be shorter than the ttl ({}), or the entry expires between renewals",
                        self.ttl
                    ),
                ));
            }
        }
    }

    /// The registrant a node embeds.
    pub fn registrant(&self, cx: &BuildCx<'_>) -> Result<RegistrantConfig, Error> {
        let mut rc = RegistrantConfig::new(cx.node(&self.registry)?, self.service.clone(), self.ttl);
        if let Some(i) = self.interval {
            rc.interval = i;
        }
        Ok(rc)
    }
}

/// Find servers of a service through a registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The registry node's id.
    pub registry: String,
    /// The service name.
    pub service: String,
    /// Look up again this often even when members are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_every: Option<SimTime>,
}

impl ServiceSpec {
    /// The resolver a node embeds.
    pub fn resolver(&self, cx: &BuildCx<'_>) -> Result<ResolverConfig, Error> {
        let mut r = ResolverConfig::new(cx.node(&self.registry)?, self.service.clone());
        r.refresh_every = self.refresh_every;
        Ok(r)
    }
}

/// A fixed node (`fixed`, by id, the file's `field`) or a service: exactly one is given.
pub fn target(
    fixed: &Option<String>,
    service: &Option<ServiceSpec>,
    cx: &BuildCx<'_>,
    field: &str,
) -> Result<Target, Error> {
    match (fixed, service) {
        (Some(name), None) => Ok(Target::Fixed(cx.node(name).map_err(|e| cx.error(e))?)),
        (None, Some(svc)) => Ok(Target::Service(svc.resolver(cx).map_err(|e| cx.error(e))?)),
        _ => Err(cx.error(format!("give exactly one of `{field}` and `service`"))),
    }
}

/// The node ids a fixed node or a service refers to (the node, or the registry).
pub fn target_refs<'a>(fixed: &'a Option<String>, service: &'a Option<ServiceSpec>) -> Vec<&'a str> {
    fixed
        .iter()
        .map(String::as_str)
        .chain(service.iter().map(|s| s.registry.as_str()))
        .collect()
}

/// Problems of a fixed node (of `role`, in `field`) or a service: exactly one is given.
pub fn validate_target(
    cx: &ValidateCx<'_>,
    field: &str,
    fixed: &Option<String>,
    service: &Option<ServiceSpec>,
    role: &str,
    out: &mut Vec<Problem>,
) {
    match (fixed, service) {
        (Some(name), None) => cx.expect_role(field, name, role, out),
        (None, Some(svc)) => cx.expect_role("service.registry", &svc.registry, "registry", out),
        _ => out.push((cx.path.clone(), format!("give exactly one of `{field}` and `service`"))),
    }
}
