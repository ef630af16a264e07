//! Where `#[failfast("name", ..)]` functions asked for their breakers, and with what settings:
//! two functions that name one circuit with different settings are reported, not left to
//! whichever runs first.

use std::fmt;
use std::time::Duration;

use crate::name::Name;

/// A `#[failfast("name", ..)]` function's request for its breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Site {
    /// The function, as `module::path::function`.
    pub(crate) function: &'static str,
    /// How long the circuit stays open.
    pub(crate) open_for: Duration,
    /// How many failures in a row open it.
    pub(crate) threshold: u32,
}

impl Site {
    /// Whether `other` asks for the same breaker settings.
    pub(crate) fn agrees_with(&self, other: &Site) -> bool {
        (self.open_for, self.threshold) == (other.open_for, other.threshold)
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` (open for {:?}, threshold {})",
            self.function, self.open_for, self.threshold
        )
    }
}

/// Reports that `later` names the circuit `name` with other settings than `first`, which made
/// it: a `tracing` warning (feature `tracing`), and a panic in debug builds, so that the
/// disagreement is found in development rather than in production.
pub(crate) fn report_conflict(name: &Name, first: &Site, later: &Site) {
    let message = format!(
        "circuit `{name}`: {later} names it with other settings than {first}, which made it \
         and whose settings hold. Give both functions the same settings, or make the breaker \
         once (`Registry::global().get_or_build(..)`) and pass it with `breaker = ..`"
    );
    #[cfg(feature = "tracing")]
    tracing::warn!(circuit = name.as_str(), "{message}");
    if cfg!(debug_assertions) {
        panic!("{message}");
    }
}

/// Reports that `site` names the circuit `name`, which was made elsewhere (pre-registered), so
/// that its own settings are not used (feature `tracing`, at `INFO`): that is how a circuit
/// gets settings the macro has no option for, but it should not go unseen.
pub(crate) fn report_made_elsewhere(name: &Name, site: &Site) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        circuit = name.as_str(),
        "circuit `{name}`: {site} uses the breaker made before it; its own settings are not used"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (name, site);
}
