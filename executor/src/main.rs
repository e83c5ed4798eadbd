use anyhow::Context;
use kubently_executor::{Application, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let file = std::env::var_os("KUBENTLY_CONFIG").map(std::path::PathBuf::from);
    let settings: Settings =
        kubently_shared::config::load(file.as_deref()).context("loading executor settings")?;
    kubently_shared::telemetry::init(&settings.log)?;
    Application::build(settings).await?.run().await?;
    Ok(())
}
