//! A double on its own port: how the tests (and anything else that wants a service on
//! 127.0.0.1) run one. The same double a sandbox mounts under its own paths.

use std::{ops::Deref, sync::Arc};

use poem::{
    EndpointExt, Response, Server,
    endpoint::BoxEndpoint,
    listener::{Acceptor, Listener, TcpListener},
};

use crate::faults::{Fault, Faults, Recorded, injected};

/// An HTTP double: its routes (below its root) and its faults.
pub trait Double: Send + Sync + 'static {
    /// The double's own answers, without faults.
    fn routes(self: Arc<Self>) -> BoxEndpoint<'static, Response>;
    fn faults(&self) -> &Arc<Faults>;
}

/// The double's routes behind its faults: what a server mounts.
pub fn endpoint<D: Double>(double: &Arc<D>) -> BoxEndpoint<'static, Response> {
    injected(double.clone().routes(), double.faults().clone()).boxed()
}

/// A double listening on 127.0.0.1, recording what it receives.
pub struct Served<D> {
    /// `http://127.0.0.1:<port>`, the double's root.
    pub url: String,
    pub double: Arc<D>,
}

impl<D> Clone for Served<D> {
    fn clone(&self) -> Self {
        Self { url: self.url.clone(), double: self.double.clone() }
    }
}

impl<D> Deref for Served<D> {
    type Target = D;
    fn deref(&self) -> &D {
        &self.double
    }
}

impl<D: Double> Served<D> {
    pub fn set(&self, fault: Fault) {
        self.double.faults().set(fault);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.double.faults().requests()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.double.faults().requests_to(path)
    }

    /// The one request received.
    #[track_caller]
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        requests.into_iter().next().expect("one request")
    }
}

/// Serves `double` on a free port of 127.0.0.1 until the runtime ends.
pub async fn serve<D: Double>(double: D) -> Served<D> {
    let double = Arc::new(double);
    double.faults().record();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("a double binds 127.0.0.1");
    let port = acceptor.local_addr()[0].as_socket_addr().expect("a socket address").port();
    let app = endpoint(&double);
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app.map_to_response()));
    Served { url: format!("http://127.0.0.1:{port}"), double }
}
