use panoptic::billable;

#[billable(provider = "aws", service = "lambda")]
fn handler() {}

fn main() {}
