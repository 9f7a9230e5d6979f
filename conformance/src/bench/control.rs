//! How a run is told to stop: a state every connection thread reads, a
//! descriptor that wakes them from their wait at once, and SIGINT/SIGTERM
//! turned into events.
//!
//! A connection thread sleeps in `ppoll(2)` on its socket, its monitor and
//! its own eventfd of [`Control`], so a stop reaches it immediately and
//! waiting costs nothing. Each thread empties its own eventfd when it
//! wakes, so a thread that goes on draining sleeps again.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

/// What the connection threads are to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum State {
    /// Keep the load going.
    Run = 0,
    /// Send nothing more; let the requests in flight end (reply, error or
    /// their timeout).
    Drain = 1,
    /// End every request in flight now, as an error, and return.
    Abandon = 2,
}

/// The stop state of one phase and the descriptors that announce it, one
/// per connection thread.
pub(crate) struct Control {
    state: AtomicU8,
    wake: Vec<OwnedFd>,
}

impl Control {
    pub fn new(threads: usize) -> std::io::Result<Control> {
        let wake = (0..threads)
            .map(|_| {
                // SAFETY: eventfd(2) has no memory arguments.
                let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // SAFETY: `fd` was just opened and nothing else owns it.
                Ok(unsafe { OwnedFd::from_raw_fd(fd) })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Control {
            state: AtomicU8::new(State::Run as u8),
            wake,
        })
    }

    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Run,
            1 => State::Drain,
            _ => State::Abandon,
        }
    }

    /// Moves to `state` (never back) and wakes every thread.
    pub fn set(&self, state: State) {
        self.state.fetch_max(state as u8, Ordering::AcqRel);
        let one: u64 = 1;
        for fd in &self.wake {
            // SAFETY: writes 8 bytes from a live u64 to our eventfd.
            unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Thread `i`'s descriptor: readable after a [`Control::set`] until
    /// [`Control::clear`].
    pub fn wake_fd(&self, i: usize) -> RawFd {
        self.wake[i].as_raw_fd()
    }

    /// Empties thread `i`'s descriptor.
    pub fn clear(&self, i: usize) {
        let mut value: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; non-blocking.
        unsafe { libc::read(self.wake[i].as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }
}

/// SIGINT and SIGTERM, counted, each also sent as an event to whoever
/// coordinates the run.
pub(crate) struct Interrupts {
    count: Arc<AtomicUsize>,
    last: Arc<AtomicI32>,
    handle: Option<signal_hook::iterator::Handle>,
}

impl Interrupts {
    /// Catches SIGINT and SIGTERM from now on; `notify` is called from
    /// another thread for each one.
    pub fn catch(notify: impl Fn(i32) + Send + 'static) -> std::io::Result<Interrupts> {
        let mut signals = signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM])?;
        let count = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(AtomicI32::new(0));
        let handle = signals.handle();
        let (c, l) = (count.clone(), last.clone());
        std::thread::Builder::new()
            .name("bench-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    l.store(signal, Ordering::SeqCst);
                    c.fetch_add(1, Ordering::SeqCst);
                    notify(signal);
                }
            })?;
        Ok(Interrupts {
            count,
            last,
            handle: Some(handle),
        })
    }

    /// Signals nobody listens to: for runs driven by a library caller.
    pub fn none() -> Interrupts {
        Interrupts {
            count: Arc::new(AtomicUsize::new(0)),
            last: Arc::new(AtomicI32::new(0)),
            handle: None,
        }
    }

    /// How many have arrived.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The last one that arrived, if any.
    pub fn last(&self) -> Option<i32> {
        match self.last.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        if let Some(h) = &self.handle {
            h.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_only_moves_forward_and_the_fd_becomes_readable() {
        let c = Control::new(2).unwrap();
        let readable = |i| {
            let mut p = libc::pollfd {
                fd: c.wake_fd(i),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no wait.
            unsafe { libc::poll(&mut p, 1, 0) == 1 }
        };
        assert_eq!(c.state(), State::Run);
        assert!(!readable(0) && !readable(1));
        c.set(State::Drain);
        assert!(readable(0) && readable(1));
        c.clear(0);
        assert!(!readable(0) && readable(1), "each thread has its own");
        c.set(State::Run);
        assert_eq!(c.state(), State::Drain, "never back");
        c.set(State::Abandon);
        assert_eq!(c.state(), State::Abandon);
        assert!(readable(0));
    }
}
