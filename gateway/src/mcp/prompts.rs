//! MCP prompts: the debugging workflow (`debug_workflow`) and how to explain one finding
//! (`explain_finding`), worded by [`crate::app::guidance`] for the caller's clusters.
//! An unknown prompt, a missing required argument, an argument the prompt does not take, or a
//! cluster the key may not use is -32602 (invalid params) naming what to change.

use std::collections::HashMap;

use rmcp::ErrorData;
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::Value;

use crate::AppState;
use crate::app::guidance::{self, FindingRequest, WorkflowRequest};
use crate::auth::Caller;
use crate::error::AppError;

pub const DEBUG_WORKFLOW: &str = "debug_workflow";
pub const EXPLAIN_FINDING: &str = "explain_finding";

/// One argument of a prompt: name, whether it is required, what it is.
pub struct Argument {
    pub name: &'static str,
    pub required: bool,
    pub description: &'static str,
}

/// A prompt: name, title, description, arguments.
pub struct Definition {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub arguments: &'static [Argument],
}

const CLUSTER: Argument = Argument {
    name: "cluster",
    required: false,
    description: "The cluster id (see list_clusters); optional when the key may use only one cluster.",
};

/// Every prompt, in the order `prompts/list` gives them.
pub const PROMPTS: [Definition; 2] = [
    Definition {
        name: DEBUG_WORKFLOW,
        title: "Debug a cluster (read-only workflow)",
        description: "How to debug a Kubernetes problem with Kubently's tools: assessment with diagnose, investigation, analysis with evidence, cleanup; the read-only rules and how to keep outputs small.",
        arguments: &[
            CLUSTER,
            Argument {
                name: "namespace",
                required: false,
                description: "The namespace to look at (default: every namespace the key may read).",
            },
            Argument {
                name: "symptom",
                required: false,
                description: "What is wrong, in the user's words (e.g. \"checkout returns 502\").",
            },
        ],
    },
    Definition {
        name: EXPLAIN_FINDING,
        title: "Explain a finding",
        description: "Explain one finding (from diagnose, an event or an error line): what it means, likely causes, the read-only command that confirms each, and the fix a human would apply.",
        arguments: &[
            Argument {
                name: "finding",
                required: true,
                description: "The finding to explain, as diagnose or a command gave it.",
            },
            CLUSTER,
        ],
    },
];

pub fn definition(name: &str) -> Option<&'static Definition> {
    PROMPTS.iter().find(|p| p.name == name)
}

/// `prompts/list`.
pub fn list() -> Vec<Prompt> {
    PROMPTS
        .iter()
        .map(|p| {
            let arguments = p
                .arguments
                .iter()
                .map(|a| {
                    PromptArgument::new(a.name).with_description(a.description).with_required(a.required)
                })
                .collect();
            Prompt::new(p.name, Some(p.description), Some(arguments)).with_title(p.title)
        })
        .collect()
}

fn invalid(message: String) -> ErrorData {
    ErrorData::invalid_params(message, None)
}

/// `prompts/get`.
pub fn get(
    state: &AppState,
    caller: &Caller,
    name: &str,
    arguments: Option<JsonObject>,
) -> Result<GetPromptResult, ErrorData> {
    let Some(def) = definition(name) else {
        let names: Vec<&str> = PROMPTS.iter().map(|p| p.name).collect();
        return Err(invalid(format!("no prompt named `{name}`; the prompts are: {}", names.join(", "))));
    };
    let mut args = HashMap::new();
    for (key, value) in arguments.unwrap_or_default() {
        match value {
            Value::String(v) => {
                args.insert(key, v);
            }
            Value::Null => {}
            other => return Err(invalid(format!("{name}: argument `{key}` must be a string, not {other}"))),
        }
    }
    let allowed: Vec<&str> = def.arguments.iter().map(|a| a.name).collect();
    if let Some(unknown) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!(
            "{name} has no argument `{unknown}`; its arguments are: {}",
            allowed.join(", ")
        )));
    }
    args.retain(|_, v| !v.trim().is_empty());
    if let Some(missing) = def.arguments.iter().find(|a| a.required && !args.contains_key(a.name)) {
        return Err(invalid(format!(
            "{name}: argument `{}` is required: {}",
            missing.name, missing.description
        )));
    }
    let text = match name {
        DEBUG_WORKFLOW => guidance::workflow(
            state,
            caller,
            &WorkflowRequest {
                cluster: args.remove("cluster"),
                namespace: args.remove("namespace"),
                symptom: args.remove("symptom"),
            },
        ),
        _ => guidance::explain_finding(
            state,
            caller,
            &FindingRequest {
                finding: args.remove("finding").unwrap_or_default(),
                cluster: args.remove("cluster"),
            },
        ),
    }
    .map_err(|e| match e {
        AppError::BadRequest(m) | AppError::NotFound(m) => invalid(format!("{name}: {m}")),
        other => ErrorData::internal_error(other.for_agent(), None),
    })?;
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).with_description(def.title))
}
