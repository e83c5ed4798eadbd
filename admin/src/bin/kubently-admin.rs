//! `kubently-admin`: the bus's trust, per-cluster credentials and signing keys (see
//! `kubently_admin::cli`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    kubently_admin::cli::run(std::env::args().skip(1).collect()).await
}
