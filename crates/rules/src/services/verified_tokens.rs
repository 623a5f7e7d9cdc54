//! Tokens whose signature this process has already checked.
//!
//! Checking a token is a base64 decode, an HMAC-SHA256 and two JSON parses: most of the
//! work of an authenticated read served from the authentication cache (measured with
//! callgrind: about 40,000 instructions a check, and a request checked its token twice).
//! A client sends the same token with every request, and the check is a pure function
//! of the token's bytes and the server secret, so its result can be remembered:
//!
//! - only tokens that passed are remembered, so forged or garbage tokens cannot fill the
//!   memo (making one that passes needs the secret);
//! - the key is the whole token, compared in full: a hit is the same bytes that passed;
//! - expiry is checked again on every hit, as the full check would;
//! - revocation is not this memo's business: the caller checks the session or key row
//!   (or the authentication cache, which is told of every revocation) whatever the memo
//!   says, exactly as after a full check.
//!
//! Bounded: each shard holds up to [`PER_SHARD`] tokens and is emptied when full, so a
//! burst of new tokens costs at most a full check each, never memory.

use std::{collections::HashMap, hash::BuildHasher, sync::Mutex};

use super::claims::Claims;

const SHARDS: usize = 32;
const PER_SHARD: usize = 512;

pub struct VerifiedTokens {
    shards: Vec<Mutex<HashMap<Box<str>, Claims>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl VerifiedTokens {
    fn shard(&self, token: &str) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Claims>> {
        let index = (self.hasher.hash_one(token) % SHARDS as u64) as usize;
        // A panic while holding the lock cannot leave a map half-updated in a way that
        // matters (entries are whole values), so a poisoned shard is still usable.
        self.shards[index].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The claims of `token` if it passed before and has not expired since (`now` in
    /// Unix seconds, with no leeway, as the full check).
    pub fn get(&self, token: &str, now: u64) -> Option<Claims> {
        let mut shard = self.shard(token);
        let claims = shard.get(token)?;
        if claims.exp.is_some_and(|exp| exp < 0 || (exp as u64) < now) {
            shard.remove(token);
            return None;
        }
        Some(claims.clone())
    }

    /// Remembers a token that passed the full check.
    pub fn insert(&self, token: &str, claims: Claims) {
        let mut shard = self.shard(token);
        if shard.len() >= PER_SHARD {
            shard.clear();
        }
        shard.insert(token.into(), claims);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::claims::Role;

    fn claims(exp: Option<i64>) -> Claims {
        Claims { sub: "u".into(), role: Role::User, iat: 0, exp, jti: "s".into() }
    }

    #[test]
    fn a_remembered_token_is_served_until_it_expires() {
        let memo = VerifiedTokens::default();
        memo.insert("token", claims(Some(100)));
        assert_eq!(memo.get("token", 100).map(|c| c.sub.clone()).as_deref(), Some("u"));
        assert!(memo.get("token", 101).is_none());
        // Dropped once expired.
        assert!(memo.get("token", 0).is_none());
    }

    #[test]
    fn only_the_same_bytes_hit() {
        let memo = VerifiedTokens::default();
        memo.insert("token", claims(None));
        assert!(memo.get("token", u64::MAX).is_some());
        assert!(memo.get("tokeN", 0).is_none());
        assert!(memo.get("token ", 0).is_none());
        assert!(memo.get("toke", 0).is_none());
    }

    #[test]
    fn it_never_holds_more_than_its_bound() {
        let memo = VerifiedTokens::default();
        for i in 0..(SHARDS * PER_SHARD * 3) {
            memo.insert(&format!("token-{i}"), claims(None));
        }
        assert!(memo.len() <= SHARDS * PER_SHARD);
        assert!(memo.len() > 0);
    }
}
