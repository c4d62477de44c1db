use panoptic::billable_block;

fn main() {
    let _ = billable_block!(provider = "gcp", service = "BigQuery" => 42);
}
