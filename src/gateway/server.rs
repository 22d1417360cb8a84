//! The HTTP accept loop.
//!
//! `axum::serve` fixes hyper's connection settings; this loop sets the ones an
//! exposed gateway needs: a deadline for request headers (a client trickling
//! bytes cannot pin a connection and its buffers forever), TCP_NODELAY (SSE
//! events are small writes), and a cap on the HTTP/1 read buffer. Graceful
//! shutdown stops accepting at once, lets requests in progress finish, and
//! closes idle keep-alive connections.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Connection settings.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Longest time a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers), which is also the size
    /// of each HTTP/1 connection's read buffer. hyper's minimum is 8 KiB.
    pub max_header_bytes: usize,
}

/// hyper refuses (panics on) a smaller HTTP/1 buffer limit.
pub const MIN_HEADER_BYTES: usize = 8192;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting
/// and waits for every connection to finish its requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(builder(options));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: accepting again at
                    // once would spin; connections wait in the backlog meanwhile.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without TCP_NODELAY, Nagle holds each small SSE event until the
        // client's delayed ACK (~40 ms): a stream then carries a few dozen
        // events per second.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on an HTTP connection");
        }
        // `Router` clones share one route table (an Arc).
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|req: hyper::Request<Incoming>| req.map(Body::new)),
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // Borrowing the shared builder (instead of `into_owned`, which
            // copies it) keeps each connection a few hundred bytes smaller.
            let conn = builder.serve_connection(TokioIo::new(tcp), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::trace!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

fn builder(options: ServerOptions) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        // Unbounded, hyper lets a connection's read buffer grow to 16 KiB and
        // more; an open SSE stream keeps its buffer for its whole life.
        // (Not `writev(false)`: flattening saves ~1 KiB per SSE stream but copies
        // every large body, a registry page or a card list, into a write buffer
        // the connection then keeps at that size; docs/PERFORMANCE.md.)
        .max_buf_size(options.max_header_bytes.max(MIN_HEADER_BYTES));
    builder.http2().timer(TokioTimer::new());
    builder
}
