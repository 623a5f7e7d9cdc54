//! `fetch_url`: one web page, read for a model (issue 14).
//!
//! Only http(s). The host is resolved here and every address it resolves to is checked
//! ([`address`]); the connection then goes to exactly those addresses (the HTTP client
//! gets a resolver that answers with them and nothing else), so a second DNS answer
//! cannot swap in an internal address. Redirects are followed by hand, each hop checked
//! the same way, at most [`FetchConfig::max_redirects`], loops refused. The whole fetch
//! (resolution, redirects, body, extraction) is bounded by one timeout and the body by
//! `FETCH_MAX_BYTES`: reading stops at the cap and the text says it was cut.
//!
//! The bytes are untrusted: HTML and PDF are parsed in the isolated child
//! ([`crate::isolate`]), never in this process. Plain text is taken as it is.
//!
//! Every failure is a [`FetchError`] whose message is a short sentence meant for the
//! model (the tool loop hands it over as the tool's result).

pub use rules::net::address;

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use serde::Serialize;
use url::{Host, Url};

pub use self::address::Refusal;
use crate::{
    config::Config,
    isolate::{Extractor, IsolateError, Kind},
};

/// The limits of one fetch.
#[derive(Clone, Debug)]
pub struct FetchConfig {
    /// `FETCH_ALLOW_PRIVATE_NETWORKS`: see [`address`] for what it opens.
    pub allow_private_networks: bool,
    /// `FETCH_MAX_BYTES`: body bytes read at most, and text returned at most.
    pub max_bytes: usize,
    /// `FETCH_TIMEOUT_SECS`: the whole fetch, extraction included.
    pub timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// Sandbox mode only: this server's own sandbox pages (its loopback address and the
    /// pages' path), the one private target the sandbox's search results point at.
    pub own_pages: Option<(SocketAddr, String)>,
}

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

impl FetchConfig {
    pub fn from_config(config: &Config) -> Self {
        Self {
            allow_private_networks: config.agent.fetch_allow_private_networks,
            max_bytes: config.agent.fetch_max_bytes,
            timeout: config.agent.fetch_timeout,
            max_redirects: MAX_REDIRECTS,
            own_pages: config.sandbox.then(|| {
                let own = SocketAddr::new(config.loopback_ip(), config.http.port);
                (own, crate::config::sandbox::PAGES_PATH.to_string())
            }),
        }
    }
}

/// A page as the model reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FetchedPage {
    /// Where the text came from, after redirects.
    pub url: String,
    /// The HTML `<title>`; None for PDFs, plain text and untitled pages.
    pub title: Option<String>,
    /// The main text (HTML without navigation, scripts and styles; a PDF's text).
    pub text: String,
    /// What the text was read as: `text/html`, `application/pdf` or `text/plain`.
    pub content_type: String,
    /// RFC 3339, UTC.
    pub retrieved_at: String,
    /// The body or the text was longer than `FETCH_MAX_BYTES` and was cut.
    pub truncated: bool,
}

/// Why a page was not fetched. `to_string()` is the reason to show the model.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not a valid URL")]
    InvalidUrl(String),
    #[error("only http:// and https:// URLs can be fetched, not {0}:")]
    UnsupportedScheme(String),
    /// Which address and why stay in the log: the model and the user learn only that the
    /// address is not public, not what a name resolves to inside the network.
    #[error("refused: the address is not public")]
    Refused { host: String, ip: IpAddr, reason: Refusal },
    #[error("the host {0} could not be resolved")]
    Dns(String),
    #[error("could not connect to {host}: {detail}")]
    Connect { host: String, detail: String },
    #[error("reading the page from {host} failed: {detail}")]
    Read { host: String, detail: String },
    #[error("the fetch took longer than {} s and was stopped", .0.as_secs_f32())]
    TimedOut(Duration),
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(usize),
    #[error("redirect loop: {0} redirects back to a page already visited")]
    RedirectLoop(String),
    #[error("bad redirect from {url}: {detail}")]
    BadRedirect { url: String, detail: String },
    #[error("the server answered HTTP {status} for {url}")]
    Status { status: reqwest::StatusCode, url: String },
    #[error("unsupported content type {0}: only HTML pages, PDFs and plain text are read")]
    UnsupportedContentType(String),
    #[error("the page was sent compressed ({0}), which is not read")]
    UnsupportedEncoding(String),
    #[error("the page could not be read: {0}")]
    Extraction(String),
}

