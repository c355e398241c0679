//! Appends each message as one JSON line to a file.

use crate::{Delivery, Message, Transport, TransportError};
use async_trait::async_trait;
use hipchat::Validate;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Writes `{"id", "at", ...message}` lines; the path comes from configuration only.
#[derive(Debug)]
pub struct FileTransport {
    path: PathBuf,
    file: Mutex<tokio::fs::File>,
}

impl FileTransport {
    /// Opens `path` for appending, creating it if needed.
    pub async fn open(path: &Path) -> Result<Self, TransportError> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(|source| TransportError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl Transport for FileTransport {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        message.validate()?;
        let delivery = Delivery::delivered();
        let mut line = serde_json::to_value(message).map_err(TransportError::Encode)?;
        line["id"] = delivery.id.clone().into();
        line["at"] = hipchat::now_iso().into();
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let failed = |source| TransportError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = self.file.lock().await;
        file.write_all(&bytes).await.map_err(failed)?;
        file.flush().await.map_err(failed)?;
        Ok(delivery)
    }
}
