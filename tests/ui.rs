//! Compile-time behaviour of the macros: every function form compiles
//! cleanly, and each misuse fails with an exact message at the right span.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
