//! Fetch watchdog: notices an assigned partition that librdkafka stopped fetching.
//!
//! After a broker restart librdkafka can leave a partition that is still assigned in a state
//! where it is never fetched again (stuck in offset validation, `validate-epoch-wait`, or with
//! the fetcher behind the partition's end and not moving); the consumer then waits forever
//! without an error (librdkafka#4492, #5153). Only a new consumer gets it going. So the source
//! samples each assigned partition from the client statistics, and a partition that has been
//! *not fetching* for [`FETCH_STALL_LIMIT`] while the broker answers ends the stage with
//! [`crate::pipeline::error::PipelineError::Stalled`], which the supervisor restarts with a new
//! consumer and producer (from the committed offsets, so nothing is lost or doubled).
//!
//! *Not fetching* means one of:
//! - the fetch state is anything but `active` (a healthy partition, idle or busy, is `active`;
//!   the other states last milliseconds);
//! - the fetch position is behind the partition's last stable offset, nothing fetched is
//!   waiting to be consumed, and the position has not moved since the previous sample.
//!
//! An idle, caught-up partition is `active` with its position at the end, so it is never
//! reported, and neither is a consumer that is merely slow (its fetch queue is not empty).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a partition may be not fetching before the stage restarts.
pub const FETCH_STALL_LIMIT: Duration = Duration::from_secs(60);

/// One partition's figures from a statistics callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// librdkafka's fetch state (`active`, `offset-query`, `validate-epoch-wait`, ...).
    pub fetch_state: String,
    /// Next offset to fetch.
    pub next_offset: i64,
    /// Last stable offset (read_committed) or high watermark, from the last fetch response.
    pub end_offset: i64,
    /// Messages fetched and not yet consumed by the application.
    pub queued: i64,
}

/// Per-partition record of when a partition stopped fetching.
#[derive(Debug, Default)]
pub struct FetchWatch {
    /// Partitions not fetching: since when, the state seen last, and the position then.
    idle: BTreeMap<i32, (Instant, String, i64)>,
    /// Positions at the previous sample.
    last_position: BTreeMap<i32, i64>,
}

impl FetchWatch {
    /// Records a statistics sample of the assigned partitions (others are forgotten).
    pub fn observe(&mut self, now: Instant, samples: &BTreeMap<i32, Sample>) {
        self.idle.retain(|p, _| samples.contains_key(p));
        for (&partition, s) in samples {
            let moved = self
                .last_position
                .insert(partition, s.next_offset)
                .is_none_or(|before| before != s.next_offset);
            let behind = s.next_offset >= 0 && s.end_offset > s.next_offset && s.queued == 0;
            let not_fetching = s.fetch_state != "active" || (behind && !moved);
            if not_fetching {
                let entry =
                    self.idle
                        .entry(partition)
                        .or_insert((now, String::new(), s.next_offset));
                entry.1 = format!(
                    "fetch state {}, position {}, end {}",
                    s.fetch_state, s.next_offset, s.end_offset
                );
                entry.2 = s.next_offset;
            } else {
                self.idle.remove(&partition);
            }
        }
        self.last_position.retain(|p, _| samples.contains_key(p));
    }

    /// Forgets everything (after a rebalance: the new assignment is sampled afresh).
    pub fn reset(&mut self) {
        self.idle.clear();
        self.last_position.clear();
    }

    /// Partitions not fetching for at least `limit`, with what was seen last.
    pub fn stalled(&self, now: Instant, limit: Duration) -> Vec<(i32, Duration, String)> {
        self.idle
            .iter()
            .filter(|(_, (since, _, _))| now.duration_since(*since) >= limit)
            .map(|(&p, (since, what, _))| (p, now.duration_since(*since), what.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(state: &str, next: i64, end: i64, queued: i64) -> Sample {
        Sample {
            fetch_state: state.into(),
            next_offset: next,
            end_offset: end,
            queued,
        }
    }

    fn one(s: Sample) -> BTreeMap<i32, Sample> {
        BTreeMap::from([(0, s)])
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn an_idle_caught_up_partition_is_never_stalled() {
        let mut w = FetchWatch::default();
        let t0 = Instant::now();
        for i in 0..100 {
            w.observe(t0 + i * S, &one(sample("active", 500, 500, 0)));
        }
        assert!(w.stalled(t0 + 100 * S, FETCH_STALL_LIMIT).is_empty());
    }

    #[test]
    fn a_partition_stuck_outside_active_is_stalled_after_the_limit() {
        let mut w = FetchWatch::default();
        let t0 = Instant::now();
        w.observe(t0, &one(sample("validate-epoch-wait", 10, 500, 0)));
        w.observe(t0 + 30 * S, &one(sample("validate-epoch-wait", 10, 500, 0)));
        assert!(w.stalled(t0 + 30 * S, FETCH_STALL_LIMIT).is_empty());
        w.observe(t0 + 61 * S, &one(sample("validate-epoch-wait", 10, 500, 0)));
        let stalled = w.stalled(t0 + 61 * S, FETCH_STALL_LIMIT);
        assert_eq!(stalled.len(), 1);
        assert_eq!(stalled[0].0, 0);
        assert!(stalled[0].2.contains("validate-epoch-wait"), "{stalled:?}");
    }

    #[test]
    fn an_active_fetcher_behind_the_end_that_does_not_move_is_stalled() {
        let mut w = FetchWatch::default();
        let t0 = Instant::now();
        w.observe(t0, &one(sample("active", 10, 500, 0)));
        // First sample: no earlier position to compare with.
        assert!(w.stalled(t0 + 600 * S, FETCH_STALL_LIMIT).is_empty());
        w.observe(t0 + 5 * S, &one(sample("active", 10, 500, 0)));
        assert_eq!(w.stalled(t0 + 70 * S, FETCH_STALL_LIMIT).len(), 1);
    }

    #[test]
    fn a_slow_consumer_or_a_moving_fetcher_is_not_stalled() {
        let mut w = FetchWatch::default();
        let t0 = Instant::now();
        // Fetched records wait for the application: the fetcher is not the problem.
        for i in 0..20 {
            w.observe(t0 + i * 5 * S, &one(sample("active", 10, 500, 300)));
        }
        assert!(w.stalled(t0 + 100 * S, FETCH_STALL_LIMIT).is_empty());
        // Behind the end but moving.
        for i in 0..20 {
            w.observe(
                t0 + i * 5 * S,
                &one(sample("active", 10 + i64::from(i), 500, 0)),
            );
        }
        assert!(w.stalled(t0 + 100 * S, FETCH_STALL_LIMIT).is_empty());
    }

    #[test]
    fn recovery_revocation_and_reset_clear_the_record() {
        let mut w = FetchWatch::default();
        let t0 = Instant::now();
        w.observe(t0, &one(sample("offset-query", 10, 500, 0)));
        w.observe(t0 + 5 * S, &one(sample("active", 500, 500, 0)));
        assert!(w.stalled(t0 + 100 * S, FETCH_STALL_LIMIT).is_empty());
        w.observe(t0, &one(sample("offset-query", 10, 500, 0)));
        w.observe(t0 + 5 * S, &BTreeMap::new());
        assert!(w.stalled(t0 + 100 * S, FETCH_STALL_LIMIT).is_empty());
        w.observe(t0, &one(sample("offset-query", 10, 500, 0)));
        w.reset();
        assert!(w.stalled(t0 + 100 * S, FETCH_STALL_LIMIT).is_empty());
    }
}
