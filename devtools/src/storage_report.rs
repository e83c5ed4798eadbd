//! What the bus keeps per command: every stream and bucket of one installation, its messages and
//! bytes, divided by the commands run (the audit stream holds one record per command). The bench
//! and the fleet simulation print it; the README's sizing comes from it.

use async_nats::jetstream;
use kubently_shared::names::Names;
use kubently_shared::provision::ProvisionOptions;
use serde_json::{Value, json};

/// One stream's use.
#[derive(Debug, Clone)]
pub struct StreamUse {
    pub stream: String,
    pub messages: u64,
    pub bytes: u64,
    /// Its size limit (`max_bytes`).
    pub max_bytes: i64,
}

/// Every stream and bucket of `names`' installation (the gateway provisions them all).
pub async fn read(js: &jetstream::Context, names: &Names) -> anyhow::Result<Vec<StreamUse>> {
    let opts =
        ProvisionOptions { name_prefix: names.prefix().map(String::from), ..ProvisionOptions::default() };
    let mut uses = Vec::new();
    for config in opts.every_stream_config(names) {
        match js.get_stream(&config.name).await {
            Ok(stream) => {
                let info = stream.cached_info();
                uses.push(StreamUse {
                    stream: config.name,
                    messages: info.state.messages,
                    bytes: info.state.bytes,
                    max_bytes: info.config.max_bytes,
                });
            }
            Err(e) => tracing::debug!(stream = config.name, error = %e, "not provisioned"),
        }
    }
    Ok(uses)
}

/// Commands run, as the audit stream counts them.
pub fn commands(uses: &[StreamUse], names: &Names) -> u64 {
    uses.iter().find(|u| u.stream == names.audit_stream()).map_or(0, |u| u.messages)
}

/// A markdown table: stream, messages, bytes, bytes and messages per command.
pub fn table(uses: &[StreamUse], commands: u64) -> String {
    let per = |n: u64| if commands == 0 { 0.0 } else { n as f64 / commands as f64 };
    let mut out = format!(
        "| stream / bucket ({commands} commands) | messages | bytes | bytes per command | limit |\n|---|---:|---:|---:|---:|\n"
    );
    for u in uses {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} MiB |\n",
            u.stream,
            u.messages,
            u.bytes,
            per(u.bytes),
            u.max_bytes / (1024 * 1024)
        ));
    }
    let total: u64 = uses.iter().map(|u| u.bytes).sum();
    out.push_str(&format!("| **all** | | {total} | {:.0} | |\n", per(total)));
    out
}

pub fn json(uses: &[StreamUse], commands: u64) -> Value {
    let per = |n: u64| if commands == 0 { 0.0 } else { n as f64 / commands as f64 };
    json!({
        "commands": commands,
        "streams": uses.iter().map(|u| json!({"stream": u.stream, "messages": u.messages, "bytes": u.bytes,
            "bytes_per_command": per(u.bytes), "messages_per_command": per(u.messages), "max_bytes": u.max_bytes})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_per_command_divide_by_the_audit_count() {
        let names = Names::with_prefix("B1").expect("prefix");
        let uses = vec![
            StreamUse { stream: names.audit_stream(), messages: 4, bytes: 2000, max_bytes: 1 << 30 },
            StreamUse {
                stream: "KV_B1_KUBENTLY_RESULTS".into(),
                messages: 4,
                bytes: 6000,
                max_bytes: 1 << 30,
            },
        ];
        assert_eq!(commands(&uses, &names), 4);
        let t = table(&uses, 4);
        assert!(t.contains("| B1_KUBENTLY_AUDIT | 4 | 2000 | 500 | 1024 MiB |"), "{t}");
        assert!(t.contains("| **all** | | 8000 | 2000 | |"), "{t}");
        assert_eq!(json(&uses, 0)["streams"][0]["bytes_per_command"], 0.0);
    }
}
