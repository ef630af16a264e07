//! An error type listed in `exceptions = [...]`, as Python's `exceptions=[IOError]` means it:
//! the call's error counts if it, or an error in its `source()` chain, is of that type.
//!
//! The chain starts at the error itself for an error type (`E: Error`), and at the error it
//! holds for the erased kinds (`anyhow::Error`, `Box<dyn Error + Send + Sync>`,
//! `Box<dyn Error + Send>`, `Box<dyn Error>`), which deref to `dyn Error`, and for boxes of an
//! error type (`Box<E>`, `Arc<E>`). `(&&&&Chain(error)).root()` finds whichever applies: the
//! methods on more references are tried first, `Chain::root` last. An `io::Error` that wraps
//! an error (`io::Error::other(e)`) is followed into it, which its `source()` skips.

use std::error::Error;
use std::io;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

/// The call's error, to look for a type in.
pub struct Chain<'e, E>(pub &'e E);

/// An error whose `source()` chain an error type of `exceptions` is looked for in.
#[diagnostic::on_unimplemented(
    message = "an error type in `exceptions` is looked for in the error's `source()` chain, \
               and `{Self}` is not a `std::error::Error`",
    label = "the function's error must be a `std::error::Error`, an `anyhow::Error` or a \
             `Box<dyn Error>` for the error types of `exceptions`",
    note = "a capitalized name in `exceptions` is taken for an error type: write a variant with \
            its enum (`exceptions = [ApiError::Timeout]`), a constant in capitals of two letters \
            or more, or compare through `when = |e| *e == A`"
)]
pub trait ChainedError: Error + 'static {}

impl<E: Error + 'static> ChainedError for E {}

impl<'e, E> Chain<'e, E> {
    /// The error, as the first link of its chain: for an error type, which the erased kinds
    /// (found first, by [`SharedRoot`] and [`DynRoot`]) are not.
    #[inline(always)]
    pub fn root(&self) -> &'e (dyn Error + 'static)
    where
        E: ChainedError,
    {
        self.0
    }
}

/// The chain of an erased error that may cross threads: `anyhow::Error`, `eyre::Report`,
/// `Box<dyn Error + Send + Sync>`.
pub trait SharedRoot<'e> {
    /// The error held, as the first link of its chain.
    fn root(&self) -> &'e (dyn Error + 'static);
}

impl<'e, E> SharedRoot<'e> for &&&Chain<'e, E>
where
    E: Deref<Target = dyn Error + Send + Sync + 'static>,
{
    #[inline(always)]
    fn root(&self) -> &'e (dyn Error + 'static) {
        &**self.0
    }
}

/// The chain of an erased error: `Box<dyn Error>`.
pub trait DynRoot<'e> {
    /// The error held, as the first link of its chain.
    fn root(&self) -> &'e (dyn Error + 'static);
}

impl<'e, E> DynRoot<'e> for &&&&Chain<'e, E>
where
    E: Deref<Target = dyn Error + 'static>,
{
    #[inline(always)]
    fn root(&self) -> &'e (dyn Error + 'static) {
        &**self.0
    }
}

/// The chain of an erased error that may be sent: `Box<dyn Error + Send>`.
pub trait SendRoot<'e> {
    /// The error held, as the first link of its chain.
    fn root(&self) -> &'e (dyn Error + 'static);
}

impl<'e, E> SendRoot<'e> for &&Chain<'e, E>
where
    E: Deref<Target = dyn Error + Send + 'static>,
{
    #[inline(always)]
    fn root(&self) -> &'e (dyn Error + 'static) {
        &**self.0
    }
}

/// The chain of a boxed error type: `Box<E>`, `Arc<E>`, `Rc<E>`, starting at the `E` held.
pub trait BoxedRoot<'e> {
    /// The error held, as the first link of its chain.
    fn root(&self) -> &'e (dyn Error + 'static);
}

// For each box, not for any `Deref`: an error type of the user's that derefs to another error
// is looked for as itself.
impl<'e, T> BoxedRoot<'e> for &Chain<'e, Box<T>>
where
    T: Error + 'static,
{
    #[inline(always)]
    fn root(&self) -> &'e (dyn Error + 'static) {
        &**self.0
    }
}

impl<'e, T> BoxedRoot<'e> for &Chain<'e, Arc<T>>
where
    T: Error + 'static,
{
    #[inline(always)]
    fn root(&self) -> &'e (dyn Error + 'static) {
        &**self.0
    }
}

impl<'e, T> BoxedRoot<'e> for &Chain<'e, Rc<T>>
where
    T: Error + 'static,
{
    #[inline(always)]
    fn root(&self) -> &'e (dyn Error + 'static) {
        &**self.0
    }
}

/// How many links of a `source()` chain are looked at: a chain that loops ends here.
const MOST_LINKS: usize = 64;

/// Whether `error`, or an error in its `source()` chain, is a `T`. An `io::Error` wrapping an
/// error is followed into it (its `source()` is the wrapped error's source, skipping it).
pub fn caused_by<T: Error + 'static>(error: &(dyn Error + 'static)) -> bool {
    let mut link = Some(error);
    for _ in 0..MOST_LINKS {
        let Some(error) = link else {
            return false;
        };
        if error.is::<T>() {
            return true;
        }
        link = match error
            .downcast_ref::<std::io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped),
            None => error.source(),
        };
    }
    false
}
