//! `fetch_url` (src/fetch) against a page server on 127.0.0.1 that this test starts and
//! that records every request. Nothing here sends a packet beyond loopback: public
//! addresses are judged as values in the library's unit tests, never connected to.
//! HTML and PDFs go through the real isolated child (this crate's binary).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clara_backend::{
    fetch::{FetchConfig, FetchError, Fetcher, Refusal, Resolve},
    isolate::{Extractor, Limits},
};
use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use proptest::prelude::*;

use crate::support::provider;

const MAX_BYTES: usize = 4096;

const ARTICLE: &str = r#"<!doctype html><html><head><title>The Eiffel Tower</title>
<style>body { font-family: STYLE_MARK }</style>
<script>window.tracker = "SCRIPT_MARK";</script></head>
<body><nav class="menu"><a href="/">Home</a><a href="/news">NAV_MARK News</a><a href="/shop">Shop</a></nav>
<div id="content"><article><h1>The Eiffel Tower</h1>
<p>The Eiffel Tower was completed in March 1889 as the entrance arch of the World's Fair held in Paris that year, and it was the tallest structure in the world until 1930. ARTICLE_MARK_ONE</p>
<p>It was designed by the engineering company of Gustave Eiffel, whose engineers Maurice Koechlin and Emile Nouguier drew the first sketches in 1884, and it is 330 metres tall today. ARTICLE_MARK_TWO</p>
<p>About seven million people visit it every year, which makes it one of the most visited paid monuments in the world, and its lifts carry them to three levels.</p>
</article></div>
<footer>FOOTER_MARK Terms, privacy and cookies</footer>
<script>track("SCRIPT_MARK_TWO")</script></body></html>"#;

/// A page server on 127.0.0.1 that records the path of every request it gets.
#[derive(Clone)]
struct Pages {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<String>>>,
    /// Where `/elsewhere` redirects.
    elsewhere: Arc<Mutex<String>>,
}

fn typed(content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder().content_type(content_type).body(body)
}

fn redirect(to: &str) -> Response {
    Response::builder().status(StatusCode::FOUND).header("location", to).finish()
}

#[handler]
async fn serve_page(req: &Request, shared: Data<&Shared>) -> Response {
    let path = req.uri().path().to_string();
    shared.seen.lock().unwrap().push(format!(
        "{} {}",
        req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or(""),
        path
    ));
    let html = "text/html; charset=utf-8";
    if let Some(n) = path.strip_prefix("/hops/").and_then(|n| n.parse::<u32>().ok()) {
        return if n == 0 { typed(html, ARTICLE) } else { redirect(&format!("/hops/{}", n - 1)) };
    }
    match path.as_str() {
        "/article" => typed(html, ARTICLE),
        "/plain" => typed("text/plain; charset=utf-8", "Plain words, taken as they are.\n<b>not markup</b>"),
        "/big-plain" => typed("text/plain", "abcdefghij".repeat(MAX_BYTES)),
        "/big-html" => {
            let paragraph = "<p>A long paragraph about the history of the tower, repeated many times over. </p>";
            typed(
                html,
                format!(
                    "<html><head><title>Big</title></head><body><article>{}</article></body></html>",
                    paragraph.repeat(500)
                ),
            )
        }
        "/endless" => {
            let chunks =
                futures_util::stream::repeat_with(|| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'a'; 8192])));
            typed("text/plain", Body::from_bytes_stream(chunks))
        }
        "/latin1.html" => typed(
            "text/html; charset=windows-1252",
            b"<html><head><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e \x80 5</p></body></html>"
                .to_vec(),
        ),
        "/deep.html" => typed(
            html,
            format!("<html><body>{}deep{}</body></html>", "<div><span>".repeat(60_000), "</span></div>".repeat(60_000)),
        ),
        "/gzipped" => Response::builder()
            .content_type("text/html")
            .header("content-encoding", "gzip")
            .body(b"\x1f\x8b\x08\x00\x00\x00\x00\x00".to_vec()),
        "/doc.pdf" => typed("application/pdf", provider::pdf("Minutes of the council meeting")),
        "/octet.pdf" => typed("application/octet-stream", provider::pdf("Served as octets")),
        "/octet.bin" => typed("application/octet-stream", vec![0u8, 1, 2, 3]),
        "/image.png" => typed("image/png", provider::PNG),
        "/untyped" => Response::builder().body(ARTICLE),
        "/loop/a" => redirect("/loop/b"),
        "/loop/b" => redirect("/loop/a"),
        "/self" => redirect("/self"),
        "/to-file" => redirect("file:///etc/passwd"),
        "/elsewhere" => redirect(&shared.elsewhere.lock().unwrap().clone()),
        "/no-location" => Response::builder().status(StatusCode::FOUND).finish(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            typed(html, ARTICLE)
        }
        "/broken" => Response::builder().status(StatusCode::SERVICE_UNAVAILABLE).body("down"),
        "/damaged.pdf" => typed("application/pdf", b"%PDF-1.4\nthis is not really a pdf".to_vec()),
        _ => Response::builder().status(StatusCode::NOT_FOUND).body("no such page"),
    }
}

