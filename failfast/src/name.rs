//! Circuit names: [`Name`].

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

/// The name of a circuit, as breakers, rejections ([`Open`](crate::Open)), transitions and
/// stores carry it.
///
/// A name made from a string literal (any `&'static str`) is kept for the life of the process,
/// as the literal is, and copying it costs nothing: a rejection carries it without touching
/// memory that other threads use. A name made from a `String` (per host, tenant or shard) is
/// shared by reference count and freed with the last breaker, circuit or rejection that holds
/// it, so a service that makes names for days keeps only those in use.
///
/// A `Name` reads as the `str` it holds: it derefs to it, displays as it (control characters
/// escaped), and compares, hashes
/// and orders as it; it can key a map looked up by `&str`. A map keyed by `String` is looked up
/// with `name.as_str()`. A borrowed `&str` that is not `'static` makes a name with
/// `Name::from(host.to_owned())`.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Name};
///
/// let host = "eu-1.api.example.com";
/// let breaker = Breaker::new(format!("hosts/{host}"), Duration::from_secs(30));
/// assert_eq!(breaker.name(), "hosts/eu-1.api.example.com");
///
/// let name = Name::from("sales_api");
/// assert_eq!(name, "sales_api");
/// assert!(name.starts_with("sales"));
/// assert_eq!(format!("{name}"), "sales_api");
/// ```
#[derive(Clone)]
pub struct Name(Repr);

#[derive(Clone)]
enum Repr {
    /// A literal, through a pointer of one word that the process keeps.
    Literal(&'static &'static str),
    Shared(Arc<Box<str>>),
}

impl Name {
    /// The name as a string slice.
    ///
    /// ```
    /// use failfast::Name;
    /// assert_eq!(Name::from(String::from("crm")).as_str(), "crm");
    /// ```
    #[inline(always)]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Literal(literal) => literal,
            Repr::Shared(shared) => shared,
        }
    }

    /// The literal's one-word pointer: one for each distinct literal. The literals themselves
    /// live as long as the process, so keeping a pointer to each costs a bounded amount.
    fn literal(literal: &'static str) -> Name {
        static LITERALS: OnceLock<Mutex<HashSet<&'static &'static str>>> = OnceLock::new();
        let mut literals = LITERALS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let kept = match literals.get(&literal) {
            Some(&kept) => kept,
            None => {
                let kept: &'static &'static str = Box::leak(Box::new(literal));
                literals.insert(kept);
                kept
            }
        };
        Name(Repr::Literal(kept))
    }
}

impl From<&'static str> for Name {
    fn from(name: &'static str) -> Name {
        Name::literal(name)
    }
}

impl From<String> for Name {
    fn from(name: String) -> Name {
        Name(Repr::Shared(Arc::new(name.into_boxed_str())))
    }
}

impl From<Cow<'static, str>> for Name {
    fn from(name: Cow<'static, str>) -> Name {
        match name {
            Cow::Borrowed(literal) => Name::from(literal),
            Cow::Owned(owned) => Name::from(owned),
        }
    }
}

impl Deref for Name {
    type Target = str;

    #[inline(always)]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// The name with its control characters (a newline, say) escaped, as `\n`: a name made from
/// outside input (a host, a header) cannot forge a line of a log. [`as_str`](Name::as_str)
/// gives it as it is.
///
/// ```
/// use failfast::Name;
/// assert_eq!(Name::from("sales_api").to_string(), "sales_api");
/// assert_eq!(Name::from("host\nWARN forged").to_string(), "host\\nWARN forged");
/// ```
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Escaped(self.as_str()), f)
    }
}

/// A circuit's name shown with its control characters escaped, as [`Name`] displays.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0;
        if !name.chars().any(char::is_control) {
            return fmt::Display::fmt(name, f);
        }
        name.chars().try_for_each(|c| {
            if c.is_control() {
                fmt::Display::fmt(&c.escape_default(), f)
            } else {
                fmt::Write::write_char(f, c)
            }
        })
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_literals_share_one_pointer() {
        let (Repr::Literal(a), Repr::Literal(b)) = (Name::from("orders").0, Name::from("orders").0)
        else {
            panic!("literals are kept as literals");
        };
        assert!(std::ptr::eq(a, b));
    }

    #[test]
    fn a_shared_name_is_freed_with_its_last_holder() {
        let name = Name::from(String::from("hosts/a"));
        let Repr::Shared(shared) = &name.0 else {
            panic!("a String is shared, not kept");
        };
        let weak = Arc::downgrade(shared);
        let copy = name.clone();
        drop(name);
        assert_eq!(copy, "hosts/a");
        drop(copy);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn names_compare_and_hash_as_their_text() {
        let literal = Name::from("crm");
        let shared = Name::from(String::from("crm"));
        assert_eq!(literal, shared);
        let set: HashSet<Name> = [literal, shared].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert!(set.contains("crm"));
        assert_eq!(
            std::mem::size_of::<Name>(),
            2 * std::mem::size_of::<usize>()
        );
    }
}