impl FetchError {
    /// The sentence for the model.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

pub use rules::net::{Resolve, SystemResolver};

/// The HTTP client's resolver for one request: the addresses already checked, whatever
/// name it is asked about (the client is asked about one host only).
pub struct Pinned(pub Vec<SocketAddr>);

impl reqwest::dns::Resolve for Pinned {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addrs = self.0.clone();
        Box::pin(async move { Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs) })
    }
}

const USER_AGENT: &str = concat!("Clara/", env!("CARGO_PKG_VERSION"), " (fact-checking; fetch_url)");
const ACCEPTED: &str = "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8";

/// What a body is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Html,
    Pdf,
    Text,
    /// No usable Content-Type: decided from the first bytes.
    Sniff,
    /// `application/octet-stream`: read only if it is a PDF.
    PdfOnly,
}

pub struct Fetcher {
    config: FetchConfig,
    extractor: Arc<Extractor>,
    resolver: Arc<dyn Resolve>,
}

impl Fetcher {
    pub fn new(config: FetchConfig, extractor: Arc<Extractor>) -> Self {
        Self { config, extractor, resolver: Arc::new(SystemResolver) }
    }

    /// The same with another resolver (tests map names to loopback without DNS).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
    }

    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Fetches `url` and reduces it to text. Never panics on what the server sends.
    pub async fn fetch(&self, url: &str) -> Result<FetchedPage, FetchError> {
        match tokio::time::timeout(self.config.timeout, self.fetch_unbounded(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::TimedOut(self.config.timeout)),
        }
    }

    async fn fetch_unbounded(&self, url: &str) -> Result<FetchedPage, FetchError> {
        let mut current = parse_target(url)?;
        let mut visited = HashSet::from([current.to_string()]);
        let mut redirects = 0;
        loop {
            let response = self.request(&current).await?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(LOCATION)
            {
                let bad = |detail: &str| FetchError::BadRedirect { url: current.to_string(), detail: detail.into() };
                let location = location.to_str().map_err(|_| bad("the Location header is not text"))?;
                let mut next = current.join(location).map_err(|_| bad("the Location header is not a URL"))?;
                next.set_fragment(None);
                check_scheme(&next)?;
                if !visited.insert(next.to_string()) {
                    return Err(FetchError::RedirectLoop(current.to_string()));
                }
                redirects += 1;
                if redirects > self.config.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.config.max_redirects));
                }
                current = next;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status { status, url: current.to_string() });
            }
            return self.read(current, response).await;
        }
    }

    /// Resolves, checks every address, then sends the request to those addresses only.
    async fn request(&self, url: &Url) -> Result<reqwest::Response, FetchError> {
        let host = url.host().ok_or_else(|| FetchError::InvalidUrl(url.to_string()))?;
        let host_text = host.to_string();
        let port = url.port_or_known_default().ok_or_else(|| FetchError::InvalidUrl(url.to_string()))?;
        let addresses: Vec<IpAddr> = match host {
            Host::Ipv4(v4) => vec![v4.into()],
            Host::Ipv6(v6) => vec![v6.into()],
            Host::Domain(name) => {
                let found = self.resolver.resolve(name, port).await.map_err(|err| {
                    tracing::debug!(host = name, %err, "fetch: resolution failed");
                    FetchError::Dns(name.to_string())
                })?;
                if found.is_empty() {
                    return Err(FetchError::Dns(name.to_string()));
                }
                found
            }
        };
        let own_page = self.config.own_pages.as_ref().is_some_and(|(own, path)| {
            addresses.iter().all(|ip| SocketAddr::new(*ip, port) == *own) && url.path().starts_with(path.as_str())
        });
        if !own_page {
            address::check_all(&addresses, self.config.allow_private_networks).map_err(|(ip, reason)| {
                tracing::info!(host = %host_text, %ip, %reason, "fetch: refused, the address is not public");
                FetchError::Refused { host: host_text.clone(), ip, reason }
            })?;
        }
        let pinned = Pinned(addresses.iter().map(|ip| SocketAddr::new(*ip, port)).collect());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(pinned)
            .user_agent(USER_AGENT)
            .connect_timeout(self.config.timeout)
            .build()
            .map_err(|err| FetchError::Connect { host: host_text.clone(), detail: err.to_string() })?;
        // Anyone's page: a span, but no trace context sent along.
        let request = client.get(url.clone()).header(ACCEPT, ACCEPTED);
        crate::telemetry::send(request, "fetch_url", crate::telemetry::Propagate::No)
            .await
            .map_err(|err| FetchError::Connect { host: host_text, detail: describe(&err.without_url()) })
    }

    async fn read(&self, url: Url, mut response: reqwest::Response) -> Result<FetchedPage, FetchError> {
        let mime = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok());
        let declared = mime.as_ref().map(|m| m.essence_str().to_ascii_lowercase());
        let charset = mime.as_ref().and_then(|m| m.get_param(mime::CHARSET)).map(|c| c.as_str().to_string());
        let mut body = match declared.as_deref() {
            Some("text/html" | "application/xhtml+xml") => Body::Html,
            Some("application/pdf" | "application/x-pdf") => Body::Pdf,
            Some("text/plain") => Body::Text,
            Some("application/octet-stream" | "binary/octet-stream") => Body::PdfOnly,
            None => Body::Sniff,
            Some(other) => return Err(FetchError::UnsupportedContentType(other.to_string())),
        };
        // None is asked for (no Accept-Encoding), so none is decoded: a server that
        // compresses anyway would hand the reader unreadable bytes.
        if let Some(encoding) = response.headers().get(reqwest::header::CONTENT_ENCODING) {
            let encoding = String::from_utf8_lossy(encoding.as_bytes()).trim().to_ascii_lowercase();
            if !encoding.is_empty() && encoding != "identity" {
                return Err(FetchError::UnsupportedEncoding(encoding.chars().take(40).collect()));
            }
        }
        let max = self.config.max_bytes;
        let mut bytes = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|err| FetchError::Read {
            host: url.host_str().unwrap_or_default().to_string(),
            detail: describe(&err.without_url()),
        })? {
            let room = max - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        drop(response);
        if bytes.starts_with(b"%PDF-") {
            body = Body::Pdf;
        }
        body = match body {
            Body::Sniff if looks_like_html(&bytes) => Body::Html,
            Body::Sniff if std::str::from_utf8(&bytes).is_ok() && !bytes.contains(&0) => Body::Text,
            Body::Sniff => return Err(FetchError::UnsupportedContentType("unknown (no Content-Type)".into())),
            Body::PdfOnly => return Err(FetchError::UnsupportedContentType("application/octet-stream".into())),
            other => other,
        };
        let (content_type, title, text) = match body {
            Body::Html => {
                let page = self
                    .extractor
                    .extract_html(to_utf8(bytes, charset.as_deref()))
                    .await
                    .map_err(|e| extraction_error(e, "HTML"))?;
                let title = Some(page.title).filter(|t| !t.is_empty());
                ("text/html", title, page.text)
            }
            Body::Pdf => {
                let text = self.extractor.extract(Kind::PdfText, bytes).await.map_err(|err| {
                    if truncated {
                        FetchError::Extraction(format!(
                            "the PDF is larger than {max} bytes and was cut, so it could not be read"
                        ))
                    } else {
                        extraction_error(err, "PDF")
                    }
                })?;
                // The child cuts text at its cap (on a character boundary).
                truncated |= text.len() + 4 > self.extractor.max_output();
                ("application/pdf", None, text)
            }
            _ => ("text/plain", None, String::from_utf8_lossy(&to_utf8(bytes, charset.as_deref())).into_owned()),
        };
        let text = if text.len() > max {
            truncated = true;
            cut(&text, max).to_string()
        } else {
            text
        };
        Ok(FetchedPage {
            url: url.to_string(),
            title,
            text,
            content_type: content_type.to_string(),
            retrieved_at: now_rfc3339(),
            truncated,
        })
    }
}

