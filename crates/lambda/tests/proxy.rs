//! The Runtime API proxy (crate::proxy) between a client playing the runtime and a fake Runtime
//! API: what is forwarded (status, headers, bodies, both ways), keep-alive and pipelining,
//! chunked request bodies, `Expect: 100-continue`, what is refused (other paths, oversized
//! bodies) and never reaches the Runtime API, a long poll that does not hold up other
//! connections, and the invocation boundaries it reports.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use vigil_lambda::proxy::{self, MAX_BODY, WORKERS};
use vigil_lambda::sink::{Note, Shared};

// ---------------------------------------------------------------------------------------------
// A fake Runtime API

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Of a chunked body.
    trailers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An invocation `/next` hands out: headers and body.
#[derive(Clone)]
struct Invoke {
    id: String,
    body: Vec<u8>,
}

#[derive(Default)]
struct ApiState {
    /// Close each connection after one answer, without saying so (a kept-alive connection the
    /// other end dropped).
    close_silently: bool,
    seen: Mutex<Vec<Seen>>,
    /// Chunks of chunked bodies, as they arrive.
    chunks: Mutex<Vec<Vec<u8>>>,
    queue: Mutex<VecDeque<Invoke>>,
    queued: Condvar,
}

struct FakeApi {
    addr: SocketAddr,
    state: Arc<ApiState>,
}

impl FakeApi {
    fn start() -> FakeApi {
        FakeApi::start_with(ApiState::default())
    }

    fn start_with(state: ApiState) -> FakeApi {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the fake Runtime API");
        let addr = l.local_addr().expect("address");
        let state = Arc::new(state);
        let st = state.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else { continue };
                let st = st.clone();
                std::thread::spawn(move || api_conn(c, &st));
            }
        });
        FakeApi { addr, state }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("seen").clone()
    }

    fn queue(&self, id: &str, body: &[u8]) {
        self.state.queue.lock().expect("queue").push_back(Invoke {
            id: id.into(),
            body: body.to_vec(),
        });
        self.state.queued.notify_all();
    }
}

fn api_conn(c: TcpStream, st: &ApiState) {
    let mut w = c.try_clone().expect("clone");
    let mut r = BufReader::new(c);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let Some(headers) = fields(&mut r) else {
            return;
        };
        let field = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        let mut trailers = Vec::new();
        if field("transfer-encoding").is_some_and(|t| t == "chunked") {
            loop {
                let mut size = String::new();
                r.read_line(&mut size).expect("a chunk size");
                let size = usize::from_str_radix(size.trim_end(), 16).expect("hex");
                if size == 0 {
                    break;
                }
                let mut chunk = vec![0u8; size + 2];
                r.read_exact(&mut chunk).expect("a chunk");
                chunk.truncate(size);
                body.extend_from_slice(&chunk);
                st.chunks.lock().expect("chunks").push(chunk);
            }
            trailers = fields(&mut r).expect("trailers");
        } else {
            let len = field("content-length").map_or(0, |l| l.parse().expect("a length"));
            body = vec![0u8; len];
            r.read_exact(&mut body).expect("the body");
        }
        st.seen.lock().expect("seen").push(Seen {
            method: method.clone(),
            path: path.clone(),
            headers,
            body,
            trailers,
        });
        let reply = if path == "/2018-06-01/runtime/invocation/next" {
            // Long poll: until an invocation is queued.
            let mut q = st.queue.lock().expect("queue");
            let inv = loop {
                if let Some(i) = q.pop_front() {
                    break i;
                }
                q = st.queued.wait(q).expect("wait");
            };
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: {}\r\n\
                 Lambda-Runtime-Deadline-Ms: 1700000003000\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:f\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\
                 Lambda-Runtime-Client-Context: {{\"custom\":{{\"k\":\"v\"}}}}\r\n\
                 Lambda-Runtime-Cognito-Identity: {{\"cognitoIdentityId\":\"id\"}}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                inv.id,
                inv.body.len()
            )
            .into_bytes();
            head.extend_from_slice(&inv.body);
            head
        } else if path.contains("/invocation/unknown/") {
            let body = br#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#;
            let mut v = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            v.extend_from_slice(body);
            v
        } else {
            let body = br#"{"status":"OK"}"#;
            let mut v = format!(
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            v.extend_from_slice(body);
            v
        };
        if w.write_all(&reply).is_err() || st.close_silently {
            return;
        }
    }
}

fn fields(r: &mut impl BufRead) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            return Some(out);
        }
        let (k, v) = h.split_once(':').expect("a header");
        out.push((k.to_string(), v.trim().to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// The proxy under test, and a client

struct Setup {
    api: FakeApi,
    proxy: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    notes: Receiver<Note>,
}

fn setup() -> Setup {
    let api = FakeApi::start();
    let shared = Arc::new(Mutex::new(Shared::new(Box::new(std::io::sink()))));
    let (tx, notes) = channel();
    let proxy = proxy::start(&api.addr.to_string(), shared.clone(), tx).expect("the proxy starts");
    Setup {
        api,
        proxy,
        shared,
        notes,
    }
}

struct Client {
    r: BufReader<TcpStream>,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect to the proxy");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Client {
            r: BufReader::new(s),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.r.get_mut().write_all(bytes).expect("write a request");
    }

    fn read(&mut self) -> Resp {
        let mut line = String::new();
        self.r.read_line(&mut line).expect("a status line");
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {line:?}"));
        let mut headers = Vec::new();
        let mut len = 0;
        loop {
            let mut h = String::new();
            self.r.read_line(&mut h).expect("a header");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').expect("a header line");
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().expect("a length");
            }
            headers.push((k.to_string(), v.trim().to_string()));
        }
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body).expect("a body");
        Resp {
            status,
            headers,
            body,
        }
    }

    fn request(&mut self, bytes: &[u8]) -> Resp {
        self.send(bytes);
        self.read()
    }

    /// The proxy closed the connection.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.r.read(&mut b), Ok(0) | Err(_))
    }
}

