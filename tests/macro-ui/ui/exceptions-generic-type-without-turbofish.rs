// A generic error type written as a type (`Wrapped<std::io::Error>`) is one error at the `<`,
// showing the spelling that works in a pattern position: `Wrapped::<std::io::Error>`. (Review 12)
use failfast::failfast;

#[derive(Debug, thiserror::Error)]
#[error("wrapped")]
struct Wrapped<E: std::error::Error + 'static>(#[source] E);

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("wrapped")]
    Wrapped(#[source] Wrapped<std::io::Error>),
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast("ui_generic_without_turbofish", 60, exceptions = [Wrapped<std::io::Error>])]
fn fetch() -> Result<u8, ApiError> {
    Ok(1)
}

fn main() {}
