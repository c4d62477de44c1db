#![deny(warnings)]

use panoptic::billable;

struct Request {
    user: String,
    id: u64,
}

struct QueryResponse {
    bytes_billed: u64,
}

fn logger() -> panoptic::slog::Logger {
    panoptic::slog::Logger::root(panoptic::slog::Discard, panoptic::slog::o!())
}

#[billable(
    provider = "gcp",
    service = "BigQuery",
    resource = "nightly",
    unit = "bytes",
    quantity_from = |r: &QueryResponse| r.bytes_billed,
    amount = 0.5,
    currency = "EUR",
    category = "AI",
    user = request.user,
    request_id = request.id,
    tags("nightly", "batch"),
    kind = "charge",
    logger = logger(),
)]
fn run(request: Request) -> QueryResponse {
    QueryResponse { bytes_billed: request.id }
}

#[billable(provider = "gcp", service = "AlloyDB", allow_unknown_service)]
fn escape_hatch() {}

#[billable(provider = "user_defined", service = "Anything At All")]
fn user_defined_takes_any_service() {}

#[billable(provider = "gcp", service = "BigQuery", err, amount_from = |r: &Result<u32, String>| r.as_ref().map_or(0, |n| *n))]
fn explicit_err() -> Result<u32, String> {
    Ok(1)
}

fn main() {
    let _ = run(Request { user: "ann".into(), id: 1 });
    escape_hatch();
    user_defined_takes_any_service();
    let _ = explicit_err();
}
