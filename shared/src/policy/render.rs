//! The way back: a [`KubectlRequest`] as a kubectl-style argv (for audit records and messages),
//! and [`validate`], the executor's re-check of a request that arrived over NATS: render it, parse
//! the rendering with the same policy, and require the very same request back. One rule set, no
//! second implementation to drift.

use super::config::PolicyConfig;
use super::error::{Location, PolicyError, preview};
use super::parse::{CommandInput, parse_unbounded};
use super::request::{
    ApiResourcesOutput, DiagnoseOutput, DiagnoseTarget, KubectlRequest, LogTarget, NamespaceScope,
    OutputFormat, ResourceRef, RolloutAction, TopKind,
};
use super::verb::Verb;

/// The request as kubectl words, verb first: `["get", "pods,svc", "--namespace=demo",
/// "--output=wide"]`. Values are always attached with `=`, so every element is one token. For
/// requests [`parse`](super::parse) produced, parsing this argv gives the same request back.
pub fn to_argv(request: &KubectlRequest) -> Vec<String> {
    let mut argv: Vec<String> = request.verb().split(' ').map(str::to_owned).collect();
    let mut out: Vec<String> = Vec::new();
    match request {
        KubectlRequest::Get(get) => {
            out.extend(targets(&get.targets));
            namespace(&mut out, &get.namespace);
            opt(&mut out, "selector", get.label_selector.as_deref());
            opt(&mut out, "field-selector", get.field_selector.as_deref());
            output(&mut out, &get.output);
            switch(&mut out, "show-labels", get.show_labels);
            if !get.label_columns.is_empty() {
                out.push(format!("--label-columns={}", get.label_columns.join(",")));
            }
            switch(&mut out, "no-headers", get.no_headers);
            switch(&mut out, "show-kind", get.show_kind);
            opt(&mut out, "sort-by", get.sort_by.as_deref());
            opt(&mut out, "chunk-size", get.chunk_size.map(|n| n.to_string()).as_deref());
        }
        KubectlRequest::Describe(describe) => {
            out.extend(targets(&describe.targets));
            namespace(&mut out, &describe.namespace);
            opt(&mut out, "selector", describe.label_selector.as_deref());
            if !describe.show_events {
                out.push("--show-events=false".to_owned());
            }
        }
        KubectlRequest::Logs(logs) => {
            match &logs.target {
                LogTarget::Object(r) => out.extend(r.names.iter().map(|n| format!("{}/{n}", r.resource))),
                LogTarget::Selector(s) => out.push(format!("--selector={s}")),
            }
            namespace(&mut out, &logs.namespace);
            opt(&mut out, "container", logs.container.as_deref());
            switch(&mut out, "all-containers", logs.all_containers);
            switch(&mut out, "previous", logs.previous);
            opt(&mut out, "tail", logs.tail_lines.map(|n| n.to_string()).as_deref());
            opt(&mut out, "since", logs.since_seconds.map(|n| format!("{n}s")).as_deref());
            opt(&mut out, "since-time", logs.since_time.as_deref());
            switch(&mut out, "timestamps", logs.timestamps);
            opt(&mut out, "limit-bytes", logs.limit_bytes.map(|n| n.to_string()).as_deref());
            switch(&mut out, "follow", logs.follow);
            switch(&mut out, "prefix", logs.prefix);
            switch(&mut out, "compact", logs.compact);
        }
        KubectlRequest::Events(events) => {
            namespace(&mut out, &events.namespace);
            if let Some(r) = &events.for_object {
                out.extend(r.names.iter().map(|n| format!("--for={}/{n}", r.resource)));
                if r.names.is_empty() {
                    out.push(format!("--for={}", r.resource));
                }
            }
            if !events.types.is_empty() {
                out.push(format!("--types={}", events.types.join(",")));
            }
            output(&mut out, &events.output);
            switch(&mut out, "no-headers", events.no_headers);
        }
        KubectlRequest::Top(top) => {
            out.push(match top.kind {
                TopKind::Pods => "pods".to_owned(),
                TopKind::Nodes => "nodes".to_owned(),
            });
            out.extend(top.name.clone());
            namespace(&mut out, &top.namespace);
            opt(&mut out, "selector", top.label_selector.as_deref());
            switch(&mut out, "containers", top.containers);
            opt(&mut out, "sort-by", top.sort_by.as_deref());
            switch(&mut out, "no-headers", top.no_headers);
        }
        KubectlRequest::Explain(explain) => {
            out.push(explain.path.clone());
            switch(&mut out, "recursive", explain.recursive);
            opt(&mut out, "api-version", explain.api_version.as_deref());
        }
        KubectlRequest::ApiResources(api) => {
            if let Some(namespaced) = api.namespaced {
                out.push(format!("--namespaced={namespaced}"));
            }
            opt(&mut out, "api-group", api.api_group.as_deref());
            if !api.verbs.is_empty() {
                out.push(format!("--verbs={}", api.verbs.join(",")));
            }
            match api.output {
                ApiResourcesOutput::Table => {}
                ApiResourcesOutput::Wide => out.push("--output=wide".to_owned()),
                ApiResourcesOutput::Name => out.push("--output=name".to_owned()),
            }
            switch(&mut out, "no-headers", api.no_headers);
        }
        KubectlRequest::Rollout(rollout) => {
            let r = &rollout.target;
            out.extend(r.names.iter().map(|n| format!("{}/{n}", r.resource)));
            namespace(&mut out, &rollout.namespace);
            match rollout.action {
                RolloutAction::History => {
                    opt(&mut out, "revision", rollout.revision.map(|n| n.to_string()).as_deref());
                    switch(&mut out, "watch", rollout.watch);
                }
                RolloutAction::Status => {
                    // Not valid for `status`: rendered so that the re-parse refuses it.
                    opt(&mut out, "revision", rollout.revision.map(|n| n.to_string()).as_deref());
                    if !rollout.watch {
                        out.push("--watch=false".to_owned());
                    }
                }
            }
        }
        KubectlRequest::Diagnose(diagnose) => {
            match &diagnose.target {
                Some(DiagnoseTarget::Object(r)) => {
                    out.extend(r.names.iter().map(|n| format!("{}/{n}", r.resource)))
                }
                Some(DiagnoseTarget::Named(name)) => out.push(name.clone()),
                None => {}
            }
            namespace(&mut out, &diagnose.namespace);
            if diagnose.output == DiagnoseOutput::Json {
                out.push("--output=json".to_owned());
            }
        }
        KubectlRequest::Version | KubectlRequest::ClusterInfo | KubectlRequest::ApiVersions => {}
    }
    argv.extend(out);
    argv
}

