//! How durations and names look serialized (feature `serde`): the representations that the
//! `#[derive(Serialize, Deserialize)]` of [`State`](crate::State), [`Stats`](crate::Stats),
//! [`Transition`](crate::Transition), [`Phase`](crate::Phase) and [`Reason`](crate::Reason)
//! refer to.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::name::Name;

/// A name is its text.
impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A name read back is shared, as one made from a `String` is.
impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        String::deserialize(deserializer).map(Name::from)
    }
}

/// A rate, which JSON cannot hold unless it is finite (`NaN` would be written as `null`, which
/// does not read back): a rate that is not is an error to serialize. The breaker's policies
/// make none.
pub(crate) fn finite<S: Serializer>(rate: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if !rate.is_finite() {
        return Err(serde::ser::Error::custom(format_args!(
            "a rate must be a finite number, not {rate}"
        )));
    }
    serializer.serialize_f64(*rate)
}

/// A duration as whole milliseconds, rounded up: the unit of health endpoints and of the
/// `timeout_ms` settings of most tools, and one that never shows a circuit with time left
/// to wait as `0`.
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::whole_millis;

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(whole_millis(*duration))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// An optional duration as whole milliseconds, rounded up, or `null`.
pub(crate) mod optional_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::whole_millis;

    pub(crate) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        duration.map(whole_millis).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(|millis| millis.map(Duration::from_millis))
    }
}

/// `duration` in milliseconds, rounded up, and at most `u64::MAX`.
fn whole_millis(duration: Duration) -> u64 {
    let millis = duration.as_nanos().div_ceil(1_000_000);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_milliseconds() {
        assert_eq!(whole_millis(Duration::ZERO), 0);
        assert_eq!(whole_millis(Duration::from_nanos(1)), 1);
        assert_eq!(whole_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(whole_millis(Duration::from_micros(1_500_001)), 1501);
        assert_eq!(whole_millis(Duration::MAX), u64::MAX);
    }
}
