//! Where events go.

use crate::Event;
use std::io::Write;

/// Something that takes events. Emitting never fails the caller: a sink that cannot write
/// counts what it lost, so the loss can itself be reported.
pub trait Sink {
    /// Takes one event.
    fn emit(&mut self, event: &Event);
    /// Events that could not be written.
    fn dropped(&self) -> u64;
}

/// Writes one JSON object per line and flushes after each, so a reader (a terminal, a log
/// shipper tailing the file, CloudWatch Logs) sees every event as soon as it happens.
pub struct JsonLines<W: Write> {
    out: W,
    dropped: u64,
    buf: Vec<u8>,
}

impl<W: Write> JsonLines<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        JsonLines {
            out,
            dropped: 0,
            buf: Vec::with_capacity(1024),
        }
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn emit(&mut self, event: &Event) {
        self.buf.clear();
        if serde_json::to_writer(&mut self.buf, event).is_err() {
            self.dropped += 1;
            return;
        }
        self.buf.push(b'\n');
        // One write per line keeps lines whole when several writers share a file (O_APPEND).
        if self
            .out
            .write_all(&self.buf)
            .and_then(|()| self.out.flush())
            .is_err()
        {
            self.dropped += 1;
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Keeps events in memory (tests, and callers that batch).
#[derive(Debug, Default)]
pub struct VecSink {
    /// The events, in order.
    pub events: Vec<Event>,
}

impl Sink for VecSink {
    fn emit(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
    fn dropped(&self) -> u64 {
        0
    }
}
