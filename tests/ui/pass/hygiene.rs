//! User names that collide with ours change nothing.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types, non_upper_case_globals)]

// Types and modules named like the runtime's.
struct Call;
struct CallSite;
struct Provider;
struct OnceLock;
mod __private {}
mod panoptic {}
mod core {}
mod std {}
struct Option;
struct Result;
static __PANOPTIC_SITE: u8 = 0;
fn __panoptic_locate() {}

#[::panoptic::billable(provider = "gcp", service = "BigQuery")]
fn shadowing(__panoptic_call: u32, __panoptic_ret: u32) -> u32 {
    let __panoptic_fake_return = 1;
    __panoptic_call + __panoptic_ret + __panoptic_fake_return
}

fn main() {
    let _ = shadowing(1, 2);
    let _ = (Call, CallSite, Provider, OnceLock, __PANOPTIC_SITE);
    __panoptic_locate();
}
