//! Reading Server-Sent Events: the `data` of each event, as it arrives.

use bytes::Bytes;
use futures::{Stream, StreamExt};

/// Largest event the CLI buffers; a larger one is an error, not unbounded memory.
const MAX_EVENT: usize = 16 * 1024 * 1024;

/// The `data` payloads (lines joined by `\n`) of an SSE byte stream. Comments
/// and other fields are skipped.
pub fn data_events<E: std::fmt::Display>(
    body: impl Stream<Item = Result<Bytes, E>> + Unpin,
) -> impl Stream<Item = Result<String, String>> {
    futures::stream::unfold(
        (body, String::new(), false),
        |(mut body, mut buf, done)| async move {
            if done {
                return None;
            }
            loop {
                if let Some(end) = find_event_end(&buf) {
                    let block: String = buf.drain(..end).collect();
                    if let Some(data) = data_of(&block) {
                        return Some((Ok(data), (body, buf, false)));
                    }
                    continue;
                }
                match body.next().await {
                    Some(Ok(chunk)) => {
                        buf.push_str(&String::from_utf8_lossy(&chunk));
                        if buf.len() > MAX_EVENT {
                            return Some((
                                Err(format!("an event exceeded {MAX_EVENT} bytes")),
                                (body, buf, true),
                            ));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e.to_string()), (body, buf, true))),
                    None => {
                        let rest = std::mem::take(&mut buf);
                        return data_of(&rest).map(|d| (Ok(d), (body, buf, true)));
                    }
                }
            }
        },
    )
}

/// Index just past the blank line ending the first event, if complete.
fn find_event_end(buf: &str) -> Option<usize> {
    let lf = buf.find("\n\n").map(|i| i + 2);
    let crlf = buf.find("\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn data_of(block: &str) -> Option<String> {
    let data: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    (!data.is_empty()).then(|| data.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_split_across_chunks_and_comments() {
        let chunks: Vec<Result<Bytes, String>> = vec![
            Ok(Bytes::from(": keep-alive\n\ndata: {\"a\"")),
            Ok(Bytes::from(":1}\n\ndata: x\ndata: y\r\n\r\n")),
            Ok(Bytes::from("data: last")),
        ];
        let got: Vec<_> = data_events(futures::stream::iter(chunks)).collect().await;
        assert_eq!(
            got,
            vec![
                Ok("{\"a\":1}".to_owned()),
                Ok("x\ny".to_owned()),
                Ok("last".to_owned())
            ]
        );
    }
}
