//! Building and running the executor.

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::{Error, Result, Settings};

pub struct Application {
    settings: Settings,
    nats: async_nats::Client,
    kube: kube::Client,
}

impl Application {
    /// Connects to NATS (retrying in the background) and builds the Kubernetes client.
    pub async fn build(settings: Settings) -> Result<Self> {
        let kube = kube_client(&settings).await?;
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("kubently-executor/{}", settings.executor.cluster_id))
            .retry_on_initial_connect();
        if let Some(path) = &settings.nats.credentials_file {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| Error::Nats { url: settings.nats.url.clone(), source: e.into() })?;
        }
        let nats = options
            .connect(&settings.nats.url)
            .await
            .map_err(|source| Error::Nats { url: settings.nats.url.clone(), source })?;
        Ok(Self { settings, nats, kube })
    }

    pub fn kube_client(&self) -> &kube::Client {
        &self.kube
    }

    /// Runs until SIGTERM or Ctrl-C.
    pub async fn run(self) -> Result<()> {
        let version = self.kube.apiserver_version().await?;
        tracing::info!(
            cluster_id = %self.settings.executor.cluster_id,
            kubernetes = %version.git_version,
            nats = %self.settings.nats.url,
            nats_state = %self.nats.connection_state(),
            "executor started"
        );
        kubently_shared::shutdown::signal().await;
        Ok(())
    }
}

async fn kube_client(settings: &Settings) -> Result<kube::Client> {
    let options = KubeConfigOptions { context: settings.kube.context.clone(), ..Default::default() };
    let config = match &settings.kube.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| Error::KubeConfig(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| Error::KubeConfig(format!("{}: {e}", path.display())))?
        }
        None => kube::Config::infer().await.map_err(|e| Error::KubeConfig(e.to_string()))?,
    };
    Ok(kube::Client::try_from(config)?)
}
