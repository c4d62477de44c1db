use super::run::request_id;

#[test]
fn request_ids_are_uuids() {
    let id = request_id();
    assert_eq!(id.len(), 36, "{id}");
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'));
    assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    assert_ne!(request_id(), id);
}
