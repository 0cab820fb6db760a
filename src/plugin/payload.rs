//! The erased message and observation types of scenario runs: [`Payload`] carries any
//! [`Message`] and [`Observation`] any observation, so that protocols registered side by
//! side run in one `Simulation<Payload, Observation>`. A payload hashes, prints and
//! clones as the value it carries (no tag word is added), so the trace hash of a run does
//! not depend on the boxing.

use std::any::Any;
use std::fmt::{self, Debug};

use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::node::Message;

/// A [`Message`] behind a `dyn`: what [`Payload`] holds.
trait AnyMessage: Debug {
    fn clone_box(&self) -> Box<dyn AnyMessage>;
    fn hash_into(&self, h: &mut StableHasher);
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn type_name(&self) -> &'static str;
}

impl<T: Message> AnyMessage for T {
    fn clone_box(&self) -> Box<dyn AnyMessage> {
        Box::new(self.clone())
    }
    fn hash_into(&self, h: &mut StableHasher) {
        self.stable_hash(h)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// Any protocol's message, boxed. Build one with [`Payload::new`] (or `From`, which a
/// protocol implements for its own message type: `impl From<MyMsg> for Payload`), read it
/// back with [`Payload::downcast_ref`] or [`Payload::downcast`].
pub struct Payload(Box<dyn AnyMessage>);

impl Payload {
    /// Box `msg`.
    pub fn new<T: Message>(msg: T) -> Payload {
        Payload(Box::new(msg))
    }

    /// The message, if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }

    /// Is the message a `T`?
    pub fn is<T: 'static>(&self) -> bool {
        self.0.as_any().is::<T>()
    }

    /// The message, if it is a `T`; the payload back otherwise.
    pub fn downcast<T: 'static>(self) -> Result<T, Payload> {
        if self.is::<T>() {
            match self.0.into_any().downcast::<T>() {
                Ok(b) => Ok(*b),
                Err(_) => unreachable!("checked with `is`"),
            }
        } else {
            Err(self)
        }
    }

    /// The Rust type name of the message (for diagnostics).
    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        Payload(self.0.clone_box())
    }
}

impl Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StableHash for Payload {
    #[inline]
    fn stable_hash(&self, h: &mut StableHasher) {
        self.0.hash_into(h)
    }
}

/// An observation behind a `dyn`: what [`Observation`] holds.
trait AnyObservation: Debug {
    fn clone_box(&self) -> Box<dyn AnyObservation>;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Clone + Debug + 'static> AnyObservation for T {
    fn clone_box(&self) -> Box<dyn AnyObservation> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Any protocol's observation, boxed: what nodes of a scenario run record into the
/// history (`ctx.observe(...)`), and what checks and metrics read back by type with
/// [`Observation::get`].
pub struct Observation(Box<dyn AnyObservation>);

impl Observation {
    /// Box `obs`.
    pub fn new<T: Clone + Debug + 'static>(obs: T) -> Observation {
        Observation(Box::new(obs))
    }

    /// The observation, if it is a `T`.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }
}

impl Clone for Observation {
    fn clone(&self) -> Self {
        Observation(self.0.clone_box())
    }
}

impl Debug for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_hashes_and_prints_as_its_message() {
        let mut a = StableHasher::new();
        (7u64, String::from("x")).stable_hash(&mut a);
        let mut b = StableHasher::new();
        Payload::new((7u64, String::from("x"))).stable_hash(&mut b);
        assert_eq!(a.finish(), b.finish());
        assert_eq!(format!("{:?}", Payload::new(Some(3u32))), "Some(3)");
    }

    #[test]
    fn a_payload_gives_back_its_message_by_type() {
        let p = Payload::new(5u64).clone();
        assert_eq!(p.downcast_ref::<u64>(), Some(&5));
        assert!(p.downcast_ref::<u32>().is_none());
        let p = p.downcast::<u32>().unwrap_err();
        assert_eq!(p.downcast::<u64>().ok(), Some(5));
        let o = Observation::new("seen");
        assert_eq!(o.clone().get::<&str>(), Some(&"seen"));
        assert!(o.get::<u64>().is_none());
    }
}
