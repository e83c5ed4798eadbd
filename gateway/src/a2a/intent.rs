//! Plain-English A2A messages, matched deterministically (no model, no guessing beyond these
//! rules) to a command: "what is wrong / what's broken / why is X failing / is X healthy [in
//! namespace Z]" becomes `diagnose` with that scope. A message that is a kubectl command is left
//! to the kubectl path; anything else is [`Intent::Unknown`], answered with the skills and
//! examples ([`help`]).

use kubently_shared::policy::{Verb, canonical_resource};

/// What a text message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// The text is a kubectl command (its first word is a verb, or `kubectl`).
    Command,
    /// A health question: `diagnose` with this scope.
    Diagnose(DiagnoseScope),
    /// Neither.
    Unknown,
}

/// The scope of a health question.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiagnoseScope {
    /// `-n`; `None` with no object means every namespace.
    pub namespace: Option<String>,
    /// `deploy/x`, `pod/x`, or a bare name.
    pub object: Option<String>,
}

impl DiagnoseScope {
    /// The command it runs: `diagnose deploy/x -n ns`, `diagnose -A`.
    pub fn command(&self) -> String {
        let mut words = vec!["diagnose".to_string()];
        words.extend(self.object.clone());
        match (&self.namespace, &self.object) {
            (Some(ns), _) => words.extend(["-n".to_string(), ns.clone()]),
            (None, None) => words.push("-A".into()),
            (None, Some(_)) => {}
        }
        words.join(" ")
    }
}

/// Phrases that ask what is wrong without naming an object.
const GENERAL: &[&str] = &[
    "what is wrong",
    "what's wrong",
    "whats wrong",
    "what is broken",
    "what's broken",
    "whats broken",
    "what is failing",
    "what's failing",
    "whats failing",
    "what is not working",
    "what's not working",
    "anything wrong",
    "anything broken",
    "any problems",
    "any issues",
    "is something wrong",
    "is anything wrong",
    "find problems",
    "find the problem",
    "health check",
    "diagnose",
    "troubleshoot",
];

/// Words that end "why is X …" questions.
const FAILING: &[&str] = &[
    "failing",
    "broken",
    "crashing",
    "crash-looping",
    "crashlooping",
    "down",
    "not working",
    "not ready",
    "not running",
    "not starting",
    "pending",
    "restarting",
    "unhealthy",
    "erroring",
    "stuck",
    "unavailable",
    "slow",
];

/// Words that end "is X …" questions.
const HEALTHY: &[&str] =
    &["healthy", "ok", "okay", "fine", "working", "running", "up", "ready", "broken", "alive"];

/// Filler words skipped around an object's name.
const FILLER: &[&str] =
    &["the", "my", "our", "a", "an", "this", "that", "app", "application", "service", "workload"];

/// Words that are not object names (the questions' own words).
const NOT_NAMES: &[&str] = &[
    "wrong",
    "broken",
    "failing",
    "it",
    "there",
    "everything",
    "anything",
    "something",
    "cluster",
    "namespace",
    "all",
    "things",
    "stuff",
];

/// kubectl's verbs that change the cluster: a message starting with one is a command (which the
/// policy refuses with its reason), not a question.
const KUBECTL_WRITE_VERBS: &[&str] = &[
    "delete",
    "apply",
    "create",
    "patch",
    "edit",
    "replace",
    "scale",
    "exec",
    "port-forward",
    "proxy",
    "cp",
    "attach",
    "drain",
    "cordon",
    "uncordon",
    "taint",
    "annotate",
    "label",
    "debug",
    "autoscale",
    "expose",
    "run",
    "set",
];

/// Matches `text`.
pub fn understand(text: &str) -> Intent {
    let first = text.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
    if first == "kubectl"
        || Verb::from_word(&first).is_some_and(|v| v != Verb::Diagnose)
        || KUBECTL_WRITE_VERBS.contains(&first.as_str())
    {
        return Intent::Command;
    }
    if first == "diagnose" && looks_like_flags(text) {
        return Intent::Command;
    }
    let words = normalize(text);
    let joined = format!(" {} ", words.join(" "));
    let (namespace, all) = namespace_of(&words);

    // "why is X failing", "why does X keep crashing", "why are the X pods pending"
    if let Some(object) = subject_between(&words, &["why"], FAILING)
        .or_else(|| subject_between(&words, &["is", "are"], HEALTHY))
    {
        return Intent::Diagnose(DiagnoseScope { namespace, object: Some(object) });
    }
    if GENERAL.iter().any(|p| joined.contains(&format!(" {p} ")))
        || (words.first().is_some_and(|w| w == "why")
            && FAILING.iter().any(|f| joined.contains(&format!(" {f} "))))
    {
        let object = object_after_check(&words);
        let namespace = if all && object.is_none() { None } else { namespace };
        return Intent::Diagnose(DiagnoseScope { namespace, object });
    }
    Intent::Unknown
}

