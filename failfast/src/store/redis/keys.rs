//! Where a circuit lives in Redis: its name, encoded so that no name can reach another
//! circuit's keys, inside a hash tag shared by all of its keys.

/// The keys of one circuit, and its name as it travels in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Keys {
    /// A hash: the circuit's epoch, generation, phase and last writer.
    pub(super) state: String,
    /// A string that exists while the circuit's open period lasts: its PTTL is the time left.
    pub(super) open: String,
    /// A sorted set of the probe tokens held, scored by when each expires.
    pub(super) probes: String,
    /// The name, encoded.
    pub(super) encoded: String,
}

impl Keys {
    /// The keys of the circuit `name` under `prefix`: `{prefix}{<name>}:state` and so on. The
    /// braces make the encoded name the hash tag, so a circuit's keys share a Redis Cluster slot.
    pub(super) fn new(prefix: &str, name: &str) -> Keys {
        let encoded = encode(name);
        let key = |what: &str| format!("{prefix}{{{encoded}}}:{what}");
        Keys {
            state: key("state"),
            open: key("open"),
            probes: key("probes"),
            encoded,
        }
    }
}

/// Whether `byte` is kept as it is in an encoded name: letters, digits and a few punctuation
/// marks that names are commonly made of. Braces (the hash tag), spaces (the message
/// separator) and `%` (the escape) are never kept.
fn kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b':' | b'/' | b'@')
}

/// Encodes `name` so that it holds no brace, space or control character: every other byte
/// becomes `%` and two hex digits. Two names have the same encoding only if they are equal.
pub(super) fn encode(name: &str) -> String {
    if name.is_empty() {
        // `{}` is no hash tag: the empty name gets a mark no other name's encoding has.
        return EMPTY.to_owned();
    }
    let mut encoded = String::with_capacity(name.len());
    for &byte in name.as_bytes() {
        if kept(byte) {
            encoded.push(byte as char);
        } else {
            encoded.push('%');
            encoded.push(hex(byte >> 4));
            encoded.push(hex(byte & 0xf));
        }
    }
    encoded
}

/// The encoding of the empty name: `%` is otherwise always followed by two hex digits.
const EMPTY: &str = "%-";

/// The name that `encoded` encodes, if it is an encoding.
pub(super) fn decode(encoded: &str) -> Option<String> {
    if encoded == EMPTY {
        return Some(String::new());
    }
    let bytes = encoded.as_bytes();
    let mut name = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let high = unhex(*bytes.get(i + 1)?)?;
                let low = unhex(*bytes.get(i + 2)?)?;
                name.push(high << 4 | low);
                i += 3;
            }
            byte if kept(byte) => {
                name.push(byte);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(name).ok()
}

fn hex(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
}

fn unhex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_names_stay_readable() {
        let keys = Keys::new("failfast:", "sales_api");
        assert_eq!(keys.state, "failfast:{sales_api}:state");
        assert_eq!(keys.open, "failfast:{sales_api}:open");
        assert_eq!(keys.probes, "failfast:{sales_api}:probes");
        assert_eq!(encode("svc:users/v2@eu-west.1"), "svc:users/v2@eu-west.1");
    }

    #[test]
    fn hostile_names_cannot_reach_the_hash_tag_or_the_message_fields() {
        assert_eq!(encode("a}:state {b"), "a%7D:state%20%7Bb");
        assert_eq!(encode("line\nbreak"), "line%0Abreak");
        assert_eq!(encode("100%"), "100%25");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(
            Keys::new("p:", "").state,
            "p:{%-}:state",
            "a hash tag even when empty"
        );
        let keys = Keys::new("failfast:", "}x{");
        assert_eq!(keys.state, "failfast:{%7Dx%7B}:state");
    }

    #[test]
    fn decoding_rejects_what_encoding_never_makes() {
        assert_eq!(decode("a b"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%FF"), None, "not UTF-8");
        assert_eq!(decode("%41").as_deref(), Some("A"));
    }

    proptest! {
        #[test]
        fn encoding_is_undone_by_decoding(name in any::<String>()) {
            let encoded = encode(&name);
            let plain = encoded.bytes().all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
            prop_assert!(plain, "{}", encoded);
            prop_assert_eq!(decode(&encoded), Some(name));
        }

        #[test]
        fn different_names_have_different_keys(a in any::<String>(), b in any::<String>()) {
            prop_assume!(a != b);
            prop_assert_ne!(Keys::new("p:", &a), Keys::new("p:", &b));
        }
    }
}
