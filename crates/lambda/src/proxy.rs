//! The Runtime API proxy (AWS's "Runtime API proxy" extension pattern): the wrapper gives the
//! runtime this proxy's address as `AWS_LAMBDA_RUNTIME_API`, and the proxy forwards each
//! Runtime API request to the real endpoint. So the extension sees each invocation exactly:
//!
//! - when `/next` returns an invocation, the proxy [begins](Shared::begin_proxied) it in the
//!   shared state *before* the runtime gets the response, so every event the runtime causes
//!   from then on carries its request id;
//! - when the Runtime API accepts the invocation's `/response` or `/error`, the invocation is
//!   over: the proxy tells the extension's main loop ([`Note::Answered`]), which ships the
//!   invocation's events (if a collector is configured) and returns to the Extensions API's
//!   `/next` at once.
//!
//! Only the Runtime API is forwarded (`/2018-06-01/runtime/…`: `invocation/next`,
//! `invocation/{id}/response`, `invocation/{id}/error`, `init/error`, and SnapStart's
//! `restore/next` and `restore/error`); anything else — the Extensions and Telemetry APIs
//! among them — is answered 404 here and never reaches Lambda. Heads are limited to
//! [`MAX_HEAD`] bytes (Lambda's own server takes about 1 MiB) and bodies to [`MAX_BODY`]
//! (Lambda's 6 MB payload limit).
//!
//! # Why hand-rolled on the runtime's side
//!
//! The seccomp filter protects the extension's threads by id, and those ids are handed to the
//! wrapper once, before the runtime starts: no thread may be created afterwards. Server crates
//! start worker threads as connections come (or an async runtime with its own pool). So the
//! proxy is a fixed set of threads created before the hand-off: one polls the listener and the
//! idle keep-alive connections, [`WORKERS`] serve the requests of readable connections (a
//! `/next` long poll occupies one for as long as it waits). A connection is only tied to a
//! worker while one of its requests is served, so a runtime may keep any number of keep-alive
//! connections open (up to [`MAX_CONNECTIONS`] idle ones). HTTP/1.1 and 1.0, keep-alive,
//! pipelining, `Content-Length` and `Transfer-Encoding: chunked` request bodies (trailers are
//! read and dropped), `Expect: 100-continue`. The upstream side is ureq (with the NSS-free
//! resolver of crate::dns), which keeps its connections to the Runtime API alive.

use crate::sink::{Invocation, Note, Shared};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Runtime API's path prefix; nothing else is forwarded.
pub const PREFIX: &str = "/2018-06-01/runtime/";
/// Threads serving requests.
pub const WORKERS: usize = 4;
/// Most idle keep-alive connections kept; past it the oldest is closed.
pub const MAX_CONNECTIONS: usize = 64;
/// Most bytes of a request's head (request line and headers): Lambda's server takes 1 MiB of
/// headers (an X-Ray error cause may be close to that), plus room for the rest.
pub const MAX_HEAD: usize = (1 << 20) + 8 * 1024;
/// Most bytes of a request body: Lambda's limit for a response payload ("Exceeded maximum
/// allowed payload size (6291556 bytes)").
pub const MAX_BODY: usize = 6_291_556;
/// Most bytes of a Runtime API response passed back (an invocation's payload is at most 6 MB).
const MAX_UPSTREAM_BODY: u64 = 64 << 20;
/// Most headers in one request.
const MAX_HEADERS: usize = 128;
/// A request must arrive whole within this (streamed responses take as long as the handler
/// runs, up to Lambda's 15 minutes).
const READ_TIMEOUT: Duration = Duration::from_secs(16 * 60);
/// A response must be taken within this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connecting to the Runtime API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Most bytes of a streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`),
/// which goes through as it comes, never buffered: Lambda's own limit for streamed responses
/// (200 MB).
pub const MAX_STREAM: u64 = 200 * 1024 * 1024;
/// How long the proxy waits for the supervisor to emit the previous invocation's last events
/// before a new invocation begins (see `vigil_sensor::supervisor::Barrier`).
const SYNC_LIMIT: Duration = Duration::from_millis(5);
/// After refusing a request, how much of its unread body is drained (so that the client reads
/// the refusal rather than a reset), and for how long.
const DRAIN_MAX: u64 = 64 << 20;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Starts the proxy on `127.0.0.1` (a port of the kernel's choice) for the Runtime API at
/// `upstream` (`host:port`), with its threads; returns its address. Invocations are begun in
/// `shared`; their ends are told on `notes`.
pub fn start(
    upstream: &str,
    shared: Arc<Mutex<Shared>>,
    notes: Sender<Note>,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (wake_poller, wake_workers) = UnixStream::pair()?;
    wake_poller.set_nonblocking(true)?;
    wake_workers.set_nonblocking(true)?;
    let (work_tx, work_rx) = channel::<Conn>();
    let (back_tx, back_rx) = channel::<Conn>();
    let agent = |pooled: usize| {
        crate::dns::agent_builder()
            .timeout_connect(CONNECT_TIMEOUT)
            .max_idle_connections(pooled)
            .max_idle_connections_per_host(pooled)
            .redirects(0)
            .build()
    };
    let ctx = Arc::new(Ctx {
        upstream: upstream.to_string(),
        base: format!("http://{upstream}"),
        agent: agent(2 * WORKERS),
        fresh: agent(0),
        shared,
        notes,
    });
    let queue = Arc::new(Mutex::new(work_rx));
    for n in 0..WORKERS {
        let (queue, back, wake, ctx) = (
            queue.clone(),
            back_tx.clone(),
            wake_workers.try_clone()?,
            ctx.clone(),
        );
        std::thread::Builder::new()
            .name(format!("vigil-proxy-{n}"))
            .spawn(move || worker(&queue, &back, &wake, &ctx))?;
    }
    std::thread::Builder::new()
        .name("vigil-proxy".into())
        .spawn(move || poller(&listener, &wake_poller, &back_rx, &work_tx))?;
    Ok(addr)
}

struct Ctx {
    /// `host:port` of the real Runtime API.
    upstream: String,
    /// `http://host:port`.
    base: String,
    /// Keeps connections to the Runtime API alive.
    agent: ureq::Agent,
    /// Opens a new connection for each request: a retry after a pooled connection failed.
    fresh: ureq::Agent,
    shared: Arc<Mutex<Shared>>,
    notes: Sender<Note>,
}

/// A runtime's connection; the reader's buffer may hold the start of the next request.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }
}

