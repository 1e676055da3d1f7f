//! Typed indices of the simulator's tables: a route id cannot index the clients, and
//! swapped arguments (`dispatch(caller, route, client, ...)`) do not compile.
//!
//! Each id is a `u32` (events stay small and `Copy`), and each table is a `TiVec`
//! indexed by its own id only.

use typed_index_collections::TiVec;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
        pub(super) struct $name(pub(super) u32);

        impl From<usize> for $name {
            #[inline]
            fn from(i: usize) -> Self {
                debug_assert!(i <= u32::MAX as usize, "table index past u32");
                $name(i as u32)
            }
        }

        impl From<$name> for usize {
            #[inline]
            fn from(id: $name) -> usize {
                id.0 as usize
            }
        }

        impl $name {
            /// The index into the model's list of the same things (`Scenario::loads`...).
            #[allow(dead_code, reason = "instances, routes and clients have no model list")]
            #[inline]
            pub(super) fn ix(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

ids! {
    /// A load, in `Scenario::loads` order.
    LoadId;
    /// A service, in `Scenario::services` order.
    ServiceId;
    /// An endpoint, flattened: every service's endpoints in file order, end to end.
    EndpointId;
    /// An instance of a service. Instances are appended as they are created and never
    /// move, so an id stays valid while instances come and go.
    InstanceId;
    /// Every call from one caller (a service or a load) to one callee service with one
    /// policy.
    RouteId;
    /// The client-side state of one caller instance on one route.
    ClientId;
    /// A policy, in `Scenario::policies` order.
    PolicyId;
    /// A fault, in `Scenario::faults` order.
    FaultId;
}

/// A table indexed by its typed id.
pub(super) type Table<I, T> = TiVec<I, T>;
