//! A self-signed TLS certificate for loopback test servers (the emulator's `--tls`, the
//! bridge's `tls = true`): clients such as HypChat only treat `https://` links as objects.

use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Why the certificate or the TLS configuration could not be made.
pub type TlsError = Box<dyn std::error::Error + Send + Sync>;

/// An acceptor with a fresh self-signed certificate for `localhost` and `127.0.0.1`.
pub fn self_signed_acceptor() -> Result<TlsAcceptor, TlsError> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let cert = rcgen::generate_simple_self_signed(names)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
