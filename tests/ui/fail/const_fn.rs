use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery")]
const fn answer() -> u32 {
    42
}

fn main() {}
