//! A lean HTTP/1.1 keep-alive client: one connection per worker, so the load
//! generator costs as little as possible next to what it measures. And an
//! HTTP/2 (cleartext, prior knowledge) connection that carries many streams.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Conn {
    /// Connects to `base` (`http://host:port`).
    pub async fn open(base: &str) -> Result<Conn, String> {
        let uri: Uri = base.parse().map_err(|e| format!("{base}: {e}"))?;
        let authority = uri
            .authority()
            .map(|a| a.to_string())
            .ok_or("no authority")?;
        let stream = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| format!("connect {authority}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender, authority })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let req = request(method, path, &self.authority, body)?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        self.sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())
    }

    /// POSTs a request answered with SSE; its body once the status is 200.
    async fn sse(&mut self, path: &str, body: Bytes) -> Result<hyper::body::Incoming, String> {
        sse_body(self.send("POST", path, body).await?)
    }

    /// Sends a request and reads the whole body.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let resp = self.send(method, path, body).await?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }

    /// Sends a request answered with SSE; returns (time to first event, events).
    pub async fn stream(
        &mut self,
        path: &str,
        body: Bytes,
    ) -> Result<(std::time::Duration, usize), String> {
        let start = std::time::Instant::now();
        let mut body = self.sse(path, body).await?;
        let mut first = None;
        let mut events = 0usize;
        let mut pending = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            pending.extend_from_slice(data);
            while let Some(pos) = pending.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = pending.drain(..pos + 2).collect();
                if event.starts_with(b"data:") {
                    if event.windows(8).any(|w| w == b"\"error\":") {
                        return Err(String::from_utf8_lossy(&event).into_owned());
                    }
                    events += 1;
                    first.get_or_insert_with(|| start.elapsed());
                }
            }
        }
        Ok((first.unwrap_or_default(), events))
    }
}

impl Conn {
    /// Starts an SSE request and returns once its first event arrived; the
    /// returned body keeps the stream open.
    pub async fn open_stream(
        &mut self,
        path: &str,
        body: Bytes,
    ) -> Result<hyper::body::Incoming, String> {
        first_event(self.sse(path, body).await?).await
    }
}

/// One HTTP/2 connection; clones share it, each request is a stream of it.
#[derive(Clone)]
pub struct H2Conn {
    sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    base: String,
}

impl H2Conn {
    /// Connects to `base` (`http://host:port`) speaking HTTP/2 at once.
    pub async fn open(base: &str) -> Result<H2Conn, String> {
        let authority = base.trim_start_matches("http://");
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connect {authority}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            TokioIo::new(stream),
        )
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(H2Conn {
            sender,
            base: base.to_owned(),
        })
    }

    /// Like [`Conn::open_stream`], as one more stream on this connection.
    pub async fn open_stream(
        &mut self,
        path: &str,
        body: Bytes,
    ) -> Result<hyper::body::Incoming, String> {
        // HTTP/2 requests carry the scheme and authority in the URI.
        let uri = format!("{}{path}", self.base);
        let authority = self.base.trim_start_matches("http://").to_owned();
        let req = request("POST", &uri, &authority, body)?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        first_event(sse_body(resp)?).await
    }
}

fn request(
    method: &str,
    uri: &str,
    authority: &str,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", authority)
        .header("content-type", "application/json")
        .header("a2a-version", "1.0")
        .body(Full::new(body))
        .map_err(|e| e.to_string())
}

/// The body of an SSE answer, once its status is 200.
fn sse_body(resp: hyper::Response<hyper::body::Incoming>) -> Result<hyper::body::Incoming, String> {
    if resp.status() != 200 {
        return Err(format!("HTTP {}", resp.status()));
    }
    Ok(resp.into_body())
}

/// Reads an SSE body until its first event; returns the body, still open.
async fn first_event(mut body: hyper::body::Incoming) -> Result<hyper::body::Incoming, String> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if frame
            .data_ref()
            .is_some_and(|d| d.windows(5).any(|w| w == b"data:"))
        {
            return Ok(body);
        }
    }
    Err("the stream ended before its first event".into())
}
