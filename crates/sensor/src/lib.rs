//! vigil-sensor (in progress).
pub mod arch;
pub mod bpf;
pub mod filter;
pub mod hardening;
pub mod procfs;
pub mod resolve;
pub mod sys;
