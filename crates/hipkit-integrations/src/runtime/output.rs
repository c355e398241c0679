//! Reading a child's output within limits: lines of bounded length, and a per-second byte
//! budget whose overrun means the child is flooding.

use std::sync::Mutex;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::time::{Duration, Instant};

/// Counts output bytes per one-second window; over the budget is a flood.
#[derive(Debug)]
pub struct FloodMeter {
    budget: usize,
    window: Mutex<(Instant, usize)>,
}

impl FloodMeter {
    /// A meter allowing `budget` bytes per second.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// The budget in bytes per second.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Adds `bytes`; returns false when this second's budget is exceeded.
    pub fn add(&self, bytes: usize) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(w.0) >= Duration::from_secs(1) {
            *w = (now, 0);
        }
        w.1 += bytes;
        w.1 <= self.budget
    }
}

/// One line read with a length cap.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line (without its newline).
    Text(Vec<u8>),
    /// A line longer than the cap: the first `cap` bytes; the rest was skipped.
    TooLong(Vec<u8>),
    /// End of the stream.
    Eof,
}

/// Reads the next line of at most `cap` bytes from `reader`.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    cap: usize,
) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if line.is_empty() && !too_long {
                Line::Eof
            } else if too_long {
                Line::TooLong(line)
            } else {
                Line::Text(line)
            });
        }
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = cap.saturating_sub(line.len());
        if chunk.len() > room {
            too_long = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = found.unwrap_or(buf.len());
        reader.consume(used);
        if found.is_some() {
            return Ok(if too_long {
                Line::TooLong(line)
            } else {
                Line::Text(line)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_capped() {
        let mut input: &[u8] = b"short\nthis one is long\nend";
        assert_eq!(
            read_line(&mut input, 8).await.unwrap(),
            Line::Text(b"short".to_vec())
        );
        assert_eq!(
            read_line(&mut input, 8).await.unwrap(),
            Line::TooLong(b"this one".to_vec())
        );
        assert_eq!(
            read_line(&mut input, 8).await.unwrap(),
            Line::Text(b"end".to_vec())
        );
        assert_eq!(read_line(&mut input, 8).await.unwrap(), Line::Eof);
    }

    #[test]
    fn flood_meter() {
        let m = FloodMeter::new(10);
        assert!(m.add(6));
        assert!(m.add(4));
        assert!(!m.add(1));
    }
}
