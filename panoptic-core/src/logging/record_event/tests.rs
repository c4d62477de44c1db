use super::*;

#[test]
fn keys_are_made_storable() {
    assert_eq!(storable_key("$where"), "_where");
    assert_eq!(storable_key("a.b"), "a_b");
    assert_eq!(storable_key("nul\0"), "nul_");
    assert_eq!(storable_key(""), "_");
    assert_eq!(storable_key("plain"), "plain");
}
