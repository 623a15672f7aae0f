//! vigil-events (in progress).
