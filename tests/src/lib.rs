//! Kubently's local stack and test harness.
//!
//! * [`nats_server`]: a real nats-server (single node or 3-node JetStream cluster) on free loopback ports.
//! * [`leaf`]: a NATS leaf node for an edge cluster, bridged to a hub.
//! * [`kube_cluster`]: a real etcd + kube-apiserver + controller-manager + scheduler + fake kubelet
//!   (the `fake-kubelet` program of crate `kubently-fake-kubelet`, run as a process).
//! * [`scenario`]: the demo "broken cluster" an agent should diagnose.
//! * [`devstack_state`]: the running dev stack's `.dev/state.json` (written by `kubently-dev` in
//!   crate `kubently-devtools`); tests reuse its cluster.
//! * [`harness`]: what integration tests use: one shared stack per test run, per-test isolation.
//! * [`app`]: `spawn_app` for the command path: a real gateway and executors in-process.
//! * [`webhook_receiver`]: a real HTTP webhook receiver and an independent signature check.
//! * [`service_account`]: a ServiceAccount's token and a kubeconfig that authenticates with it.
//! * [`oidc_issuer`]: a test OpenID Connect issuer (discovery, JWKS, minted and forged tokens).
//! * [`python`], [`node`]: external test tools from PyPI and npm, installed on first use.
//! * [`header_proxy`]: a streaming loopback proxy that adds a header (the API key) for tools that
//!   cannot send one.

pub mod app;
pub mod devstack_state;
pub mod harness;
pub mod header_proxy;
pub mod kube_cluster;
pub mod leaf;
pub mod nats_server;
pub mod node;
pub mod oidc_issuer;
pub mod paths;
pub mod pki;
// The one module with `unsafe` (the workspace denies it): libc calls for child-process lifetime
// (prctl PR_SET_PDEATHSIG, atexit, kill/waitpid by pid), flock and SIGPIPE, which std does not offer.
#[allow(unsafe_code)]
pub mod process;
pub mod python;
pub mod scenario;
pub mod service_account;
pub mod webhook_receiver;

#[cfg(test)]
mod tests {
    /// The fake kubelet keeps its own copy of the executor's quantity parser (so it does not link
    /// the executor); they must not drift apart.
    #[test]
    fn fake_kubelet_parses_quantities_like_the_executor() {
        let samples = [
            "0", "2", "500m", "250m", "12345n", "7u", "1k", "1M", "1G", "2T", "1P", "1E", "64Mi", "128Mi",
            "1.5Gi", "4Ki", "1Ti", "1Pi", "1Ei", "1e3", "2E2", "+1", "-1", " 3 ", "", "x", "1Zi", "1e", "e3",
            "1.2.3",
        ];
        for text in samples {
            assert_eq!(
                kubently_fake_kubelet::quantity::parse(text),
                kubently_executor::engine::quantity::parse(text),
                "{text:?}"
            );
        }
    }
}
