//! AWS Lambda integration: the exec wrapper, the external extension, the layer, and the IaC
//! snippets that attach it.
#![deny(missing_docs)]

pub mod api;
pub mod collector;
pub mod dns;
pub mod env;
pub mod extension;
pub mod handoff;
pub mod layer;
pub mod sink;
pub mod template;
pub mod wrap;
