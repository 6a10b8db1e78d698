//! The filtering HTTP proxy of sandboxed sessions.
//!
//! A sandboxed session's tree may open TCP connections only to its own proxy port (the
//! kernel enforces that) and finds that port in `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`.
//! Each session gets its own [`ProxyListener`], so the port a connection arrives on says
//! whose [`Allowlist`] applies; no proxy credentials are needed or read.
//!
//! The proxy speaks HTTP/1.1 through hyper: `CONNECT host:port` opens a byte tunnel (how
//! HTTPS and most other protocols go through), and absolute-form requests
//! (`GET http://host/path`) are forwarded over a fresh upstream connection. A host not on
//! the list gets `403` and is reported through the listener's `on_denied` callback.
//!
//! What the filter can and cannot see:
//! - It matches the name the client asked for, then resolves that name on the host. An
//!   allowed name that resolves to a loopback or private address (by design, a stale
//!   record or DNS rebinding) is still connected: the allowlist trusts the names on it.
//!   Address literals pass only when listed literally.
//! - A tunnel is opaque: whatever runs inside `CONNECT` to an allowed host (a TLS SNI or
//!   HTTP `Host` naming another site on the same server, i.e. domain fronting) is not seen.
//! - Any port of an allowed host may be reached.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::Scheme;
use hyper::server::conn::http1 as server_http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::domains::Allowlist;

#[cfg(test)]
mod tests;

/// Per-direction copy buffer of a tunnel hyper did not hand back as a plain socket (the
/// usual tunnel goes through [`crate::process::relay`]), and the floor of hyper's read
/// buffer.
const TUNNEL_BUF: usize = 64 * 1024;
/// hyper's smallest accepted read buffer (it asserts on less).
const MIN_HYPER_BUF: usize = 8192;
/// hyper adds the head timeout to an `Instant` unchecked, so a huge one would panic; a
/// day is as good as forever for a request head.
const MAX_HEADER_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// Pause after a failed `accept` so a persistent failure (out of descriptors) does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What one response body is: an upstream's, streamed through, or the proxy's own text.
type Body = Either<Incoming, Full<Bytes>>;

/// The bounds of one [`Proxy`]; every limit applies to each connection of every listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyLimits {
    /// Client connections open at once across all listeners of the proxy (tunnels
    /// included). A connection beyond it is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Largest request head (request line plus headers) a client may send; a larger one
    /// gets `431` and the connection is closed.
    pub max_header_bytes: usize,
    /// Time a client has to send a complete request head.
    pub header_timeout: Duration,
    /// Time to resolve and connect to an upstream host; after it the client gets `502`.
    pub connect_timeout: Duration,
    /// A client connection (tunnel, forwarded request or idle keep-alive) with no byte in
    /// either direction for this long is closed; a forwarded request whose upstream sends
    /// no response head within it gets `504`.
    pub idle_timeout: Duration,
}

impl Default for ProxyLimits {
    /// 256 connections, 64 KiB request heads, 30 s to send a head, 30 s to connect
    /// upstream, 10 min idle.
    fn default() -> Self {
        ProxyLimits {
            max_connections: 256,
            max_header_bytes: 64 * 1024,
            header_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
        }
    }
}

/// One refused request, as passed to a listener's `on_denied` callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The host as the client named it, in lowercase (an IPv6 literal keeps its brackets).
    pub host: String,
    /// The port asked for (80 when a plain `http://` request names none).
    pub port: u16,
}

/// The filtering proxy of one manager: holds the limits and the connection budget every
/// listener shares. Create it once with [`Proxy::new`], then one listener per sandboxed
/// session with [`Proxy::listen`].
#[derive(Debug)]
pub struct Proxy {
    limits: ProxyLimits,
    connections: Arc<Semaphore>,
}

impl Proxy {
    /// A proxy with these limits and no listener yet.
    pub fn new(limits: ProxyLimits) -> Arc<Proxy> {
        let permits = limits.max_connections.min(Semaphore::MAX_PERMITS);
        Arc::new(Proxy {
            limits,
            connections: Arc::new(Semaphore::new(permits)),
        })
    }

