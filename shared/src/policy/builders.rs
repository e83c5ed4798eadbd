//! One builder per verb: flags and positionals → the verb's typed request.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::config::PolicyConfig;
use super::error::{Location, PolicyError, preview};
use super::flags::{self, scan};
use super::request::{
    ApiResourcesOutput, ApiResourcesRequest, DescribeRequest, DiagnoseOutput, DiagnoseRequest,
    DiagnoseTarget, EventsRequest, ExplainRequest, GetRequest, KubectlRequest, LogTarget, LogsRequest,
    NamespaceScope, OutputFormat, ResourceRef, RolloutAction, RolloutRequest, TopKind, TopRequest,
};
use super::resources::{canonical_resource, validate_name, validate_resource};
use super::token::Token;
use super::values::{
    conflict, get_output, int, invalid, names_with_all, names_with_selector, namespace_scope, non_empty,
    selector, since, targets, unexpected,
};
use super::verb::{CommandName, Verb};

pub(crate) fn get(
    tokens: &[Token<'_>],
    body_ns: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::Get.as_str();
    let s = scan(VERB, flags::GET, tokens)?;
    let namespace = namespace_scope(&s, body_ns)?;
    let (targets, first_name) = targets(VERB, &s.positionals, config)?;
    let label_selector = selector(&s, "selector")?;
    let field_selector = selector(&s, "field-selector")?;
    if let Some(name) = first_name {
        if label_selector.is_some() || field_selector.is_some() {
            return Err(names_with_selector(VERB, name));
        }
        if namespace == NamespaceScope::All {
            return Err(names_with_all(VERB, name));
        }
    }
    let output = match s.text("output")? {
        Some((value, o)) => get_output(value, &o)?,
        None => OutputFormat::Table,
    };
    let mut label_columns = Vec::new();
    for (key, o) in s.list("label-columns") {
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(invalid(&o, key, "comma-separated label keys without spaces, e.g. `-L app,tier`"));
        }
        label_columns.push(key.to_owned());
    }
    let sort_by = match s.text("sort-by")? {
        Some((value, o)) => Some(non_empty(value, &o, "a JSONPath, e.g. `--sort-by=.metadata.name`")?),
        None => None,
    };
    let chunk_size = match s.text("chunk-size")? {
        Some((value, o)) => Some(
            value.parse::<u32>().map_err(|_| invalid(&o, value, "a non-negative page size, e.g. `500`"))?,
        ),
        None => None,
    };
    Ok(KubectlRequest::Get(GetRequest {
        targets,
        namespace,
        label_selector,
        field_selector,
        output,
        show_labels: s.bool("show-labels").unwrap_or(false),
        label_columns,
        no_headers: s.bool("no-headers").unwrap_or(false),
        show_kind: s.bool("show-kind").unwrap_or(false),
        sort_by,
        chunk_size,
    }))
}

