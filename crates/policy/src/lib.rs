//! vigil-policy (in progress).
