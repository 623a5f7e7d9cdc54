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
        eprintln!("usage: clara-backend {COMMAND} pdf <max output bytes>");
        return ExitCode::from(EXIT_USAGE);
    };
    let mut input = vec![];
    if std::io::stdin().lock().read_to_end(&mut input).is_err() {
        return ExitCode::from(EXIT_UNREADABLE);
    }
    let text = match kind {
        Kind::PdfText => pdf_extract::extract_text_from_mem(&input).map_err(|e| e.to_string()),
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
    use super::cut;

    #[test]
    fn cuts_on_character_boundaries() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("héllo", 100), "héllo");
    }
}