const NEXT: &[u8] = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";

fn post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut v = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, val) in headers {
        v.push_str(&format!("{k}: {val}\r\n"));
    }
    v.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut v = v.into_bytes();
    v.extend_from_slice(body);
    v
}

fn note(s: &Setup) -> Option<Note> {
    s.notes.recv_timeout(Duration::from_secs(2)).ok()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn an_invocation_goes_through_with_its_headers_and_bodies_and_is_begun_and_ended() {
    let s = setup();
    let mut c = Client::connect(s.proxy);
    s.api.queue("r1", br#"{"x":1}"#);
    let r = c.request(NEXT);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, br#"{"x":1}"#);
    for (k, v) in [
        ("Lambda-Runtime-Aws-Request-Id", "r1"),
        ("Lambda-Runtime-Deadline-Ms", "1700000003000"),
        (
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:eu-west-1:123456789012:function:f",
        ),
        (
            "Lambda-Runtime-Trace-Id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
        ),
        ("Lambda-Runtime-Client-Context", r#"{"custom":{"k":"v"}}"#),
        (
            "Lambda-Runtime-Cognito-Identity",
            r#"{"cognitoIdentityId":"id"}"#,
        ),
        ("Content-Type", "application/json"),
    ] {
        assert!(
            r.headers.iter().any(|(n, x)| n == k && x == v),
            "{k}: {v} not passed back as Lambda writes it: {:?}",
            r.headers
        );
    }
    {
        let sh = s.shared.lock().expect("shared");
        assert!(sh.proxied, "the runtime came through the proxy");
        let inv = &sh.invocation;
        assert_eq!(inv.request_id.as_deref(), Some("r1"));
        assert_eq!(
            inv.arn.as_deref(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:f")
        );
        assert_eq!(inv.deadline_ms, Some(1_700_000_003_000));
        assert!(inv.cold_start);
        assert_eq!(inv.count, 1);
    }
    assert!(
        s.notes.try_recv().is_err(),
        "nothing ends before the answer"
    );

    // The answer, on the same connection (keep-alive), with its content type.
    let r = c.request(&post(
        "/2018-06-01/runtime/invocation/r1/response",
        &[
            ("Content-Type", "application/octet-stream"),
            ("User-Agent", "aws-lambda-python/3.11"),
        ],
        b"\x00binary\xffresult",
    ));
    assert_eq!(r.status, 202);
    assert_eq!(r.json()["status"], "OK");
    assert_eq!(
        note(&s),
        Some(Note::Answered {
            request: "r1".into()
        })
    );
    let seen = s.api.seen();
    let resp = seen.last().expect("the response reached the API");
    assert_eq!(resp.method, "POST");
    assert_eq!(resp.path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(resp.body, b"\x00binary\xffresult");
    assert_eq!(
        resp.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(resp.header("user-agent"), Some("aws-lambda-python/3.11"));

    s.api.queue("r2", b"{}");
    let r = c.request(NEXT);
    assert_eq!(r.header("Lambda-Runtime-Aws-Request-Id"), Some("r2"));
    let sh = s.shared.lock().expect("shared");
    assert_eq!(sh.invocation.request_id.as_deref(), Some("r2"));
    assert!(!sh.invocation.cold_start, "only the first is a cold start");
    assert_eq!(sh.invocation.count, 2);
}

#[test]
fn errors_keep_their_headers_and_refusals_of_the_api_come_back_as_they_are() {
    let s = setup();
    let mut c = Client::connect(s.proxy);
    let cause = format!(
        r#"{{"working_directory":"/var/task","exceptions":[{{"message":"{}"}}]}}"#,
        "x".repeat(200_000)
    );
    let r = c.request(&post(
        "/2018-06-01/runtime/invocation/r9/error",
        &[
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Function-Error-Type", "Runtime.Unknown"),
            ("Lambda-Runtime-Function-XRay-Error-Cause", &cause),
            ("Lambda-Extension-Identifier", "must-not-pass"),
        ],
        br#"{"errorMessage":"boom","errorType":"ValueError"}"#,
    ));
    assert_eq!(r.status, 202);
    assert_eq!(
        note(&s),
        Some(Note::Answered {
            request: "r9".into()
        })
    );
    let r = c.request(&post(
        "/2018-06-01/runtime/init/error",
        &[(
            "Lambda-Runtime-Function-Error-Type",
            "Runtime.ImportModuleError",
        )],
        br#"{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}"#,
    ));
    assert_eq!(r.status, 202);
    let seen = s.api.seen();
    let err = &seen[0];
    assert_eq!(err.path, "/2018-06-01/runtime/invocation/r9/error");
    assert_eq!(
        err.header("lambda-runtime-function-error-type"),
        Some("Runtime.Unknown")
    );
    assert_eq!(
        err.header("lambda-runtime-function-xray-error-cause"),
        Some(cause.as_str())
    );
    assert_eq!(err.header("content-type"), Some("application/json"));
    assert_eq!(err.header("lambda-extension-identifier"), None);
    assert_eq!(
        err.body,
        br#"{"errorMessage":"boom","errorType":"ValueError"}"#
    );
    assert_eq!(seen[1].path, "/2018-06-01/runtime/init/error");
    assert_eq!(
        seen[1].header("lambda-runtime-function-error-type"),
        Some("Runtime.ImportModuleError")
    );
    assert!(
        s.notes.try_recv().is_err(),
        "an init error ends no invocation"
    );

    // The API refuses: its status and body reach the runtime, and the invocation is not over.
    let r = c.request(&post(
        "/2018-06-01/runtime/invocation/unknown/response",
        &[],
        b"{}",
    ));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorType"], "InvalidRequestID");
    assert!(s.notes.try_recv().is_err(), "a refused answer ends nothing");
}

#[test]
fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let s = setup();
    let mut c = Client::connect(s.proxy);
    let mut all = Vec::new();
    for id in ["a", "b", "c"] {
        all.extend(post(
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            &[],
            id.as_bytes(),
        ));
    }
    c.send(&all);
    for _ in 0..3 {
        assert_eq!(c.read().status, 202);
    }
    let bodies: Vec<Vec<u8>> = s.api.seen().into_iter().map(|x| x.body).collect();
    assert_eq!(bodies, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    // Still open after the burst.
    let r = c.request(&post(
        "/2018-06-01/runtime/invocation/d/response",
        &[],
        b"d",
    ));
    assert_eq!(r.status, 202);
    // `Connection: close` is honoured.
    let r = c.request(
        b"POST /2018-06-01/runtime/invocation/e/response HTTP/1.1\r\nConnection: close\r\nContent-Length: 1\r\n\r\ne",
    );
    assert_eq!(r.status, 202);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn chunked_request_bodies_are_forwarded_whole() {
    let s = setup();
    let mut c = Client::connect(s.proxy);
    let payload: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let mut req = b"POST /2018-06-01/runtime/invocation/big/response HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in payload.chunks(100_003) {
        req.extend(format!("{:x};note=1\r\n", chunk.len()).into_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\nX-Checksum: 1\r\n\r\n");
    let r = c.request(&req);
    assert_eq!(r.status, 202);
    let seen = s.api.seen();
    let got = seen.last().expect("forwarded");
    assert_eq!(got.body.len(), payload.len());
    assert!(got.body == payload, "the body changed on the way");
    assert_eq!(
        got.header("content-length"),
        Some(payload.len().to_string().as_str())
    );
    assert_eq!(got.header("transfer-encoding"), None);
    // The connection is still usable.
    assert_eq!(
        c.request(&post("/2018-06-01/runtime/init/error", &[], b"{}"))
            .status,
        202
    );
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let s = setup();
    let mut c = Client::connect(s.proxy);
    c.send(b"POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let cont = c.read();
    assert_eq!(cont.status, 100);
    c.send(b"hello");
    let r = c.read();
    assert_eq!(r.status, 202);
    assert_eq!(s.api.seen().last().expect("forwarded").body, b"hello");
}

#[test]
fn other_paths_are_refused_and_never_reach_lambda() {
    let s = setup();
    for (req, status) in [
        (
            &b"POST /2020-01-01/extension/register HTTP/1.1\r\nLambda-Extension-Name: evil\r\nContent-Length: 2\r\n\r\n{}"[..],
            404,
        ),
        (b"GET /2020-01-01/extension/event/next HTTP/1.1\r\n\r\n", 404),
        (
            b"PUT /2022-07-01/telemetry HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            404,
        ),
        (b"PUT /2020-08-15/logs HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 404),
        (
            b"GET /2018-06-01/runtime/invocation/../../../2020-01-01/extension/event/next HTTP/1.1\r\n\r\n",
            404,
        ),
        (
            b"POST /2018-06-01/runtime/invocation/..%2F..%2Fx/response HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            404,
        ),
        (
            b"GET http://127.0.0.1:9001/2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
            404,
        ),
        (b"GET / HTTP/1.1\r\n\r\n", 404),
        (
            b"POST /2018-06-01/runtime/invocation/next HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            405,
        ),
        (b"GET /2018-06-01/runtime/init/error HTTP/1.1\r\n\r\n", 405),
        (b"GET /2018-06-01/runtime/invocation/next HTTP/2.0\r\n\r\n", 505),
        (
            b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
        ),
    ] {
        let mut c = Client::connect(s.proxy);
        let r = c.request(req);
        assert_eq!(
            r.status,
            status,
            "{} → {r:?}",
            String::from_utf8_lossy(req).lines().next().unwrap_or_default()
        );
        assert!(r.json()["errorType"].is_string());
        assert!(c.closed(), "the connection is closed after a refusal");
    }
    assert!(
        s.api.seen().is_empty(),
        "refused requests reached the Runtime API: {:?}",
        s.api.seen()
    );
}

#[test]
fn oversized_bodies_are_refused_before_they_are_read() {
    let s = setup();
    // Content-Length over the limit, body sent anyway: refused, and the client reads the 413.
    let mut c = Client::connect(s.proxy);
    let big = vec![b'x'; MAX_BODY + 1];
    let r = c.request(&post(
        "/2018-06-01/runtime/invocation/r/response",
        &[],
        &big,
    ));
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["errorType"], "RequestEntityTooLarge");
    // Announced with Expect: refused without waiting for the body.
    let mut c = Client::connect(s.proxy);
    let r = c.request(
        format!(
            "POST /2018-06-01/runtime/invocation/r/response HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 413);
    // Chunked, growing past the limit.
    let mut c = Client::connect(s.proxy);
    let mut req =
        b"POST /2018-06-01/runtime/invocation/r/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..7 {
        req.extend(format!("{:x}\r\n", 1 << 20).into_bytes());
        req.extend(vec![b'y'; 1 << 20]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = c.request(&req);
    assert_eq!(r.status, 413);
    // Headers past the limit.
    let mut c = Client::connect(s.proxy);
    let r = c.request(
        format!(
            "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
            "h".repeat(proxy::MAX_HEAD)
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 431);
    assert!(
        s.api.seen().is_empty(),
        "an oversized request reached the Runtime API"
    );
    // Exactly at the limit: forwarded.
    let mut c = Client::connect(s.proxy);
    let r = c.request(&post(
        "/2018-06-01/runtime/invocation/r/response",
        &[],
        &vec![b'z'; MAX_BODY],
    ));
    assert_eq!(r.status, 202);
    assert_eq!(s.api.seen()[0].body.len(), MAX_BODY);
}

#[test]
fn a_long_poll_and_idle_connections_do_not_hold_up_other_requests() {
    let s = setup();
    // More idle keep-alive connections than workers, each having made one request.
    let mut idle: Vec<Client> = (0..WORKERS + 3).map(|_| Client::connect(s.proxy)).collect();
    for (i, c) in idle.iter_mut().enumerate() {
        let r = c.request(&post(
            &format!("/2018-06-01/runtime/invocation/i{i}/response"),
            &[],
            b"{}",
        ));
        assert_eq!(r.status, 202);
    }
    // A long poll waits for the next invocation…
    let poll = std::thread::spawn({
        let addr = s.proxy;
        move || {
            let mut c = Client::connect(addr);
            c.s_timeout(Duration::from_secs(30));
            c.request(NEXT)
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    // …while another connection is served at once.
    let t = Instant::now();
    let mut other = Client::connect(s.proxy);
    let r = other.request(&post("/2018-06-01/runtime/init/error", &[], b"{}"));
    assert_eq!(r.status, 202);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // And the idle ones still work.
    for c in &mut idle {
        let r = c.request(&post("/2018-06-01/runtime/restore/error", &[], b"{}"));
        assert_eq!(r.status, 202);
    }
    s.api.queue("late", b"{}");
    let r = poll.join().expect("the long poll");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Lambda-Runtime-Aws-Request-Id"), Some("late"));
}

impl Client {
    fn s_timeout(&mut self, d: Duration) {
        self.r.get_ref().set_read_timeout(Some(d)).expect("timeout");
    }
}

#[test]
fn an_unreachable_runtime_api_is_a_502_not_a_hang() {
    // A port with nothing behind it.
    let dead = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let shared = Arc::new(Mutex::new(Shared::new(Box::new(std::io::sink()))));
    let (tx, _rx) = channel();
    let p = proxy::start(&dead.to_string(), shared, tx).expect("start");
    let mut c = Client::connect(p);
    let r = c.request(&post("/2018-06-01/runtime/init/error", &[], b"{}"));
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["errorType"], "Vigil.ProxyError");
}

#[test]
fn a_streamed_response_goes_through_as_it_comes_with_its_trailers() {
    let s = setup();
    let mut c = Client::connect(s.proxy);
    c.send(
        b"POST /2018-06-01/runtime/invocation/st/response HTTP/1.1\r\n\
          Lambda-Runtime-Function-Response-Mode: streaming\r\n\
          Transfer-Encoding: chunked\r\n\
          Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\
          Content-Type: application/vnd.awslambda.http-integration-response\r\n\r\n\
          5\r\nfirst\r\n",
    );
    // The first chunk reaches the Runtime API before the runtime has written the rest.
    let until = Instant::now() + Duration::from_secs(5);
    while s.api.state.chunks.lock().expect("chunks").is_empty() {
        assert!(Instant::now() < until, "the first chunk was held back");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(s.api.seen().is_empty(), "the request is not over yet");
    // A body larger than a buffered response may be.
    let big = vec![b'b'; MAX_BODY + 10];
    let mut rest = format!("{:x}\r\n", big.len()).into_bytes();
    rest.extend_from_slice(&big);
    rest.extend_from_slice(
        b"\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n\
          Lambda-Runtime-Function-Error-Body: eyJtIjoxfQ==\r\n\r\n",
    );
    c.send(&rest);
    let r = c.read();
    assert_eq!(r.status, 202);
    assert_eq!(
        note(&s),
        Some(Note::Answered {
            request: "st".into()
        })
    );
    let seen = s.api.seen();
    let got = &seen[0];
    assert_eq!(got.body.len(), 5 + big.len());
    assert_eq!(&got.body[..5], b"first");
    assert_eq!(
        got.header("lambda-runtime-function-response-mode"),
        Some("streaming")
    );
    assert_eq!(got.header("transfer-encoding"), Some("chunked"));
    assert!(got.header("trailer").is_some());
    assert_eq!(
        got.trailers,
        vec![
            (
                "Lambda-Runtime-Function-Error-Type".to_string(),
                "Runtime.StreamError".to_string()
            ),
            (
                "Lambda-Runtime-Function-Error-Body".to_string(),
                "eyJtIjoxfQ==".to_string()
            ),
        ]
    );
    // The runtime's connection is still usable.
    assert_eq!(
        c.request(&post("/2018-06-01/runtime/init/error", &[], b"{}"))
            .status,
        202
    );
}

#[test]
fn an_answer_survives_a_kept_alive_connection_the_api_dropped() {
    let api = FakeApi::start_with(ApiState {
        close_silently: true,
        ..ApiState::default()
    });
    let shared = Arc::new(Mutex::new(Shared::new(Box::new(std::io::sink()))));
    let (tx, rx) = channel();
    let p = proxy::start(&api.addr.to_string(), shared, tx).expect("start");
    let mut c = Client::connect(p);
    for id in ["one", "two", "three"] {
        let r = c.request(&post(
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            &[],
            id.as_bytes(),
        ));
        assert_eq!(r.status, 202, "{id}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(2)).ok(),
            Some(Note::Answered { request: id.into() })
        );
    }
    assert_eq!(api.seen().len(), 3, "each answer reached the API once");
}
