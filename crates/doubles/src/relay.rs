//! A TCP relay on 127.0.0.1 to a service the tests run for real (PostgreSQL, Redis), which
//! a test can cut, as a stopped server would, or slow, as a loaded one would.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `cut` closes every relayed connection and the listening port (new connections are
/// refused); `delay_replies` holds back what the service sends.
pub struct Relay {
    pub port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Milliseconds each chunk from the service waits before it is passed on.
    reply_delay_ms: Arc<AtomicU64>,
}

impl Relay {
    pub async fn start(target: &str) -> Self {
        let relay = Self { port: 0, target: target.to_string(), tasks: Arc::default(), reply_delay_ms: Arc::default() };
        relay.listen(tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("the relay binds 127.0.0.1"))
    }

    fn listen(mut self, listener: tokio::net::TcpListener) -> Self {
        self.port = listener.local_addr().expect("a local address").port();
        let (target, tasks, delay) = (self.target.clone(), self.tasks.clone(), self.reply_delay_ms.clone());
        let acceptor = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (target, delay) = (target.clone(), delay.clone());
                let pipe = tokio::spawn(async move {
                    if let Ok(outbound) = tokio::net::TcpStream::connect(target).await {
                        let (mut from_client, mut to_client) = inbound.into_split();
                        let (mut from_service, mut to_service) = outbound.into_split();
                        let requests = tokio::io::copy(&mut from_client, &mut to_service);
                        let replies = pass_replies(&mut from_service, &mut to_client, &delay);
                        let _ = tokio::join!(requests, replies);
                    }
                });
                tasks.lock().unwrap_or_else(|e| e.into_inner()).push(pipe);
            }
        });
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(acceptor);
        self
    }

    /// A relay to the Redis at `redis_url` (`redis://host:port`), and the URL that reaches
    /// it through the relay.
    pub async fn to_redis(redis_url: &str) -> (Self, String) {
        let relay = Self::start(redis_url.trim_start_matches("redis://").trim_end_matches('/')).await;
        let through = format!("redis://127.0.0.1:{}", relay.port);
        (relay, through)
    }

    /// From now on, every reply of the service reaches its client this much later (on
    /// connections open now as on new ones); zero passes them on at once again.
    pub fn delay_replies(&self, by: Duration) {
        self.reply_delay_ms.store(by.as_millis() as u64, Ordering::Relaxed);
    }

    pub async fn cut(&self) {
        let tasks: Vec<_> = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port. While it was free, a client socket of a test running
    /// alongside may have been given it as its local port; wait (up to 10 s) for that one to
    /// close rather than fail the test (seen once on a loaded machine with a 1 s wait).
    pub async fn restore(self) -> Self {
        for _ in 0..500 {
            if let Ok(listener) = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                return self.listen(listener);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the relay port {} could not be bound again", self.port);
    }
}

/// Copies the service's replies to the client, each chunk after the delay set then.
async fn pass_replies(
    from_service: &mut tokio::net::tcp::OwnedReadHalf,
    to_client: &mut tokio::net::tcp::OwnedWriteHalf,
    delay_ms: &AtomicU64,
) -> std::io::Result<()> {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = from_service.read(&mut buffer).await?;
        if read == 0 {
            return to_client.shutdown().await;
        }
        let delay = delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        to_client.write_all(&buffer[..read]).await?;
    }
}
