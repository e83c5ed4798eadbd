//! Request and response bodies that only REST has, in upstream Kubently's shapes; each request
//! body converts into the application layer's door-neutral request.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::fanout::{ClusterIds, FanoutRequest};
use crate::app::input::CommandRequest;
use crate::app::sessions::{SessionRequest, TTL_DEFAULT};
use crate::app::subscriptions::NewSubscription;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// Lowercase letters, digits and `-`, starting and ending with a letter or digit; 1–100
    /// characters.
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", min_length = 1, max_length = 100)]
    pub cluster_id: String,
    #[serde(default)]
    pub user_id: Option<String>,
    /// At most 256 printable ASCII characters (it travels as a NATS header). Overridden by the
    /// `X-Correlation-ID` header.
    #[serde(default)]
    #[schema(pattern = r"^[ -~]*$", max_length = 256)]
    pub correlation_id: Option<String>,
    /// Overridden by the `X-Service-Identity` header.
    #[serde(default)]
    pub service_identity: Option<String>,
    /// Session lifetime, 60–3600 s (default 300). Every execute in the session extends it.
    #[serde(default = "default_ttl")]
    #[schema(minimum = 60, maximum = 3600, default = 300)]
    pub ttl_seconds: u32,
}

fn default_ttl() -> u32 {
    TTL_DEFAULT
}

impl From<CreateSessionRequest> for SessionRequest {
    fn from(r: CreateSessionRequest) -> Self {
        Self {
            cluster_id: r.cluster_id,
            user_id: r.user_id,
            correlation_id: r.correlation_id,
            service_identity: r.service_identity,
            ttl_seconds: r.ttl_seconds,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    /// Lowercase letters, digits and `-`, starting and ending with a letter or digit; 1–100
    /// characters.
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", min_length = 1, max_length = 100)]
    pub cluster_id: String,
    /// A session of the caller on the same cluster (optional: a sessionless command also marks
    /// the cluster active).
    #[serde(default)]
    pub session_id: Option<String>,
    /// At most 256 printable ASCII characters (it travels as a NATS header). Overridden by the
    /// `X-Correlation-ID` header.
    #[serde(default)]
    #[schema(pattern = r"^[ -~]*$", max_length = 256)]
    pub correlation_id: Option<String>,
    /// get, describe, logs, top, events, version, api-resources, api-versions, explain, rollout,
    /// cluster-info, diagnose (any case; words after the verb are read as leading args: `get pods`).
    #[serde(default = "default_command_type")]
    #[schema(example = "get")]
    pub command_type: String,
    /// Positional words and flags after the verb, one token per element (no shell parsing).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub args: Vec<String>,
    /// Namespace for namespaced resources; omit for the executor's default.
    #[serde(default)]
    pub namespace: Option<String>,
    /// 1 to the deployment's `commands.max_timeout_seconds` (30 unless configured; larger values
    /// are 422); `X-Request-Timeout` (1–60) takes precedence.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub timeout_seconds: Option<u64>,
    /// More tokens after `args` (same rules).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub extra_args: Option<Vec<String>>,
    /// Output budget in bytes (1 KiB–1 MiB; default 16 KiB ≈ 4 000 tokens). Longer outputs are
    /// cut at a line with a note; the rest is at `GET /debug/result/{command_id}?offset=`.
    #[serde(default)]
    #[schema(minimum = 1024, maximum = 1048576)]
    pub output_budget: Option<u64>,
    /// Async only: where to post the result when it is final (Standard Webhooks signed, retried
    /// like subscriptions). http(s); internal addresses only if the deployment allows them.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// Async only: the `whsec_…` secret to sign the callback with; generated (and returned once)
    /// when omitted.
    #[serde(default)]
    pub callback_secret: Option<String>,
}

fn default_command_type() -> String {
    "get".into()
}

impl From<ExecuteRequest> for CommandRequest {
    fn from(r: ExecuteRequest) -> Self {
        Self {
            cluster_id: r.cluster_id,
            session_id: r.session_id,
            correlation_id: r.correlation_id,
            command_type: r.command_type,
            args: r.args,
            extra_args: r.extra_args,
            namespace: r.namespace,
            timeout_seconds: r.timeout_seconds,
            output_budget: r.output_budget,
            callback_url: r.callback_url,
            callback_secret: r.callback_secret,
        }
    }
}

/// `POST /debug/execute/fanout`: one command on many clusters.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FanoutExecuteRequest {
    /// Distinct cluster ids (1 to `fanout.max_clusters`, 1000 unless configured), or `"*"` for
    /// every cluster the key may use.
    #[schema(value_type = ClusterIdsSchema)]
    pub cluster_ids: ClusterIds,
    /// At most 256 printable ASCII characters. Overridden by `X-Correlation-ID`; the fan-out's id
    /// when neither is given. Every cluster's audit record and events carry it.
    #[serde(default)]
    #[schema(pattern = r"^[ -~]*$", max_length = 256)]
    pub correlation_id: Option<String>,
    /// As for `POST /debug/execute`.
    #[serde(default = "default_command_type")]
    #[schema(example = "get")]
    pub command_type: String,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub args: Vec<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Each cluster's deadline in seconds, counted from when its command is sent (1 to
    /// `commands.max_timeout_seconds`); `X-Request-Timeout` (1–60) takes precedence.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub extra_args: Option<Vec<String>>,
    /// Bytes for all the clusters' outputs together (1 KiB–1 MiB; default 16 KiB), shared equally
    /// among the clusters the command is sent to, at least 1 KiB each.
    #[serde(default)]
    #[schema(minimum = 1024, maximum = 1048576)]
    pub output_budget: Option<u64>,
}

impl From<FanoutExecuteRequest> for FanoutRequest {
    fn from(r: FanoutExecuteRequest) -> Self {
        Self {
            cluster_ids: r.cluster_ids,
            correlation_id: r.correlation_id,
            command_type: r.command_type,
            args: r.args,
            extra_args: r.extra_args,
            namespace: r.namespace,
            timeout_seconds: r.timeout_seconds,
            output_budget: r.output_budget,
        }
    }
}

/// The schema of `cluster_ids`: a list of cluster ids, or `"*"`.
pub struct ClusterIdsSchema;

impl utoipa::PartialSchema for ClusterIdsSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        let every = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([crate::app::fanout::EVERY_CLUSTER]))
            .description(Some("every cluster the key may use"));
        let id = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"))
            .min_length(Some(1))
            .max_length(Some(100));
        let list = ArrayBuilder::new()
            .items(id)
            .min_items(Some(1))
            .max_items(Some(crate::settings::FanoutSettings::default().max_clusters))
            .unique_items(true);
        OneOfBuilder::new().item(every).item(list).into()
    }
}

