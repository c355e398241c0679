//! `hipkit serve`: the send API in front of a delivery backend (the durable outbox by
//! default), with the built-in emulator standing in for HipChat when no endpoint is set.

use crate::failure::Failure;
use hipkit::Settings;
use hipkit::send_api::SendApi;
use hipkit_emulator::{RunningEmulator, TokenSpec};
use hipkit_server::Server;
use hipkit_transport::outbox::DeliveryMetrics;
use hipkit_transport::{HttpTransport, Transport};
use std::sync::Arc;
use tokio::sync::watch;

/// With no `[hipchat] endpoint`, starts the built-in emulator (accepting the configured
/// token, if any) and points the HipChat settings at it.
async fn built_in_emulator(settings: &mut Settings) -> Result<Option<RunningEmulator>, Failure> {
    if settings.hipchat.endpoint.is_some() {
        return Ok(None);
    }
    let mut config = settings.emulator.clone();
    if let Some(token) = &settings.hipchat.token {
        config.tokens.push(TokenSpec::all_scopes(token.expose()));
    }
    // Webhooks registered on the built-in emulator are signed the way the integrations
    // served beside it expect, unless the emulator has its own secret.
    if config.webhook_secret.is_none() {
        config.webhook_secret = settings.integrations.jwt_secret.clone();
        if let Some(issuer) = &settings.integrations.jwt_issuer {
            config.webhook_issuer = issuer.clone();
        }
    }
    let emulator = hipkit_emulator::start(config)
        .await
        .map_err(|e| Failure::Runtime(format!("built-in emulator: {e}")))?;
    settings.hipchat.endpoint = Some(emulator.base_url.clone());
    if settings.hipchat.token.is_none() {
        let token = emulator.generated_token.clone().or_else(|| {
            settings
                .emulator
                .tokens
                .first()
                .map(|t| t.token.expose().to_owned())
        });
        settings.hipchat.token = token.map(hipchat::Token::new);
    }
    Ok(Some(emulator))
}

/// Runs until SIGINT/SIGTERM: stops intake, then finishes or releases deliveries in flight.
pub async fn run(mut settings: Settings) -> Result<(), Failure> {
    settings
        .serve
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let emulator = built_in_emulator(&mut settings).await?;
    let client = settings.hipchat.build()?;
    let hipchat_url = client.base_url().to_owned();
    let inner: Arc<dyn Transport> = Arc::new(HttpTransport::new(client));
    let mut server = Server::new(settings.serve.clone());
    let delivery_metrics = Arc::new(DeliveryMetrics::default());
    delivery_metrics.register(server.registry());
    let backend = settings
        .delivery_backend(inner, delivery_metrics)
        .await
        .map_err(Failure::runtime)?;
    let server = SendApi::new(backend.transport.clone(), backend.outbox.clone()).mount(server);
    let status = hipkit::status::relay(&settings, &backend).await?;
    let server = server.mount(status.relay.routes());
    let (server, integrations) = super::integrations::mount_in_serve(&settings, server).await?;
    let bound = server.bind().await.map_err(Failure::runtime)?;
    let addr = bound.local_addr();
    println!("hipkit serve listening on http://{addr}");
    println!("  send API:  POST http://{addr}/api/v1/messages");
    println!("  Buildbot:  POST http://{addr}/hooks/buildbot (HttpStatusPush relay)");
    println!("  delivery:  {} -> {hipchat_url}", backend.label);
    if let Some(integrations) = &integrations {
        super::integrations::banner(integrations, &settings, &addr.to_string());
    }
    if let Some(emu) = &emulator {
        println!(
            "  HipChat:   built-in emulator at {} (web UI: {}/)",
            emu.base_url, emu.base_url
        );
        if let Some(token) = &emu.generated_token {
            println!("  emulator token (all scopes): {token}");
        }
    }
    let (stop, stopped) = watch::channel(false);
    let workers = backend
        .workers
        .map(|w| tokio::spawn(w.with_couriers(status.couriers).run(stopped)));
    bound.serve(hipkit_server::shutdown_signal()).await;
    let _ = stop.send(true);
    if let Some(task) = workers {
        let _ = task.await;
    }
    if let Some(integrations) = integrations {
        integrations.shutdown().await;
    }
    if let Some(emu) = emulator {
        emu.shutdown().await;
    }
    Ok(())
}
