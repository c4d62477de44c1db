//! slog's side: the drain every handle's loggers end in, and the records
//! of a billing kind turned into events.

pub(crate) mod drain;
pub(crate) mod record_event;
