//! What an analysis can take: categories, their extensions, and a check of a file's
//! first bytes against the extension it claims.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Audio,
    Image,
    Pdf,
    Video,
}

pub const IMAGE_EXTENSIONS: [&str; 5] = [".jpeg", ".jpg", ".png", ".webp", ".gif"];
pub const PDF_EXTENSIONS: [&str; 1] = [".pdf"];
/// What an OpenAI-compatible `/audio/transcriptions` endpoint takes.
pub const AUDIO_EXTENSIONS: [&str; 5] = [".mp3", ".wav", ".m4a", ".ogg", ".flac"];
pub const VIDEO_EXTENSIONS: [&str; 2] = [".mp4", ".webm"];

/// The extensions the server can really process with its configuration.
#[derive(Debug, Clone)]
pub struct Supported {
    pub transcription: bool,
}

impl Supported {
    pub fn extensions(&self, category: Category) -> &'static [&'static str] {
        match category {
            Category::Image => &IMAGE_EXTENSIONS,
            Category::Pdf => &PDF_EXTENSIONS,
            Category::Audio if self.transcription => &AUDIO_EXTENSIONS,
            Category::Video if self.transcription => &VIDEO_EXTENSIONS,
            Category::Audio | Category::Video => &[],
        }
    }

    /// The category of a file name's extension, if the server takes it.
    pub fn category_of(&self, file_name: &str) -> Option<Category> {
        let extension = extension(file_name)?;
        [Category::Image, Category::Pdf, Category::Audio, Category::Video]
            .into_iter()
            .find(|c| self.extensions(*c).contains(&extension.as_str()))
    }
}

/// `.jpg` of `Photo.JPG`.
pub fn extension(file_name: &str) -> Option<String> {
    let (_, ext) = file_name.rsplit_once('.')?;
    (!ext.is_empty()).then(|| format!(".{}", ext.to_ascii_lowercase()))
}

/// True when the file's first bytes are of the kind its extension claims: a renamed
/// executable or a text file called `.png` is refused.
pub fn content_matches(extension: &str, head: &[u8]) -> bool {
    let Some(kind) = infer::get(head) else { return false };
    let mime = kind.mime_type();
    match extension {
        ".jpeg" | ".jpg" => mime == "image/jpeg",
        ".png" => mime == "image/png",
        ".webp" => mime == "image/webp",
        ".gif" => mime == "image/gif",
        ".pdf" => mime == "application/pdf",
        ".mp3" => mime == "audio/mpeg",
        ".wav" => mime == "audio/x-wav",
        ".m4a" => matches!(mime, "audio/m4a" | "video/mp4"),
        ".ogg" => matches!(mime, "audio/ogg" | "video/ogg"),
        ".flac" => mime == "audio/x-flac",
        ".mp4" => matches!(mime, "video/mp4" | "audio/m4a"),
        ".webm" => mime == "video/webm",
        _ => false,
    }
}

/// The media type to label a file with when sending it on.
pub fn media_type(extension: &str) -> &'static str {
    match extension {
        ".jpeg" | ".jpg" => "image/jpeg",
        ".png" => "image/png",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        ".pdf" => "application/pdf",
        ".mp3" => "audio/mpeg",
        ".wav" => "audio/wav",
        ".m4a" => "audio/mp4",
        ".ogg" => "audio/ogg",
        ".flac" => "audio/flac",
        ".mp4" => "video/mp4",
        ".webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn categories_follow_configuration() {
        let plain = Supported { transcription: false };
        assert_eq!(plain.category_of("a.PNG"), Some(Category::Image));
        assert_eq!(plain.category_of("report.pdf"), Some(Category::Pdf));
        assert_eq!(plain.category_of("talk.mp3"), None);
        assert_eq!(plain.category_of("noext"), None);
        assert_eq!(plain.category_of("x.exe"), None);
        let full = Supported { transcription: true };
        assert_eq!(full.category_of("talk.mp3"), Some(Category::Audio));
        assert_eq!(full.category_of("clip.mp4"), Some(Category::Video));
    }

    #[test]
    fn content_must_match_the_extension() {
        assert!(content_matches(".png", PNG));
        assert!(!content_matches(".jpg", PNG));
        assert!(!content_matches(".png", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff"));
        assert!(!content_matches(".png", b"just text"));
        assert!(content_matches(".pdf", b"%PDF-1.4\n"));
    }
}
