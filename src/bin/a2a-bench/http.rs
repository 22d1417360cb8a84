//! A lean HTTP/1.1 keep-alive client: one connection per worker, so the load
//! generator costs as little as possible next to what it measures.

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

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, String> {
        Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority)
            .header("content-type", "application/json")
            .header("a2a-version", "1.0")
            .body(Full::new(body))
            .map_err(|e| e.to_string())
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let req = self.request(method, path, body)?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        self.sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())
    }

    /// POSTs a request answered with SSE; its body once the status is 200.
    async fn sse(&mut self, path: &str, body: Bytes) -> Result<hyper::body::Incoming, String> {
        let resp = self.send("POST", path, body).await?;
        if resp.status() != 200 {
            return Err(format!("HTTP {}", resp.status()));
        }
        Ok(resp.into_body())
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
        let mut body = self.sse(path, body).await?;
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
}
