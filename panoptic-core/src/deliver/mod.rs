//! From a finished call to MongoDB: the pipeline a handle sends into, the
//! bounded queue, the writer thread that prices and encodes each event,
//! batches it and inserts it, and the spill to the spool when MongoDB or
//! the queue cannot take it.

pub(crate) mod dead_letter;
pub(crate) mod document;
pub(crate) mod intake;
pub(crate) mod mongo;
pub(crate) mod pipeline;
pub(crate) mod pricing;
pub(crate) mod priority;
pub(crate) mod queue;
pub(crate) mod spill;
pub(crate) mod writer;
