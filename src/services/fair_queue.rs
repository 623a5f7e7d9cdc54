//! A counting semaphore that serves its waiters round-robin by client instead of first
//! come, first served: one client flooding it waits behind its own requests, and any
//! other client's next request is served after at most one request of each client
//! ahead of it. A client alone still gets every permit, so nothing is lost when there
//! is no contention.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::{Arc, Mutex},
};

use tokio::sync::oneshot;

pub struct FairQueue<K> {
    state: Arc<Mutex<State<K>>>,
}

struct State<K> {
    free: usize,
    /// Each waiting client's waiters, oldest first.
    waiting: HashMap<K, VecDeque<oneshot::Sender<()>>>,
    /// Clients with waiters, in the order they are served.
    turns: VecDeque<K>,
}

/// Held while the work runs; dropping it passes the permit on.
pub struct Permit<K: Eq + Hash + Clone> {
    state: Arc<Mutex<State<K>>>,
}

impl<K: Eq + Hash + Clone> FairQueue<K> {
    pub fn new(permits: usize) -> Self {
        Self { state: Arc::new(Mutex::new(State { free: permits, waiting: HashMap::new(), turns: VecDeque::new() })) }
    }

    pub async fn acquire(&self, client: K) -> Permit<K> {
        let receiver = {
            let mut state = lock(&self.state);
            if state.free > 0 && state.turns.is_empty() {
                state.free -= 1;
                return Permit { state: self.state.clone() };
            }
            // Invariant: a client waits only when no permit is free.
            let (sender, receiver) = oneshot::channel();
            let queue = state.waiting.entry(client.clone()).or_default();
            let first_in_line = queue.is_empty();
            queue.push_back(sender);
            if first_in_line {
                state.turns.push_back(client);
            }
            receiver
        };
        let mut waiter = Waiter { receiver: Some(receiver), state: self.state.clone() };
        let received = waiter.receiver.as_mut().expect("set above").await;
        waiter.receiver = None;
        debug_assert!(received.is_ok(), "senders are only dropped after a send");
        Permit { state: self.state.clone() }
    }
}

fn lock<K>(state: &Mutex<State<K>>) -> std::sync::MutexGuard<'_, State<K>> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hands a free permit to the next client in turn, or keeps it free.
fn release<K: Eq + Hash + Clone>(state: &Mutex<State<K>>) {
    let mut state = lock(state);
    while let Some(client) = state.turns.pop_front() {
        let Some(queue) = state.waiting.get_mut(&client) else { continue };
        let next = queue.pop_front();
        if queue.is_empty() {
            state.waiting.remove(&client);
        } else {
            state.turns.push_back(client);
        }
        if let Some(sender) = next
            && sender.send(()).is_ok()
        {
            return;
        }
    }
    state.free += 1;
}

impl<K: Eq + Hash + Clone> Drop for Permit<K> {
    fn drop(&mut self) {
        release(&self.state);
    }
}

/// A waiter whose future may be dropped (the request was cancelled): a permit already
/// sent to it is passed on instead of being lost.
struct Waiter<K: Eq + Hash + Clone> {
    receiver: Option<oneshot::Receiver<()>>,
    state: Arc<Mutex<State<K>>>,
}

impl<K: Eq + Hash + Clone> Drop for Waiter<K> {
    fn drop(&mut self) {
        if let Some(mut receiver) = self.receiver.take() {
            receiver.close();
            if receiver.try_recv().is_ok() {
                release(&self.state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Runs jobs of `clients` (queued in that order) through one permit and returns the
    /// order in which they ran.
    async fn order_of(clients: &[&'static str]) -> Vec<&'static str> {
        let queue = Arc::new(FairQueue::new(1));
        let ran = Arc::new(Mutex::new(vec![]));
        let first = queue.acquire("holder").await;
        let mut handles = vec![];
        for client in clients {
            let (queue, ran, client) = (queue.clone(), ran.clone(), *client);
            handles.push(tokio::spawn(async move {
                let _permit = queue.acquire(client).await;
                ran.lock().unwrap().push(client);
            }));
            // Queue them in this order.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for handle in handles {
            handle.await.unwrap();
        }
        Arc::try_unwrap(ran).unwrap().into_inner().unwrap()
    }

    #[tokio::test]
    async fn a_flooding_client_does_not_delay_the_others() {
        let order = order_of(&["flood", "flood", "flood", "flood", "flood", "login"]).await;
        assert_eq!(order, ["flood", "login", "flood", "flood", "flood", "flood"]);
    }

    #[tokio::test]
    async fn clients_take_turns() {
        let order = order_of(&["a", "a", "b", "b", "c"]).await;
        assert_eq!(order, ["a", "b", "c", "a", "b"]);
    }

    #[tokio::test]
    async fn a_lone_client_gets_every_permit() {
        let queue = FairQueue::new(3);
        let permits = [queue.acquire(1).await, queue.acquire(1).await, queue.acquire(1).await];
        assert_eq!(lock(&queue.state).free, 0);
        drop(permits);
        assert_eq!(lock(&queue.state).free, 3);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_does_not_lose_the_permit() {
        let queue = Arc::new(FairQueue::new(1));
        let held = queue.acquire("a").await;
        let waiting = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.acquire("b").await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        waiting.abort();
        let _ = waiting.await;
        drop(held);
        // The permit came back: a new client gets it at once.
        let again = tokio::time::timeout(Duration::from_secs(1), queue.acquire("c")).await;
        assert!(again.is_ok(), "the permit was lost");
    }
}
