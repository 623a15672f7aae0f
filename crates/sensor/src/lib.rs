//! vigil-sensor (in progress).
