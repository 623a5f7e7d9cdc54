//! A TCP relay the tests can cut, to take a service away as a stopped server would.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// A TCP relay on 127.0.0.1 to a test service (PostgreSQL, Redis). `cut` closes every relayed connection
/// and the listening port (new connections are refused), as a stopped server would.
pub struct Relay {
    pub port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    pub async fn start(target: &str) -> Self {
        let relay = Self { port: 0, target: target.to_string(), tasks: Arc::default() };
        relay.listen(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    fn listen(mut self, listener: tokio::net::TcpListener) -> Self {
        self.port = listener.local_addr().unwrap().port();
        let (target, tasks) = (self.target.clone(), self.tasks.clone());
        let acceptor = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(acceptor);
        self
    }

    pub async fn cut(&self) {
        let tasks: Vec<_> = self.tasks.lock().unwrap().drain(..).collect();
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
