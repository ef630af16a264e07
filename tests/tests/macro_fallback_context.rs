//! A fallback written as a closure sees `self` and the function's arguments: a per-key cached
//! answer, without `Clone`.

use std::collections::HashMap;
use std::sync::Mutex;

use failfast::{Breaker, ManualClock, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

/// Prices from an upstream, with the last price seen for each item.
struct Prices {
    breaker: Breaker,
    upstream_down: Mutex<bool>,
    last_seen: Mutex<HashMap<String, u32>>,
}

impl Prices {
    fn new() -> Self {
        Prices {
            breaker: Breaker::builder("prices")
                .clock(ManualClock::new())
                .build()
                .unwrap(),
            upstream_down: Mutex::new(false),
            last_seen: Mutex::new(HashMap::new()),
        }
    }

    fn last_seen(&self, sku: &str) -> Result<u32, ApiError> {
        self.last_seen
            .lock()
            .unwrap()
            .get(sku)
            .copied()
            .ok_or(ApiError::Down)
    }

    #[failfast(breaker = self.breaker, fallback = |_| self.last_seen(sku))]
    fn price(&self, sku: &str) -> Result<u32, ApiError> {
        if *self.upstream_down.lock().unwrap() {
            return Err(ApiError::Down);
        }
        let price = sku.len() as u32 * 100;
        self.last_seen.lock().unwrap().insert(sku.to_owned(), price);
        Ok(price)
    }

    #[failfast(breaker = self.breaker, fallback = move |_| async move { self.last_seen(sku) })]
    async fn price_async(&self, sku: &str) -> Result<u32, ApiError> {
        self.price(sku)
    }
}

#[test]
fn a_closure_fallback_answers_per_key_from_self_and_the_arguments() {
    let prices = Prices::new();
    assert_eq!(prices.price("pen"), Ok(300));
    assert_eq!(prices.price("notebook"), Ok(800));
    *prices.upstream_down.lock().unwrap() = true;
    assert_eq!(
        prices.price("pen"),
        Ok(300),
        "a counted failure: the last price seen"
    );
    assert!(prices.breaker.state().is_open());
    assert_eq!(
        prices.price("notebook"),
        Ok(800),
        "refused: the last price seen"
    );
    assert_eq!(prices.price("eraser"), Err(ApiError::Down), "never seen");
}

#[tokio::test]
async fn an_async_closure_fallback_answers_per_key() {
    let prices = Prices::new();
    assert_eq!(prices.price_async("pen").await, Ok(300));
    prices
        .breaker
        .force_open(std::time::Duration::from_secs(60));
    assert_eq!(prices.price_async("pen").await, Ok(300));
    assert_eq!(prices.price_async("ink").await, Err(ApiError::Down));
}

#[failfast("closure_total", 3600, fallback = |_| format!("{greeting}, stranger"))]
fn greet(greeting: &str, name: &str) -> String {
    assert!(!name.is_empty(), "no name");
    format!("{greeting}, {name}")
}

#[test]
fn a_closure_fallback_of_a_function_that_cannot_fail_sees_the_arguments() {
    assert_eq!(greet("hello", "ada"), "hello, ada");
    assert!(std::panic::catch_unwind(|| greet("hello", "")).is_err());
    assert_eq!(greet("hi", "ada"), "hi, stranger");
}

fn cached_length(sku: &str) -> Result<usize, ApiError> {
    Ok(sku.len() * 10)
}

#[failfast("closure_owned_argument", 3600, fallback = |_| cached_length(&sku))]
fn length(sku: String, down: bool) -> Result<usize, ApiError> {
    if down {
        return Err(ApiError::Down);
    }
    Ok(sku.len())
}

#[test]
fn a_sync_closure_fallback_sees_an_owned_argument_the_body_only_reads() {
    assert_eq!(length("pen".to_owned(), false), Ok(3));
    assert_eq!(length("pen".to_owned(), true), Ok(30));
    assert_eq!(length("notebook".to_owned(), false), Ok(80), "refused");
}