impl Pages {
    async fn start() -> Self {
        Self::start_redirecting_elsewhere("/article").await
    }

    async fn start_redirecting_elsewhere(elsewhere: &str) -> Self {
        let seen = Arc::new(Mutex::new(vec![]));
        let shared = Shared { seen: seen.clone(), elsewhere: Arc::new(Mutex::new(elsewhere.to_string())) };
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind page server");
        let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
        let app = Route::new().at("/*path", poem::get(serve_page)).data(shared);
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self { port, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn extractor() -> Arc<Extractor> {
    let limits = Limits { memory_bytes: 512 << 20, timeout: Duration::from_secs(10), max_output: 1 << 20 };
    Arc::new(Extractor::new(env!("CARGO_BIN_EXE_clara-backend").into(), limits, 2))
}

fn config(allow_private: bool) -> FetchConfig {
    FetchConfig {
        allow_private_networks: allow_private,
        max_bytes: MAX_BYTES,
        timeout: Duration::from_secs(10),
        max_redirects: 5,
        own_pages: None,
    }
}

fn open_fetcher() -> Fetcher {
    Fetcher::new(config(true), extractor())
}

fn closed_fetcher() -> Fetcher {
    Fetcher::new(config(false), extractor())
}

/// Names mapped to addresses without DNS (loopback and unspecified only, so a faulty
/// fetcher could not reach anything beyond this machine either); records each question.
struct FakeDns {
    names: HashMap<String, Vec<IpAddr>>,
    asked: Mutex<Vec<String>>,
}

impl FakeDns {
    fn new(names: &[(&str, &[&str])]) -> Arc<Self> {
        let names = names
            .iter()
            .map(|(name, ips)| {
                let ips: Vec<IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
                assert!(ips.iter().all(|ip| ip.is_loopback() || ip.is_unspecified()), "test DNS stays on this machine");
                (name.to_string(), ips)
            })
            .collect();
        Arc::new(Self { names, asked: Mutex::new(vec![]) })
    }
}

#[async_trait::async_trait]
impl Resolve for FakeDns {
    async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        self.asked.lock().unwrap().push(host.to_string());
        self.names.get(host).cloned().ok_or_else(|| std::io::Error::other("NXDOMAIN"))
    }
}

#[tokio::test]
async fn an_html_page_gives_its_title_and_main_text_without_boilerplate() {
    let pages = Pages::start().await;
    let page = open_fetcher().fetch(&pages.url("/article")).await.unwrap();
    assert_eq!(page.url, pages.url("/article"));
    assert_eq!(page.title.as_deref(), Some("The Eiffel Tower"));
    assert_eq!(page.content_type, "text/html");
    assert!(!page.truncated);
    assert!(page.text.contains("ARTICLE_MARK_ONE") && page.text.contains("ARTICLE_MARK_TWO"), "{}", page.text);
    assert!(page.text.contains("completed in March 1889"), "{}", page.text);
    for mark in ["NAV_MARK", "SCRIPT_MARK", "STYLE_MARK", "FOOTER_MARK", "tracker", "font-family"] {
        assert!(!page.text.contains(mark), "{mark} leaked into {}", page.text);
    }
    assert!(time::OffsetDateTime::parse(&page.retrieved_at, &time::format_description::well_known::Rfc3339).is_ok());
    // The result is what the tool loop serialises for the model.
    let json = serde_json::to_value(&page).unwrap();
    for field in ["url", "title", "text", "content_type", "retrieved_at", "truncated"] {
        assert!(json.get(field).is_some(), "{field}");
    }
}

#[tokio::test]
async fn plain_text_is_taken_as_it_is_legacy_charsets_are_decoded_and_html_is_recognised_without_a_content_type() {
    let pages = Pages::start().await;
    let fetcher = open_fetcher();
    let page = fetcher.fetch(&pages.url("/plain")).await.unwrap();
    assert_eq!(page.content_type, "text/plain");
    assert_eq!(page.title, None);
    assert_eq!(page.text, "Plain words, taken as they are.\n<b>not markup</b>");
    let page = fetcher.fetch(&pages.url("/latin1.html")).await.unwrap();
    assert_eq!(page.title.as_deref(), Some("Café"));
    assert!(page.text.contains("Crème brûlée € 5"), "{}", page.text);
    let page = fetcher.fetch(&pages.url("/untyped")).await.unwrap();
    assert_eq!(page.content_type, "text/html");
    assert!(page.text.contains("ARTICLE_MARK_ONE") && !page.text.contains("SCRIPT_MARK"));
}

#[tokio::test]
async fn an_oversized_page_is_cut_at_the_cap_and_says_so() {
    let pages = Pages::start().await;
    let fetcher = open_fetcher();
    let page = fetcher.fetch(&pages.url("/big-plain")).await.unwrap();
    assert!(page.truncated);
    assert_eq!(page.text.len(), MAX_BYTES);
    assert!(page.text.starts_with("abcdefghij"));

    let page = fetcher.fetch(&pages.url("/big-html")).await.unwrap();
    assert!(page.truncated);
    assert!(page.text.len() <= MAX_BYTES);
    assert!(page.text.contains("history of the tower"), "{}", page.text);

    // A body that never ends: reading stops at the cap instead of buffering it.
    let started = Instant::now();
    let page = fetcher.fetch(&pages.url("/endless")).await.unwrap();
    assert!(page.truncated);
    assert_eq!(page.text.len(), MAX_BYTES);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit_and_loops_are_refused() {
    let pages = Pages::start().await;
    let fetcher = open_fetcher();
    let page = fetcher.fetch(&pages.url("/hops/5")).await.unwrap();
    assert_eq!(page.url, pages.url("/hops/0"), "the final URL is reported");
    assert_eq!(page.title.as_deref(), Some("The Eiffel Tower"));

    let err = fetcher.fetch(&pages.url("/hops/6")).await.unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects(5)), "{err:?}");
    assert_eq!(err.reason(), "too many redirects (more than 5)");
    let err = fetcher.fetch(&pages.url("/hops/50")).await.unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects(5)), "{err:?}");

    for looping in ["/loop/a", "/self"] {
        let err = fetcher.fetch(&pages.url(looping)).await.unwrap_err();
        assert!(matches!(err, FetchError::RedirectLoop(_)), "{looping}: {err:?}");
        assert!(err.reason().starts_with("redirect loop"), "{}", err.reason());
    }

    let err = fetcher.fetch(&pages.url("/no-location")).await.unwrap_err();
    assert!(matches!(err, FetchError::Status { status, .. } if status.as_u16() == 302), "{err:?}");
}

