//! The child's side: `clara-backend __extract <kind> <max output bytes>` reads the file on
//! stdin and writes its text on stdout. It runs before any runtime, logging or
//! configuration starts, so the process holds nothing worth stealing.

use std::{
    io::{Read, Write},
    process::ExitCode,
};

use super::Kind;

/// The hidden subcommand.
pub const COMMAND: &str = "__extract";
/// The parser rejected the input (as opposed to crashing on it).
pub const EXIT_UNREADABLE: u8 = 3;
const EXIT_USAGE: u8 = 2;

/// `args` are the ones after `__extract`.
pub fn main(args: &[String]) -> ExitCode {
    let (Some(kind), Some(max_output)) =
        (args.first().and_then(|a| Kind::from_arg(a)), args.get(1).and_then(|a| a.parse::<usize>().ok()))
    else {
        eprintln!("usage: clara-backend {COMMAND} pdf|html <max output bytes>");
        return ExitCode::from(EXIT_USAGE);
    };
    let mut input = vec![];
    if std::io::stdin().lock().read_to_end(&mut input).is_err() {
        return ExitCode::from(EXIT_UNREADABLE);
    }
    let text = match kind {
        Kind::PdfText => pdf_extract::extract_text_from_mem(&input).map_err(|e| e.to_string()),
        Kind::HtmlText => Ok(html_text(&input).framed()),
    };
    match text {
        Ok(text) => {
            // Long documents are cut here, so an honest one never trips the server's cap.
            let text = cut(&text, max_output);
            let mut out = std::io::stdout().lock();
            if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
                return ExitCode::from(EXIT_UNREADABLE);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("unreadable: {err}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

/// A web page reduced to what a reader would read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HtmlText {
    /// The page's title (`<title>`, or what Readability takes for it), on one line; may be empty.
    pub title: String,
    /// The main text, without navigation, scripts, styles and other boilerplate.
    pub text: String,
}

impl HtmlText {
    /// The child's output: the title on the first line, the text after it.
    pub fn framed(&self) -> String {
        format!("{}\n{}", self.title, self.text)
    }

    /// Reads [`HtmlText::framed`] back; anything without a newline is all title.
    pub fn unframe(output: &str) -> Self {
        let (title, text) = output.split_once('\n').unwrap_or((output, ""));
        Self { title: title.to_string(), text: text.to_string() }
    }
}

/// Elements whose text is never a page's content, removed before Readability looks.
const NEVER_CONTENT: &str =
    "script, style, noscript, template, nav, [role=navigation], iframe, svg, select, button, dialog";
/// Also removed when Readability finds no article and the whole body is taken.
const BOILERPLATE: &str = "head, header, footer, aside, [role=banner], [role=contentinfo], [role=complementary]";

/// HTML to its title and main text, with `dom_smoothie`, a maintained port of Mozilla's
/// Readability (the reader view of Firefox) on `dom_query`/html5ever: it scores blocks by
/// text and link density and keeps the article, which drops navigation, sidebars and
/// footers, not only scripts and styles. `html2text` renders the whole page (menus
/// included) and `scraper` would leave the choosing of the content to us. When
/// Readability finds no article (a short page), the body's text without the usual
/// boilerplate elements is taken instead. Runs on untrusted bytes: call it only in the
/// child (or in tests).
pub fn html_text(input: &[u8]) -> HtmlText {
    let html = String::from_utf8_lossy(input);
    let config = dom_smoothie::Config { text_mode: dom_smoothie::TextMode::Formatted, ..Default::default() };
    let (fallback_title, article) = match dom_smoothie::Readability::new(html.as_ref(), None, Some(config.clone())) {
        Ok(mut readability) => {
            let title = readability.get_article_title().to_string();
            readability.doc.select(NEVER_CONTENT).remove();
            (title, readability.parse().ok())
        }
        Err(_) => (String::new(), None),
    };
    let (title, text) = match article {
        Some(article) if !article.text_content.trim().is_empty() => {
            let title = if article.title.trim().is_empty() { fallback_title } else { article.title };
            (title, article.text_content.to_string())
        }
        _ => (fallback_title, body_text(&html, config)),
    };
    HtmlText { title: one_line(&title), text: tidy(&text) }
}

/// The body's text once boilerplate elements are removed.
fn body_text(html: &str, config: dom_smoothie::Config) -> String {
    let Ok(readability) = dom_smoothie::Readability::new(html, None, Some(config)) else {
        return String::new();
    };
    let doc = readability.doc;
    doc.select(NEVER_CONTENT).remove();
    doc.select(BOILERPLATE).remove();
    doc.select("body").text().to_string()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims each line, and keeps at most one empty line between paragraphs.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines().map(one_line) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::{HtmlText, cut, html_text};

    const ARTICLE: &str = r#"<!doctype html><html><head><title>Tides and the Moon</title>
<style>.x { color: red } STYLE_MARK</style><script>var SCRIPT_MARK = 1;</script></head>
<body><nav><a href="/">Home</a> <a href="/about">NAV_MARK About us</a></nav>
<header class="site-header">HEADER_MARK Subscribe now</header>
<article><h1>Tides and the Moon</h1>
<p>The tides are caused mainly by the gravitational pull of the Moon on the oceans of the Earth, with a smaller contribution from the Sun. BODY_MARK_ONE</p>
<p>Spring tides happen when the Sun, the Moon and the Earth are aligned, at new and full moon, and their pulls add up to raise the highest high tides. BODY_MARK_TWO</p>
<p>Neap tides happen a week later, when the Sun and the Moon pull at right angles to each other and the difference between high and low tide is smallest.</p>
</article>
<footer>FOOTER_MARK Copyright and cookie policy</footer><script>SCRIPT_MARK_TWO()</script></body></html>"#;

    #[test]
    fn html_keeps_the_article_and_its_title_and_drops_the_boilerplate() {
        let page = html_text(ARTICLE.as_bytes());
        assert_eq!(page.title, "Tides and the Moon");
        assert!(page.text.contains("BODY_MARK_ONE") && page.text.contains("BODY_MARK_TWO"), "{}", page.text);
        for mark in ["NAV_MARK", "SCRIPT_MARK", "STYLE_MARK", "FOOTER_MARK", "HEADER_MARK", "color: red"] {
            assert!(!page.text.contains(mark), "{mark} in {}", page.text);
        }
    }

    #[test]
    fn a_short_page_still_gives_its_text() {
        let page = html_text(b"<html><head><title> Hi\n there </title><script>x()</script></head><body><nav>menu</nav><p>Short words.</p></body></html>");
        assert_eq!(page.title, "Hi there");
        assert!(page.text.contains("Short words."), "{page:?}");
        assert!(!page.text.contains("x()") && !page.text.contains("menu"), "{page:?}");
    }

    #[test]
    fn the_framing_reads_back() {
        let page = HtmlText { title: "T".into(), text: "line one\n\nline two".into() };
        assert_eq!(HtmlText::unframe(&page.framed()), page);
        assert_eq!(HtmlText::unframe("only a title"), HtmlText { title: "only a title".into(), text: String::new() });
        assert_eq!(html_text(b""), HtmlText::default());
    }

    #[test]
    fn cuts_on_character_boundaries() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("héllo", 100), "héllo");
    }
}
