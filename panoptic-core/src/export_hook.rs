//! Hands each event, as the writer encodes it, to an exporter
//! (`panoptic-tracing`'s OpenTelemetry export): priced, once per event,
//! off the caller's thread. MongoDB stays the ledger: what an exporter
//! does with the event changes nothing that is stored.

/// Told of each event this instance stores, as it is encoded: on the
/// writer thread, or on a caller's that spills a full queue. Keep it
/// short and never block in it (hand the event to a queue of your own).
pub trait ExportHook: Send + Sync + std::panic::RefUnwindSafe + 'static {
    /// One event, as it will be stored (priced, metadata included).
    fn encoded(&self, event: &bson::RawDocument);
}