    /// Opens a listener on `127.0.0.1` at a free port (see [`ProxyListener::port`]) that
    /// lets through only hosts `allowed` allows. `on_denied` is called once per refused
    /// request, on a runtime thread, so it must be cheap and must not block.
    ///
    /// Must be called inside a tokio runtime with IO and time enabled (the listener's
    /// tasks run on it); outside one it returns an error. Otherwise fails only if the
    /// port cannot be bound.
    pub fn listen(
        self: &Arc<Self>,
        allowed: Allowlist,
        on_denied: Arc<dyn Fn(Denied) + Send + Sync>,
    ) -> io::Result<ProxyListener> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let socket = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        socket.set_nonblocking(true)?;
        let port = socket.local_addr()?.port();
        let listener = TcpListener::from_std(socket)?;

        let limits = self.limits;
        let mut server = server_http1::Builder::new();
        server
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout.min(MAX_HEADER_TIMEOUT))
            .max_header_size(limits.max_header_bytes)
            // The read buffer also carries request bodies; a tunnel-sized floor keeps
            // uploads from crawling when the header bound is small.
            .max_buf_size(limits.max_header_bytes.max(TUNNEL_BUF).max(MIN_HYPER_BUF));
        let session = Arc::new(Session {
            allowed,
            on_denied,
            limits,
            server,
        });
        let (stop, stopped) = watch::channel(());
        let accept = runtime.spawn(accept_loop(
            listener,
            session,
            self.connections.clone(),
            stopped,
        ));
        Ok(ProxyListener {
            port,
            accept,
            _stop: stop,
        })
    }
}

/// One session's listener. Dropping it (from any thread) stops accepting and ends every
/// connection it accepted, tunnels included; that happens on the runtime right after.
#[derive(Debug)]
pub struct ProxyListener {
    port: u16,
    accept: JoinHandle<()>,
    /// Every connection task watches this; dropping it is their signal to end.
    _stop: watch::Sender<()>,
}

impl ProxyListener {
    /// The port on `127.0.0.1`, for `HTTPS_PROXY=http://127.0.0.1:<port>` and for the
    /// kernel rule that lets the session connect to nothing else.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ProxyListener {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// What every connection of one listener needs.
struct Session {
    allowed: Allowlist,
    on_denied: Arc<dyn Fn(Denied) + Send + Sync>,
    limits: ProxyLimits,
    server: server_http1::Builder,
}

impl Session {
    fn deny(&self, mut host: String, port: u16) -> Response<Body> {
        // One spelling per host, so reports of the same refusal can be merged.
        host.make_ascii_lowercase();
        let body = format!("sidecar sandbox: {host} is not in allowedDomains");
        tracing::debug!(%host, port, "sandbox proxy refused");
        (self.on_denied)(Denied { host, port });
        text(StatusCode::FORBIDDEN, body)
    }
}

async fn accept_loop(
    listener: TcpListener,
    session: Arc<Session>,
    budget: Arc<Semaphore>,
    stop: watch::Receiver<()>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::debug!(%error, "sandbox proxy accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Closing at once instead of queueing keeps memory bounded under a flood; the
        // client sees the connection end and may retry.
        let Ok(permit) = budget.clone().try_acquire_owned() else {
            tracing::debug!("sandbox proxy at max_connections; closing a new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_client(stream, session.clone(), permit, stop.clone()));
    }
}

/// State one client connection's requests share with the task serving it.
struct ConnState {
    /// Set by a successful `CONNECT`; the connection task runs it once hyper hands the
    /// socket over, so the tunnel lives in (and dies with) that task.
    tunnel: Mutex<Option<Tunnel>>,
    /// Drivers of forwarded requests' upstream connections. Owned here so they end with
    /// the client connection instead of outliving it as detached tasks.
    upstreams: Mutex<JoinSet<()>>,
}

struct Tunnel {
    on_upgrade: OnUpgrade,
    upstream: TcpStream,
}

async fn serve_client(
    stream: TcpStream,
    session: Arc<Session>,
    _permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<()>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        stream,
        activity: activity.clone(),
    });
    let state = Arc::new(ConnState {
        tunnel: Mutex::new(None),
        upstreams: Mutex::new(JoinSet::new()),
    });
    let service = {
        let session = session.clone();
        let state = state.clone();
        service_fn(move |req| {
            let session = session.clone();
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(req, &session, &state).await) }
        })
    };
    let work = async {
        let served = session
            .server
            .serve_connection(io, service)
            .with_upgrades()
            .await;
        if let Err(error) = served {
            tracing::debug!(%error, "sandbox proxy client connection ended");
            return;
        }
        let tunnel = state
            .tunnel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(tunnel) = tunnel {
            run_tunnel(tunnel).await;
        }
    };
    tokio::select! {
        () = work => {}
        () = activity.idle(session.limits.idle_timeout) => {}
        () = stopped(&mut stop) => {}
    }
}

