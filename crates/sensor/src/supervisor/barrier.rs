//! A barrier another thread of the same process can pass through the supervisor's poll loop:
//! [`Barrier::sync`] returns once the supervisor has handled everything that was ready when it
//! was called — notifications already queued on the listener, exits of monitored processes,
//! operations in progress that completed — so every event those cause has been emitted.
//!
//! The Lambda extension uses it at the end of an invocation: a child process that exited
//! before the runtime answered has its Terminate event emitted (tagged with that invocation)
//! before the extension ships the invocation's events, although the supervisor learns of the
//! exit asynchronously, through a pidfd.

use rustix::io::Errno;
use rustix::pipe::PipeFlags;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Most loop iterations one request may take: a process that keeps making notified calls must
/// not hold a waiter until its limit.
pub(super) const MAX_ROUNDS: u32 = 256;

#[derive(Debug, Default)]
struct State {
    /// Requests made so far.
    requested: u64,
    /// Requests answered (every one up to this).
    done: u64,
    /// A supervisor is running with this barrier.
    running: bool,
}

#[derive(Debug)]
struct Inner {
    wake_r: OwnedFd,
    wake_w: OwnedFd,
    state: Mutex<State>,
    cv: Condvar,
}

/// See the [module](self). Cheap to clone; every clone is the same barrier.
#[derive(Debug, Clone)]
pub struct Barrier(Arc<Inner>);

impl Barrier {
    /// A new barrier (a non-blocking pipe wakes the supervisor).
    pub fn new() -> io::Result<Barrier> {
        let (wake_r, wake_w) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Barrier(Arc::new(Inner {
            wake_r,
            wake_w,
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        })))
    }

    /// Waits, at most `limit`, until the supervisor has handled what was ready now. `false` if
    /// the limit passed first, or no supervisor is running with this barrier.
    pub fn sync(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let ticket = {
            let Ok(mut s) = self.0.state.lock() else {
                return false;
            };
            if !s.running {
                return false;
            }
            s.requested += 1;
            s.requested
        };
        // A full pipe already says "wake up".
        match rustix::io::write(&self.0.wake_w, &[1]) {
            Ok(_) | Err(Errno::AGAIN) => {}
            Err(_) => return false,
        }
        let Ok(mut s) = self.0.state.lock() else {
            return false;
        };
        while s.done < ticket {
            if !s.running {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = match self.0.cv.wait_timeout(s, left) {
                Ok((s, _)) => s,
                Err(_) => return false,
            };
        }
        true
    }

    /// The fd the supervisor polls.
    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.0.wake_r.as_fd()
    }

    /// The supervisor starts (`true`) or stops serving the barrier; stopping releases every
    /// waiter.
    pub(super) fn set_running(&self, running: bool) {
        if let Ok(mut s) = self.0.state.lock() {
            s.running = running;
        }
        self.0.cv.notify_all();
    }

    /// The supervisor was woken: empties the pipe and returns the request to answer.
    pub(super) fn take(&self) -> u64 {
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&self.0.wake_r, &mut buf), Ok(n) if n > 0) {}
        self.0.state.lock().map(|s| s.requested).unwrap_or(0)
    }

    /// Every request up to `ticket` is answered.
    pub(super) fn answer(&self, ticket: u64) {
        if let Ok(mut s) = self.0.state.lock() {
            s.done = s.done.max(ticket);
        }
        self.0.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_supervisor_sync_returns_at_once() {
        let b = Barrier::new().expect("barrier");
        let t = Instant::now();
        assert!(!b.sync(Duration::from_secs(5)));
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_request_is_answered_by_the_serving_side() {
        let b = Barrier::new().expect("barrier");
        b.set_running(true);
        let server = b.clone();
        let h = std::thread::spawn(move || {
            // What the supervisor's loop does: wait for the pipe, take, answer.
            let mut fds = [rustix::event::PollFd::new(
                &server.0.wake_r,
                rustix::event::PollFlags::IN,
            )];
            rustix::event::poll(&mut fds, None).expect("poll");
            let t = server.take();
            server.answer(t);
        });
        assert!(b.sync(Duration::from_secs(5)));
        h.join().expect("server thread");
        b.set_running(false);
        assert!(!b.sync(Duration::from_secs(5)), "stopped: no wait");
    }

    #[test]
    fn an_unanswered_request_times_out() {
        let b = Barrier::new().expect("barrier");
        b.set_running(true);
        let t = Instant::now();
        assert!(!b.sync(Duration::from_millis(50)));
        assert!(t.elapsed() >= Duration::from_millis(50));
    }
}
