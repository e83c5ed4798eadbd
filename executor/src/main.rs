#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubently_executor::run_from_env().await
}
