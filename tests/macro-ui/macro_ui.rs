//! `#[failfast]` through the compiler: each case in `ui/` is misuse, named after the compile
//! error it must give, and its `.stderr` holds that error, pointing at the offending tokens;
//! each case in `pass/` is a use that must compile and run, named after what it shows.
//!
//! This test has a package of its own because trybuild checks the cases against every
//! dependency of the package it runs in: see `Cargo.toml`.

#[test]
fn uses_compile_and_misuse_is_an_error_at_the_offending_tokens() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("ui/*.rs");
}
