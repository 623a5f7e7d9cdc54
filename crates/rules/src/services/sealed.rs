//! AES-256-GCM for bytes the database keeps but must not show: a kept answer may hold a
//! session token or an API key, and a copy of the database must not hand them out.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};

fn key(key: &[u8; 32]) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key).ok().map(LessSafeKey::new)
}

/// A random nonce, then the ciphertext and its tag.
pub fn seal(secret: &[u8; 32], plain: &[u8]) -> Option<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).ok()?;
    let mut sealed = plain.to_vec();
    key(secret)?.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed).ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Some(out)
}

/// The plain bytes, or None when `sealed` was not sealed with this key or was altered.
pub fn open(secret: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buffer = ciphertext.to_vec();
    let plain = key(secret)?.open_in_place(nonce, Aad::empty(), &mut buffer).ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_with_their_key_and_unaltered() {
        let (one, two) = ([1u8; 32], [2u8; 32]);
        let sealed = seal(&one, b"clara_api_secret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"clara_"), "the plain text is not in the sealed bytes");
        assert_eq!(open(&one, &sealed).unwrap(), b"clara_api_secret");
        assert!(open(&two, &sealed).is_none());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(open(&one, &altered).is_none());
        assert!(open(&one, b"short").is_none());
        assert_ne!(seal(&one, b"x").unwrap(), seal(&one, b"x").unwrap(), "a fresh nonce each time");
    }
}
