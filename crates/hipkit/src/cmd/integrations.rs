//! `hipkit integrations`: the Python integrations server's command line, served by
//! hipkit-integrations.

use crate::cli::IntegrationsArgs;
use crate::failure::Failure;
use hipkit::Settings;
use hipkit_integrations::runtime::python::HipChatTarget;
use hipkit_integrations::tokens::TokenSpec;
use hipkit_integrations::{Integrations, Options};
use hipkit_server::Server;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Starts the integrations of `[integrations]` (its `path` must be set), their storage in
/// the `[store]` database (opened beside a `serve` that may hold it), their helpers pointed
/// at `[hipchat]`. Late slash-command replies are posted directly, retried in memory: never
/// through an outbox on that store, whose records a `serve` sharing it would claim.
async fn start(settings: &Settings) -> Result<Integrations, Failure> {
    let store = settings
        .store
        .open()
        .await
        .map_err(|e| Failure::runtime(format!("integration storage: {e}")))?;
    Integrations::start(Options {
        config: settings.integrations.clone(),
        store: store.kv,
        hipchat: HipChatTarget::from(&settings.hipchat),
    })
    .await
    .map_err(|e| Failure::usage(e.to_string()))
}

/// The command-line token specs, each error naming its argument (never its token).
fn token_specs(args: &IntegrationsArgs) -> Result<Vec<TokenSpec>, Failure> {
    args.token_args()
        .map(|raw| {
            raw.parse::<TokenSpec>()
                .map_err(|e| Failure::usage(format!("invalid token argument: {e}")))
        })
        .collect()
}

/// Where to listen: `--listen` (an IP, or IP:PORT), PORT, `[serve] listen`. The seed's
/// command line (a PORT, positional or `-p`, without `--listen`) listens on every interface,
/// as the seed did, so HipChat reaches it where it reached the seed.
fn listen(args: &IntegrationsArgs, configured: SocketAddr) -> Result<SocketAddr, Failure> {
    let mut addr = configured;
    if args.port().is_some() && args.listen.is_none() {
        addr.set_ip(IpAddr::from([0, 0, 0, 0]));
    }
    if let Some(raw) = &args.listen {
        if let Ok(full) = raw.parse::<SocketAddr>() {
            addr = full;
        } else {
            let ip: IpAddr = raw.parse().map_err(|_| {
                Failure::usage(format!("--listen `{raw}` is neither an IP nor IP:PORT"))
            })?;
            addr.set_ip(ip);
        }
    }
    if let Some(port) = args.port() {
        addr.set_port(port);
    }
    Ok(addr)
}

/// Runs until SIGINT/SIGTERM.
pub async fn run(args: &IntegrationsArgs, mut settings: Settings) -> Result<(), Failure> {
    settings.integrations.tokens.extend(token_specs(args)?);
    settings
        .integrations
        .path
        .get_or_insert_with(|| PathBuf::from("."));
    settings.serve.listen = listen(args, settings.serve.listen)?;
    settings
        .serve
        .validate()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let integrations = start(&settings).await?;
    let server = integrations.mount(Server::new(settings.serve.clone()), true);
    let bound = server.bind().await.map_err(Failure::runtime)?;
    let addr = bound.local_addr();
    println!("hipkit integrations listening on http://{addr}");
    let base = format!("http://{addr}");
    let lines = integrations.banner(&settings.hipchat.endpoint_shown());
    for line in hipkit::serve::banner_lines(&base, &lines) {
        println!("{line}");
    }
    bound.serve(hipkit_server::shutdown_signal()).await;
    integrations.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(line: &[&str]) -> IntegrationsArgs {
        match crate::cli::Cli::parse_from(line).command {
            crate::cli::Command::Integrations(args) => args,
            other => panic!("not integrations: {other:?}"),
        }
    }

    #[test]
    fn the_seeds_command_line_listens_where_the_seed_did() {
        let configured = SocketAddr::from(([127, 0, 0, 1], 8080));
        let seed = args(&["hipkit", "integrations", "8181", "."]);
        assert_eq!(
            listen(&seed, configured).unwrap(),
            SocketAddr::from(([0, 0, 0, 0], 8181)),
            "every interface, as the seed bound"
        );
        let flag = args(&["hipkit", "integrations", "-p", "8181"]);
        assert_eq!(
            listen(&flag, configured).unwrap().ip(),
            IpAddr::from([0, 0, 0, 0])
        );
        let local = args(&[
            "hipkit",
            "integrations",
            "8181",
            ".",
            "--listen",
            "127.0.0.1",
        ]);
        assert_eq!(
            listen(&local, configured).unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 8181))
        );
        let plain = args(&["hipkit", "integrations"]);
        assert_eq!(
            listen(&plain, configured).unwrap(),
            configured,
            "[serve] listen"
        );
    }
}