#[tokio::test]
async fn a_slow_page_times_out() {
    let pages = Pages::start().await;
    let fetcher = Fetcher::new(FetchConfig { timeout: Duration::from_millis(800), ..config(true) }, extractor());
    let started = Instant::now();
    let err = fetcher.fetch(&pages.url("/slow")).await.unwrap_err();
    assert!(matches!(err, FetchError::TimedOut(_)), "{err:?}");
    assert!(err.reason().contains("took longer than 0.8 s"), "{}", err.reason());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn http_errors_carry_their_status() {
    let pages = Pages::start().await;
    let fetcher = open_fetcher();
    let err = fetcher.fetch(&pages.url("/nowhere")).await.unwrap_err();
    assert!(matches!(err, FetchError::Status { status, .. } if status.as_u16() == 404), "{err:?}");
    assert!(err.reason().contains("HTTP 404 Not Found"), "{}", err.reason());
    let err = fetcher.fetch(&pages.url("/broken")).await.unwrap_err();
    assert!(err.reason().contains("HTTP 503 Service Unavailable"), "{}", err.reason());
}

#[tokio::test]
async fn a_pdf_is_read_by_the_child() {
    let pages = Pages::start().await;
    let fetcher = open_fetcher();
    let page = fetcher.fetch(&pages.url("/doc.pdf")).await.unwrap();
    assert_eq!(page.content_type, "application/pdf");
    assert!(page.text.contains("Minutes of the council meeting"), "{}", page.text);
    assert!(!page.truncated);
    // Sent as octets but starting with %PDF.
    let page = fetcher.fetch(&pages.url("/octet.pdf")).await.unwrap();
    assert!(page.text.contains("Served as octets"), "{}", page.text);
    let err = fetcher.fetch(&pages.url("/damaged.pdf")).await.unwrap_err();
    assert!(matches!(err, FetchError::Extraction(_)), "{err:?}");
    assert_eq!(err.reason(), "the page could not be read: the PDF is damaged or unreadable");
}

#[tokio::test]
async fn other_content_types_are_refused_with_a_reason() {
    let pages = Pages::start().await;
    let fetcher = open_fetcher();
    let err = fetcher.fetch(&pages.url("/image.png")).await.unwrap_err();
    assert!(matches!(&err, FetchError::UnsupportedContentType(t) if t == "image/png"), "{err:?}");
    assert!(err.reason().starts_with("unsupported content type image/png"), "{}", err.reason());
    let err = fetcher.fetch(&pages.url("/gzipped")).await.unwrap_err();
    assert_eq!(err.reason(), "the page was sent compressed (gzip), which is not read");
    let err = fetcher.fetch(&pages.url("/octet.bin")).await.unwrap_err();
    assert!(err.reason().starts_with("unsupported content type application/octet-stream"), "{}", err.reason());
}

/// Hostile markup is parsed in the child: nesting 120,000 elements deep ends as text or
/// as a reason (today: the child's time limit), in bounded time, and this process
/// carries on.
#[tokio::test]
async fn deeply_nested_html_cannot_hurt_the_server() {
    let pages = Pages::start().await;
    let limits = Limits { memory_bytes: 512 << 20, timeout: Duration::from_secs(3), max_output: 1 << 20 };
    let extractor = Arc::new(Extractor::new(env!("CARGO_BIN_EXE_clara-backend").into(), limits, 2));
    let fetcher =
        Fetcher::new(FetchConfig { max_bytes: 4 << 20, timeout: Duration::from_secs(30), ..config(true) }, extractor);
    let started = Instant::now();
    match fetcher.fetch(&pages.url("/deep.html")).await {
        Ok(page) => assert!(!page.truncated),
        Err(err) => assert!(matches!(err, FetchError::Extraction(_)), "{err:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let page = fetcher.fetch(&pages.url("/article")).await.unwrap();
    assert_eq!(page.title.as_deref(), Some("The Eiffel Tower"));
}

/// With the flag off, every spelling of this machine is refused before any connection:
/// the page server never hears a request.
#[tokio::test]
async fn with_private_networks_closed_loopback_is_refused_before_connecting() {
    let pages = Pages::start().await;
    let fetcher = closed_fetcher();
    let port = pages.port;
    for url in [
        pages.url("/article"),
        format!("https://127.0.0.1:{port}/article"),
        format!("http://[::1]:{port}/article"),
        format!("http://localhost:{port}/article"),
        format!("http://LOCALHOST:{port}/article"),
        format!("http://user:secret@127.0.0.1:{port}/article"),
        format!("http://127.1:{port}/article"),
        format!("http://2130706433:{port}/article"),
        format!("http://0x7f.0.0.1:{port}/article"),
        format!("http://[::ffff:127.0.0.1]:{port}/article"),
        format!("http://[::ffff:7f00:1]:{port}/article"),
        format!("http://[64:ff9b::7f00:1]:{port}/article"),
        format!("http://127.0.0.1:{port}/hops/3"),
        "http://127.0.0.1/article".to_string(),
        "http://127.0.0.1:65535/article".to_string(),
        "http://127.0.0.2:1/article".to_string(),
    ] {
        let err = fetcher.fetch(&url).await.unwrap_err();
        assert!(matches!(err, FetchError::Refused { reason: Refusal::Loopback, .. }), "{url}: {err:?}");
        assert_eq!(err.reason(), "refused: the address is not public", "{url}");
    }
    // The address a name resolved to is not shown (to the model, or to the user in the steps).
    let err = fetcher.fetch(&format!("http://localhost:{port}/article")).await.unwrap_err();
    assert!(matches!(err, FetchError::Refused { reason: Refusal::Loopback, .. }), "{err:?}");
    assert_eq!(err.reason(), "refused: the address is not public");
    assert_eq!(pages.seen(), Vec::<String>::new(), "no request reached the page server");
}

#[tokio::test]
async fn the_unspecified_address_is_refused_even_with_private_networks_open() {
    let pages = Pages::start().await;
    let err = open_fetcher().fetch(&format!("http://0.0.0.0:{}/article", pages.port)).await.unwrap_err();
    assert!(matches!(err, FetchError::Refused { reason: Refusal::Unspecified, .. }), "{err:?}");
    let err = open_fetcher().fetch(&format!("http://[::]:{}/article", pages.port)).await.unwrap_err();
    assert!(matches!(err, FetchError::Refused { reason: Refusal::Unspecified, .. }), "{err:?}");
    assert!(pages.seen().is_empty());
}

/// Each redirect hop is checked like the first URL: here the first hop is allowed (the
/// flag is on, and loopback is open) and the second goes to an address that stays
/// refused; the second server never hears a request.
#[tokio::test]
async fn every_redirect_hop_is_checked_before_connecting() {
    let target = Pages::start().await;
    let to_unspecified = Pages::start_redirecting_elsewhere(&format!("http://0.0.0.0:{}/article", target.port)).await;
    let err = open_fetcher().fetch(&to_unspecified.url("/elsewhere")).await.unwrap_err();
    assert!(matches!(err, FetchError::Refused { reason: Refusal::Unspecified, .. }), "{err:?}");
    assert_eq!(to_unspecified.seen().len(), 1, "the first hop was fetched");
    assert!(target.seen().is_empty(), "the refused hop was never connected to");

    // A name whose addresses include a refused one is refused as a whole.
    let dns = FakeDns::new(&[("mixed.test", &["127.0.0.1", "0.0.0.0"])]);
    let via_name = Pages::start_redirecting_elsewhere(&format!("http://mixed.test:{}/article", target.port)).await;
    let err = open_fetcher().with_resolver(dns.clone()).fetch(&via_name.url("/elsewhere")).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Refused { ref host, reason: Refusal::Unspecified, .. } if host == "mixed.test"),
        "{err:?}"
    );
    assert_eq!(*dns.asked.lock().unwrap(), vec!["mixed.test"]);
    assert!(target.seen().is_empty());

    // Schemes are checked on every hop too.
    let err = open_fetcher().fetch(&target.url("/to-file")).await.unwrap_err();
    assert!(matches!(&err, FetchError::UnsupportedScheme(s) if s == "file"), "{err:?}");
}

/// The connection goes to the address that was resolved and checked, not to a second
/// lookup: `pages.test` exists only in the fake resolver, and the request arrives.
#[tokio::test]
async fn the_connection_goes_to_the_checked_address() {
    let pages = Pages::start().await;
    let dns = FakeDns::new(&[("pages.test", &["127.0.0.1"])]);
    let page = open_fetcher()
        .with_resolver(dns.clone())
        .fetch(&format!("http://pages.test:{}/article", pages.port))
        .await
        .unwrap();
    assert_eq!(page.title.as_deref(), Some("The Eiffel Tower"));
    assert_eq!(pages.seen(), vec![format!("pages.test:{} /article", pages.port)]);
    assert_eq!(*dns.asked.lock().unwrap(), vec!["pages.test"]);

    // Same name, flag off: refused after resolution, before connecting.
    let err = closed_fetcher()
        .with_resolver(dns.clone())
        .fetch(&format!("http://pages.test:{}/article", pages.port))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Refused { reason: Refusal::Loopback, .. }), "{err:?}");
    assert_eq!(err.reason(), "refused: the address is not public");
    assert_eq!(pages.seen().len(), 1);

    // A name that does not resolve.
    let err = open_fetcher().with_resolver(dns).fetch("http://nowhere.test/").await.unwrap_err();
    assert!(matches!(err, FetchError::Dns(_)), "{err:?}");
    assert_eq!(err.reason(), "the host nowhere.test could not be resolved");
}

