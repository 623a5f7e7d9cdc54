//! Group commit of the per-request Redis work: the rate limiter's count and the
//! authentication cache's version read of every request in flight go to Redis as one
//! pipeline per round trip, not one pipeline per request.
//!
//! With several processes, every authenticated request needs Redis once (its count in
//! the shared per-second budget, and its user's cache version). Sent one request at a
//! time, that is three commands, a write and a read on the socket and two task wake-ups
//! per request, which on a small machine cost more than the rest of a cached read. Here,
//! while one pipeline is out, the requests that arrive wait for the next one; when it
//! goes, counts of the same key are summed into one `INCRBY` and reads of the same key
//! into one `GET`. Under no load a request goes at once, alone, as before.
//!
//! It stays exact:
//! - a request only ever joins a pipeline that has not been sent yet, so its version is
//!   read after it arrived, as with a read of its own (the cache's guarantee that a change
//!   answered before the request was sent is seen);
//! - each request is counted once: `INCRBY key n` for n requests hands them the counts
//!   `total - n + 1 ..= total`, the counts n separate `INCR`s would have returned in some
//!   order;
//! - a failed round trip answers None to every request in it (let through, cache
//!   bypassed), as a failed pipeline of its own would.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::aio::ConnectionManager;
use tokio::sync::{Notify, oneshot};

const WAIT: Duration = Duration::from_secs(2);

/// What one request gets: its count, and the value read (0 when absent) if it asked for one.
pub type Answer = Option<(i64, Option<i64>)>;

struct Waiter {
    count_key: String,
    read_key: Option<String>,
    answer: oneshot::Sender<Answer>,
}

pub struct RateBatch {
    waiting: Mutex<Vec<Waiter>>,
    wake: Notify,
}

impl RateBatch {
    /// Starts the sender task on the current runtime; it lives as long as the runtime.
    pub fn start(connection: ConnectionManager, ttl_secs: u64) -> Arc<Self> {
        let batch = Arc::new(Self { waiting: Mutex::default(), wake: Notify::new() });
        let sender = batch.clone();
        tokio::spawn(async move {
            loop {
                // A wake-up sent while a pipeline was out is kept, so none is lost.
                sender.wake.notified().await;
                loop {
                    let waiters = std::mem::take(&mut *sender.lock());
                    if waiters.is_empty() {
                        break;
                    }
                    send(&mut connection.clone(), ttl_secs, waiters).await;
                }
            }
        });
        batch
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one request under `count_key` (full key) and reads `read_key`, in the next
    /// pipeline to go.
    pub async fn count_and_read(&self, count_key: String, read_key: Option<String>) -> Answer {
        let (answer, answered) = oneshot::channel();
        self.lock().push(Waiter { count_key, read_key, answer });
        self.wake.notify_one();
        // Never wait on Redis longer than a request should: no answer lets the request
        // through with the cache bypassed, as when Redis is down.
        tokio::time::timeout(WAIT, answered).await.ok().and_then(Result::ok).flatten()
    }
}

/// One pipeline for `waiters`: per count key `SET NX EX` (so no counter is ever left
/// without an expiry) and `INCRBY`, per read key `GET`; then each waiter's answer.
async fn send(connection: &mut ConnectionManager, ttl_secs: u64, waiters: Vec<Waiter>) {
    let mut counts: Vec<(&str, i64)> = Vec::new();
    let mut count_index: HashMap<&str, usize> = HashMap::new();
    let mut reads: Vec<&str> = Vec::new();
    let mut read_index: HashMap<&str, usize> = HashMap::new();
    for waiter in &waiters {
        let at = *count_index.entry(&waiter.count_key).or_insert_with(|| {
            counts.push((&waiter.count_key, 0));
            counts.len() - 1
        });
        counts[at].1 += 1;
        if let Some(read) = &waiter.read_key {
            read_index.entry(read).or_insert_with(|| {
                reads.push(read);
                reads.len() - 1
            });
        }
    }
    let mut pipe = redis::pipe();
    for (key, n) in &counts {
        pipe.cmd("SET").arg(*key).arg(0).arg("EX").arg(ttl_secs).arg("NX").ignore();
        pipe.cmd("INCRBY").arg(*key).arg(*n);
    }
    for key in &reads {
        pipe.cmd("GET").arg(*key);
    }
    let replies: Vec<Option<i64>> = match pipe.query_async(connection).await {
        Ok(replies) => replies,
        Err(err) => {
            tracing::error!(%err, "rate limiter: Redis unavailable");
            vec![]
        }
    };
    if replies.len() != counts.len() + reads.len() {
        return; // Dropping the senders answers None to everyone.
    }
    // Hands out each key's counts from the lowest, in the order the requests arrived.
    let mut next: Vec<i64> = counts.iter().zip(&replies).map(|((_, n), total)| total.unwrap_or(0) - n + 1).collect();
    let answers: Vec<Answer> = waiters
        .iter()
        .map(|waiter| {
            let at = count_index[waiter.count_key.as_str()];
            let count = next[at];
            next[at] += 1;
            let read = waiter.read_key.as_deref().map(|key| replies[counts.len() + read_index[key]].unwrap_or(0));
            Some((count, read))
        })
        .collect();
    for (waiter, answer) in waiters.into_iter().zip(answers) {
        // A request that gave up (its client went away) no longer listens.
        let _ = waiter.answer.send(answer);
    }
}
