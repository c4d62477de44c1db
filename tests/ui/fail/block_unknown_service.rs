use panoptic::billable_block;

fn main() {
    let _ = billable_block!(provider = "openai", service = "Embedings" => { 1 });
}
