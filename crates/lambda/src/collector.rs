//! Shipping events to a collector (`VIGIL_COLLECTOR`): a bounded queue, flushed in batches at
//! the end of each invocation and at shutdown. A slow or unreachable collector never blocks the
//! function beyond one flush's timeout and never makes events disappear silently: what cannot
//! be kept is counted, and the count is reported in an event. After a failed delivery the
//! collector is left alone for a while ([`Collector::backing_off`]), so that a collector that is
//! down costs one flush's timeout, not one per invocation.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Most events kept while the collector is unreachable.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Most events per request.
pub const BATCH: usize = 500;
/// The first pause after a failed delivery; it doubles with each failure in a row.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(5);
/// The longest pause.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The queue for one collector URL.
pub struct Collector {
    /// Where batches go (`POST`, `application/x-ndjson`).
    pub url: String,
    queue: VecDeque<String>,
    capacity: usize,
    /// Events dropped because the queue was full.
    pub dropped: u64,
    /// How many of `dropped` were already reported in an event.
    pub reported: u64,
    /// Events delivered.
    pub delivered: u64,
    /// Failed deliveries in a row.
    failures: u32,
    /// No delivery is tried before this.
    retry_at: Option<Instant>,
}

impl Collector {
    /// A collector for `url` keeping at most `capacity` events.
    pub fn new(url: String, capacity: usize) -> Collector {
        Collector {
            url,
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            reported: 0,
            delivered: 0,
            failures: 0,
            retry_at: None,
        }
    }

    /// A delivery failed: pause deliveries (5 s, doubling up to 5 min).
    pub fn failed(&mut self, now: Instant) {
        let pause = BACKOFF_FIRST
            .saturating_mul(1u32 << self.failures.min(16))
            .min(BACKOFF_MAX);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + pause);
    }

    /// A delivery succeeded.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.retry_at = None;
    }

    /// Whether deliveries are paused after a failure.
    pub fn backing_off(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }

    /// Queues one JSON line; when full, the oldest line is dropped (and counted).
    pub fn push(&mut self, line: String) {
        if self.queue.len() >= self.capacity {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(line);
    }

    /// Events waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Takes the next batch out of the queue.
    pub fn take_batch(&mut self) -> Vec<String> {
        let n = self.queue.len().min(BATCH);
        self.queue.drain(..n).collect()
    }

    /// Puts a batch that could not be delivered back at the front (oldest first), dropping the
    /// oldest if that overflows.
    pub fn put_back(&mut self, batch: Vec<String>) {
        for line in batch.into_iter().rev() {
            if self.queue.len() >= self.capacity {
                self.dropped += 1;
                continue;
            }
            self.queue.push_front(line);
        }
    }
}

/// Sends one batch; `Err` says why it was not accepted.
pub fn send(
    agent: &ureq::Agent,
    url: &str,
    batch: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let body: String = batch.concat();
    agent
        .post(url)
        .timeout(timeout)
        .set("Content-Type", "application/x-ndjson")
        .send_string(&body)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_queue_counts_what_it_drops() {
        let mut c = Collector::new("http://x".into(), 3);
        for i in 0..5 {
            c.push(format!("{i}\n"));
        }
        assert_eq!(c.dropped, 2);
        let b = c.take_batch();
        assert_eq!(b, vec!["2\n", "3\n", "4\n"]);
        c.push("5\n".into());
        c.put_back(b);
        // 5 was queued after the failed batch; putting 3 back into a queue of 3 drops one.
        assert_eq!(c.pending(), 3);
        assert_eq!(c.dropped, 3);
        assert_eq!(c.take_batch(), vec!["3\n", "4\n", "5\n"]);
    }

    #[test]
    fn failures_pause_deliveries_longer_each_time_until_one_succeeds() {
        let mut c = Collector::new("http://x".into(), 3);
        let t0 = Instant::now();
        assert!(!c.backing_off(t0));
        c.failed(t0);
        assert!(c.backing_off(t0 + Duration::from_secs(4)));
        assert!(!c.backing_off(t0 + Duration::from_secs(5)));
        c.failed(t0);
        assert!(c.backing_off(t0 + Duration::from_secs(9)));
        assert!(!c.backing_off(t0 + Duration::from_secs(10)));
        for _ in 0..40 {
            c.failed(t0);
        }
        assert!(!c.backing_off(t0 + BACKOFF_MAX));
        c.succeeded();
        assert!(!c.backing_off(t0));
    }
}