/// Parses a URL given by the model: http(s) with a host.
fn parse_target(url: &str) -> Result<Url, FetchError> {
    let mut parsed = Url::parse(url.trim()).map_err(|_| FetchError::InvalidUrl(url.chars().take(200).collect()))?;
    check_scheme(&parsed)?;
    if parsed.host().is_none() {
        return Err(FetchError::InvalidUrl(url.chars().take(200).collect()));
    }
    parsed.set_fragment(None);
    Ok(parsed)
}

fn check_scheme(url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(FetchError::UnsupportedScheme(other.to_string())),
    }
}

/// The body in UTF-8, decoded from the declared charset (or a byte-order mark) with
/// `encoding_rs`, Firefox's decoder: linear, allocation-bounded, made for hostile web
/// content, so it runs here; the HTML itself is still parsed only in the child. Bytes
/// without a usable charset are passed on as they are (read as UTF-8, lossily).
fn to_utf8(bytes: Vec<u8>, charset: Option<&str>) -> Vec<u8> {
    let declared = charset.and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
    let bom = encoding_rs::Encoding::for_bom(&bytes).map(|(encoding, _)| encoding);
    match bom.or(declared) {
        None => bytes,
        Some(encoding) if encoding == encoding_rs::UTF_8 && bom.is_none() => bytes,
        Some(encoding) => encoding.decode(&bytes).0.into_owned().into_bytes(),
    }
}

