//! AWS Lambda integration: the exec wrapper, the external extension, the layer, and the IaC
//! snippets that attach it.
#![deny(missing_docs)]

pub mod template;
