//! What the fake kubelet makes of each pod bound to its node: the failure half of the demo
//! scenario ("a broken cluster an agent should diagnose").
//!
//! Which pods misbehave, and how, is decided here ([`behaviour_for`]); the rest of the fake kubelet
//! only carries it out. The harness's `scenario` module (crate `kubently-tests`) seeds the objects and
//! re-exports these names, so the table and the seeded objects share one set of constants. Demo pods
//! are matched by namespace and `app` label (nothing in their metadata gives the diagnosis away);
//! test pods may ask for a behaviour with [`BEHAVIOUR_ANNOTATION`].

use k8s_openapi::api::core::v1::Pod;

/// Test-only override: `fake-kubelet.kubently.dev/behaviour: crashloop|image-pull|oom-killed|unready|fail|healthy`.
pub const BEHAVIOUR_ANNOTATION: &str = "fake-kubelet.kubently.dev/behaviour";

/// Namespace of the web-shop part of the demo.
pub const SHOP_NS: &str = "demo-shop";
/// Namespace of the batch/ML part of the demo.
pub const BATCH_NS: &str = "demo-batch";

// Documented names (README § Demo scenario) of the workloads that misbehave.
pub const ORDERS_API: &str = "orders-api";
pub const CHECKOUT: &str = "checkout";
pub const THUMBNAILER: &str = "thumbnailer";
pub const REPORT_BUILDER: &str = "report-builder";
pub const NIGHTLY_MIGRATION: &str = "nightly-migration";

/// What the fake kubelet makes of a pod bound to its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Running; every container started and ready. Logs: a steady stream of access-log lines.
    Healthy,
    /// Running but the container keeps crashing: waiting `CrashLoopBackOff`, last state terminated
    /// (exit 1, `Error`), many restarts. Logs (current and `--previous`) end in a stack trace with
    /// `connection refused` to `postgres:5432`.
    CrashLoop { restarts: i32 },
    /// Pending; container waiting `ImagePullBackOff` (the tag does not exist).
    ImagePullBackOff,
    /// Running; container terminated `OOMKilled` (exit 137) after hitting its memory limit, restarting.
    OomKilled { restarts: i32 },
    /// Running, container started, but the readiness probe fails (HTTP 503): not ready.
    ReadinessFailing,
    /// The container exits 1 and the pod ends `Failed` (restartPolicy Never; used for Job pods).
    Fail,
}

impl Behaviour {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "healthy" => Self::Healthy,
            "crashloop" => Self::CrashLoop { restarts: 47 },
            "image-pull" => Self::ImagePullBackOff,
            "oom-killed" => Self::OomKilled { restarts: 5 },
            "unready" => Self::ReadinessFailing,
            "fail" => Self::Fail,
            _ => return None,
        })
    }
}

/// The behaviour for `pod`: the test annotation if present, else the demo table, else healthy.
pub fn behaviour_for(pod: &Pod) -> Behaviour {
    let meta = &pod.metadata;
    if let Some(b) =
        meta.annotations.as_ref().and_then(|a| a.get(BEHAVIOUR_ANNOTATION)).and_then(|v| Behaviour::parse(v))
    {
        return b;
    }
    let label = |k: &str| meta.labels.as_ref().and_then(|l| l.get(k)).map(String::as_str);
    match (meta.namespace.as_deref(), label("app")) {
        (Some(SHOP_NS), Some(ORDERS_API)) => Behaviour::CrashLoop { restarts: 47 },
        (Some(SHOP_NS), Some(CHECKOUT)) => Behaviour::ReadinessFailing,
        (Some(BATCH_NS), Some(THUMBNAILER)) => Behaviour::ImagePullBackOff,
        (Some(BATCH_NS), Some(REPORT_BUILDER)) => Behaviour::OomKilled { restarts: 5 },
        (Some(BATCH_NS), Some(NIGHTLY_MIGRATION)) => Behaviour::Fail,
        _ => Behaviour::Healthy,
    }
}
