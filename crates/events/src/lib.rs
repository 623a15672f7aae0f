//! The event model: one OCSF-aligned JSON object per line, for every decision that matters.
//!
//! - [`Event`] is the one model every producer fills and every exporter maps from;
//!   constructors ([`Event::new`]) set the classification fields (`class_uid`, `type_uid`, …)
//!   consistently, so a producer only says which class and activity it reports.
//! - [`JsonLines`] writes events to any `Write` (stderr, a file), a line each: at once, or
//!   (lingering) routine activity within a bounded delay, in one write per burst.
//!
//! The wire format is documented once, in `docs/events.md`.
//!
//! Architecture invariant: this crate knows nothing of Linux or of the sensor; it is data.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod model;
mod sink;

pub use model::*;
pub use sink::{JsonLines, Sink, VecSink};
