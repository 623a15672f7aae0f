//! The runtime sensor: Linux mechanisms that watch and decide what a function does.
//!
//! - [`filter`] compiles a policy into a seccomp program ([`bpf`] is the assembler,
//!   [`hardening`] the always-denied set, [`arch`] the syscall table);
//! - [`install`] puts the filter on the function and hands its listener to the supervisor;
//! - [`supervisor`] answers the notified calls, performing them for the process where a
//!   pointer argument could change under it ([`resolve`], [`procfs`], [`sockaddr`]);
//! - [`landlock`] adds kernel-enforced rules where the kernel has them;
//! - [`launch`] is `vigil run`'s process model; [`probe`] is `vigil probe`.
//!
//! Architecture invariant: this is the only crate that makes raw system calls, and all of its
//! `unsafe` code is in [`sys`].
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod arch;
pub mod bpf;
pub mod caps;
pub mod filter;
pub mod hardening;
pub mod image;
pub mod install;
pub mod landlock;
pub mod launch;
pub mod probe;
pub mod procfs;
pub mod resolve;
pub mod sockaddr;
pub mod supervisor;
pub mod sys;
pub mod watchdog;