/// `diagnose -n x`, `diagnose deploy/x`: already a command.
fn looks_like_flags(text: &str) -> bool {
    text.split_whitespace().skip(1).all(|w| w.starts_with('-') || w.contains('/') || is_name(w))
        && text.split_whitespace().count() <= 6
        && !text.contains('?')
}

/// Lowercased words without the question's punctuation (`/`, `-`, `.` inside words stay).
fn normalize(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.replace('’', "'")
                .trim_matches(|c: char| {
                    !(c.is_alphanumeric() || c == '/' || c == '-' || c == '.' || c == '\'')
                })
                .trim_end_matches('.')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// A Kubernetes name: lowercase alphanumerics, `-` and `.`, starting and ending alphanumeric.
fn is_name(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 253
        && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && w.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && w.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// `in namespace x`, `in the x namespace`, `in ns x`, `namespace x`, `-n x`, `in x`; and whether
/// the question covers every namespace (`in all namespaces`, `cluster-wide`, `in the cluster`).
fn namespace_of(words: &[String]) -> (Option<String>, bool) {
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or_default();
    let all = words.windows(2).any(|p| p[0] == "all" && p[1].starts_with("namespace"))
        || words.iter().any(|x| x == "cluster-wide" || x == "everywhere")
        || words.windows(2).any(|p| p[0] == "the" && p[1] == "cluster");
    for i in 0..words.len() {
        match w(i) {
            "namespace" | "ns" | "-n" if is_name(w(i + 1)) && !FILLER.contains(&w(i + 1)) => {
                return (Some(w(i + 1).to_string()), all);
            }
            "in" | "within" | "inside" => {
                // "in the demo-shop namespace", "in demo-shop"
                let j = if w(i + 1) == "the" { i + 2 } else { i + 1 };
                let candidate = w(j);
                if matches!(w(j + 1), "namespace" | "ns") && is_name(candidate) {
                    return (Some(candidate.to_string()), all);
                }
                if is_name(candidate)
                    && !["all", "namespace", "ns", "the", "cluster", "my", "our", "production", "prod"]
                        .contains(&candidate)
                    && w(j + 1).is_empty()
                {
                    return (Some(candidate.to_string()), all);
                }
            }
            _ => {}
        }
    }
    (None, all)
}

/// The object named between a leading word (`why`, `is`) and a closing word (`failing`,
/// `healthy`): `why is the orders-api deployment failing` → `deploy/orders-api`.
fn subject_between(words: &[String], opening: &[&str], closing: &[&str]) -> Option<String> {
    let start = words.iter().position(|w| opening.contains(&w.as_str()))?;
    let mut rest: Vec<&str> = words[start + 1..].iter().map(String::as_str).collect();
    // "why is", "why does", "why are", "why do"
    if opening == ["why"]
        && rest
            .first()
            .is_some_and(|w| ["is", "are", "does", "do", "did", "was", "were", "has", "have"].contains(w))
    {
        rest.remove(0);
    }
    let end = (0..rest.len()).find(|&i| {
        closing.iter().any(|c| {
            let phrase: Vec<&str> = c.split(' ').collect();
            rest[i..].starts_with(&phrase)
        }) || (["keep", "keeps", "not"].contains(&rest[i]) && opening == ["why"])
    })?;
    object_in(&rest[..end])
}

/// `check deploy/x`, `diagnose orders-api`, `what is wrong with orders-api`.
fn object_after_check(words: &[String]) -> Option<String> {
    let at = words
        .iter()
        .position(|w| ["with", "diagnose", "troubleshoot", "check", "of"].contains(&w.as_str()))?;
    let rest: Vec<&str> = words[at + 1..]
        .iter()
        .map(String::as_str)
        .take_while(|w| !["in", "on", "within"].contains(w))
        .collect();
    object_in(&rest)
}

/// An object from a few words: `deploy/x`, `deployment x`, `the x deployment`, `pod x`, `x`.
fn object_in(words: &[&str]) -> Option<String> {
    let words: Vec<&str> = words.iter().copied().filter(|w| !FILLER.contains(w)).collect();
    match words.as_slice() {
        [one] if one.contains('/') => {
            let (ty, name) = one.split_once('/')?;
            (canonical_resource(ty).is_some() && is_name(name)).then(|| one.to_string())
        }
        [one] if is_name(one) && !NOT_NAMES.contains(one) => Some(one.to_string()),
        [ty, name] | [name, ty]
            if canonical_resource(ty).is_some() && is_name(name) && canonical_resource(name).is_none() =>
        {
            let plural = canonical_resource(ty)?;
            let short = match plural.split('.').next().unwrap_or(plural) {
                "deployments" => "deploy",
                "statefulsets" => "sts",
                "daemonsets" => "ds",
                "replicasets" => "rs",
                "jobs" => "job",
                "cronjobs" => "cj",
                "pods" => "pod",
                _ => return Some(name.to_string()),
            };
            Some(format!("{short}/{name}"))
        }
        _ => None,
    }
}

/// The refusal for a message that is neither a command nor a health question: the skills and
/// how to ask.
pub fn help(text: &str) -> String {
    let shown: String = text.chars().take(120).collect();
    format!(
        "I did not understand {shown:?}. Kubently is read-only and answers two kinds of message:\n\
         - skill `diagnose` — a question about health, in plain English: \"what is wrong in namespace demo-shop?\", \
         \"why is orders-api failing in demo-shop?\", \"is deploy/checkout healthy in demo-shop?\", \"what's broken in the cluster?\"\n\
         - skill `kubectl` — one read-only kubectl command: \"get pods -n demo-shop\", \"logs deploy/orders-api -n demo-shop --previous --tail 20\", \
         \"events -n demo-batch --types Warning\", \"diagnose -n demo-batch\"\n\
         Nothing that changes the cluster (delete, scale, apply, exec, …) is possible."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnose(namespace: Option<&str>, object: Option<&str>) -> Intent {
        Intent::Diagnose(DiagnoseScope {
            namespace: namespace.map(str::to_string),
            object: object.map(str::to_string),
        })
    }

    #[test]
    fn health_questions_become_diagnose_with_their_scope() {
        let cases: &[(&str, Intent)] = &[
            ("What is wrong in namespace demo-shop?", diagnose(Some("demo-shop"), None)),
            ("what's broken in demo-batch", diagnose(Some("demo-batch"), None)),
            ("Whats wrong in the demo-shop namespace?", diagnose(Some("demo-shop"), None)),
            ("what is failing?", diagnose(None, None)),
            ("Anything wrong across all namespaces?", diagnose(None, None)),
            ("what's broken in the cluster", diagnose(None, None)),
            ("Why is orders-api failing in demo-shop?", diagnose(Some("demo-shop"), Some("orders-api"))),
            (
                "why is the orders-api deployment crashing in namespace demo-shop",
                diagnose(Some("demo-shop"), Some("deploy/orders-api")),
            ),
            (
                "Why does report-builder keep restarting? (ns demo-batch)",
                diagnose(Some("demo-batch"), Some("report-builder")),
            ),
            ("why is pod web-0 pending", diagnose(None, Some("pod/web-0"))),
            (
                "Is deploy/checkout healthy in demo-shop?",
                diagnose(Some("demo-shop"), Some("deploy/checkout")),
            ),
            (
                "is the storefront deployment ok in namespace demo-shop?",
                diagnose(Some("demo-shop"), Some("deploy/storefront")),
            ),
            ("Is statefulset db running?", diagnose(None, Some("sts/db"))),
            (
                "what is wrong with nightly-migration in demo-batch?",
                diagnose(Some("demo-batch"), Some("nightly-migration")),
            ),
            (
                "please diagnose deploy/orders-api in demo-shop",
                diagnose(Some("demo-shop"), Some("deploy/orders-api")),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(&understand(text), want, "{text}");
        }
    }

    #[test]
    fn commands_stay_commands_and_the_rest_is_unknown() {
        for text in [
            "get pods -n demo-shop",
            "kubectl logs x",
            "describe deploy/x",
            "diagnose -n demo-shop",
            "diagnose deploy/x -n y",
            "events -A",
            "delete pod x -n demo-shop",
        ] {
            assert_eq!(understand(text), Intent::Command, "{text}");
        }
        for text in [
            "please scale up the checkout service",
            "hello",
            "",
            "what time is it?",
            "restart everything in demo-shop",
        ] {
            assert_eq!(understand(text), Intent::Unknown, "{text}");
        }
    }

    #[test]
    fn scopes_render_as_commands() {
        let scope = |ns: Option<&str>, o: Option<&str>| DiagnoseScope {
            namespace: ns.map(Into::into),
            object: o.map(Into::into),
        };
        assert_eq!(scope(Some("a"), None).command(), "diagnose -n a");
        assert_eq!(scope(None, None).command(), "diagnose -A");
        assert_eq!(scope(None, Some("deploy/x")).command(), "diagnose deploy/x");
        assert_eq!(scope(Some("a"), Some("x")).command(), "diagnose x -n a");
    }

    #[test]
    fn help_lists_the_skills_with_examples() {
        let h = help("scale it up");
        assert!(
            h.contains("skill `diagnose`")
                && h.contains("skill `kubectl`")
                && h.contains("why is orders-api failing")
        );
        assert!(h.starts_with("I did not understand \"scale it up\""));
    }
}
