//! The caller's side: what an annotated call does while it runs — the
//! `Call` guard, its site, the return-value probes, budget reservations
//! through core's hook — up to handing a finished call to the handle.

pub(crate) mod active;
pub(crate) mod amount;
pub(crate) mod budget_link;
pub(crate) mod call;
pub(crate) mod lambda_invocation;
pub(crate) mod meter;
pub(crate) mod probe;
pub(crate) mod start_records;
