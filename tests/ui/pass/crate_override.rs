//! A crate that re-exports panoptic under another path points the macro at it.
#![deny(warnings)]

mod reexport {
    pub use ::panoptic as billing;
}

#[panoptic::billable(provider = "gcp", service = "BigQuery", crate = "crate::reexport::billing")]
fn via_reexport() -> u32 {
    1
}

fn main() {
    let _ = via_reexport();
}
