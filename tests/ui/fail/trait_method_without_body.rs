use panoptic::billable;

trait Job {
    #[billable(provider = "gcp", service = "BigQuery")]
    fn run(&self);
}

fn main() {}
