//! `vigil lambda template`: IaC snippets that attach the Vigil layer (in progress).
