//! Shipping events to a collector (`VIGIL_COLLECTOR`): a bounded queue, flushed in batches at
//! the end of each invocation and at shutdown. A slow or unreachable collector never blocks the
//! function beyond one flush's timeout and never makes events disappear silently: what cannot
//! be kept is counted, and the count is reported in an event.

use std::collections::VecDeque;
use std::time::Duration;

/// Most events kept while the collector is unreachable.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Most events per request.
pub const BATCH: usize = 500;

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
        }
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
}
