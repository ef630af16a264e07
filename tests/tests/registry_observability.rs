//! One listener for every breaker of a registry, the `#[failfast]` functions' included, and a
//! list of them all for a health endpoint. (A test binary of its own: it adds a listener to
//! the global registry.)

use std::sync::{Arc, Mutex, OnceLock};

use failfast::{Listener, Open, Registry, Transition, failfast};

#[derive(Default)]
struct Heard {
    lines: Mutex<Vec<String>>,
}

impl Listener for Heard {
    fn on_transition(&self, t: &Transition) {
        self.lines.lock().unwrap().push(t.to_string());
    }
    fn on_rejected(&self, open: &Open) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("refused: {}", open.name()));
    }
}

/// The listener, added at "start-up": before the first guarded call.
fn heard() -> &'static Arc<Heard> {
    static HEARD: OnceLock<Arc<Heard>> = OnceLock::new();
    HEARD.get_or_init(|| {
        let heard = Arc::new(Heard::default());
        Registry::global().add_listener(heard.clone());
        heard
    })
}

#[derive(Debug, PartialEq)]
enum ApiError {
    Down,
    Open(String),
}

impl From<Open> for ApiError {
    fn from(open: Open) -> Self {
        ApiError::Open(open.name().to_owned())
    }
}

#[failfast("observed_inventory", 30)]
fn inventory() -> Result<u32, ApiError> {
    Err(ApiError::Down)
}

#[failfast("observed_search", 30)]
fn search() -> Result<u32, ApiError> {
    Ok(7)
}

#[test]
fn one_listener_hears_every_macro_breaker_and_the_registry_lists_them() {
    let heard = heard();
    assert_eq!(
        inventory(),
        Err(ApiError::Down),
        "the failure opens the circuit"
    );
    assert_eq!(
        inventory(),
        Err(ApiError::Open("observed_inventory".into()))
    );
    assert_eq!(search(), Ok(7));
    let lines = heard.lines.lock().unwrap().clone();
    assert!(
        lines.contains(&"observed_inventory: closed -> open (1 failure; open for 30s)".to_owned()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"refused: observed_inventory".to_owned()),
        "{lines:#?}"
    );

    let listed: Vec<(String, String)> = Registry::global()
        .breakers()
        .iter()
        .filter(|b| b.name().as_str().starts_with("observed_"))
        .map(|b| (b.name().to_string(), b.state().phase().to_string()))
        .collect();
    assert_eq!(
        listed,
        [
            ("observed_inventory".to_owned(), "open".to_owned()),
            ("observed_search".to_owned(), "closed".to_owned()),
        ]
    );
}
