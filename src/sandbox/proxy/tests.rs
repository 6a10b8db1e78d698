//! Real sockets on 127.0.0.1; every test is bounded by [`LIMIT`].

use super::*;
use std::future::Future;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

const LIMIT: Duration = Duration::from_secs(20);

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test did not finish in time")
}

type Denials = Arc<Mutex<Vec<Denied>>>;

fn start(limits: ProxyLimits, entries: &[&str]) -> (Arc<Proxy>, ProxyListener, Denials) {
    let proxy = Proxy::new(limits);
    let allowed =
        Allowlist::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap();
    let denials = Denials::default();
    let sink = denials.clone();
    let listener = proxy
        .listen(
            allowed,
            Arc::new(move |denied| sink.lock().unwrap().push(denied)),
        )
        .unwrap();
    (proxy, listener, denials)
}

/// An upstream that echoes every byte back on every connection.
async fn echo_server() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    port
}

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .unwrap()
}

/// Reads a response or request head byte by byte, so nothing after it is consumed.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = stream.read_u8().await.expect("head ended early");
        head.push(byte);
    }
    String::from_utf8(head).unwrap()
}

/// Opens a tunnel through the proxy and returns the client end after the `200`.
async fn tunnel(proxy_port: u16, target: &str) -> TcpStream {
    let mut client = connect(proxy_port).await;
    client
        .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_head(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    client
}

async fn ping(client: &mut TcpStream, payload: &[u8]) {
    client.write_all(payload).await.unwrap();
    let mut back = vec![0; payload.len()];
    client.read_exact(&mut back).await.unwrap();
    assert_eq!(back, payload);
}

/// True when the peer has closed (EOF or reset) rather than sent something.
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte).await, Ok(0) | Err(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_tunnels_both_ways_including_8_mb() {
    bounded(async {
        let echo = echo_server().await;
        let (_proxy, listener, denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = tunnel(listener.port(), &format!("127.0.0.1:{echo}")).await;
        ping(&mut client, b"hello through the tunnel").await;

        let big: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let (mut read, mut write) = client.into_split();
        let sent = big.clone();
        let writer = tokio::spawn(async move {
            write.write_all(&sent).await.unwrap();
            write
        });
        let mut back = vec![0; big.len()];
        read.read_exact(&mut back).await.unwrap();
        assert!(back == big, "8 MB came back altered");
        // The tunnel is still usable after the bulk transfer.
        let mut client = read.reunite(writer.await.unwrap()).unwrap();
        ping(&mut client, b"still there").await;
        assert!(denials.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_closed_tunnel_still_delivers_the_reply() {
    bounded(async {
        let echo = echo_server().await;
        let (_proxy, listener, _denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = tunnel(listener.port(), &format!("127.0.0.1:{echo}")).await;
        // More than a pipe and the socket buffers hold, so the reply is still flowing
        // back when the client's end of stream reaches the upstream.
        let payload: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
        let (mut read, mut write) = client.split();
        let send = async {
            write.write_all(&payload).await.unwrap();
            // The upstream echoes until it reads the end of stream, then closes.
            write.shutdown().await.unwrap();
        };
        let receive = async {
            let mut back = Vec::new();
            read.read_to_end(&mut back).await.unwrap();
            back
        };
        let ((), back) = tokio::join!(send, receive);
        assert!(back == payload, "{} bytes came back altered", back.len());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_sent_with_the_connect_head_reach_the_upstream() {
    bounded(async {
        let echo = echo_server().await;
        let (_proxy, listener, _denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = connect(listener.port()).await;
        // One write: hyper reads the payload together with the head and hands it back
        // beside the socket.
        let payload = b"sent before the 200 arrived";
        let mut first = format!("CONNECT 127.0.0.1:{echo} HTTP/1.1\r\n\r\n").into_bytes();
        first.extend_from_slice(payload);
        client.write_all(&first).await.unwrap();
        let head = read_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let mut back = vec![0; payload.len()];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(back, payload);
        ping(&mut client, b"and after it").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_refused_host_gets_403_and_is_reported() {
    bounded(async {
        let (_proxy, listener, denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = connect(listener.port()).await;
        client
            .write_all(b"CONNECT Example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            .await
            .unwrap();
        let head = read_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        let expected = "sidecar sandbox: example.com is not in allowedDomains";
        let mut body = vec![0; expected.len()];
        client.read_exact(&mut body).await.unwrap();
        assert_eq!(String::from_utf8(body).unwrap(), expected);
        assert_eq!(
            *denials.lock().unwrap(),
            [Denied {
                host: "example.com".into(),
                port: 443
            }]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_closed_port_gets_502() {
    bounded(async {
        let closed_port = {
            let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        let (_proxy, listener, denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = connect(listener.port()).await;
        client
            .write_all(format!("CONNECT 127.0.0.1:{closed_port} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let head = read_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 502"), "{head}");
        assert!(denials.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_get_is_forwarded_in_origin_form_without_proxy_headers() {
    bounded(async {
        let upstream = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let up_port = upstream.local_addr().unwrap().port();
        let (seen_tx, seen_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = upstream.accept().await.unwrap();
            let head = read_head(&mut stream).await;
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nX-Up: 1\r\n\r\nhello")
                .await
                .unwrap();
            let _ = seen_tx.send(head);
        });

        let (_proxy, listener, denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = connect(listener.port()).await;
        let request = format!(
            "GET http://127.0.0.1:{up_port}/x?q=1 HTTP/1.1\r\n\
             Host: elsewhere.example\r\n\
             Proxy-Authorization: Basic Zm9vOmJhcg==\r\n\
             Proxy-Connection: keep-alive\r\n\
             Connection: close, X-Hop\r\n\
             X-Hop: secret\r\n\
             X-Keep: 2\r\n\r\n"
        );
        client.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("\r\n\r\nhello"), "{response}");
        let response_lower = response.to_ascii_lowercase();
        assert!(response_lower.contains("x-up: 1"), "{response}");
        assert!(!response_lower.contains("keep-alive:"), "{response}");

        let seen = seen_rx.await.unwrap();
        assert!(seen.starts_with("GET /x?q=1 HTTP/1.1\r\n"), "{seen}");
        let seen_lower = seen.to_ascii_lowercase();
        assert!(
            seen_lower.contains(&format!("host: 127.0.0.1:{up_port}\r\n")),
            "{seen}"
        );
        assert!(seen_lower.contains("x-keep: 2\r\n"), "{seen}");
        for gone in ["proxy-authorization", "proxy-connection", "x-hop", "elsewhere"] {
            assert!(!seen_lower.contains(gone), "{gone} reached upstream: {seen}");
        }
        assert!(denials.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_post_body_streams_to_upstream_and_back() {
    bounded(async {
        let upstream = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let up_port = upstream.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut stream, _) = upstream.accept().await.unwrap();
            let head = read_head(&mut stream).await.to_ascii_lowercase();
            // The client sent chunked; hyper re-frames it, so read whatever framing came.
            assert!(head.contains("transfer-encoding: chunked"), "{head}");
            let mut body = Vec::new();
            while !body.ends_with(b"0\r\n\r\n") {
                body.push(stream.read_u8().await.unwrap());
            }
            let echoed = String::from_utf8(body).unwrap();
            let reply = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{echoed}");
            stream.write_all(reply.as_bytes()).await.unwrap();
        });

        let (_proxy, listener, _denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = connect(listener.port()).await;
        let request = format!(
            "POST http://127.0.0.1:{up_port}/upload HTTP/1.1\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        );
        client.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let body = response.split_once("\r\n\r\n").unwrap().1;
        let unchunked: String = body
            .split("\r\n")
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s)
            .collect();
        assert_eq!(unchunked, "hello world");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_responses_stream_without_waiting_for_the_end() {
    bounded(async {
        let upstream = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let up_port = upstream.local_addr().unwrap().port();
        let (more_tx, more_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let (mut stream, _) = upstream.accept().await.unwrap();
            read_head(&mut stream).await;
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                .await
                .unwrap();
            // The rest only once the client has the first chunk: a buffering proxy
            // would never deliver it and the test would time out.
            more_rx.await.unwrap();
            stream.write_all(b"4\r\nlast\r\n0\r\n\r\n").await.unwrap();
        });

        let (_proxy, listener, _denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = connect(listener.port()).await;
        client
            .write_all(
                format!("GET http://127.0.0.1:{up_port}/ HTTP/1.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let head = read_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let mut seen = Vec::new();
        while !seen.ends_with(b"first") {
            seen.push(client.read_u8().await.unwrap());
        }
        more_tx.send(()).unwrap();
        let mut rest = String::new();
        client.read_to_string(&mut rest).await.unwrap();
        assert!(rest.contains("last"), "{rest}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_head_is_cut_off() {
    bounded(async {
        let limits = ProxyLimits {
            header_timeout: Duration::from_millis(300),
            ..ProxyLimits::default()
        };
        let (_proxy, listener, _denials) = start(limits, &["127.0.0.1"]);
        let mut client = connect(listener.port()).await;
        client
            .write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\nX-Slow: ")
            .await
            .unwrap();
        let mut response = Vec::new();
        let _ = client.read_to_end(&mut response).await;
        let response = String::from_utf8_lossy(&response);
        assert!(
            response.is_empty() || response.starts_with("HTTP/1.1 408"),
            "{response}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_plain_get_gets_403_and_is_reported() {
    bounded(async {
        let (_proxy, listener, denials) = start(ProxyLimits::default(), &["*.example.com"]);
        let mut client = connect(listener.port()).await;
        client
            .write_all(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
            .await
            .unwrap();
        let head = read_head(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        // The connection stays usable: a second refusal is a second report.
        client
            .write_all(b"GET http://127.0.0.1:8080/ HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut rest = String::new();
        while !rest.contains("127.0.0.1 is not in allowedDomains") {
            let byte = client.read_u8().await.unwrap();
            rest.push(byte as char);
        }
        assert_eq!(
            *denials.lock().unwrap(),
            [
                Denied {
                    host: "example.com".into(),
                    port: 80
                },
                Denied {
                    host: "127.0.0.1".into(),
                    port: 8080
                }
            ]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_proxy_requests_get_400() {
    bounded(async {
        let (_proxy, listener, denials) = start(ProxyLimits::default(), &["example.com"]);
        for request in [
            "GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n",
            "GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
            "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
        ] {
            let mut client = connect(listener.port()).await;
            client.write_all(request.as_bytes()).await.unwrap();
            let head = read_head(&mut client).await;
            assert!(head.starts_with("HTTP/1.1 400"), "{request}: {head}");
        }
        assert!(denials.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_headers_get_431_or_close() {
    bounded(async {
        let limits = ProxyLimits {
            max_header_bytes: 8192,
            ..ProxyLimits::default()
        };
        let (_proxy, listener, denials) = start(limits, &["127.0.0.1"]);
        let client = connect(listener.port()).await;
        let (mut read, mut write) = client.into_split();
        let big = format!(
            "GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
            "a".repeat(200 * 1024)
        );
        // The proxy may stop reading (and reset) before all of it is written.
        let writer = tokio::spawn(async move {
            let _ = write.write_all(big.as_bytes()).await;
        });
        let mut response = Vec::new();
        let _ = read.read_to_end(&mut response).await;
        let response = String::from_utf8_lossy(&response);
        assert!(
            response.is_empty() || response.starts_with("HTTP/1.1 431"),
            "{response}"
        );
        writer.await.unwrap();
        assert!(denials.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_listener_ends_open_tunnels() {
    bounded(async {
        let echo = echo_server().await;
        let (proxy, listener, _denials) = start(ProxyLimits::default(), &["127.0.0.1"]);
        let mut client = tunnel(listener.port(), &format!("127.0.0.1:{echo}")).await;
        ping(&mut client, b"before").await;
        drop(listener);
        assert!(closed(&mut client).await);
        // The proxy itself lives on for other sessions.
        let other = proxy
            .listen(Allowlist::default(), Arc::new(|_| {}))
            .unwrap();
        assert_ne!(other.port(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_tunnel_is_closed() {
    bounded(async {
        let echo = echo_server().await;
        let limits = ProxyLimits {
            idle_timeout: Duration::from_millis(300),
            ..ProxyLimits::default()
        };
        let (_proxy, listener, _denials) = start(limits, &["127.0.0.1"]);
        let mut client = tunnel(listener.port(), &format!("127.0.0.1:{echo}")).await;
        ping(&mut client, b"x").await;
        let started = Instant::now();
        assert!(closed(&mut client).await);
        assert!(started.elapsed() >= Duration::from_millis(200));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_closed_and_the_budget_is_shared() {
    bounded(async {
        let echo = echo_server().await;
        let target = format!("127.0.0.1:{echo}");
        let limits = ProxyLimits {
            max_connections: 1,
            ..ProxyLimits::default()
        };
        let proxy = Proxy::new(limits);
        let allowed = Allowlist::parse(&["127.0.0.1".to_string()]).unwrap();
        let first_listener = proxy.listen(allowed.clone(), Arc::new(|_| {})).unwrap();
        let second_listener = proxy.listen(allowed, Arc::new(|_| {})).unwrap();

        let mut first = tunnel(first_listener.port(), &target).await;
        for port in [first_listener.port(), second_listener.port()] {
            let mut extra = connect(port).await;
            let _ = extra
                .write_all(format!("CONNECT {target} HTTP/1.1\r\n\r\n").as_bytes())
                .await;
            assert!(
                closed(&mut extra).await,
                "connection over the limit was served"
            );
        }
        ping(&mut first, b"first still works").await;

        // Once the first ends, its permit comes back (the retry only covers the moment
        // between our close and the proxy noticing it).
        drop(first);
        loop {
            let mut next = connect(second_listener.port()).await;
            let sent = next
                .write_all(format!("CONNECT {target} HTTP/1.1\r\n\r\n").as_bytes())
                .await;
            let mut head = [0u8; 12];
            if sent.is_ok() && next.read_exact(&mut head).await.is_ok() {
                assert_eq!(&head, b"HTTP/1.1 200");
                break;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_limits_do_not_panic() {
    bounded(async {
        let echo = echo_server().await;
        let limits = ProxyLimits {
            max_connections: usize::MAX,
            max_header_bytes: 0,
            header_timeout: Duration::MAX,
            connect_timeout: Duration::MAX,
            idle_timeout: Duration::MAX,
        };
        let (_proxy, listener, _denials) = start(limits, &["127.0.0.1"]);
        // A zero header bound refuses every request, which must be a 431, not a panic.
        let mut client = connect(listener.port()).await;
        client
            .write_all(format!("CONNECT 127.0.0.1:{echo} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = Vec::new();
        let _ = client.read_to_end(&mut response).await;
        let response = String::from_utf8_lossy(&response);
        assert!(
            response.is_empty() || response.starts_with("HTTP/1.1 431"),
            "{response}"
        );
        let (_proxy, listener, _denials) = start(
            ProxyLimits {
                max_header_bytes: 64 * 1024,
                ..limits
            },
            &["127.0.0.1"],
        );
        let mut client = tunnel(listener.port(), &format!("127.0.0.1:{echo}")).await;
        ping(&mut client, b"unbounded waits still work").await;
    })
    .await;
}

#[tokio::test]
async fn listen_outside_a_runtime_is_an_error() {
    let proxy = Proxy::new(ProxyLimits::default());
    let result = std::thread::spawn(move || {
        proxy
            .listen(Allowlist::default(), Arc::new(|_| {}))
            .map(|l| l.port())
    })
    .join()
    .unwrap();
    assert!(result.is_err());
}