/// Re-checks a request that did not come straight from [`parse`](super::parse) (the executor's
/// defence in depth for what arrives over NATS): everything `parse` would refuse — restricted
/// resources, implausible names or namespaces, unsupported formats, contradictions — is refused
/// here too, and so is any request `parse` could not have produced.
pub fn validate(request: &KubectlRequest, config: &PolicyConfig) -> Result<(), PolicyError> {
    let argv = to_argv(request);
    let Some((command_type, args)) = argv.split_first() else {
        return Err(not_canonical(&argv));
    };
    let (command_type, args) = match args.split_first() {
        Some((action, rest)) if command_type == Verb::Rollout.as_str() => {
            (format!("{command_type} {action}"), rest)
        }
        _ => (command_type.clone(), args),
    };
    let input = CommandInput { command_type: &command_type, args, extra_args: &[], namespace: None };
    let reparsed = parse_unbounded(&input, config)?;
    if reparsed == *request { Ok(()) } else { Err(not_canonical(&argv)) }
}

fn not_canonical(argv: &[String]) -> PolicyError {
    PolicyError::NotCanonical { argv: preview(&argv.join(" ")), at: Location::ARGS }
}

/// get/describe targets: `pods,svc` when no names are given, else one `TYPE/NAME` per name.
fn targets(refs: &[ResourceRef]) -> Vec<String> {
    if refs.iter().all(|r| r.names.is_empty()) {
        let list: Vec<&str> = refs.iter().map(|r| r.resource.as_str()).collect();
        return if list.is_empty() { vec![] } else { vec![list.join(",")] };
    }
    refs.iter()
        .flat_map(|r| {
            let bare = r.names.is_empty().then(|| r.resource.clone());
            bare.into_iter().chain(r.names.iter().map(move |n| format!("{}/{n}", r.resource)))
        })
        .collect()
}

fn namespace(out: &mut Vec<String>, scope: &NamespaceScope) {
    match scope {
        NamespaceScope::Default => {}
        NamespaceScope::Namespace(ns) => out.push(format!("--namespace={ns}")),
        NamespaceScope::All => out.push("--all-namespaces".to_owned()),
    }
}

fn output(out: &mut Vec<String>, format: &OutputFormat) {
    let value = match format {
        OutputFormat::Table => return,
        OutputFormat::Wide => "wide".to_owned(),
        OutputFormat::Json => "json".to_owned(),
        OutputFormat::Yaml => "yaml".to_owned(),
        OutputFormat::Name => "name".to_owned(),
        OutputFormat::JsonPath(t) => format!("jsonpath={t}"),
        OutputFormat::CustomColumns(t) => format!("custom-columns={t}"),
    };
    out.push(format!("--output={value}"));
}

fn opt(out: &mut Vec<String>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.push(format!("--{name}={value}"));
    }
}

fn switch(out: &mut Vec<String>, name: &str, on: bool) {
    if on {
        out.push(format!("--{name}"));
    }
}
