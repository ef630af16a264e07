//! Which breaker guards a call: one for the whole service, or one chosen per request.

use std::borrow::Cow;

use crate::breaker::Breaker;

/// Chooses the breaker that guards a request. A [`Breaker`] guards every request with one
/// circuit; [`PerRequest`] chooses by the request (per host, per tenant, per route).
pub trait Breakers<Request> {
    /// The breaker for `request`.
    fn select(&self, request: &Request) -> Cow<'_, Breaker>;

    /// The one breaker of every request, if there is one: then `poll_ready` can tell that a
    /// call would be refused before there is a request.
    fn single(&self) -> Option<&Breaker>;
}

impl<Request> Breakers<Request> for Breaker {
    #[inline(always)]
    fn select(&self, _: &Request) -> Cow<'_, Breaker> {
        Cow::Borrowed(self)
    }

    #[inline(always)]
    fn single(&self) -> Option<&Breaker> {
        Some(self)
    }
}

/// A breaker chosen for each request by a closure, typically from a
/// [`Registry`](crate::Registry): one circuit per host of a client, say.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Registry};
/// use failfast::service::{Breakers, PerRequest};
///
/// let hosts = Registry::new();
/// let per_host = PerRequest::new(move |request: &http::Request<()>| {
///     let host = request.uri().authority().map_or("", |a| a.as_str()).to_owned();
///     hosts.get_or_create(host, Duration::from_secs(10))
/// });
/// let request = http::Request::get("http://eu.example.com/x").body(()).unwrap();
/// assert_eq!(per_host.select(&request).name(), "eu.example.com");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PerRequest<F> {
    choose: F,
}

impl<F> PerRequest<F> {
    /// Guards each request with the breaker `choose` gives for it.
    pub fn new(choose: F) -> Self {
        PerRequest { choose }
    }
}

impl<F, Request> Breakers<Request> for PerRequest<F>
where
    F: Fn(&Request) -> Breaker,
{
    #[inline(always)]
    fn select(&self, request: &Request) -> Cow<'_, Breaker> {
        Cow::Owned((self.choose)(request))
    }

    #[inline(always)]
    fn single(&self) -> Option<&Breaker> {
        None
    }
}
