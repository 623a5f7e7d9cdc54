//! Hostile PDFs for the isolation tests and the fuzz corpus. Every document has a correct
//! cross-reference table, so a reader opens it and reaches the trap instead of rejecting
//! the file at the door.

use std::io::Write;

/// Object bodies, numbered from 1, written out with their xref table.
pub struct Builder {
    objects: Vec<Vec<u8>>,
}

impl Builder {
    pub fn new() -> Self {
        Self { objects: vec![] }
    }

    /// Adds an object; returns its number.
    pub fn add(&mut self, body: impl Into<Vec<u8>>) -> usize {
        self.objects.push(body.into());
        self.objects.len()
    }

    pub fn finish(self, root: usize) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = vec![];
        for (i, object) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(object);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes());
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n", self.objects.len() + 1)
                .as_bytes(),
        );
        out
    }
}

/// A stream object: `dict` entries besides /Length, then the raw data.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< /Length {} {dict} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// A Form XObject drawing `content` with these XObjects in its resources.
pub fn form(xobjects: &str, content: &[u8]) -> Vec<u8> {
    stream(
        &format!("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /XObject << {xobjects} >> >>"),
        content,
    )
}

/// One page with Helvetica as /F1, the page's XObjects and content; `extra` adds the
/// objects the XObjects name (numbered from 6 on).
pub fn one_page(xobjects: &str, content: &[u8], extra: impl FnOnce(&mut Builder)) -> Vec<u8> {
    one_page_with(xobjects, "", content, extra)
}

fn one_page_with(xobjects: &str, content_dict: &str, content: &[u8], extra: impl FnOnce(&mut Builder)) -> Vec<u8> {
    let mut pdf = Builder::new();
    pdf.add("<< /Type /Catalog /Pages 2 0 R >>");
    pdf.add("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    pdf.add(format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> /XObject << {xobjects} >> >> >>"
    ));
    pdf.add(stream(content_dict, content));
    pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    extra(&mut pdf);
    pdf.finish(1)
}

const TEXT: &[u8] = b"BT /F1 12 Tf 72 720 Td (Quarterly report) Tj ET\n";

/// The reported attack: X1 draws itself (`/X1 Do` in its own content, X1 in its own
/// resources). A reader that follows `Do` without a depth limit recurses for ever.
pub fn self_drawing_xobject() -> Vec<u8> {
    one_page("/X1 6 0 R", &[TEXT, b"/X1 Do"].concat(), |pdf| {
        pdf.add(form("/X1 6 0 R", b"/X1 Do"));
    })
}

/// A cycle of `length` XObjects: X1 draws X2, ..., the last draws X1.
pub fn xobject_cycle(length: usize) -> Vec<u8> {
    one_page("/X1 6 0 R", &[TEXT, b"/X1 Do"].concat(), |pdf| {
        for i in 0..length {
            let next = (i + 1) % length;
            pdf.add(form(&format!("/X{} {} 0 R", next + 1, 6 + next), format!("/X{} Do", next + 1).as_bytes()));
        }
    })
}

/// A chain of `length` XObjects, each drawing the next; the last draws text. No cycle,
/// only depth.
pub fn xobject_chain(length: usize) -> Vec<u8> {
    one_page("/X1 6 0 R", b"/X1 Do", |pdf| {
        for i in 1..length {
            pdf.add(form(&format!("/X{} {} 0 R", i + 1, 6 + i), format!("/X{} Do", i + 1).as_bytes()));
        }
        pdf.add(form("", TEXT));
    })
}

/// An array nested `depth` deep in the content stream, and a dictionary as deep in the
/// page's own object.
pub fn deep_nesting(depth: usize) -> Vec<u8> {
    let array = format!("{}{} pop\n", "[".repeat(depth), "]".repeat(depth));
    let dict = format!("{}{}", "<< /A ".repeat(depth), " >>".repeat(depth));
    let mut pdf = Builder::new();
    pdf.add("<< /Type /Catalog /Pages 2 0 R >>");
    pdf.add("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    pdf.add(format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Deep {dict} \
         /Resources << /Font << /F1 5 0 R >> >> >>"
    ));
    pdf.add(stream("", &[TEXT, array.as_bytes()].concat()));
    pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    pdf.finish(1)
}

/// A page whose FlateDecode content inflates to `gib` GiB of zeros from a few MiB. Built
/// from one compressed MiB repeated (full flushes make every MiB compress alike), so
/// making it costs milliseconds.
pub fn flate_bomb(gib: u64) -> Vec<u8> {
    let data = deflate_zeros(gib << 30);
    one_page_with("", "/Filter /FlateDecode", &data, |_| {})
}

/// A zlib stream of `total` zero bytes (a multiple of 1 MiB), checksum included.
fn deflate_zeros(total: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut block = Vec::with_capacity(CHUNK);
    deflate.compress_vec(&zeros, &mut block, FlushCompress::Full).unwrap();
    let mut end = Vec::with_capacity(64);
    deflate.compress_vec(&[], &mut end, FlushCompress::Finish).unwrap();
    let mut out = vec![0x78, 0xda];
    for _ in 0..total / CHUNK as u64 {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&end);
    // Adler-32 of n zeros: a stays 1, b adds 1 per byte.
    let adler = ((total % 65_521) << 16) | 1;
    out.write_all(&(adler as u32).to_be_bytes()).unwrap();
    out
}

/// A stream whose /Length claims far more bytes than the file holds.
pub fn lying_length() -> Vec<u8> {
    let mut pdf = Builder::new();
    pdf.add("<< /Type /Catalog /Pages 2 0 R >>");
    pdf.add("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    pdf.add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>");
    pdf.add([b"<< /Length 2147483647 >>\nstream\n", TEXT, b"\nendstream"].concat());
    pdf.finish(1)
}

/// A content stream of `kib` KiB of text-showing operators: a lot of output and work.
pub fn huge_text(kib: usize) -> Vec<u8> {
    let line = b"BT /F1 12 Tf 72 720 Td (All work and no play makes Jack a dull boy) Tj ET\n";
    let content: Vec<u8> = line.iter().copied().cycle().take(kib << 10).collect();
    one_page("", &content, |_| {})
}

/// An ordinary one-page document saying `text`.
pub fn plain(text: &str) -> Vec<u8> {
    one_page("", format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET").as_bytes(), |_| {})
}

/// The reported parser bomb: `pages` pages that all draw one content stream of `kib` KiB
/// of text operators. Small on the wire (each page is a short dictionary), but a reader
/// interprets the shared stream once per page.
pub fn shared_content_pages(pages: usize, kib: usize) -> Vec<u8> {
    let line = b"BT /F1 12 Tf 72 720 Td (All work and no play makes Jack a dull boy) Tj ET\n";
    let content: Vec<u8> = line.iter().copied().cycle().take(kib << 10).collect();
    let mut pdf = Builder::new();
    pdf.add("<< /Type /Catalog /Pages 2 0 R >>");
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 5 + i)).collect();
    pdf.add(format!("<< /Type /Pages /MediaBox [0 0 612 792] /Kids [{}] /Count {pages} >>", kids.join(" ")));
    pdf.add(stream("", &content));
    pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    for _ in 0..pages {
        pdf.add("<< /Type /Page /Parent 2 0 R /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>");
    }
    pdf.finish(1)
}
