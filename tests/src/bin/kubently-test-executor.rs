//! The executor as a process of its own, for the fault tests that freeze (SIGSTOP) or kill -9 an
//! executor: the same `main` as the `kubently-executor` binary (which another package's tests
//! cannot name), configured through `KUBENTLY__…` variables.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubently_executor::run_from_env().await
}
