//! A function with a fallback whose return type has a name the macro cannot read as `Result`
//! or not (`ApiResult<T>`, `Reply`): whether it is guarded as fallible, its errors counted, or
//! as total, its fallback answering only refusals, is decided by its type.
//!
//! `Guard::<R>::new().call_or(..)` finds the inherent method when `R` is a `Result`, and the
//! [`TotalGuard`] method otherwise: inherent methods are chosen first.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;

use crate::breaker::Breaker;
use crate::error::Error;

use super::{call_or, call_total_or, every, run_or, run_total_or};

/// The guard of a function returning `R`.
pub struct Guard<R>(PhantomData<R>);

impl<R> Guard<R> {
    /// The guard of a function returning `R`.
    #[inline(always)]
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<R> Default for Guard<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> Guard<Result<T, E>> {
    /// A function returning a `Result`: every error counts.
    #[inline(always)]
    pub fn call_or<F, B>(
        self,
        breaker: &Breaker,
        enabled: bool,
        body: F,
        fallback: B,
    ) -> Result<T, E>
    where
        F: FnOnce() -> Result<T, E>,
        B: FnOnce(Error<E>) -> Result<T, E>,
    {
        call_or(PhantomData, breaker, enabled, every, body, fallback)
    }

    /// An async function returning a `Result`: every error counts.
    pub async fn run_or<F, B, BF>(
        self,
        breaker: &Breaker,
        enabled: bool,
        body: F,
        fallback: B,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        B: FnOnce(Error<E>) -> BF,
        BF: Future<Output = Result<T, E>>,
    {
        run_or(PhantomData, breaker, enabled, every, body, fallback).await
    }
}

/// A function returning anything but a `Result`: it fails only by panicking.
pub trait TotalGuard<R> {
    /// The function's body, or while the circuit is open its fallback.
    fn call_or<F, B>(self, breaker: &Breaker, enabled: bool, body: F, fallback: B) -> R
    where
        F: FnOnce() -> R,
        B: FnOnce(Error<Infallible>) -> R;

    /// The async function's body, or while the circuit is open its fallback.
    fn run_or<F, B, BF>(
        self,
        breaker: &Breaker,
        enabled: bool,
        body: F,
        fallback: B,
    ) -> impl Future<Output = R>
    where
        F: Future<Output = R>,
        B: FnOnce(Error<Infallible>) -> BF,
        BF: Future<Output = R>;
}

impl<R> TotalGuard<R> for Guard<R> {
    #[inline(always)]
    fn call_or<F, B>(self, breaker: &Breaker, enabled: bool, body: F, fallback: B) -> R
    where
        F: FnOnce() -> R,
        B: FnOnce(Error<Infallible>) -> R,
    {
        call_total_or(breaker, enabled, body, fallback)
    }

    fn run_or<F, B, BF>(
        self,
        breaker: &Breaker,
        enabled: bool,
        body: F,
        fallback: B,
    ) -> impl Future<Output = R>
    where
        F: Future<Output = R>,
        B: FnOnce(Error<Infallible>) -> BF,
        BF: Future<Output = R>,
    {
        run_total_or(breaker, enabled, body, fallback)
    }
}
