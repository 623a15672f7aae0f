//! vigil-sensor (in progress).
pub mod arch;
pub mod bpf;
pub mod filter;
pub mod hardening;
