//! Compile-time tests of the macros through the facade: `ui/pass` cases must compile
//! (warnings denied) and run; `ui/fail` cases must fail with the committed `.stderr`.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p gocsp-macros --test ui`
//! and read every changed `.stderr`: each message must point at the offending case.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