async fn stopped(stop: &mut watch::Receiver<()>) {
    // Nothing is ever sent: the only event is the sender (the listener) going away.
    while stop.changed().await.is_ok() {}
}

async fn handle(req: Request<Incoming>, session: &Session, state: &ConnState) -> Response<Body> {
    if req.method() == Method::CONNECT {
        connect(req, session, state).await
    } else {
        forward(req, session, state).await
    }
}

async fn connect(
    mut req: Request<Incoming>,
    session: &Session,
    state: &ConnState,
) -> Response<Body> {
    let target = match (req.uri().scheme(), req.uri().authority()) {
        (None, Some(authority)) => authority
            .port_u16()
            .map(|port| (authority.host().to_owned(), port)),
        _ => None,
    };
    let Some((host, port)) = target else {
        return text(
            StatusCode::BAD_REQUEST,
            "sidecar sandbox: CONNECT needs a host:port target",
        );
    };
    if !session.allowed.allows(&host) {
        return session.deny(host, port);
    }
    let upstream = match connect_upstream(&host, port, session.limits.connect_timeout).await {
        Ok(upstream) => upstream,
        Err(error) => return bad_gateway(&host, port, &error),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    *state.tunnel.lock().unwrap_or_else(PoisonError::into_inner) = Some(Tunnel {
        on_upgrade,
        upstream,
    });
    Response::new(Either::Right(Full::default()))
}

async fn run_tunnel(tunnel: Tunnel) {
    let Ok(upgraded) = tunnel.on_upgrade.await else {
        return;
    };
    let mut upstream = tunnel.upstream;
    // With the client socket back out of hyper's boxed IO, both ends are plain sockets and
    // the system's relay moves the bytes (on Linux without copying them through here);
    // it notes activity itself. Bytes hyper had already read past the CONNECT head go
    // first.
    let copied = match upgraded.downcast::<TokioIo<Tracked>>() {
        Ok(parts) => {
            let Tracked {
                stream: client,
                activity,
            } = parts.io.into_inner();
            if !parts.read_buf.is_empty() && upstream.write_all(&parts.read_buf).await.is_err() {
                return;
            }
            crate::process::relay(client, upstream, &|| activity.touch()).await
        }
        // Not expected (hyper hands back the IO it was given), but kept working.
        Err(upgraded) => {
            tokio::io::copy_bidirectional_with_sizes(
                &mut TokioIo::new(upgraded),
                &mut upstream,
                TUNNEL_BUF,
                TUNNEL_BUF,
            )
            .await
        }
    };
    if let Err(error) = copied {
        tracing::debug!(%error, "sandbox proxy tunnel ended");
    }
}

async fn forward(req: Request<Incoming>, session: &Session, state: &ConnState) -> Response<Body> {
    let uri = req.uri();
    let Some(scheme) = uri.scheme() else {
        return text(
            StatusCode::BAD_REQUEST,
            "sidecar sandbox: this is a proxy; send GET http://host/path or CONNECT host:port",
        );
    };
    if *scheme != Scheme::HTTP {
        return text(
            StatusCode::BAD_REQUEST,
            "sidecar sandbox: only http:// requests are forwarded; use CONNECT for others",
        );
    }
    let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "sidecar sandbox: request has no host",
        );
    };
    let host = authority.host().to_owned();
    let explicit_port = authority.port_u16();
    let port = explicit_port.unwrap_or(80);
    // RFC 9112 §3.2.2: a proxy replaces Host with the target's authority. Keeping the
    // client's would let it address another virtual host behind an allowed address.
    let host_header = match explicit_port {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let origin = if path.starts_with('/') {
        Uri::try_from(path)
    } else {
        Uri::try_from(format!("/{path}"))
    };
    let (Ok(origin), Ok(host_header)) = (origin, HeaderValue::try_from(host_header)) else {
        return text(
            StatusCode::BAD_REQUEST,
            "sidecar sandbox: malformed request target",
        );
    };
    if !session.allowed.allows(&host) {
        return session.deny(host, port);
    }

    let (mut parts, body) = req.into_parts();
    parts.uri = origin;
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.insert(header::HOST, host_header);

    let upstream = match connect_upstream(&host, port, session.limits.connect_timeout).await {
        Ok(upstream) => upstream,
        Err(error) => return bad_gateway(&host, port, &error),
    };
    let (mut sender, conn) =
        match hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(upstream)).await {
            Ok(handshake) => handshake,
            Err(error) => return bad_gateway(&host, port, &error),
        };
    {
        let mut upstreams = state
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while upstreams.try_join_next().is_some() {}
        upstreams.spawn(async move {
            if let Err(error) = conn.await {
                tracing::debug!(%error, "sandbox proxy upstream connection ended");
            }
        });
    }
    let sent = tokio::time::timeout(
        session.limits.idle_timeout,
        sender.send_request(Request::from_parts(parts, body)),
    )
    .await;
    let response = match sent {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return bad_gateway(&host, port, &error),
        Err(_) => {
            return text(
                StatusCode::GATEWAY_TIMEOUT,
                format!("sidecar sandbox: {host}:{port} sent no response in time"),
            );
        }
    };
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    // hyper frames the response for the client's own HTTP version.
    parts.version = Version::HTTP_11;
    Response::from_parts(parts, Either::Left(body))
}

