//! How a call's result counts against the circuit.

/// How a call through a [`FailFast`](super::FailFast) service counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The dependency answered as a healthy one does.
    Success,
    /// A failure that counts against the circuit.
    Failure,
    /// A failure that says nothing about the dependency's health: counted in
    /// [`Stats::ignored`](crate::Stats::ignored) and nowhere else.
    Ignored,
}

/// Decides how a call's result counts. Implemented by [`Errors`] (the default: every error is a
/// failure), by [`HttpStatus`](super::HttpStatus), and by any
/// `Fn(&Result<Response, Error>) -> Outcome`.
///
/// ```
/// use failfast::service::{Classify, Outcome};
///
/// // Time-outs count; any other error is the caller's fault.
/// let classify = |result: &Result<u32, std::io::Error>| match result {
///     Ok(_) => Outcome::Success,
///     Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Outcome::Failure,
///     Err(_) => Outcome::Ignored,
/// };
/// assert_eq!(classify.classify(&Ok(1)), Outcome::Success);
/// ```
pub trait Classify<Response, Error> {
    /// How `result` counts.
    fn classify(&self, result: &Result<Response, Error>) -> Outcome;
}

/// The default classifier: every error is a failure, every response a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct Errors;

impl<Response, Error> Classify<Response, Error> for Errors {
    #[inline(always)]
    fn classify(&self, result: &Result<Response, Error>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

impl<F, Response, Error> Classify<Response, Error> for F
where
    F: Fn(&Result<Response, Error>) -> Outcome,
{
    #[inline(always)]
    fn classify(&self, result: &Result<Response, Error>) -> Outcome {
        self(result)
    }
}
