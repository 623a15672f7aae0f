//! What the Lambda sandbox tells a function through its environment, and where Vigil's own
//! settings come from.

use std::path::PathBuf;

/// Where the wrapper and the extension meet.
pub const HANDOFF_SOCKET: &str = "/tmp/vigil.sock";
/// The layer's default policy.
pub const LAYER_POLICY: &str = "/opt/vigil/policy.yaml";

/// The sandbox's environment.
#[derive(Debug, Clone, Default)]
pub struct LambdaEnv {
    /// `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub runtime_api: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub function_version: Option<String>,
    /// `AWS_REGION`.
    pub region: Option<String>,
    /// `LAMBDA_TASK_ROOT`.
    pub task_root: Option<PathBuf>,
    /// `VIGIL_POLICY`.
    pub policy: Option<PathBuf>,
    /// `VIGIL_MODE`.
    pub mode: Option<String>,
    /// `VIGIL_COLLECTOR`.
    pub collector: Option<String>,
    /// `VIGIL_HANDOFF_SOCKET` (tests; default [`HANDOFF_SOCKET`]).
    pub socket: PathBuf,
    /// `VIGIL_HANDOFF_TIMEOUT_MS`: how long the wrapper waits for the extension.
    pub handoff_timeout_ms: u64,
    /// `VIGIL_LAYER_POLICY` (tests; default [`LAYER_POLICY`]).
    pub layer_policy: PathBuf,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl LambdaEnv {
    /// Reads the environment.
    pub fn from_env() -> LambdaEnv {
        LambdaEnv {
            runtime_api: var("AWS_LAMBDA_RUNTIME_API"),
            function_name: var("AWS_LAMBDA_FUNCTION_NAME"),
            function_version: var("AWS_LAMBDA_FUNCTION_VERSION"),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            task_root: var("LAMBDA_TASK_ROOT").map(PathBuf::from),
            policy: var("VIGIL_POLICY").map(PathBuf::from),
            mode: var("VIGIL_MODE"),
            collector: var("VIGIL_COLLECTOR"),
            socket: var("VIGIL_HANDOFF_SOCKET")
                .map_or_else(|| PathBuf::from(HANDOFF_SOCKET), PathBuf::from),
            handoff_timeout_ms: var("VIGIL_HANDOFF_TIMEOUT_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1500),
            layer_policy: var("VIGIL_LAYER_POLICY")
                .map_or_else(|| PathBuf::from(LAYER_POLICY), PathBuf::from),
        }
    }

    /// The policy file: `VIGIL_POLICY`, else `$LAMBDA_TASK_ROOT/vigil.yaml` if it exists, else
    /// the layer's default. `VIGIL_POLICY` naming a missing file is an error (it is not
    /// silently replaced by a default).
    pub fn policy_path(&self) -> PathBuf {
        if let Some(p) = &self.policy {
            return p.clone();
        }
        if let Some(root) = &self.task_root {
            let p = root.join("vigil.yaml");
            if p.exists() {
                return p;
            }
        }
        self.layer_policy.clone()
    }
}