/// Removes the headers that describe one connection rather than the message (RFC 9110
/// §7.6.1), including those the message's `Connection` header names. hyper re-frames the
/// body itself, so `Transfer-Encoding` goes too.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("proxy-connection"),
        HeaderName::from_static("keep-alive"),
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// Connects to an allowed host. Address literals are used as they are; names go through
/// the system resolver (which the timeout bounds for the caller; a resolver thread may
/// still finish its lookup in the background).
async fn connect_upstream(host: &str, port: u16, limit: Duration) -> io::Result<TcpStream> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let attempt = async {
        match bare.parse::<IpAddr>() {
            Ok(ip) => TcpStream::connect(SocketAddr::new(ip, port)).await,
            Err(_) => TcpStream::connect((bare, port)).await,
        }
    };
    let stream = tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn bad_gateway(host: &str, port: u16, error: &dyn std::fmt::Display) -> Response<Body> {
    tracing::debug!(%host, port, %error, "sandbox proxy upstream failed");
    text(
        StatusCode::BAD_GATEWAY,
        format!("sidecar sandbox: cannot reach {host}:{port}: {error}"),
    )
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body.into()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// When a client connection last moved a byte, for the idle timeout. Milliseconds since
/// `origin` in an atomic, so the socket wrapper (owned by hyper) and the watchdog beside it
/// share it without a lock.
struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `limit`.
    async fn idle(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let Some(deadline) = self
                .origin
                .checked_add(last)
                .and_then(|at| at.checked_add(limit))
            else {
                return std::future::pending().await;
            };
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// The client socket, noting every byte read from or written to it.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
        {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
        {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
