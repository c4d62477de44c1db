//! The other way: each `#[billable]` call, as it ends, also a `tracing`
//! event (target `panoptic`) with the fields the layer reads, so it shows
//! among the application's own spans and logs.

use panoptic_core::call_hook::{CallHook, EndedCall, Notes};
use rust_decimal::prelude::ToPrimitive;

use crate::names::TARGET;

/// Makes each `#[billable]` call a `tracing` event at its end: level
/// `INFO`, target `panoptic`, message `billable call`, fields `provider`,
/// `service`, `resource`, `function_name`, `module_path`, `outcome`,
/// `error`, `duration_ms`, `quantity`, `unit`, `amount` (when given),
/// `currency`, `user`, `request_id`, and for token calls
/// `gen_ai.request.model`, `gen_ai.usage.input_tokens`,
/// `gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens`.
///
/// Give it to the builder (`panoptic`'s `.tracing_events(true)` does):
/// the event is emitted on the caller's thread, inside its spans. The
/// amount the price book sets is not known yet (the writer prices the
/// call later); the [`PanopticLayer`](crate::PanopticLayer) never bills
/// these events, so a call is billed once.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingEvents;

impl CallHook for TracingEvents {
    fn call_ended(&self, call: &EndedCall<'_>) -> Option<Notes> {
        let usage = call.usage();
        // The raw counts as the provider gave them, else the priced ones.
        let tokens = |name: &str| {
            usage.and_then(|u| {
                u.details
                    .iter()
                    .find(|(detail, _)| detail == name)
                    .map(|(_, count)| count)
                    .or_else(|| {
                        u.quantities
                            .iter()
                            .find(|q| q.component == name)
                            .map(|q| &q.amount)
                    })
                    .and_then(|count| count.to_u64())
            })
        };
        let model = usage
            .filter(|_| tokens("input").is_some())
            .map(|u| u.item.as_str());
        tracing::event!(
            target: TARGET,
            tracing::Level::INFO,
            provider = call.provider().as_str(),
            service = call.service(),
            resource = call.resource(),
            function_name = call.function_name(),
            module_path = call.module_path(),
            outcome = call.outcome().as_str(),
            error = call.error(),
            duration_ms = call.duration().as_secs_f64() * 1000.0,
            quantity = call.quantity(),
            unit = call.unit(),
            amount = call.amount().map(tracing::field::display),
            currency = call.currency(),
            user = call.user(),
            request_id = call.request_id(),
            gen_ai.request.model = model,
            gen_ai.usage.input_tokens = tokens("input"),
            gen_ai.usage.output_tokens = tokens("output"),
            gen_ai.usage.cache_read.input_tokens = tokens("cached_input"),
            "billable call"
        );
        None
    }
}
