//! Circuit names, kept for the life of the process so that a rejection can carry its circuit's
//! name without counting a reference on the hot path.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Returns `name` with a `'static` lifetime. An owned name is stored once per distinct name, so
/// a process that builds breakers from a bounded set of names keeps a bounded set of strings.
pub(crate) fn intern(name: Cow<'static, str>) -> &'static str {
    match name {
        Cow::Borrowed(name) => name,
        Cow::Owned(name) => {
            static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
            let mut names = NAMES
                .get_or_init(Default::default)
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match names.get(name.as_str()) {
                Some(&interned) => interned,
                None => {
                    let interned: &'static str = Box::leak(name.into_boxed_str());
                    names.insert(interned);
                    interned
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_owned_names_share_one_string() {
        let a = intern(Cow::Owned(String::from("orders")));
        let b = intern(Cow::Owned(String::from("orders")));
        assert!(std::ptr::eq(a, b));
        assert_eq!(intern(Cow::Borrowed("orders")), a);
    }
}
