//! What each identity may publish and subscribe to on the bus (nats-server enforces it; anything
//! not listed is refused).

use kubently_shared::names::Names;
use kubently_shared::protocol::{CommandStatus, EventType};

/// Allowed subjects, publish and subscribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// The gateway: owns provisioning (the JetStream API), publishes commands and events, reads and
/// writes every Kubently bucket, receives replies, answers executors' provisioning requests.
/// With a name prefix (tests, shared buses) only that installation's subjects.
pub fn gateway(names: &Names) -> Permissions {
    let kubently = names.command_subjects().replace(".cmd.>", ".>");
    Permissions {
        publish: vec![
            "$JS.API.>".into(),
            "$JS.ACK.>".into(),
            "$JS.FC.>".into(),
            "$KV.>".into(),
            kubently.clone(),
            // Answers to executors' provisioning requests.
            format!("{}.>", kubently_shared::names::EXECUTOR_INBOX_ROOT),
        ],
        subscribe: vec!["_INBOX.>".into(), kubently, "$JS.EVENT.ADVISORY.>".into()],
    }
}

/// An executor of `cluster_id`: fetch from and ack its own consumer, reply for its own cluster,
/// write its own cluster's claims, results, presence and command events, read its own keys,
/// follow its own cluster-active key, ask for its own consumer; its own inboxes only. It cannot
/// publish commands, see another cluster's anything, or create, change or delete a stream,
/// consumer or bucket.
pub fn executor(names: &Names, cluster_id: &str) -> Permissions {
    let commands = names.commands_stream();
    let consumer = names.executor_consumer(cluster_id);
    let mut publish = vec![
        format!("$JS.API.CONSUMER.INFO.{commands}.{consumer}"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{commands}.{consumer}"),
        format!("$JS.ACK.{commands}.{consumer}.>"),
        names.cluster_replies(cluster_id),
        names.provision_subject(cluster_id),
    ];
    // A command's terminal events, each named: a subject with a wildcard inside
    // (`command.*.<cluster>`) would allow the same, but over a leafnode link the hub then sends
    // the leaf no interest in the events stream's `kubently.events.>` (nats-server matches the
    // stream's interest against the allowed subjects' literal tokens), and no event would cross.
    for status in [CommandStatus::Success, CommandStatus::Failure, CommandStatus::Timeout] {
        if let Some(event) = EventType::for_status(status) {
            publish.push(names.event_subject(event.as_str(), cluster_id));
        }
    }
    // Keys `<cluster>.<…>`: written and read.
    for bucket in [names.claims_bucket(), names.results_bucket(), names.executors_bucket()] {
        publish.push(names.kv_subject(&bucket, &format!("{cluster_id}.>")));
        publish.push(direct_get(&bucket, &format!("{cluster_id}.>")));
    }
    // Key `<cluster>`: its entry among the known clusters (written, read), its active marker (read).
    let clusters = names.clusters_bucket();
    publish.push(names.kv_subject(&clusters, cluster_id));
    publish.push(direct_get(&clusters, cluster_id));
    let active = names.cluster_active_bucket();
    publish.push(direct_get(&active, cluster_id));
    Permissions {
        publish,
        subscribe: vec![
            format!("{}.>", names.executor_inbox_prefix(cluster_id)),
            names.kv_subject(&active, cluster_id),
        ],
    }
}

/// The leaf node of edge cluster `cluster_id` (its link to the hub): exactly what that cluster's
/// executors may do, so the hub lets nothing else cross the link. Each executor is also checked
/// against its own credentials at the leaf.
pub fn leaf(names: &Names, cluster_id: &str) -> Permissions {
    executor(names, cluster_id)
}

/// `$JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>`: a direct get that names its key.
fn direct_get(bucket: &str, key: &str) -> String {
    format!("$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executor_names_only_its_own_cluster() {
        let names = Names::with_prefix("P").expect("prefix");
        let p = executor(&names, "a");
        for subject in p.publish.iter().chain(&p.subscribe) {
            assert!(
                subject.contains(".a.") || subject.ends_with(".a") || subject.contains("executor-a"),
                "{subject} is not scoped to cluster a"
            );
            assert!(!subject.contains("STREAM.") && !subject.contains("CONSUMER.CREATE"), "{subject}");
        }
        assert!(p.publish.contains(&"P.kubently.reply.a.>".to_string()));
        assert!(!p.publish.iter().any(|s| s.contains("kubently.cmd")), "executors never publish commands");
        for event in ["command.completed", "command.failed", "command.timeout"] {
            assert!(p.publish.contains(&format!("P.kubently.events.{event}.a")), "{event}");
        }
    }
}
