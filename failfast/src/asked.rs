//! What a predicate answered about a call's error: [`Asked`].

use std::sync::atomic::{AtomicU8, Ordering};

/// What a predicate (`exceptions`, `when`) answered about a call's error, kept so that it is
/// asked once per error: by the breaker, to count the error, and not again to decide whether
/// to retry it or hand it to a fallback. An atomic rather than a `Cell`: async callers hold it
/// across awaits, and their futures must stay `Send`.
#[derive(Default)]
pub(crate) struct Asked(AtomicU8);

impl Asked {
    const NOT_ASKED: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;

    /// Asks `predicate` about `error`, and notes the answer.
    #[inline(always)]
    pub(crate) fn ask<E>(&self, predicate: impl FnOnce(&E) -> bool, error: &E) -> bool {
        let answer = predicate(error);
        let noted = if answer { Asked::YES } else { Asked::NO };
        self.0.store(noted, Ordering::Relaxed);
        answer
    }

    /// The last answer noted, or `None` if the predicate was not asked: the call succeeded,
    /// was refused, or timed out (a time-out counts without asking).
    #[inline(always)]
    pub(crate) fn answer(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            Asked::NOT_ASKED => None,
            noted => Some(noted == Asked::YES),
        }
    }
}
