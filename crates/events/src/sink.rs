//! Where events go.

use crate::Event;
use std::io::Write;
use std::time::{Duration, Instant};

/// Something that takes events. Emitting never fails the caller: a sink that cannot write
/// counts what it lost, so the loss can itself be reported.
pub trait Sink {
    /// Takes one event.
    fn emit(&mut self, event: &Event);
    /// Events that could not be written.
    fn dropped(&self) -> u64;
    /// When the events it keeps back must be written, at the latest (`None`: it keeps none).
    fn due(&self) -> Option<Instant> {
        None
    }
    /// Writes the events it keeps back now.
    fn flush(&mut self) {}
}

/// Writes one JSON object per line. Each line is written whole, in one `write`, so lines stay
/// whole when several writers share a file (`O_APPEND`).
///
/// By default every event is written as it comes, so a reader (a terminal, a log shipper
/// tailing the file, CloudWatch Logs) sees it as soon as it happens. A lingering sink (see
/// [`JsonLines::lingering`]) keeps routine activity (an informational process, network, file
/// or module event) back for up to its linger time and writes what it kept in one go: one
/// system call for a burst of events instead of one each. Anything else (a finding, an
/// alert, a lifecycle event of the sensor) is written at once, after what was kept, so the
/// order never changes.
pub struct JsonLines<W: Write> {
    out: W,
    dropped: u64,
    buf: Vec<u8>,
    /// Lines kept back.
    kept: Vec<u8>,
    linger: Option<Duration>,
    /// When the oldest line kept back must be written.
    due: Option<Instant>,
}

/// Most bytes a lingering sink keeps back before it writes them.
const KEEP_MAX: usize = 64 * 1024;

/// The most bytes a pipe takes in one write atomically (Linux's `PIPE_BUF`).
const PIPE_BUF: usize = 4096;

impl<W: Write> JsonLines<W> {
    /// A sink writing each event to `out` as it comes.
    pub fn new(out: W) -> Self {
        JsonLines {
            out,
            dropped: 0,
            buf: Vec::with_capacity(1024),
            kept: Vec::new(),
            linger: None,
            due: None,
        }
    }

    /// A sink that keeps routine activity back for up to `linger` (see [`JsonLines`]).
    pub fn lingering(out: W, linger: Duration) -> Self {
        let mut s = JsonLines::new(out);
        s.linger = Some(linger);
        s.kept = Vec::with_capacity(KEEP_MAX);
        s
    }

    /// Whether `event` may wait: informational activity, not a finding or the sensor's own.
    fn routine(event: &Event) -> bool {
        use crate::Class;
        [
            Class::FileSystem,
            Class::Module,
            Class::Process,
            Class::Network,
        ]
        .iter()
        .any(|c| c.uid() == event.class_uid)
            && event.severity_id <= crate::Severity::Informational as u8
    }

