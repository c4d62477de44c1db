use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", err)]
fn report() -> u32 {
    7
}

fn main() {}