/// Polls the listener and the idle connections; hands readable ones to the workers.
fn poller(listener: &TcpListener, wake: &UnixStream, back: &Receiver<Conn>, work: &Sender<Conn>) {
    let mut idle: Vec<Conn> = Vec::new();
    loop {
        let (accept, woken, readable) = {
            let mut fds = Vec::with_capacity(idle.len() + 2);
            fds.push(PollFd::new(listener, PollFlags::IN));
            fds.push(PollFd::new(wake, PollFlags::IN));
            for c in &idle {
                fds.push(PollFd::new(c.stream(), PollFlags::IN));
            }
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
            let readable: Vec<usize> = (0..idle.len())
                .filter(|i| fds.get(i + 2).is_some_and(|f| !f.revents().is_empty()))
                .collect();
            (
                !fds[0].revents().is_empty(),
                !fds[1].revents().is_empty(),
                readable,
            )
        };
        // A request (or the peer's close) is waiting: a worker takes the connection.
        for i in readable.into_iter().rev() {
            let c = idle.remove(i);
            if work.send(c).is_err() {
                return;
            }
        }
        if woken {
            let mut buf = [0u8; 64];
            while matches!((&*wake).read(&mut buf), Ok(n) if n > 0) {}
            while let Ok(c) = back.try_recv() {
                idle.push(c);
            }
        }
        if accept {
            loop {
                match listener.accept() {
                    Ok((s, _)) => {
                        if s.set_nonblocking(false).is_err() {
                            continue;
                        }
                        let _ = s.set_nodelay(true);
                        let _ = s.set_write_timeout(Some(WRITE_TIMEOUT));
                        idle.push(Conn {
                            reader: BufReader::with_capacity(64 * 1024, s),
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        if idle.len() > MAX_CONNECTIONS {
            let excess = idle.len() - MAX_CONNECTIONS;
            idle.drain(..excess);
        }
    }
}

/// Serves the connections the poller hands over, and gives back those kept alive.
fn worker(queue: &Mutex<Receiver<Conn>>, back: &Sender<Conn>, wake: &UnixStream, ctx: &Ctx) {
    loop {
        let conn = {
            let Ok(q) = queue.lock() else { return };
            match q.recv() {
                Ok(c) => c,
                Err(_) => return,
            }
        };
        if let Some(conn) = serve(conn, ctx) {
            if back.send(conn).is_err() {
                return;
            }
            let _ = (&*wake).write(&[1]);
        }
    }
}

/// Why a request is not forwarded.
enum Failure {
    /// The peer closed the connection (or it failed): nothing to answer.
    Gone,
    /// Answer this, then close.
    Refuse(Local),
}

/// An answer made by the proxy itself.
struct Local {
    status: u16,
    error_type: &'static str,
    message: String,
    allow: Option<&'static str>,
}

fn refuse(status: u16, error_type: &'static str, message: impl Into<String>) -> Failure {
    Failure::Refuse(Local {
        status,
        error_type,
        message: message.into(),
        allow: None,
    })
}

impl From<io::Error> for Failure {
    fn from(_: io::Error) -> Failure {
        Failure::Gone
    }
}

/// Serves requests on `conn` while they are already buffered (pipelining); returns it when
/// it is idle and kept alive.
fn serve(mut conn: Conn, ctx: &Ctx) -> Option<Conn> {
    loop {
        let _ = conn.stream().set_read_timeout(Some(READ_TIMEOUT));
        match exchange(&mut conn, ctx) {
            Ok(true) => {}
            Ok(false) | Err(Failure::Gone) => return None,
            Err(Failure::Refuse(local)) => {
                let answer = Answer::local(local);
                let _ = write_answer(conn.stream(), &answer, true);
                drain_and_close(conn);
                return None;
            }
        }
        if conn.reader.buffer().is_empty() {
            return Some(conn);
        }
    }
}

/// After a refusal: lets the client read it before the connection goes.
fn drain_and_close(conn: Conn) {
    let stream = conn.reader.into_inner();
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(DRAIN_TIMEOUT));
    let _ = io::copy(&mut (&stream).take(DRAIN_MAX), &mut io::sink());
}

/// One request and its answer; `Ok(keep_alive)`.
fn exchange(conn: &mut Conn, ctx: &Ctx) -> Result<bool, Failure> {
    let head = read_head(&mut conn.reader)?;
    let route = route(&head.method, &head.target)?;
    let close = head.wants_close();
    if let (Route::Answer(request), true) = (&route, head.streams()) {
        let answer = stream(ctx, &mut conn.reader, &head)?;
        if (200..300).contains(&answer.status) {
            let _ = ctx.notes.send(Note::Answered {
                request: request.clone(),
            });
        }
        write_answer(conn.stream(), &answer, close)?;
        return Ok(!close);
    }
    let body = read_body(&mut conn.reader, &head, route.max_body())?;
    let answer = match &route {
        Route::Next => {
            if let Ok(mut s) = ctx.shared.lock() {
                s.runtime_waiting();
            }
            let answer = forward(ctx, &head, &body);
            if answer.status == 200 {
                begin(ctx, &answer);
            }
            answer
        }
        Route::Answer(request) => {
            let answer = forward(ctx, &head, &body);
            if (200..300).contains(&answer.status) {
                let _ = ctx.notes.send(Note::Answered {
                    request: request.clone(),
                });
            }
            answer
        }
        Route::Other => forward(ctx, &head, &body),
    };
    write_answer(conn.stream(), &answer, close)?;
    Ok(!close)
}

/// `/next` returned an invocation: it begins now, before the runtime has it.
fn begin(ctx: &Ctx, answer: &Answer) {
    let Some(request) = answer.header("lambda-runtime-aws-request-id") else {
        return;
    };
    // Events of the previous invocation still on their way (a child's exit the supervisor
    // has not handled yet) keep its tags.
    let barrier = ctx.shared.lock().ok().and_then(|s| s.barrier.clone());
    if let Some(b) = barrier {
        b.sync(SYNC_LIMIT);
    }
    if let Ok(mut s) = ctx.shared.lock() {
        let count = s.invocation.count + 1;
        let next = Invocation {
            request_id: Some(request.to_string()),
            arn: answer
                .header("lambda-runtime-invoked-function-arn")
                .map(str::to_string),
            cold_start: count == 1,
            count,
            deadline_ms: answer
                .header("lambda-runtime-deadline-ms")
                .and_then(|d| d.trim().parse().ok()),
        };
        s.begin_proxied(next);
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

struct Head {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, String)>,
}

impl Head {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// A streamed response (Lambda's response streaming): chunked, to be passed on as it
    /// comes, trailers included (a streamed error is reported in trailers).
    fn streams(&self) -> bool {
        self.all("lambda-runtime-function-response-mode")
            .any(|m| m.eq_ignore_ascii_case("streaming"))
            && self
                .all("transfer-encoding")
                .any(|t| t.trim().eq_ignore_ascii_case("chunked"))
    }

    fn wants_close(&self) -> bool {
        self.has_token("connection", "close")
            || (self.http10 && !self.has_token("connection", "keep-alive"))
    }
}

/// Reads one line (with its `\n`) into `buf`, within what is left of `budget`.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, budget: &mut usize) -> Result<(), Failure> {
    buf.clear();
    let n = r
        .by_ref()
        .take(*budget as u64)
        .read_until(b'\n', buf)
        .map_err(|_| Failure::Gone)?;
    if buf.last() != Some(&b'\n') {
        return Err(if n > 0 && n >= *budget {
            refuse(
                431,
                "Vigil.RequestHeaderTooLarge",
                format!("the request's head exceeds {MAX_HEAD} bytes"),
            )
        } else {
            Failure::Gone
        });
    }
    *budget -= n;
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(())
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn bad(message: impl Into<String>) -> Failure {
    refuse(400, "Vigil.BadRequest", message)
}

/// Header (or trailer) fields up to the empty line, within `budget`.
fn read_fields(
    r: &mut impl BufRead,
    line: &mut Vec<u8>,
    budget: &mut usize,
) -> Result<Vec<(String, String)>, Failure> {
    let mut fields = Vec::new();
    loop {
        read_line(r, line, budget)?;
        if line.is_empty() {
            return Ok(fields);
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return Err(bad("folded header lines are not accepted"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| bad("a header line without a colon"))?;
        let name = std::str::from_utf8(&line[..colon]).unwrap_or("");
        if !is_token(name) {
            return Err(bad("malformed header name"));
        }
        let value = &line[colon + 1..];
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(bad(format!("control characters in header {name}")));
        }
        let value = String::from_utf8_lossy(value)
            .trim_matches([' ', '\t'])
            .to_string();
        if fields.len() >= MAX_HEADERS {
            return Err(refuse(
                431,
                "Vigil.RequestHeaderTooLarge",
                format!("more than {MAX_HEADERS} header fields"),
            ));
        }
        fields.push((name.to_string(), value));
    }
}

fn read_head(r: &mut impl BufRead) -> Result<Head, Failure> {
    let mut budget = MAX_HEAD;
    let mut line = Vec::new();
    // Empty lines before a request are ignored (RFC 9112, 2.2).
    loop {
        read_line(r, &mut line, &mut budget)?;
        if !line.is_empty() {
            break;
        }
    }
    let request_line = std::mem::take(&mut line);
    let text =
        std::str::from_utf8(&request_line).map_err(|_| bad("the request line is not text"))?;
    let mut parts = text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !is_token(method) || target.is_empty() {
        return Err(bad("malformed request line"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => {
            return Err(refuse(
                505,
                "Vigil.HttpVersionNotSupported",
                "HTTP/1.1 or 1.0 only",
            ))
        }
    };
    let headers = read_fields(r, &mut line, &mut budget)?;
    Ok(Head {
        method: method.to_string(),
        target: target.to_string(),
        http10,
        headers,
    })
}

/// What a forwarded request is.
enum Route {
    /// `GET …/invocation/next`.
    Next,
    /// `POST …/invocation/{id}/response` or `/error`.
    Answer(String),
    /// `POST …/init/error`, `GET …/restore/next`, `POST …/restore/error`.
    Other,
}

impl Route {
    fn max_body(&self) -> usize {
        match self {
            Route::Next => 0,
            _ => MAX_BODY,
        }
    }
}

/// A request id as Lambda makes them (a UUID); nothing that could change the path upstream.
fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn route(method: &str, target: &str) -> Result<Route, Failure> {
    let not_found = || {
        refuse(
            404,
            "Vigil.NotFound",
            format!("{target}: not a Runtime API path (the Vigil proxy forwards only those)"),
        )
    };
    let rest = target.strip_prefix(PREFIX).ok_or_else(not_found)?;
    let (route, allow) = match rest.split('/').collect::<Vec<_>>().as_slice() {
        ["invocation", "next"] => (Route::Next, "GET"),
        ["init", "error"] => (Route::Other, "POST"),
        ["restore", "next"] => (Route::Other, "GET"),
        ["restore", "error"] => (Route::Other, "POST"),
        ["invocation", id, "response" | "error"] if valid_request_id(id) => {
            (Route::Answer((*id).to_string()), "POST")
        }
        _ => return Err(not_found()),
    };
    if method != allow {
        return Err(Failure::Refuse(Local {
            status: 405,
            error_type: "Vigil.MethodNotAllowed",
            message: format!("{method} {target}: only {allow}"),
            allow: Some(allow),
        }));
    }
    Ok(route)
}

fn too_large() -> Failure {
    refuse(
        413,
        "RequestEntityTooLarge",
        format!("Exceeded maximum allowed payload size ({MAX_BODY} bytes)."),
    )
}

/// How a request's body is delimited.
enum Framing {
    Length(u64),
    Chunked,
}

fn framing(head: &Head) -> Result<Framing, Failure> {
    let chunked = match head.all("transfer-encoding").collect::<Vec<_>>().as_slice() {
        [] => false,
        [te] if te.trim().eq_ignore_ascii_case("chunked") => true,
        _ => {
            return Err(refuse(
                501,
                "Vigil.NotImplemented",
                "only the chunked transfer coding is accepted",
            ))
        }
    };
    let lengths: Vec<&str> = head
        .all("content-length")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if chunked {
        if !lengths.is_empty() {
            return Err(bad("both Content-Length and Transfer-Encoding"));
        }
        return Ok(Framing::Chunked);
    }
    match lengths.first() {
        None => Ok(Framing::Length(0)),
        Some(first) => {
            if lengths.iter().any(|l| l != first)
                || first.is_empty()
                || !first.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad("malformed Content-Length"));
            }
            Ok(Framing::Length(first.parse().map_err(|_| too_large())?))
        }
    }
}

/// `Expect: 100-continue`: the client waits for a go-ahead before it sends the body.
fn go_ahead(r: &BufReader<TcpStream>, head: &Head, body_follows: bool) -> Result<(), Failure> {
    let expects: Vec<&str> = head.all("expect").collect();
    if expects.is_empty() || head.http10 {
        return Ok(());
    }
    if !expects
        .iter()
        .all(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        return Err(refuse(
            417,
            "Vigil.ExpectationFailed",
            "only `Expect: 100-continue` is understood",
        ));
    }
    if body_follows {
        r.get_ref().write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    Ok(())
}

fn read_body(r: &mut BufReader<TcpStream>, head: &Head, max: usize) -> Result<Vec<u8>, Failure> {
    match framing(head)? {
        Framing::Length(length) => {
            if length > max as u64 {
                return Err(too_large());
            }
            go_ahead(r, head, length > 0)?;
            let mut body = Vec::with_capacity(length as usize);
            r.by_ref().take(length).read_to_end(&mut body)?;
            if body.len() as u64 != length {
                return Err(Failure::Gone);
            }
            Ok(body)
        }
        Framing::Chunked => {
            go_ahead(r, head, true)?;
            read_chunked(r, max)
        }
    }
}

/// Reads a chunk-size line: the size (extensions are dropped).
fn chunk_size(r: &mut impl BufRead, line: &mut Vec<u8>) -> Result<usize, Failure> {
    let mut budget = 4096;
    read_line(r, line, &mut budget).map_err(|f| match f {
        Failure::Refuse(_) => bad("malformed chunk size"),
        gone => gone,
    })?;
    let size_text = line
        .split(|&b| b == b';')
        .next()
        .map(|s| s.trim_ascii())
        .unwrap_or_default();
    if size_text.is_empty() || size_text.len() > 15 || !size_text.iter().all(u8::is_ascii_hexdigit)
    {
        return Err(bad("malformed chunk size"));
    }
    usize::from_str_radix(std::str::from_utf8(size_text).unwrap_or("x"), 16)
        .map_err(|_| bad("malformed chunk size"))
}

fn chunk_end(r: &mut impl BufRead) -> Result<(), Failure> {
    let mut crlf = [0u8; 2];
    r.read_exact(&mut crlf)?;
    if &crlf != b"\r\n" {
        return Err(bad("a chunk is not followed by CRLF"));
    }
    Ok(())
}

/// A `Transfer-Encoding: chunked` body, decoded; trailers are read and dropped.
fn read_chunked(r: &mut impl BufRead, max: usize) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        let size = chunk_size(r, &mut line)?;
        if size == 0 {
            break;
        }
        if body.len().saturating_add(size) > max {
            return Err(too_large());
        }
        let start = body.len();
        r.by_ref().take(size as u64).read_to_end(&mut body)?;
        if body.len() - start != size {
            return Err(Failure::Gone);
        }
        chunk_end(r)?;
    }
    let mut budget = MAX_HEAD;
    read_fields(r, &mut line, &mut budget)?;
    Ok(body)
}

// ---------------------------------------------------------------------------------------------
// Answers

/// A response for the runtime: the Runtime API's, or the proxy's own.
struct Answer {
    status: u16,
    reason: String,
    /// Names in canonical form (`Lambda-Runtime-Aws-Request-Id`), as Lambda writes them.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn local(l: Local) -> Answer {
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        if let Some(a) = l.allow {
            headers.push(("Allow".to_string(), a.to_string()));
        }
        Answer {
            status: l.status,
            reason: reason(l.status).to_string(),
            headers,
            body: serde_json::json!({"errorMessage": l.message, "errorType": l.error_type})
                .to_string()
                .into_bytes(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Headers that belong to one connection, not to the message (RFC 9110, 7.6.1), and those
/// the proxy writes itself.
fn hop_by_hop(name: &str) -> bool {
    const HOP: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "transfer-encoding",
        "upgrade",
        "content-length",
    ];
    HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// Request headers passed to the Runtime API: the message's own (`Content-Type`,
/// `Lambda-Runtime-Function-Error-Type`, `Lambda-Runtime-Function-XRay-Error-Cause`,
/// `User-Agent`, …); not the connection's, not `Host` and `Expect` (the upstream request has
/// its own), and never an Extensions API identity.
fn forwarded(name: &str) -> bool {
    !hop_by_hop(name)
        && !name.eq_ignore_ascii_case("host")
        && !name.eq_ignore_ascii_case("expect")
        && !name.to_ascii_lowercase().starts_with("lambda-extension-")
}

/// `lambda-runtime-aws-request-id` → `Lambda-Runtime-Aws-Request-Id` (Go's canonical form, as
/// Lambda's own server writes them; ureq gives names in lower case).
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// Sends the request to the Runtime API and returns its answer (a 502 of the proxy's own if
/// it did not answer).
#[allow(clippy::result_large_err)] // ureq's error, as ureq returns it
fn forward(ctx: &Ctx, head: &Head, body: &[u8]) -> Answer {
    let send = |agent: &ureq::Agent| {
        let mut req = agent.request(&head.method, &format!("{}{}", ctx.base, head.target));
        for (k, v) in &head.headers {
            // A de-chunked body has no trailers left to announce.
            if forwarded(k) && !k.eq_ignore_ascii_case("trailer") {
                req = req.set(k, v);
            }
        }
        if head.method == "GET" {
            req.call()
        } else {
            req.send_bytes(body)
        }
    };
    // A kept-alive connection may have been closed by the other end meanwhile (ureq retries
    // only requests without a body): once more on a new connection.
    let result = match send(&ctx.agent) {
        Err(ureq::Error::Transport(_)) => send(&ctx.fresh),
        other => other,
    };
    let resp = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => {
            return Answer::local(Local {
                status: 502,
                error_type: "Vigil.ProxyError",
                message: format!("the Runtime API at {} did not answer: {e}", ctx.base),
                allow: None,
            })
        }
    };
    let status = resp.status();
    let reason = resp.status_text().to_string();
    let mut names = resp.headers_names();
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    let mut headers = Vec::new();
    for n in names {
        if hop_by_hop(&n) || !seen.insert(n.clone()) {
            continue;
        }
        for v in resp.all(&n) {
            headers.push((canonical(&n), v.to_string()));
        }
    }
    let mut out = Vec::new();
    let read = resp
        .into_reader()
        .take(MAX_UPSTREAM_BODY + 1)
        .read_to_end(&mut out);
    if read.is_err() || out.len() as u64 > MAX_UPSTREAM_BODY {
        return Answer::local(Local {
            status: 502,
            error_type: "Vigil.ProxyError",
            message: "the Runtime API's response could not be read whole".into(),
            allow: None,
        });
    }
    Answer {
        status,
        reason,
        headers,
        body: out,
    }
}

fn bad_gateway(message: String) -> Failure {
    refuse(502, "Vigil.ProxyError", message)
}

/// A streamed response: passed to the Runtime API chunk by chunk as the runtime writes it,
/// trailers included, on a connection of its own; then the API's answer is read.
fn stream(ctx: &Ctx, r: &mut BufReader<TcpStream>, head: &Head) -> Result<Answer, Failure> {
    if !matches!(framing(head)?, Framing::Chunked) {
        return Err(bad("a streamed response must be chunked"));
    }
    let gone = |e: io::Error| bad_gateway(format!("the Runtime API at {}: {e}", ctx.upstream));
    let addrs = crate::dns::Resolver::system()
        .resolve_netloc(&ctx.upstream)
        .map_err(gone)?;
    let up = addrs
        .iter()
        .find_map(|a| TcpStream::connect_timeout(a, CONNECT_TIMEOUT).ok())
        .ok_or_else(|| {
            bad_gateway(format!(
                "cannot connect to the Runtime API at {}",
                ctx.upstream
            ))
        })?;
    let _ = up.set_nodelay(true);
    let _ = up.set_write_timeout(Some(WRITE_TIMEOUT));
    go_ahead(r, head, true)?;
    let mut out = io::BufWriter::with_capacity(64 * 1024, &up);
    let mut prelude = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        head.method, head.target, ctx.upstream
    );
    for (k, v) in &head.headers {
        if forwarded(k) {
            prelude.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    prelude.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    out.write_all(prelude.as_bytes()).map_err(gone)?;
    out.flush().map_err(gone)?;
    let mut line = Vec::new();
    let mut total = 0u64;
    loop {
        let size = chunk_size(r, &mut line)?;
        if size == 0 {
            break;
        }
        total += size as u64;
        if total > MAX_STREAM {
            // Dropping the upstream connection mid-stream fails the invocation there too.
            return Err(refuse(
                413,
                "RequestEntityTooLarge",
                format!("Exceeded maximum allowed payload size ({MAX_STREAM} bytes)."),
            ));
        }
        out.write_all(format!("{size:x}\r\n").as_bytes())
            .map_err(gone)?;
        let mut left = size;
        while left > 0 {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                return Err(Failure::Gone);
            }
            let n = buf.len().min(left);
            out.write_all(&buf[..n]).map_err(gone)?;
            r.consume(n);
            left -= n;
        }
        chunk_end(r)?;
        out.write_all(b"\r\n").map_err(gone)?;
        // Each chunk goes on at once: that is the point of streaming.
        out.flush().map_err(gone)?;
    }
    let mut budget = MAX_HEAD;
    let trailers = read_fields(r, &mut line, &mut budget)?;
    let mut end = String::from("0\r\n");
    for (k, v) in &trailers {
        end.push_str(&format!("{k}: {v}\r\n"));
    }
    end.push_str("\r\n");
    out.write_all(end.as_bytes()).map_err(gone)?;
    out.flush().map_err(gone)?;
    drop(out);
    read_upstream_answer(&up).map_err(gone)
}

/// The Runtime API's answer on a raw connection (see [`stream`]).
fn read_upstream_answer(up: &TcpStream) -> io::Result<Answer> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut r = BufReader::new(up);
    let mut line = Vec::new();
    let mut budget = MAX_HEAD;
    read_line(&mut r, &mut line, &mut budget).map_err(|_| invalid("no status line"))?;
    let status_line = String::from_utf8_lossy(&line).into_owned();
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(invalid("malformed status line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid("not an HTTP/1 answer"));
    }
    let status: u16 = code.parse().map_err(|_| invalid("malformed status"))?;
    let reason = parts.next().unwrap_or("").to_string();
    let fields =
        read_fields(&mut r, &mut line, &mut budget).map_err(|_| invalid("malformed headers"))?;
    let head = Head {
        method: String::new(),
        target: String::new(),
        http10: false,
        headers: fields,
    };
    let body = match framing(&head).map_err(|_| invalid("malformed framing"))? {
        Framing::Chunked => read_chunked(&mut r, MAX_UPSTREAM_BODY as usize)
            .map_err(|_| invalid("malformed chunked body"))?,
        Framing::Length(n) if n > MAX_UPSTREAM_BODY => return Err(invalid("answer too large")),
        Framing::Length(n) => {
            let mut b = Vec::new();
            (&mut r).take(n).read_to_end(&mut b)?;
            if b.len() as u64 != n {
                return Err(invalid("answer cut short"));
            }
            b
        }
    };
    let headers = head
        .headers
        .into_iter()
        .filter(|(k, _)| !hop_by_hop(k))
        .map(|(k, v)| (canonical(&k), v))
        .collect();
    Ok(Answer {
        status,
        reason,
        headers,
        body,
    })
}

fn write_answer(mut w: &TcpStream, a: &Answer, close: bool) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", a.status, a.reason);
    for (k, v) in &a.headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n", a.body.len()));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    if a.body.len() <= 64 * 1024 {
        let mut all = head.into_bytes();
        all.extend_from_slice(&a.body);
        w.write_all(&all)?;
    } else {
        w.write_all(head.as_bytes())?;
        w.write_all(&a.body)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_written_as_lambda_writes_them() {
        assert_eq!(
            canonical("lambda-runtime-aws-request-id"),
            "Lambda-Runtime-Aws-Request-Id"
        );
        assert_eq!(canonical("content-type"), "Content-Type");
        assert_eq!(canonical("x-amzn-trace-id"), "X-Amzn-Trace-Id");
    }

    #[test]
    fn only_runtime_api_paths_are_routed() {
        let ok = |m: &str, t: &str| route(m, t).is_ok();
        assert!(ok("GET", "/2018-06-01/runtime/invocation/next"));
        assert!(ok(
            "POST",
            "/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response"
        ));
        assert!(ok("POST", "/2018-06-01/runtime/invocation/abc/error"));
        assert!(ok("POST", "/2018-06-01/runtime/init/error"));
        assert!(ok("GET", "/2018-06-01/runtime/restore/next"));
        assert!(ok("POST", "/2018-06-01/runtime/restore/error"));
        for t in [
            "/2020-01-01/extension/register",
            "/2020-01-01/extension/event/next",
            "/2022-07-01/telemetry",
            "/2020-08-15/logs",
            "/2018-06-01/runtime/invocation/next/",
            "/2018-06-01/runtime/invocation/next?x=1",
            "/2018-06-01/runtime/invocation/../../../2020-01-01/extension/register",
            "/2018-06-01/runtime/invocation/../response",
            "/2018-06-01/runtime/invocation/a%2F..%2F..%2Fx/response",
            "/2018-06-01/runtime/invocation//response",
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "/2018-06-01/runtime/",
        ] {
            assert!(
                matches!(
                    route("GET", t),
                    Err(Failure::Refuse(Local { status: 404, .. }))
                ) && matches!(
                    route("POST", t),
                    Err(Failure::Refuse(Local { status: 404, .. }))
                ),
                "{t} was routed"
            );
        }
        assert!(matches!(
            route("POST", "/2018-06-01/runtime/invocation/next"),
            Err(Failure::Refuse(Local { status: 405, .. }))
        ));
        assert!(matches!(
            route("GET", "/2018-06-01/runtime/invocation/abc/response"),
            Err(Failure::Refuse(Local { status: 405, .. }))
        ));
    }

    #[test]
    fn chunked_bodies_are_decoded_and_bounded() {
        let mut r: &[u8] = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let body = read_chunked(&mut r, 100).ok().expect("decoded");
        assert_eq!(body, b"hello world");
        assert_eq!(r, b"NEXT", "the next request is left unread");
        let mut r: &[u8] = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        assert!(matches!(
            read_chunked(&mut r, 10),
            Err(Failure::Refuse(Local { status: 413, .. }))
        ));
        for bad_body in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloXX0\r\n\r\n",
            b"fffffffffffffffff\r\n",
        ] {
            let mut r = bad_body;
            assert!(
                matches!(
                    read_chunked(&mut r, 1 << 40),
                    Err(Failure::Refuse(Local { status: 400, .. }))
                ),
                "{}",
                String::from_utf8_lossy(bad_body)
            );
        }
    }

    #[test]
    fn heads_are_parsed_and_bounded() {
        let mut r: &[u8] =
            b"\r\nPOST /x HTTP/1.1\r\nContent-Type: application/json\r\nA:  b \r\n\r\nbody";
        let h = read_head(&mut r).ok().expect("head");
        assert_eq!(h.method, "POST");
        assert_eq!(h.target, "/x");
        assert!(!h.http10 && !h.wants_close());
        assert_eq!(h.all("content-type").next(), Some("application/json"));
        assert_eq!(h.all("a").next(), Some("b"));
        assert_eq!(r, b"body");
        let long = format!("GET /x HTTP/1.1\r\nA: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(
            read_head(&mut long.as_bytes()),
            Err(Failure::Refuse(Local { status: 431, .. }))
        ));
        for bad_head in [
            &b"GET /x HTTP/2.0\r\n\r\n"[..],
            b"GET /x\r\n\r\n",
            b"GET /x HTTP/1.1\r\n folded\r\n\r\n",
            b"GET /x HTTP/1.1\r\nBad Name: 1\r\n\r\n",
            b"GET /x HTTP/1.1\r\nA: 1\x00\r\n\r\n",
        ] {
            assert!(
                matches!(read_head(&mut &bad_head[..]), Err(Failure::Refuse(_))),
                "{}",
                String::from_utf8_lossy(bad_head)
            );
        }
        let h = read_head(&mut &b"GET /x HTTP/1.0\r\n\r\n"[..])
            .ok()
            .expect("1.0");
        assert!(h.wants_close());
        assert!(matches!(read_head(&mut &b""[..]), Err(Failure::Gone)));
    }
}