impl ToSchema for ClusterIdsSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "ClusterIds".into()
    }
}

/// `POST /debug/execute/async` → 202.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AsyncAccepted {
    pub command_id: String,
    /// Always `pending`.
    pub status: kubently_shared::protocol::CommandStatus,
    /// `GET` it for the result (`pending` until the executor answers).
    pub result_url: String,
    /// The secret the callback is signed with, when the gateway generated it (shown only here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    /// http(s) URL; loopback/private targets only where the deployment allows them.
    pub url: String,
    /// `*`, a category (`command.*`, `session.*`, `cluster.*`) or a type (`cluster.disconnected`).
    #[schema(value_type = Vec<EventPattern>, min_items = 1)]
    pub events: Vec<String>,
    /// Only events of these clusters (default: every cluster your key may use).
    #[serde(default)]
    pub clusters: Vec<String>,
    /// At most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

impl From<CreateSubscription> for NewSubscription {
    fn from(r: CreateSubscription) -> Self {
        Self { url: r.url, events: r.events, clusters: r.clusters, description: r.description }
    }
}

/// The body of every error but validation: `{"detail": "…"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub detail: String,
}

/// The body of a 422: every problem found, each naming its field.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ValidationError)]
pub struct ValidationErrorBody {
    pub detail: Vec<FieldErrorBody>,
}

/// One validation problem (the shape of `crate::error::FieldError`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorBody {
    /// What kind of problem: `range`, `string_pattern_mismatch`, `policy`, `json_invalid`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Where: `["body", "args", "2"]`, `["query", "limit"]`, `["header", "x-request-timeout"]`.
    pub loc: Vec<String>,
    pub msg: String,
    /// The offending value, when it is safe to echo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
}

/// An event pattern a subscription may use (documentation of `CreateSubscription::events`): its
/// schema is the list [`crate::webhooks::patterns`] accepts, so the two cannot drift apart.
pub struct EventPattern;

impl utoipa::PartialSchema for EventPattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(crate::webhooks::patterns::allowed_patterns()))
            .into()
    }
}

impl ToSchema for EventPattern {}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_event_patterns_are_the_accepted_ones() {
        let doc = serde_json::to_value(crate::rest::openapi_document()).expect("document");
        let schema = &doc["components"]["schemas"]["CreateSubscription"]["properties"]["events"]["items"];
        let documented = schema["enum"].as_array().or_else(|| {
            let name = schema["$ref"].as_str()?.rsplit('/').next()?;
            doc["components"]["schemas"][name]["enum"].as_array()
        });
        let documented: Vec<String> =
            documented.expect("an enum").iter().filter_map(|v| v.as_str().map(String::from)).collect();
        assert_eq!(documented, crate::webhooks::patterns::allowed_patterns());
    }
}
