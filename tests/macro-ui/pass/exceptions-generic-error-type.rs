// A generic error type in `exceptions` (`Wrapped::<std::io::Error>`) is an error type, as a
// capitalized name with type arguments can only be: counted when the error or its source
// chain holds one.
use failfast::failfast;

#[derive(Debug, thiserror::Error)]
#[error("wrapped")]
struct Wrapped<E: std::error::Error + 'static>(#[source] E);

#[failfast("pass_generic_error_type", 3600, exceptions = [Wrapped::<std::io::Error>], fallback = |_| Ok(0))]
fn stock(wrapped: bool) -> anyhow::Result<u32> {
    if wrapped {
        Err(Wrapped(std::io::Error::other("disk")).into())
    } else {
        Err(anyhow::anyhow!("other"))
    }
}

fn main() {
    assert!(stock(false).is_err(), "not listed: returned as is");
    assert_eq!(stock(true).unwrap(), 0, "listed: counted, the fallback answers");
}
