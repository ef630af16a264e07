//! The half-open phase: how many probes may run, how many must succeed, and the bookkeeping of
//! the probe permits handed out.

use std::time::Duration;

use crate::clock::{later, nanos};
use crate::error::ConfigError;

/// The half-open settings a breaker was built with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HalfOpenSettings {
    /// Probe calls allowed in flight at once.
    pub(crate) probes: u32,
    /// Successful probes that close the circuit.
    pub(crate) successes_to_close: u32,
    /// How long a probe may hold its permit before the permit is reclaimed.
    pub(crate) probe_timeout: Duration,
}

impl Default for HalfOpenSettings {
    fn default() -> Self {
        HalfOpenSettings {
            probes: 1,
            successes_to_close: 1,
            probe_timeout: Duration::from_secs(60),
        }
    }
}

impl HalfOpenSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.probes == 0 {
            return Err(ConfigError::new("probes", "at least 1", self.probes));
        }
        if self.successes_to_close == 0 {
            return Err(ConfigError::new(
                "successes_to_close",
                "at least 1",
                self.successes_to_close,
            ));
        }
        if self.probe_timeout.is_zero() {
            return Err(ConfigError::new(
                "probe_timeout",
                "greater than zero",
                self.probe_timeout,
            ));
        }
        Ok(())
    }
}

/// Probe ids stay below this: the values above mark other kinds of permit.
pub(crate) const MAX_PROBE_ID: u32 = u32::MAX - 3;

/// The probe permits of one half-open period.
#[derive(Debug, Default)]
pub(crate) struct Probes {
    /// Permits in flight: their id and the time their permit expires.
    in_flight: Vec<(u32, u64)>,
    successes: u32,
    next_id: u32,
}

/// What a finished probe did to the half-open period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeVerdict {
    /// The permit had expired or belonged to an earlier period: the outcome is ignored.
    Stale,
    /// Counted; the period goes on.
    Pending,
    /// Enough probes succeeded: close the circuit.
    Close(u32),
    /// The probe failed: reopen the circuit.
    Reopen,
}

impl Probes {
    /// Hands out a permit if fewer than `probes` are in flight, first reclaiming permits held
    /// longer than the probe timeout. Otherwise returns when the oldest permit expires.
    pub(crate) fn admit(&mut self, now: u64, settings: &HalfOpenSettings) -> Result<u32, u64> {
        self.in_flight.retain(|&(_, expires)| expires > now);
        if self.in_flight.len() < settings.probes as usize {
            let id = self.next_id;
            self.next_id = (self.next_id + 1) % MAX_PROBE_ID;
            let expires = later(now, nanos(settings.probe_timeout));
            self.in_flight.push((id, expires));
            Ok(id)
        } else {
            Err(self
                .in_flight
                .iter()
                .map(|&(_, expires)| expires)
                .min()
                .unwrap_or(now))
        }
    }

    /// Whether [`admit`](Self::admit) would hand out a permit now.
    #[cfg(feature = "tower")]
    pub(crate) fn has_room(&self, now: u64, settings: &HalfOpenSettings) -> bool {
        let held = self.in_flight.iter().filter(|&&(_, expires)| expires > now);
        held.count() < settings.probes as usize
    }

    /// Returns the permit `id` unused: the probe neither succeeded nor failed.
    pub(crate) fn release(&mut self, id: u32) {
        self.take(id);
    }

    /// Records the outcome of probe `id`.
    pub(crate) fn finish(
        &mut self,
        id: u32,
        success: bool,
        settings: &HalfOpenSettings,
    ) -> ProbeVerdict {
        if !self.take(id) {
            return ProbeVerdict::Stale;
        }
        if !success {
            return ProbeVerdict::Reopen;
        }
        self.successes += 1;
        if self.successes >= settings.successes_to_close {
            ProbeVerdict::Close(self.successes)
        } else {
            ProbeVerdict::Pending
        }
    }

    fn take(&mut self, id: u32) -> bool {
        match self.in_flight.iter().position(|&(held, _)| held == id) {
            Some(index) => {
                self.in_flight.swap_remove(index);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(probes: u32, successes_to_close: u32) -> HalfOpenSettings {
        HalfOpenSettings {
            probes,
            successes_to_close,
            probe_timeout: Duration::from_nanos(100),
        }
    }

    #[test]
    fn admits_up_to_the_probe_limit_and_says_when_to_retry() {
        let settings = settings(2, 2);
        let mut probes = Probes::default();
        assert!(probes.admit(0, &settings).is_ok());
        assert!(probes.admit(10, &settings).is_ok());
        assert_eq!(probes.admit(20, &settings), Err(100));
    }

    #[test]
    fn a_released_permit_can_be_handed_out_again() {
        let settings = settings(1, 1);
        let mut probes = Probes::default();
        let id = probes.admit(0, &settings).unwrap();
        probes.release(id);
        assert!(probes.admit(1, &settings).is_ok());
    }

    #[test]
    fn an_expired_permit_is_reclaimed_and_its_outcome_ignored() {
        let settings = settings(1, 1);
        let mut probes = Probes::default();
        let slow = probes.admit(0, &settings).unwrap();
        assert!(probes.admit(99, &settings).is_err());
        let fresh = probes.admit(100, &settings).unwrap();
        assert_eq!(probes.finish(slow, true, &settings), ProbeVerdict::Stale);
        assert_eq!(
            probes.finish(fresh, true, &settings),
            ProbeVerdict::Close(1)
        );
    }

    #[test]
    fn closes_after_enough_successes_and_reopens_on_a_failure() {
        let settings = settings(1, 3);
        let mut probes = Probes::default();
        for _ in 0..2 {
            let id = probes.admit(0, &settings).unwrap();
            assert_eq!(probes.finish(id, true, &settings), ProbeVerdict::Pending);
        }
        let id = probes.admit(0, &settings).unwrap();
        assert_eq!(probes.finish(id, true, &settings), ProbeVerdict::Close(3));

        let mut probes = Probes::default();
        let id = probes.admit(0, &settings).unwrap();
        assert_eq!(probes.finish(id, false, &settings), ProbeVerdict::Reopen);
    }

    #[test]
    fn zero_settings_are_rejected() {
        assert_eq!(settings(0, 1).validate().unwrap_err().setting(), "probes");
        assert_eq!(
            settings(1, 0).validate().unwrap_err().setting(),
            "successes_to_close"
        );
    }
}
