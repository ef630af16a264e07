// Review 12 (fixed: the sync body borrows again): an owned argument that `when = ...` or `breaker = ...` borrows, and that the body
// reads, no longer compiles (E0505, "cannot move out of `key` because it is borrowed"): the
// sync body became a `move` closure in `c5930de` (unless the fallback is a closure), and moves
// the argument while the predicate (or the breaker reference) holds a borrow of it. At
// `c5930de^` the non-`move` body only borrowed it, and both compiled. Fix: as for
// `mut-self-method-with-breaker-from-self.rs`; for owned arguments that another option
// borrows, the body cannot own them: borrow them (no `let name = name;`) when the tokens of
// `when`, `breaker` or `enabled` name them, or drop them explicitly after the call instead.
use std::time::Duration;

use failfast::{Breaker, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast("pass_when_borrows_argument", 60, when = |e: &ApiError| !key.is_empty() && *e == ApiError::Down)]
fn lookup(key: String) -> Result<usize, ApiError> {
    if key == "down" {
        return Err(ApiError::Down);
    }
    Ok(key.len())
}

struct Connection {
    breaker: Breaker,
    host: String,
}

impl Connection {
    fn host_len(&self) -> usize {
        self.host.len()
    }
}

// The body uses the whole argument (a method on it); one that names only its fields is
// captured field by field and compiles.
#[failfast(breaker = connection.breaker)]
fn ping(connection: Connection) -> Result<usize, ApiError> {
    Ok(connection.host_len())
}

fn main() {
    assert_eq!(lookup("sku".to_owned()), Ok(3));
    let connection = Connection {
        breaker: Breaker::new("pass_breaker_of_owned_argument", Duration::from_secs(60)),
        host: "db".to_owned(),
    };
    assert_eq!(ping(connection), Ok(2));
}
