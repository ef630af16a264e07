//! Misuse of `#[failfast]`: each case in `ui/` is named after the compile error it must give,
//! and its `.stderr` holds that error, pointing at the offending tokens.
//!
//! This test has a package of its own because trybuild checks the cases against every
//! dependency of the package it runs in: see `Cargo.toml`.

#[test]
fn misuse_is_a_compile_error_at_the_offending_tokens() {
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}
