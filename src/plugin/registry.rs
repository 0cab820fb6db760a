//! [`Protocols`]: the registered protocols, in order, with their roles. Whatever reads,
//! validates, builds, runs, explores, shrinks or reports a scenario takes one; the
//! built-in protocols are registered the same way as a user's
//! (`Protocols::builtin()` is `protocols![Discovery, Rpc, WorkerPool, ReplicatedKv]`).

use std::cell::RefCell;
use std::sync::Arc;

use super::protocol::{Protocol, RoleDef, Setting};

/// Why a set of protocols cannot be registered together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two protocols declare the same role.
    #[error("role {role:?} is declared by both protocol {first:?} and protocol {second:?}")]
    DuplicateRole {
        /// The role.
        role: String,
        /// The protocol registered first.
        first: String,
        /// The other one.
        second: String,
    },
    /// Two protocols have the same name, or a setting key clashes with a name or another
    /// setting.
    #[error("{key:?} is used twice in the `checks` section: by protocol {first:?} and protocol {second:?}")]
    DuplicateKey {
        /// The name or key.
        key: String,
        /// The protocol registered first.
        first: String,
        /// The other one.
        second: String,
    },
}

struct Inner {
    list: Vec<Box<dyn Protocol>>,
    /// Every role: (protocol index, role).
    roles: Vec<(usize, RoleDef)>,
    /// Every protocol's settings, by protocol index.
    settings: Vec<Vec<Setting>>,
}

/// The registered protocols, in registration order. Cheap to clone and shareable across
/// threads.
#[derive(Clone)]
pub struct Protocols(Arc<Inner>);

impl std::fmt::Debug for Protocols {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.list.iter().map(|p| p.name())).finish()
    }
}

impl Protocols {
    /// Register `list` in order; an error when two declare the same role, or share a
    /// name or a `checks` key.
    pub fn try_of(list: Vec<Box<dyn Protocol>>) -> Result<Protocols, RegistryError> {
        let mut roles: Vec<(usize, RoleDef)> = Vec::new();
        let mut keys: Vec<(&'static str, usize)> = Vec::new();
        let mut settings = Vec::new();
        for (i, p) in list.iter().enumerate() {
            for r in p.roles() {
                if let Some((j, _)) = roles.iter().find(|(_, d)| d.name == r.name) {
                    return Err(RegistryError::DuplicateRole {
                        role: r.name.to_string(),
                        first: list[*j].name().to_string(),
                        second: p.name().to_string(),
                    });
                }
                roles.push((i, r));
            }
            let own = p.settings();
            for key in std::iter::once(p.name()).chain(own.iter().map(|s| s.key)) {
                if let Some((_, j)) = keys.iter().find(|(k, _)| *k == key) {
                    return Err(RegistryError::DuplicateKey {
                        key: key.to_string(),
                        first: list[*j].name().to_string(),
                        second: p.name().to_string(),
                    });
                }
                keys.push((key, i));
            }
            settings.push(own);
        }
        Ok(Protocols(Arc::new(Inner { list, roles, settings })))
    }

    /// Register `list` in order.
    ///
    /// # Panics
    /// When two protocols declare the same role or share a `checks` key (a programming
    /// error of the registering code: see [`Protocols::try_of`]).
    pub fn of(list: Vec<Box<dyn Protocol>>) -> Protocols {
        match Self::try_of(list) {
            Ok(p) => p,
            Err(e) => panic!("cannot register these protocols: {e}"),
        }
    }

    /// The protocols, in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Protocol> {
        self.0.list.iter().map(|p| p.as_ref())
    }

    /// The protocol named `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Protocol> {
        self.iter().find(|p| p.name() == name)
    }

    /// The role named `name` and its protocol.
    pub fn role(&self, name: &str) -> Option<(&dyn Protocol, &RoleDef)> {
        self.0
            .roles
            .iter()
            .find(|(_, r)| r.name == name)
            .map(|(i, r)| (self.0.list[*i].as_ref(), r))
    }

    /// Every role's name, in registration order.
    pub fn role_names(&self) -> Vec<&'static str> {
        self.0.roles.iter().map(|(_, r)| r.name).collect()
    }

    /// Each protocol with its settings, in order.
    pub fn with_settings(&self) -> impl Iterator<Item = (&dyn Protocol, &[Setting])> {
        self.0
            .list
            .iter()
            .zip(&self.0.settings)
            .map(|(p, s)| (p.as_ref(), s.as_slice()))
    }

    /// Run `f` with these protocols as the ones scenario files are read with on this
    /// thread (serde has no other way to hand them to a node's deserializer).
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Protocols>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = prev);
            }
        }
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        let _restore = Restore(prev);
        f()
    }

    /// The protocols of the innermost [`Protocols::scope`] on this thread.
    pub fn current() -> Option<Protocols> {
        CURRENT.with(|c| c.borrow().clone())
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Protocols>> = const { RefCell::new(None) };
}

/// Register protocols, in order: `detsim::protocols![MyKv, detsim::protocols::Rpc]`.
///
/// # Panics
/// When two of them declare the same role (see [`Protocols::try_of`]).
#[macro_export]
macro_rules! protocols {
    ($($p:expr),* $(,)?) => {
        $crate::plugin::Protocols::of(vec![$(Box::new($p) as Box<dyn $crate::plugin::Protocol>),*])
    };
}
