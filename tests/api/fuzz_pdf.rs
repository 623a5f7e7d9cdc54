//! The isolated PDF extractor under hostile input, as a proptest corpus (cargo-fuzz needs
//! nightly): self-drawing XObjects and cycles, long chains, deep nesting, lying and cut
//! streams, compression bombs and random mutations of a valid file. Property: every input
//! ends as text or a classified error within the wall limit, and this process survives.
//! `PDF_FUZZ_CASES` sets the number of cases (CI runs a few hundred).
//!
//! Inputs that once hurt are kept in tests/fuzz/pdf/ and all run on every `cargo test`.

use std::time::{Duration, Instant};

use clara_backend::isolate::{Extractor, IsolateError, Kind, Limits};
use proptest::prelude::*;

use crate::pdf_gen;

const WALL: Duration = Duration::from_secs(15);
/// Spawning, reaping and a loaded machine on top of the wall limit.
const MARGIN: Duration = Duration::from_secs(5);

fn extractor() -> Extractor {
    let limits = Limits { memory_bytes: 256 << 20, timeout: WALL, max_output: 1 << 20 };
    Extractor::new(env!("CARGO_BIN_EXE_clara-backend").into(), limits, 2)
}

/// Runs one input; asserts the property and returns the outcome.
async fn check(extractor: &Extractor, input: Vec<u8>) -> Result<String, IsolateError> {
    let input_copy = input.clone();
    let started = Instant::now();
    let result = extractor.extract(Kind::PdfText, input).await;
    let took = started.elapsed();
    assert!(took < WALL + MARGIN, "extraction took {took:?}");
    match &result {
        Ok(text) => assert!(text.len() <= 1 << 20, "output within the cap"),
        Err(IsolateError::Unavailable(err)) => panic!("the child did not start: {err}"),
        Err(IsolateError::Crashed) => keep(&input_copy),
        Err(_) => {}
    }
    result
}

/// With `PDF_FUZZ_KEEP=<dir>`, inputs that crash the parser are written there, to be
/// reviewed and added to tests/fuzz/pdf/.
fn keep(input: &[u8]) {
    use sha2::Digest;
    if let Ok(dir) = std::env::var("PDF_FUZZ_KEEP") {
        let name = format!("crash-{}.pdf", data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(input)[..8]));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(std::path::Path::new(&dir).join(name), input);
    }
}

fn cases() -> u32 {
    std::env::var("PDF_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
}

fn hostile() -> impl Strategy<Value = Vec<u8>> {
    let valid = pdf_gen::plain("The quick brown fox");
    let cut_at = valid.len();
    prop_oneof![
        1 => Just(pdf_gen::self_drawing_xobject()),
        1 => (2..8usize).prop_map(pdf_gen::xobject_cycle),
        1 => (1..5_000usize).prop_map(pdf_gen::xobject_chain),
        1 => (1..50_000usize).prop_map(pdf_gen::deep_nesting),
        1 => (1..3u64).prop_map(pdf_gen::flate_bomb),
        1 => Just(pdf_gen::lying_length()),
        1 => (1..512usize).prop_map(pdf_gen::huge_text),
        1 => (0..cut_at).prop_map(move |at| pdf_gen::self_drawing_xobject().into_iter().take(at).collect()),
        4 => proptest::collection::vec((0..cut_at, any::<u8>()), 1..24).prop_map(move |edits| {
            let mut bytes = valid.clone();
            for (at, byte) in edits {
                bytes[at] = byte;
            }
            bytes
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..4096),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_pdfs_end_as_text_or_a_classified_error(input in hostile()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(check(&extractor(), input)).ok();
    }
}

#[tokio::test]
async fn every_kept_input_ends_as_text_or_a_classified_error() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/pdf");
    let extractor = extractor();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz/pdf") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pdf") {
            continue;
        }
        let result = check(&extractor, std::fs::read(&path).unwrap()).await;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        eprintln!("{name}: {:?}", result.as_ref().map(String::len));
        if name.starts_with("plain") {
            assert!(result.unwrap().contains("hello"), "{name}: an ordinary file still reads");
        } else if name.starts_with("flate-bomb") {
            assert!(matches!(result, Err(IsolateError::TooMuchMemory)), "{name}: {result:?}");
        } else if ["self-drawing", "xobject-cycle", "xobject-chain", "found-", "crash-"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            // Crashes pdf_extract (stack overflow or panic): killed only its child.
            assert!(matches!(result, Err(IsolateError::Crashed)), "{name}: {result:?}");
        }
        seen += 1;
    }
    assert!(seen >= 6, "the corpus is there: {seen} files");
}

#[tokio::test]
async fn the_reported_inputs_get_their_own_errors() {
    let extractor = extractor();
    let stack = check(&extractor, pdf_gen::self_drawing_xobject()).await;
    assert!(matches!(stack, Err(IsolateError::Crashed)), "{stack:?}");
    let refused = check(&extractor, b"not a pdf at all".to_vec()).await;
    assert!(matches!(refused, Err(IsolateError::Unreadable)), "{refused:?}");
    let bomb = check(&extractor, pdf_gen::flate_bomb(2)).await;
    assert!(matches!(bomb, Err(IsolateError::TooMuchMemory)), "{bomb:?}");
    let slow = Extractor::new(
        env!("CARGO_BIN_EXE_clara-backend").into(),
        Limits { memory_bytes: 1 << 30, timeout: Duration::from_secs(1), max_output: 1 << 20 },
        1,
    );
    let spin = slow.extract(Kind::PdfText, pdf_gen::huge_text(16 << 10)).await;
    assert!(matches!(spin, Err(IsolateError::TimedOut)), "{spin:?}");
    let short = Extractor::new(
        env!("CARGO_BIN_EXE_clara-backend").into(),
        Limits { memory_bytes: 256 << 20, timeout: WALL, max_output: 4096 },
        1,
    );
    let long = short.extract(Kind::PdfText, pdf_gen::huge_text(64)).await.expect("long text reads");
    assert!(long.len() > 4000 && long.len() <= 4096, "cut by the child to the cap: {}", long.len());
}