    /// Writes the lines kept, in writes of whole lines of at most [`PIPE_BUF`] bytes together
    /// (a longer line alone): a pipe takes such a write whole or not at all, so a reader never
    /// sees a torn line, even when the other end is full and the file is non-blocking (the
    /// function shares vigil's stderr and can make it so).
    fn write_kept(&mut self) {
        let mut rest = &self.kept[..];
        while !rest.is_empty() {
            let mut end = 0;
            let mut lines = 0;
            while end < rest.len() {
                let next = rest[end..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(rest.len(), |i| end + i + 1);
                if lines > 0 && next > PIPE_BUF {
                    break;
                }
                end = next;
                lines += 1;
            }
            if self
                .out
                .write_all(&rest[..end])
                .and_then(|()| self.out.flush())
                .is_err()
            {
                self.dropped += lines;
            }
            rest = &rest[end..];
        }
        self.kept.clear();
        self.due = None;
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
        if let Some(linger) = self.linger {
            self.kept.extend_from_slice(&self.buf);
            if !Self::routine(event) || self.kept.len() >= KEEP_MAX {
                self.write_kept();
            } else if self.due.is_none() {
                self.due = Some(Instant::now() + linger);
            }
            return;
        }
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

    fn due(&self) -> Option<Instant> {
        self.due
    }

    fn flush(&mut self) {
        self.write_kept();
    }
}

impl<W: Write> Drop for JsonLines<W> {
    fn drop(&mut self) {
        self.write_kept();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Class, Device, Severity};
    use std::sync::{Arc, Mutex};

    /// A `Write` that records each `write` call separately.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut w) = self.0.lock() {
                w.push(buf.to_vec());
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Writes {
        /// The messages of the lines written, one list per `write` call.
        fn messages(&self) -> Vec<Vec<String>> {
            let w = self.0.lock().map(|w| w.clone()).unwrap_or_default();
            w.iter()
                .map(|chunk| {
                    String::from_utf8_lossy(chunk)
                        .lines()
                        .map(|l| {
                            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
                            v["message"].as_str().unwrap_or_default().to_string()
                        })
                        .collect()
                })
                .collect()
        }
    }

    fn event(class: Class, severity: Severity, message: &str) -> Event {
        Event::new(class, 1, severity, message, Device::default())
    }

    #[test]
    fn without_linger_every_event_is_written_as_it_comes() {
        let out = Writes::default();
        let mut s = JsonLines::new(out.clone());
        s.emit(&event(Class::Process, Severity::Informational, "a"));
        s.emit(&event(Class::Process, Severity::Informational, "b"));
        assert_eq!(out.messages(), vec![vec!["a"], vec!["b"]]);
        assert_eq!(s.due(), None);
    }

    #[test]
    fn routine_activity_waits_and_anything_else_takes_it_along_in_order() {
        let out = Writes::default();
        let mut s = JsonLines::lingering(out.clone(), Duration::from_secs(60));
        s.emit(&event(Class::Process, Severity::Informational, "exec"));
        s.emit(&event(Class::Network, Severity::Informational, "connect"));
        assert!(out.messages().is_empty(), "routine activity is kept back");
        let due = s.due().expect("a deadline while events are kept");
        assert!(due > Instant::now() + Duration::from_secs(50), "{due:?}");
        // A finding is not kept back, and what was kept goes first, in the same write.
        s.emit(&event(Class::DetectionFinding, Severity::High, "finding"));
        assert_eq!(out.messages(), vec![vec!["exec", "connect", "finding"]]);
        assert_eq!(s.due(), None);
        // So is activity above informational (an alert in detect mode), and the sensor's own.
        s.emit(&event(Class::Network, Severity::Medium, "alerted connect"));
        s.emit(&event(
            Class::ApplicationLifecycle,
            Severity::Informational,
            "stop",
        ));
        assert_eq!(out.messages().len(), 3);
    }

    #[test]
    fn kept_lines_go_out_in_writes_a_pipe_takes_whole() {
        let out = Writes::default();
        let mut s = JsonLines::lingering(out.clone(), Duration::from_secs(60));
        let long = "x".repeat(5000);
        for i in 0..12 {
            s.emit(&event(
                Class::Process,
                Severity::Informational,
                &format!("e{i}"),
            ));
        }
        s.emit(&event(Class::Process, Severity::Informational, &long));
        s.flush();
        let writes = out.0.lock().map(|w| w.clone()).unwrap_or_default();
        assert!(writes.len() > 1, "{} bytes in one write", writes[0].len());
        for w in &writes {
            assert!(w.ends_with(b"\n"), "a write ends mid-line");
            let lines = w.iter().filter(|b| **b == b'\n').count();
            assert!(
                w.len() <= PIPE_BUF || lines == 1,
                "{} bytes, {lines} lines",
                w.len()
            );
        }
        let all: Vec<String> = out.messages().concat();
        let mut want: Vec<String> = (0..12).map(|i| format!("e{i}")).collect();
        want.push(long);
        assert_eq!(all, want);
    }

    #[test]
    fn kept_events_are_written_on_flush_and_on_drop() {
        let out = Writes::default();
        let mut s = JsonLines::lingering(out.clone(), Duration::from_secs(60));
        s.emit(&event(Class::Process, Severity::Informational, "one"));
        s.flush();
        assert_eq!(out.messages(), vec![vec!["one"]]);
        s.emit(&event(Class::Process, Severity::Informational, "two"));
        drop(s);
        assert_eq!(out.messages(), vec![vec!["one"], vec!["two"]]);
    }
}
