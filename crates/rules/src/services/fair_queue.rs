//! A counting semaphore that serves its waiters by client instead of first come, first
//! served: a permit that comes free goes to the waiting client holding the fewest permits,
//! and among those to the one served least recently (one never served first, then in the
//! order they came). One client flooding it waits behind its own requests, and any other
//! client's next request is served after at most one request of each client ahead of it,
//! even of a client that held a permit when it came. A client alone still gets every
//! permit, so nothing is lost when there is no contention.

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
    /// Clients with waiters, in the order they came (or were last served).
    turns: VecDeque<K>,
    /// Clients that hold or wait for a permit (forgotten when they do neither, so the map
    /// stays as small as the queue).
    clients: HashMap<K, Client>,
    /// Counts grants, to know who was served least recently.
    grants: u64,
}

#[derive(Default)]
struct Client {
    held: usize,
    /// The grant that last served it; 0 for never.
    last_served: u64,
}

/// Held while the work runs; dropping it passes the permit on.
pub struct Permit<K: Eq + Hash + Clone> {
    state: Arc<Mutex<State<K>>>,
    client: K,
}

impl<K: Eq + Hash + Clone> FairQueue<K> {
    pub fn new(permits: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                free: permits,
                waiting: HashMap::new(),
                turns: VecDeque::new(),
                clients: HashMap::new(),
                grants: 0,
            })),
        }
    }

    pub async fn acquire(&self, client: K) -> Permit<K> {
        let receiver = {
            let mut state = lock(&self.state);
            if state.free > 0 && state.turns.is_empty() {
                state.free -= 1;
                state.grant(&client);
                return Permit { state: self.state.clone(), client };
            }
            // Invariant: a client waits only when no permit is free.
            let (sender, receiver) = oneshot::channel();
            state.clients.entry(client.clone()).or_default();
            let queue = state.waiting.entry(client.clone()).or_default();
            let first_in_line = queue.is_empty();
            queue.push_back(sender);
            if first_in_line {
                state.turns.push_back(client.clone());
            }
            receiver
        };
        let mut waiter = Waiter { receiver: Some(receiver), state: self.state.clone(), client: client.clone() };
        let received = waiter.receiver.as_mut().expect("set above").await;
        waiter.receiver = None;
        debug_assert!(received.is_ok(), "senders are only dropped after a send");
        Permit { state: self.state.clone(), client }
    }
}

fn lock<K>(state: &Mutex<State<K>>) -> std::sync::MutexGuard<'_, State<K>> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl<K: Eq + Hash + Clone> State<K> {
    fn grant(&mut self, client: &K) {
        self.grants += 1;
        let grants = self.grants;
        let entry = self.clients.entry(client.clone()).or_default();
        entry.held += 1;
        entry.last_served = grants;
    }

    /// Forgets a client that neither holds nor waits for a permit.
    fn forget_if_idle(&mut self, client: &K) {
        if self.clients.get(client).is_some_and(|c| c.held == 0) && !self.waiting.contains_key(client) {
            self.clients.remove(client);
        }
    }

    /// The permit `client` held comes back: hands it to the next client in turn, or keeps
    /// it free.
    fn release(&mut self, client: &K) {
        if let Some(entry) = self.clients.get_mut(client) {
            entry.held = entry.held.saturating_sub(1);
        }
        self.forget_if_idle(client);
        loop {
            let rank = |c: &K| self.clients.get(c).map_or((0, 0), |c| (c.held, c.last_served));
            // `min_by_key` keeps the first of equals: the turn order breaks ties.
            let Some(position) = (0..self.turns.len()).min_by_key(|&i| rank(&self.turns[i])) else {
                self.free += 1;
                return;
            };
            let next_client = self.turns.remove(position).expect("in range");
            let Some(queue) = self.waiting.get_mut(&next_client) else { continue };
            let next = queue.pop_front();
            if queue.is_empty() {
                self.waiting.remove(&next_client);
            } else {
                self.turns.push_back(next_client.clone());
            }
            if let Some(sender) = next
                && sender.send(()).is_ok()
            {
                self.grant(&next_client);
                return;
            }
            // That waiter was cancelled.
            self.forget_if_idle(&next_client);
        }
    }
}

impl<K: Eq + Hash + Clone> Drop for Permit<K> {
    fn drop(&mut self) {
        lock(&self.state).release(&self.client);
    }
}

/// A waiter whose future may be dropped (the request was cancelled): a permit already
/// sent to it is passed on instead of being lost.
struct Waiter<K: Eq + Hash + Clone> {
    receiver: Option<oneshot::Receiver<()>>,
    state: Arc<Mutex<State<K>>>,
    client: K,
}

impl<K: Eq + Hash + Clone> Drop for Waiter<K> {
    fn drop(&mut self) {
        if let Some(mut receiver) = self.receiver.take() {
            receiver.close();
            let mut state = lock(&self.state);
            if receiver.try_recv().is_ok() {
                state.release(&self.client);
            } else {
                state.forget_if_idle(&self.client);
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
        order_after("holder", clients).await
    }

    /// As [`order_of`], while `holder` holds the permit when they queue.
    async fn order_after(holder: &'static str, clients: &[&'static str]) -> Vec<&'static str> {
        let queue = Arc::new(FairQueue::new(1));
        let ran = Arc::new(Mutex::new(vec![]));
        let first = queue.acquire(holder).await;
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
    async fn a_client_that_holds_the_permit_goes_behind_one_that_never_had_it() {
        // The flood holds the permit and queues more before the login comes.
        let order = order_after("flood", &["flood", "flood", "login"]).await;
        assert_eq!(order, ["login", "flood", "flood"]);
    }

    #[tokio::test]
    async fn idle_clients_are_forgotten() {
        let queue = Arc::new(FairQueue::new(1));
        let held = queue.acquire("a").await;
        let waiting = {
            let queue = queue.clone();
            tokio::spawn(async move { drop(queue.acquire("b").await) })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(held);
        waiting.await.unwrap();
        let state = lock(&queue.state);
        assert!(state.clients.is_empty() && state.waiting.is_empty() && state.turns.is_empty());
        assert_eq!(state.free, 1);
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
