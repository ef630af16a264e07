//! Circuit names, kept for the life of the process so that a rejection can carry its circuit's
//! name without counting a reference on the hot path, in a pointer of one word.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// An interned name: a thin pointer to the name, which lives as long as the process.
pub(crate) type Name = &'static &'static str;

/// Returns `name` for the life of the process. Each distinct name is stored once, so a process
/// that builds breakers from a bounded set of names keeps a bounded set of strings.
pub(crate) fn intern(name: Cow<'static, str>) -> Name {
    static NAMES: OnceLock<Mutex<HashMap<&'static str, Name>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(&interned) = names.get(name.as_ref()) {
        return interned;
    }
    let text: &'static str = match name {
        Cow::Borrowed(name) => name,
        Cow::Owned(name) => Box::leak(name.into_boxed_str()),
    };
    let interned: Name = Box::leak(Box::new(text));
    names.insert(text, interned);
    interned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_owned_names_share_one_string() {
        let a = intern(Cow::Owned(String::from("orders")));
        let b = intern(Cow::Owned(String::from("orders")));
        assert!(std::ptr::eq(a, b));
        assert!(std::ptr::eq(intern(Cow::Borrowed("orders")), a));
        assert_eq!(*a, "orders");
    }
}