/// A doctype or an `<html>`, `<head>` or `<body>` tag near the start.
fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    ["<!doctype html", "<html", "<head", "<body"].iter().any(|tag| head.contains(tag))
}

fn extraction_error(err: IsolateError, what: &str) -> FetchError {
    FetchError::Extraction(match err {
        IsolateError::TimedOut => format!("reading the {what} took too long"),
        IsolateError::TooMuchMemory => format!("the {what} needs too much memory to read"),
        IsolateError::TooMuchOutput => format!("the {what} holds too much text"),
        IsolateError::Unreadable | IsolateError::Crashed => format!("the {what} is damaged or unreadable"),
        IsolateError::Unavailable(_) => "the server could not start its reader".into(),
    })
}

/// The error and its causes on one line, at most 300 characters.
fn describe(err: &reqwest::Error) -> String {
    crate::clients::error_chain(err).chars().take(300).collect()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_with_a_host_are_targets() {
        for ok in ["http://example.com/", "https://example.com/a?b#frag", "HTTP://EXAMPLE.com"] {
            assert!(parse_target(ok).is_ok(), "{ok}");
        }
        assert_eq!(parse_target("https://example.com/a#frag").unwrap().as_str(), "https://example.com/a");
        for (bad, scheme) in [
            ("file:///etc/passwd", "file"),
            ("ftp://example.com/x", "ftp"),
            ("gopher://example.com/", "gopher"),
            ("javascript:alert(1)", "javascript"),
            ("data:text/html,hi", "data"),
        ] {
            match parse_target(bad) {
                Err(FetchError::UnsupportedScheme(s)) => assert_eq!(s, scheme),
                other => panic!("{bad}: {other:?}"),
            }
        }
        for bad in ["not a url", "", "http://", "//example.com/x"] {
            assert!(matches!(parse_target(bad), Err(FetchError::InvalidUrl(_))), "{bad}");
        }
    }

    #[test]
    fn odd_spellings_of_loopback_parse_to_the_address_that_is_checked() {
        for spelled in ["http://0x7f.1/", "http://2130706433/", "http://127.1/", "http://0177.0.0.1/"] {
            let url = parse_target(spelled).unwrap();
            assert_eq!(url.host(), Some(Host::Ipv4([127, 0, 0, 1].into())), "{spelled}");
        }
        let url = parse_target("http://[::ffff:127.0.0.1]:8080/").unwrap();
        let Some(Host::Ipv6(v6)) = url.host() else { panic!("{url}") };
        assert_eq!(address::classify(v6.into()), Some(Refusal::Loopback));
    }

    #[test]
    fn refusals_do_not_name_the_address_a_host_resolved_to() {
        for err in [
            FetchError::Refused { host: "localhost".into(), ip: [127, 0, 0, 1].into(), reason: Refusal::Loopback },
            FetchError::Refused { host: "[::1]".into(), ip: "::1".parse().unwrap(), reason: Refusal::Loopback },
            FetchError::Refused { host: "intranet.test".into(), ip: [10, 1, 2, 3].into(), reason: Refusal::Private },
        ] {
            assert_eq!(err.reason(), "refused: the address is not public");
        }
    }

    #[test]
    fn declared_charsets_and_byte_order_marks_are_decoded() {
        assert_eq!(to_utf8(b"caf\xe9".to_vec(), Some("windows-1252")), "café".as_bytes());
        assert_eq!(to_utf8(b"caf\xe9".to_vec(), Some("ISO-8859-1")), "café".as_bytes());
        assert_eq!(to_utf8(b"\xef\xbb\xbfhi".to_vec(), Some("windows-1252")), b"hi");
        assert_eq!(to_utf8(b"\xff\xfeh\0i\0".to_vec(), None), b"hi");
        assert_eq!(to_utf8("café".as_bytes().to_vec(), Some("utf-8")), "café".as_bytes());
        assert_eq!(to_utf8(b"caf\xe9".to_vec(), Some("no-such-charset")), b"caf\xe9");
        assert_eq!(to_utf8(b"caf\xe9".to_vec(), None), b"caf\xe9");
    }

    #[test]
    fn html_is_recognised_without_a_content_type() {
        assert!(looks_like_html(b"  <!DOCTYPE html><p>x"));
        assert!(looks_like_html(b"<HTML><body>x"));
        assert!(!looks_like_html(b"just some words"));
    }
}
