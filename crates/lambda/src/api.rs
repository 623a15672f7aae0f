//! Clients of the Lambda Runtime, Extensions and Telemetry APIs (HTTP on the sandbox's
//! loopback endpoint `AWS_LAMBDA_RUNTIME_API`).

use serde_json::Value;
use std::time::Duration;

/// Errors talking to the Lambda APIs.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request failed or was refused.
    #[error("{what}: {detail}")]
    Request {
        /// Which call.
        what: &'static str,
        /// Why.
        detail: String,
    },
}

fn err(what: &'static str) -> impl Fn(ureq::Error) -> ApiError {
    move |e| ApiError::Request {
        what,
        detail: match e {
            ureq::Error::Status(code, r) => {
                format!("HTTP {code}: {}", r.into_string().unwrap_or_default())
            }
            other => other.to_string(),
        },
    }
}

/// A client for one sandbox's APIs.
#[derive(Clone)]
pub struct Api {
    base: String,
    agent: ureq::Agent,
}

/// What `register` returns.
#[derive(Debug, Clone)]
pub struct Registration {
    /// `Lambda-Extension-Identifier`.
    pub id: String,
    /// The response body (functionName, functionVersion, handler, accountId).
    pub info: Value,
}

impl Api {
    /// A client for `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn new(runtime_api: &str) -> Api {
        Api {
            base: format!("http://{runtime_api}"),
            // The collector URL's host is resolved by our NSS-free resolver (crate::dns).
            agent: crate::dns::agent_builder()
                .timeout_connect(Duration::from_secs(2))
                .build(),
        }
    }

    /// `POST /2020-01-01/extension/register` for INVOKE and SHUTDOWN.
    pub fn register(&self, name: &str) -> Result<Registration, ApiError> {
        let r = self
            .agent
            .post(&format!("{}/2020-01-01/extension/register", self.base))
            .set("Lambda-Extension-Name", name)
            .set("Content-Type", "application/json")
            .send_json(serde_json::json!({"events": ["INVOKE", "SHUTDOWN"]}))
            .map_err(err("extension register"))?;
        let id = r
            .header("Lambda-Extension-Identifier")
            .unwrap_or_default()
            .to_string();
        if id.is_empty() {
            return Err(ApiError::Request {
                what: "extension register",
                detail: "no Lambda-Extension-Identifier in the response".into(),
            });
        }
        let info = r.into_json().unwrap_or(Value::Null);
        Ok(Registration { id, info })
    }

    /// `GET /2020-01-01/extension/event/next`: blocks until the next INVOKE or SHUTDOWN.
    pub fn next_event(&self, id: &str) -> Result<Value, ApiError> {
        self.agent
            .get(&format!("{}/2020-01-01/extension/event/next", self.base))
            .set("Lambda-Extension-Identifier", id)
            .set("Content-Type", "application/json")
            .call()
            .map_err(err("extension next event"))?
            .into_json()
            .map_err(|e| ApiError::Request {
                what: "extension next event",
                detail: e.to_string(),
            })
    }

    /// `PUT /2022-07-01/telemetry`: platform events to `http://sandbox.localdomain:{port}`.
    pub fn subscribe_telemetry(&self, id: &str, port: u16) -> Result<(), ApiError> {
        self.agent
            .put(&format!("{}/2022-07-01/telemetry", self.base))
            .set("Lambda-Extension-Identifier", id)
            .set("Content-Type", "application/json")
            .send_json(serde_json::json!({
                "schemaVersion": "2022-12-13",
                "types": ["platform"],
                "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
                "destination": {"protocol": "HTTP", "URI": format!("http://sandbox.localdomain:{port}")}
            }))
            .map(drop)
            .map_err(err("telemetry subscribe"))
    }

    /// `POST /2018-06-01/runtime/init/error`: fails the sandbox's init with `error_type`.
    pub fn init_error(&self, error_type: &str, message: &str) -> Result<(), ApiError> {
        self.agent
            .post(&format!("{}/2018-06-01/runtime/init/error", self.base))
            .set("Lambda-Runtime-Function-Error-Type", error_type)
            .set("Content-Type", "application/json")
            .send_json(serde_json::json!({"errorMessage": message, "errorType": error_type}))
            .map(drop)
            .map_err(err("runtime init error"))
    }

    /// `POST /2018-06-01/runtime/invocation/{id}/error`: fails one invocation.
    pub fn invocation_error(
        &self,
        request_id: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), ApiError> {
        self.agent
            .post(&format!(
                "{}/2018-06-01/runtime/invocation/{request_id}/error",
                self.base
            ))
            .set("Lambda-Runtime-Function-Error-Type", error_type)
            .set("Content-Type", "application/json")
            .send_json(serde_json::json!({"errorMessage": message, "errorType": error_type}))
            .map(drop)
            .map_err(err("runtime invocation error"))
    }

    /// The agent, for the collector.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }
}