pub(crate) fn describe(
    tokens: &[Token<'_>],
    body_ns: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::Describe.as_str();
    let s = scan(VERB, flags::DESCRIBE, tokens)?;
    let namespace = namespace_scope(&s, body_ns)?;
    let (targets, first_name) = targets(VERB, &s.positionals, config)?;
    let label_selector = selector(&s, "selector")?;
    if let (Some(name), Some(_)) = (first_name, &label_selector) {
        return Err(names_with_selector(VERB, name));
    }
    Ok(KubectlRequest::Describe(DescribeRequest {
        targets,
        namespace,
        label_selector,
        show_events: s.bool("show-events").unwrap_or(true),
    }))
}

pub(crate) fn logs(
    tokens: &[Token<'_>],
    body_ns: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::Logs.as_str();
    let s = scan(VERB, flags::LOGS, tokens)?;
    let namespace = namespace_scope(&s, body_ns)?;
    let label_selector = selector(&s, "selector")?;
    let mut positionals = s.positionals.iter();
    config.check_typed("pods", s.positionals.first().map_or(Location::ARGS, |t| t.at))?;
    let target = match (label_selector, positionals.next()) {
        (Some(selector), None) => LogTarget::Selector(selector),
        (Some(_), Some(t)) => {
            return Err(unexpected(
                VERB,
                t,
                "give either a pod (NAME or TYPE/NAME) or `-l <selector>`, not both",
            ));
        }
        (None, None) => {
            return Err(PolicyError::MissingArgument {
                verb: VERB,
                expected: "a pod name, a TYPE/NAME such as `deploy/web`, or `-l <selector>`",
                at: Location::ARGS,
            });
        }
        (None, Some(t)) => LogTarget::Object(log_object(t, config)?),
    };

    let container_flag = match s.text("container")? {
        Some((value, o)) => Some((validate_name(value, "container name", o.at)?, o)),
        None => None,
    };
    let container = match (positionals.next(), container_flag) {
        (Some(t), Some((_, o))) => {
            return Err(PolicyError::ConflictingFlags {
                first: o.written.to_owned(),
                second: preview(t.text),
                reason: "give the container once: `-c NAME` or as the second argument",
                at: t.at,
            });
        }
        (Some(t), None) => Some(validate_name(t.text, "container name", t.at)?),
        (None, flag) => flag.map(|(name, _)| name),
    };
    if let Some(t) = positionals.next() {
        return Err(unexpected(
            VERB,
            t,
            "`logs` takes one pod (NAME or TYPE/NAME) and optionally one container",
        ));
    }
    let all_containers = s.bool("all-containers").unwrap_or(false);
    if all_containers && container.is_some() {
        return Err(conflict(&s, "all-containers", "container", "pick one container or all of them"));
    }

    let tail_lines = int(&s, "tail", -1, "a line count: -1 (all) or more, e.g. `--tail=100`")?;
    let limit_bytes = int(&s, "limit-bytes", 1, "a positive byte count, e.g. `--limit-bytes=65536`")?;
    let since_seconds = match s.text("since")? {
        Some((value, o)) => Some(since(value, &o)?),
        None => None,
    };
    let since_time = match s.text("since-time")? {
        Some((value, o)) => {
            OffsetDateTime::parse(value, &Rfc3339)
                .map_err(|_| invalid(&o, value, "an RFC 3339 time, e.g. `2024-05-01T10:00:00Z`"))?;
            Some(value.to_owned())
        }
        None => None,
    };
    if since_seconds.is_some() && since_time.is_some() {
        return Err(conflict(&s, "since", "since-time", "give a duration or a start time, not both"));
    }
    Ok(KubectlRequest::Logs(LogsRequest {
        target,
        namespace,
        container,
        all_containers,
        previous: s.bool("previous").unwrap_or(false),
        tail_lines,
        since_seconds,
        since_time,
        timestamps: s.bool("timestamps").unwrap_or(false),
        limit_bytes,
        follow: s.bool("follow").unwrap_or(false),
        prefix: s.bool("prefix").unwrap_or(false),
        compact: s.bool("compact").unwrap_or(false),
    }))
}

/// `web-0` (a pod) or `TYPE/NAME` (any pod owner; the executor resolves it).
fn log_object(t: &Token<'_>, config: &PolicyConfig) -> Result<ResourceRef, PolicyError> {
    Ok(match t.text.split_once('/') {
        Some((ty, name)) => {
            let resource = validate_resource(ty, t.at)?;
            config.check_typed(&resource, t.at)?;
            ResourceRef { resource, names: vec![validate_name(name, "name", t.at)?] }
        }
        None => {
            ResourceRef { resource: "pods".to_owned(), names: vec![validate_name(t.text, "pod name", t.at)?] }
        }
    })
}

pub(crate) fn events(
    tokens: &[Token<'_>],
    body_ns: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::Events.as_str();
    let s = scan(VERB, flags::EVENTS, tokens)?;
    if let Some(t) = s.positionals.first() {
        return Err(unexpected(
            VERB,
            t,
            "`events` takes no arguments: use `--for TYPE/NAME` for one object's events",
        ));
    }
    let namespace = namespace_scope(&s, body_ns)?;
    config.check_typed("events", s.find("for").map_or(Location::ARGS, |o| o.at))?;
    let for_object = match s.text("for")? {
        Some((value, o)) => {
            let Some((ty, name)) = value.split_once('/') else {
                return Err(invalid(&o, value, "an object as TYPE/NAME, e.g. `--for pod/web-0`"));
            };
            let resource = validate_resource(ty, o.at)?;
            config.check_typed(&resource, o.at)?;
            Some(ResourceRef { resource, names: vec![validate_name(name, "name", o.at)?] })
        }
        None => None,
    };
    let mut types: Vec<String> = Vec::new();
    for (item, o) in s.list("types") {
        let normalized = ["Normal", "Warning"]
            .into_iter()
            .find(|t| t.eq_ignore_ascii_case(item.trim()))
            .ok_or_else(|| invalid(&o, item, "`Normal`, `Warning` or `Normal,Warning`"))?;
        if !types.iter().any(|t| t == normalized) {
            types.push(normalized.to_owned());
        }
    }
    let output = match s.text("output")? {
        Some((value, o)) => match value.to_ascii_lowercase().as_str() {
            "json" => OutputFormat::Json,
            "yaml" => OutputFormat::Yaml,
            "table" => OutputFormat::Table,
            _ => {
                return Err(invalid(&o, value, "`json` or `yaml` (omit `-o` for the default table)"));
            }
        },
        None => OutputFormat::Table,
    };
    Ok(KubectlRequest::Events(EventsRequest {
        namespace,
        for_object,
        types,
        output,
        no_headers: s.bool("no-headers").unwrap_or(false),
    }))
}

pub(crate) fn top(
    tokens: &[Token<'_>],
    body_ns: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::Top.as_str();
    let s = scan(VERB, flags::TOP, tokens)?;
    let mut positionals = s.positionals.iter();
    let Some(kind_token) = positionals.next() else {
        return Err(PolicyError::MissingArgument {
            verb: VERB,
            expected: "`pods` or `nodes`, e.g. `top pods -n demo` or `top nodes`",
            at: Location::ARGS,
        });
    };
    let (kind, plural) = match kind_token.text.to_ascii_lowercase().as_str() {
        "pods" | "pod" | "po" => (TopKind::Pods, "pods"),
        "nodes" | "node" | "no" => (TopKind::Nodes, "nodes"),
        _ => {
            return Err(unexpected(
                VERB,
                kind_token,
                "`top` shows `pods` or `nodes`, e.g. `top pods` or `top node node-1`",
            ));
        }
    };
    config.check_typed(plural, kind_token.at)?;
    let name_token = positionals.next();
    let name = name_token.map(|t| validate_name(t.text, "name", t.at)).transpose()?;
    if let Some(t) = positionals.next() {
        return Err(unexpected(VERB, t, "`top` takes `pods` or `nodes` and at most one name"));
    }
    let namespace = namespace_scope(&s, body_ns)?;
    let label_selector = selector(&s, "selector")?;
    if let Some(t) = name_token {
        if label_selector.is_some() {
            return Err(names_with_selector(VERB, *t));
        }
        if namespace == NamespaceScope::All {
            return Err(names_with_all(VERB, *t));
        }
    }
    let containers = s.bool("containers").unwrap_or(false);
    if containers && kind == TopKind::Nodes {
        return Err(PolicyError::ConflictingFlags {
            first: "--containers".to_owned(),
            second: preview(kind_token.text),
            reason: "`--containers` is for `top pods` only",
            at: s.find("containers").map_or(kind_token.at, |o| o.at),
        });
    }
    let sort_by = match s.text("sort-by")? {
        Some((value, o)) => match value.to_ascii_lowercase().as_str() {
            v @ ("cpu" | "memory") => Some(v.to_owned()),
            _ => return Err(invalid(&o, value, "`cpu` or `memory`")),
        },
        None => None,
    };
    Ok(KubectlRequest::Top(TopRequest {
        kind,
        name,
        namespace,
        label_selector,
        containers,
        sort_by,
        no_headers: s.bool("no-headers").unwrap_or(false),
    }))
}

pub(crate) fn explain(tokens: &[Token<'_>]) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::Explain.as_str();
    let s = scan(VERB, flags::EXPLAIN, tokens)?;
    let mut positionals = s.positionals.iter();
    let Some(path) = positionals.next() else {
        return Err(PolicyError::MissingArgument {
            verb: VERB,
            expected: "a resource or field path, e.g. `pods` or `deployment.spec.strategy`",
            at: Location::ARGS,
        });
    };
    let plausible = path.text.split('.').all(|seg| {
        !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !plausible {
        return Err(PolicyError::InvalidResource {
            value: preview(path.text),
            reason: "`explain` takes RESOURCE or RESOURCE.FIELD.FIELD…, e.g. `pods.spec.containers`"
                .to_owned(),
            at: path.at,
        });
    }
    if let Some(t) = positionals.next() {
        return Err(unexpected(VERB, t, "`explain` takes one path, e.g. `pods.spec.containers`"));
    }
    let api_version = match s.text("api-version")? {
        Some((value, o)) => {
            let ok = |part: &str| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            };
            let valid = match value.split_once('/') {
                Some((group, version)) => ok(group) && ok(version),
                None => ok(value),
            };
            if !valid {
                return Err(invalid(&o, value, "GROUP/VERSION or VERSION, e.g. `apps/v1` or `v1`"));
            }
            Some(value.to_owned())
        }
        None => None,
    };
    Ok(KubectlRequest::Explain(ExplainRequest {
        path: path.text.to_owned(),
        recursive: s.bool("recursive").unwrap_or(false),
        api_version,
    }))
}

pub(crate) fn api_resources(tokens: &[Token<'_>]) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::ApiResources.as_str();
    let s = scan(VERB, flags::API_RESOURCES, tokens)?;
    if let Some(t) = s.positionals.first() {
        return Err(unexpected(VERB, t, "`api-resources` takes no arguments, only flags"));
    }
    let api_group = match s.text("api-group")? {
        Some((value, o)) => {
            if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            {
                return Err(invalid(
                    &o,
                    value,
                    "an API group such as `apps` or `networking.k8s.io` (empty for core)",
                ));
            }
            Some(value.to_owned())
        }
        None => None,
    };
    let mut verbs = Vec::new();
    for (verb, o) in s.list("verbs") {
        if verb.is_empty() || !verb.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(invalid(&o, verb, "comma-separated API verbs, e.g. `--verbs=list,get`"));
        }
        verbs.push(verb.to_owned());
    }
    let output = match s.text("output")? {
        Some((value, o)) => match value.to_ascii_lowercase().as_str() {
            "wide" => ApiResourcesOutput::Wide,
            "name" => ApiResourcesOutput::Name,
            _ => {
                return Err(invalid(&o, value, "`wide` or `name` (omit `-o` for the default table)"));
            }
        },
        None => ApiResourcesOutput::Table,
    };
    Ok(KubectlRequest::ApiResources(ApiResourcesRequest {
        namespaced: s.bool("namespaced"),
        api_group,
        verbs,
        output,
        no_headers: s.bool("no-headers").unwrap_or(false),
    }))
}

pub(crate) fn rollout(
    tokens: &[Token<'_>],
    body_ns: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    // Scan with the subcommand's own flags when it comes first (the usual order), so that
    // messages list only those; otherwise with the union, checked below.
    const ROLLOUT: &str = Verb::Rollout.as_str();
    let scanned_as = tokens
        .first()
        .and_then(|t| rollout_action(t.text))
        .map_or(CommandName::Verb(Verb::Rollout), CommandName::Rollout);
    let s = scan(scanned_as.as_str(), flags::allow_list(scanned_as), tokens)?;
    let mut positionals = s.positionals.iter();
    let Some(sub) = positionals.next() else {
        return Err(PolicyError::MissingArgument {
            verb: ROLLOUT,
            expected: "a subcommand, `history` or `status`, e.g. `rollout status deployment/web`",
            at: Location::ARGS,
        });
    };
    let Some(action) = rollout_action(sub.text) else {
        return Err(PolicyError::UnsupportedSubcommand {
            verb: ROLLOUT,
            subcommand: preview(sub.text),
            allowed: Verb::Rollout.subcommands(),
            at: sub.at,
        });
    };
    let command = CommandName::Rollout(action);
    let (verb, allowed) = (command.as_str(), flags::allow_list(command));
    if let Some(o) = s.flags.iter().find(|o| !allowed.contains(o.spec)) {
        return Err(flags::refused(verb, allowed, o.written, None, o.at));
    }

    const TARGET: &str =
        "a deployment, statefulset or daemonset as TYPE/NAME or TYPE NAME, e.g. `deployment/web`";
    let Some(first) = positionals.next() else {
        return Err(PolicyError::MissingArgument { verb, expected: TARGET, at: Location::ARGS });
    };
    let (ty, name) = match first.text.split_once('/') {
        Some((ty, name)) => (ty, Token { text: name, at: first.at }),
        None => match positionals.next() {
            Some(name) => (first.text, *name),
            None => {
                return Err(PolicyError::MissingArgument { verb, expected: TARGET, at: Location::ARGS });
            }
        },
    };
    let resource = validate_resource(ty, first.at)?;
    let rollable = matches!(
        canonical_resource(&resource),
        Some("deployments.apps" | "statefulsets.apps" | "daemonsets.apps")
    );
    if !rollable {
        return Err(PolicyError::InvalidResource {
            value: preview(ty),
            reason: "`rollout` works on deployments, statefulsets and daemonsets (`deploy`, `sts`, `ds`)"
                .to_owned(),
            at: first.at,
        });
    }
    config.check_typed(&resource, first.at)?;
    let name = validate_name(name.text, "name", name.at)?;
    if let Some(t) = positionals.next() {
        return Err(unexpected(verb, t, "`rollout` takes one object"));
    }
    let namespace = namespace_scope(&s, body_ns)?;
    let revision = match action {
        RolloutAction::History => {
            int(&s, "revision", 0, "a revision number, e.g. `--revision=3`")?.filter(|r| *r > 0)
        }
        RolloutAction::Status => None,
    };
    Ok(KubectlRequest::Rollout(RolloutRequest {
        action,
        target: ResourceRef { resource, names: vec![name] },
        namespace,
        revision,
        watch: action == RolloutAction::Status && s.bool("watch").unwrap_or(true),
    }))
}

/// What `diagnose` can be pointed at (canonical forms): a pod or a pod-owning workload.
pub const DIAGNOSE_TARGETS: &[&str] = &[
    "pods",
    "deployments.apps",
    "statefulsets.apps",
    "daemonsets.apps",
    "replicasets.apps",
    "jobs.batch",
    "cronjobs.batch",
];

/// `diagnose [NAME | TYPE/NAME | TYPE NAME] [-n NS | -A] [-o text|json]`.
pub(crate) fn diagnose(
    tokens: &[Token<'_>],
    body_ns: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    const VERB: &str = Verb::Diagnose.as_str();
    const TARGET: &str = "nothing (the whole namespace), or one pod or workload as NAME, TYPE/NAME or TYPE \
                          NAME, e.g. `orders-api`, `deploy/web`, `pod/web-0`, `sts/db`, `job/migrate`";
    let s = scan(VERB, flags::DIAGNOSE, tokens)?;
    let namespace = namespace_scope(&s, body_ns)?;
    let target = match s.positionals.as_slice() {
        [] => None,
        [first, rest @ ..] => {
            if namespace == NamespaceScope::All {
                return Err(names_with_all(VERB, *first));
            }
            let (ty, name) = match (first.text.split_once('/'), rest) {
                (Some((ty, name)), []) => (Some(ty), Token { text: name, at: first.at }),
                (None, [name]) => (Some(first.text), *name),
                (None, []) => (None, *first),
                (_, [_, extra, ..] | [extra]) => return Err(unexpected(VERB, extra, TARGET)),
            };
            match ty {
                None => Some(DiagnoseTarget::Named(validate_name(name.text, "name", name.at)?)),
                Some(ty) => {
                    let resource = validate_resource(ty, first.at)?;
                    if !canonical_resource(&resource).is_some_and(|c| DIAGNOSE_TARGETS.contains(&c)) {
                        return Err(PolicyError::InvalidResource {
                            value: preview(ty),
                            reason: "`diagnose` looks at pods and pod-owning workloads: `pod`, `deploy`, \
                                     `sts`, `ds`, `rs`, `job`, `cj` (or a bare name, or nothing for the \
                                     whole namespace)"
                                .to_owned(),
                            at: first.at,
                        });
                    }
                    config.check_typed(&resource, first.at)?;
                    let name = validate_name(name.text, "name", name.at)?;
                    Some(DiagnoseTarget::Object(ResourceRef { resource, names: vec![name] }))
                }
            }
        }
    };
    let output = match s.text("output")? {
        Some((value, o)) => match value.to_ascii_lowercase().as_str() {
            "json" => DiagnoseOutput::Json,
            "text" => DiagnoseOutput::Text,
            _ => return Err(invalid(&o, value, "`json` (omit `-o` for text)")),
        },
        None => DiagnoseOutput::Text,
    };
    Ok(KubectlRequest::Diagnose(DiagnoseRequest { namespace, target, output }))
}

/// The rollout action a word names (any case).
fn rollout_action(word: &str) -> Option<RolloutAction> {
    RolloutAction::ALL.into_iter().find(|action| word.eq_ignore_ascii_case(action.as_str()))
}

/// `version`, `api-versions`, `cluster-info`: no flags, no arguments.
pub(crate) fn no_arguments(verb: Verb, tokens: &[Token<'_>]) -> Result<(), PolicyError> {
    let s = scan(verb.as_str(), flags::NONE, tokens)?;
    match s.positionals.first() {
        None => Ok(()),
        Some(t) if verb == Verb::ClusterInfo => Err(PolicyError::UnsupportedSubcommand {
            verb: verb.as_str(),
            subcommand: preview(t.text),
            allowed: &[],
            at: t.at,
        }),
        Some(t) => Err(unexpected(verb.as_str(), t, "this command takes no arguments")),
    }
}
