//! The portable byte relay between two TCP sockets: tokio's `copy_bidirectional` over both
//! streams, each wrapped to report every byte moved. The system folders use it as their
//! [`relay`](super::relay) where they have nothing faster (macOS, Windows) and as the
//! fallback of their own (Linux, when it cannot get its pipes).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Per-direction copy buffer: large enough that bulk transfers move in few syscalls, small
/// enough that many open tunnels stay cheap (2 × 64 KiB each).
const BUF: usize = 64 * 1024;

/// Copies both ways between `a` and `b` until both directions have ended (an end of stream
/// on one side is passed on as a write shutdown of the other) or either fails, calling
/// `on_activity` after every read or write that moved bytes. Returns the bytes moved a → b
/// and b → a.
pub async fn relay(
    a: TcpStream,
    b: TcpStream,
    on_activity: &(dyn Fn() + Sync),
) -> io::Result<(u64, u64)> {
    let mut a = Noted {
        stream: a,
        on_activity,
    };
    let mut b = Noted {
        stream: b,
        on_activity,
    };
    tokio::io::copy_bidirectional_with_sizes(&mut a, &mut b, BUF, BUF).await
}

/// A socket that reports every read or write that moved bytes.
struct Noted<'a> {
    stream: TcpStream,
    on_activity: &'a (dyn Fn() + Sync),
}

impl AsyncRead for Noted<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            (this.on_activity)();
        }
        polled
    }
}

impl AsyncWrite for Noted<'_> {
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
            (this.on_activity)();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::net::Ipv4Addr;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    type Relay = for<'a> fn(
        TcpStream,
        TcpStream,
        &'a (dyn Fn() + Sync),
    ) -> Pin<
        Box<dyn Future<Output = std::io::Result<(u64, u64)>> + Send + 'a>,
    >;

    /// Two connected sockets: (the end handed to the relay, the end the test drives).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (outer, accepted) = tokio::join!(
            TcpStream::connect((Ipv4Addr::LOCALHOST, port)),
            listener.accept()
        );
        (accepted.unwrap().0, outer.unwrap())
    }

    /// `a` sends 2 MiB and shuts down; `b` answers 1 MiB after the end of stream reached
    /// it, then closes: both arrive whole, and the relay counts them and ends.
    async fn half_close_through(relay: Relay) {
        let ((a_inner, mut a), (b_inner, mut b)) = tokio::join!(pair(), pair());
        let noted = AtomicUsize::new(0);
        let note = || {
            noted.fetch_add(1, Ordering::Relaxed);
        };
        let up: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 241) as u8).collect();
        let down: Vec<u8> = (0..1024 * 1024).map(|i| (i % 239) as u8).collect();
        let client = async {
            a.write_all(&up).await.unwrap();
            a.shutdown().await.unwrap();
            let mut got = Vec::new();
            a.read_to_end(&mut got).await.unwrap();
            got
        };
        let server = async {
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            b.write_all(&down).await.unwrap();
            drop(b);
            got
        };
        let (moved, at_a, at_b) = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            tokio::join!(relay(a_inner, b_inner, &note), client, server)
        })
        .await
        .expect("relay did not finish");
        assert_eq!(moved.unwrap(), (up.len() as u64, down.len() as u64));
        assert!(at_b == up, "a → b altered");
        assert!(at_a == down, "b → a altered");
        assert!(noted.load(Ordering::Relaxed) > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_system_relay_passes_half_close_on() {
        half_close_through(|a, b, note| Box::pin(crate::process::relay(a, b, note))).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_portable_relay_passes_half_close_on() {
        half_close_through(|a, b, note| Box::pin(super::relay(a, b, note))).await;
    }
}
