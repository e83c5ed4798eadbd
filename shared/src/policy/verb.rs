//! The one list of what Kubently runs: the verbs a `command_type` may name, the rollout actions,
//! and the commands they make (`rollout` only as `rollout history` or `rollout status`). The
//! policy's flag tables, its messages, [`KubectlRequest::verb`](super::KubectlRequest::verb) and
//! the executor's advertised capabilities all derive from it.

use serde::{Deserialize, Serialize};

/// A read-only kubectl verb: what `command_type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Describe,
    Logs,
    Events,
    Top,
    Explain,
    Version,
    ClusterInfo,
    ApiResources,
    ApiVersions,
    Rollout,
    /// Kubently's own read-only verb: deterministic analyzers over a namespace, all namespaces or
    /// one workload, findings ranked by severity with evidence and the next command worth running.
    Diagnose,
}

impl Verb {
    /// Every verb, in the order messages list them.
    pub const ALL: [Self; 12] = [
        Self::Get,
        Self::Describe,
        Self::Logs,
        Self::Events,
        Self::Top,
        Self::Explain,
        Self::Version,
        Self::ClusterInfo,
        Self::ApiResources,
        Self::ApiVersions,
        Self::Rollout,
        Self::Diagnose,
    ];

    /// The verb as kubectl spells it: `get`, `cluster-info`, `rollout`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Describe => "describe",
            Self::Logs => "logs",
            Self::Events => "events",
            Self::Top => "top",
            Self::Explain => "explain",
            Self::Version => "version",
            Self::ClusterInfo => "cluster-info",
            Self::ApiResources => "api-resources",
            Self::ApiVersions => "api-versions",
            Self::Rollout => "rollout",
            Self::Diagnose => "diagnose",
        }
    }

    /// The verb spelled exactly `word` (lowercase), if any.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == word)
    }

    /// The subcommands the verb must be followed by (`rollout`: `history`, `status`); empty for
    /// the others.
    pub const fn subcommands(self) -> &'static [&'static str] {
        match self {
            Self::Rollout => &ROLLOUT_SUBCOMMANDS,
            _ => &[],
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `rollout` does: `rollout history` or `rollout status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutAction {
    History,
    Status,
}

impl RolloutAction {
    /// Both actions, in the order messages list them.
    pub const ALL: [Self; 2] = [Self::History, Self::Status];

    /// The subcommand word: `history`, `status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::History => "history",
            Self::Status => "status",
        }
    }
}

/// Every verb's spelling, in [`Verb::ALL`]'s order.
pub(crate) const VERB_WORDS: [&str; Verb::ALL.len()] = {
    let mut out = [""; Verb::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = Verb::ALL[i].as_str();
        i += 1;
    }
    out
};

const ROLLOUT_SUBCOMMANDS: [&str; RolloutAction::ALL.len()] = {
    let mut out = [""; RolloutAction::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = RolloutAction::ALL[i].as_str();
        i += 1;
    }
    out
};

/// A command's name as messages and flag tables use it: a verb (`get`, or `rollout` before its
/// subcommand is known) or a rollout action (`rollout status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    Verb(Verb),
    Rollout(RolloutAction),
}

impl CommandName {
    /// Every command that runs: each verb, with `rollout` as its two actions.
    pub const RUNNABLE: [Self; Verb::ALL.len() - 1 + RolloutAction::ALL.len()] = {
        let mut out = [Self::Verb(Verb::Get); Verb::ALL.len() - 1 + RolloutAction::ALL.len()];
        let mut n = 0;
        let mut i = 0;
        while i < Verb::ALL.len() {
            match Verb::ALL[i] {
                Verb::Rollout => {
                    let mut j = 0;
                    while j < RolloutAction::ALL.len() {
                        out[n] = Self::Rollout(RolloutAction::ALL[j]);
                        n += 1;
                        j += 1;
                    }
                }
                verb => {
                    out[n] = Self::Verb(verb);
                    n += 1;
                }
            }
            i += 1;
        }
        assert!(n == out.len(), "RUNNABLE's length is the number of verbs plus rollout's extra actions");
        out
    };

    /// `get`, `rollout`, `rollout history`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Verb(verb) => verb.as_str(),
            Self::Rollout(RolloutAction::History) => "rollout history",
            Self::Rollout(RolloutAction::Status) => "rollout status",
        }
    }

    /// The command spelled exactly `name` (a verb, or `rollout history` / `rollout status`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::RUNNABLE
            .into_iter()
            .find(|c| c.as_str() == name)
            .or_else(|| Verb::from_word(name).map(Self::Verb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for verb in Verb::ALL {
            assert_eq!(Verb::from_word(verb.as_str()), Some(verb));
            assert_eq!(CommandName::from_name(verb.as_str()), Some(CommandName::Verb(verb)));
        }
        for command in CommandName::RUNNABLE {
            assert_eq!(CommandName::from_name(command.as_str()), Some(command));
        }
        assert_eq!(Verb::from_word("delete"), None);
        assert_eq!(Verb::from_word("GET"), None, "callers lowercase first");
    }

    #[test]
    fn rollout_runs_as_its_actions_only() {
        let runnable: Vec<&str> = CommandName::RUNNABLE.iter().map(|c| c.as_str()).collect();
        assert!(runnable.contains(&"rollout history") && runnable.contains(&"rollout status"));
        assert!(!runnable.contains(&"rollout"));
        assert_eq!(runnable.len(), Verb::ALL.len() - 1 + RolloutAction::ALL.len());
        assert_eq!(Verb::Rollout.subcommands(), ["history", "status"]);
        assert!(Verb::Get.subcommands().is_empty());
        assert_eq!(VERB_WORDS.len(), Verb::ALL.len());
    }
}