#[tokio::test]
async fn other_schemes_and_bad_urls_are_refused_without_a_request() {
    let fetcher = open_fetcher();
    for (url, scheme) in [
        ("file:///etc/passwd", "file"),
        ("ftp://127.0.0.1/pub", "ftp"),
        ("gopher://127.0.0.1:70/", "gopher"),
        ("data:text/html,<p>hi</p>", "data"),
    ] {
        let err = fetcher.fetch(url).await.unwrap_err();
        assert!(matches!(&err, FetchError::UnsupportedScheme(s) if s == scheme), "{url}: {err:?}");
        assert!(err.reason().contains("only http:// and https://"), "{}", err.reason());
    }
    for url in ["", "not a url", "http://"] {
        assert!(matches!(fetcher.fetch(url).await, Err(FetchError::InvalidUrl(_))), "{url}");
    }
}

#[tokio::test]
async fn a_closed_port_is_a_connection_error() {
    // Bind then drop, so the port is very likely closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = open_fetcher().fetch(&format!("http://127.0.0.1:{port}/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Connect { .. }), "{err:?}");
    assert!(err.reason().starts_with("could not connect to 127.0.0.1"), "{}", err.reason());
}

fn html_cases() -> u32 {
    std::env::var("HTML_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

/// Random markup: tags (known and not), attributes, text, comments, stray brackets,
/// nested to a random depth.
fn markup() -> impl Strategy<Value = String> {
    let tag = prop::sample::select(vec![
        "html",
        "head",
        "title",
        "body",
        "div",
        "p",
        "a",
        "nav",
        "script",
        "style",
        "table",
        "tr",
        "td",
        "ul",
        "li",
        "article",
        "section",
        "span",
        "b",
        "i",
        "svg",
        "math",
        "template",
        "iframe",
        "noscript",
        "form",
        "x-y",
        "h1",
        "pre",
        "br",
        "img",
        "select",
        "option",
        "textarea",
        "plaintext",
        "xmp",
    ]);
    let leaf = prop_oneof![
        "[a-zA-Z0-9 .,;:!?'\"&#<>/=\\-]{0,40}",
        Just("<!-- c -->".to_string()),
        Just("<![CDATA[x]]>".to_string()),
        Just("&amp;&lt;&#x1F600;&#0;&bogus;".to_string()),
        Just("<".to_string()),
        Just("</p></div></html>".to_string()),
        any::<String>(),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        (tag.clone(), "[a-z]{0,6}(=\"[^\"]{0,8}\")?", prop::collection::vec(inner, 0..6))
            .prop_map(|(tag, attribute, children)| format!("<{tag} {attribute}>{}</{tag}>", children.concat()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: html_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// The extraction the child runs never panics on random markup or random bytes, and
    /// its title stays on one line (the framing depends on it).
    #[test]
    fn html_extraction_never_panics(html in markup(), noise in prop::collection::vec(any::<u8>(), 0..256)) {
        for input in [html.as_bytes().to_vec(), noise] {
            let page = clara_backend::isolate::html_text(&input);
            prop_assert!(!page.title.contains('\n'));
            let framed = page.framed();
            prop_assert_eq!(clara_backend::isolate::HtmlText::unframe(&framed), page);
        }
    }
}
