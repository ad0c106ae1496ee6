//! Messages on a byte pipe: a little-endian `u32` length, then the
//! postcard body. The worker reads blocking (its job runs on other
//! threads); the server reads with tokio.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Larger than any module the API accepts, smaller than a corrupt length
/// read from garbage.
const MAX_FRAME: usize = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the pipe failed: {0}")]
    Io(#[from] io::Error),
    #[error("an undecodable message: {0}")]
    Codec(#[from] postcard::Error),
    #[error("a message of {0} bytes is beyond the limit")]
    TooLarge(usize),
}

/// `message` with its length prefix, ready to write in one go.
pub fn encode(message: &impl Serialize) -> Result<Vec<u8>, FrameError> {
    let mut frame = postcard::to_extend(message, vec![0; 4])?;
    let len = frame.len() - 4;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    frame[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(frame)
}

pub fn write(out: &mut impl Write, message: &impl Serialize) -> Result<(), FrameError> {
    out.write_all(&encode(message)?)?;
    out.flush()?;
    Ok(())
}

/// The next message, or `None` when the pipe was closed between messages.
pub fn read<T: DeserializeOwned>(input: &mut impl Read) -> Result<Option<T>, FrameError> {
    let mut prefix = [0; 4];
    if !fill_or_eof(input.read_exact(&mut prefix))? {
        return Ok(None);
    }
    let mut body = vec![0; body_len(prefix)?];
    input.read_exact(&mut body)?;
    Ok(Some(postcard::from_bytes(&body)?))
}

/// [`read`], for the server's side of the pipe.
pub async fn read_async<T: DeserializeOwned>(
    input: &mut (impl AsyncRead + Unpin),
) -> Result<Option<T>, FrameError> {
    let mut prefix = [0; 4];
    if !fill_or_eof(input.read_exact(&mut prefix).await.map(drop))? {
        return Ok(None);
    }
    let mut body = vec![0; body_len(prefix)?];
    input.read_exact(&mut body).await?;
    Ok(Some(postcard::from_bytes(&body)?))
}

fn body_len(prefix: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_le_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok(len)
}

/// Whether the read filled its buffer; a pipe closed before it is a clean end.
fn fill_or_eof(read: io::Result<()>) -> Result<bool, FrameError> {
    match read {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e.into()),
    }
}
