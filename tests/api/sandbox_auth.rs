//! The sandbox's sign-in doubles, through the real routes and verifiers: Apple identity tokens
//! minted by the sandbox (over a nonce the server issued) and passkey ceremonies answered by
//! the sandbox's software authenticator, checked by webauthn-rs as a browser's would be.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{sandbox::sandbox_user, support::*};

async fn mint_apple(app: &TestApp, body: Value) -> String {
    let minted = app.post("/sandbox/apple/id_token", None, Some(body)).await;
    minted.assert_success(200, "ID token minted successfully.");
    minted.data()["id_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn sandbox_apple_tokens_sign_in_over_a_server_nonce() {
    let app = TestApp::sandbox(&[]).await;
    let nonce = app.post("/auth/apple/nonce", None, None).await;
    nonce.assert_success(200, "Nonce created successfully.");
    let hashed = format!("{:x}", Sha256::digest(nonce.data()["nonce"].as_str().unwrap().as_bytes()));
    let id_token = mint_apple(&app, json!({"email": "Grace@Example.com", "nonce": hashed})).await;
    let signed_in = app.post("/auth/apple", None, Some(json!({"id_token": id_token, "first_name": "Grace"}))).await;
    signed_in.assert_success(201, "User registered successfully.");
    assert_eq!(signed_in.data()["email"], "grace@example.com");
    // Once only; and a token without the server's nonce is refused.
    app.post("/auth/apple", None, Some(json!({"id_token": id_token}))).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    let no_nonce = mint_apple(&app, json!({"email": "grace@example.com"})).await;
    app.post("/auth/apple", None, Some(json!({"id_token": no_nonce}))).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    // Bad bodies.
    app.post("/sandbox/apple/id_token", None, None).await.assert_error(400, "empty_body", MSG_EMPTY);
    for body in [json!({"email": "not an address"}), json!({"email": "a@example.com", "nonce": 7}), json!({"e": 1})] {
        app.post("/sandbox/apple/id_token", None, Some(body)).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
}

async fn answer(app: &TestApp, path: &str, body: Value) -> Value {
    let reply = app.post(path, None, Some(body)).await;
    reply.assert_success(200, "Credential created successfully.");
    reply.data().clone()
}

#[tokio::test]
async fn sandbox_passkeys_register_and_sign_in_with_the_software_authenticator() {
    let app = TestApp::sandbox(&[]).await;
    let (id, bearer) = sandbox_user(&app, "ada@example.com").await;
    // The password: what adding a way in asks for (a route without a body ignores it).
    let proof = json!({"password": PASSWORD});
    let options = app.post(&format!("/users/{id}/passkeys/options"), Some(&bearer), Some(proof)).await;
    options.assert_success(200, "Passkey creation options created successfully.");
    assert_eq!(options.data()["publicKey"]["rp"]["id"], "localhost");
    let made = answer(&app, "/sandbox/passkey/attestation", json!({"options": options.data()})).await;
    let credential_id = made["credential_id"].as_str().unwrap().to_string();
    let body = json!({"credential": made["credential"]});
    let added = app.post(&format!("/users/{id}/passkeys"), Some(&bearer), Some(body)).await;
    added.assert_success(201, "Passkey added successfully.");

    for _ in 0..2 {
        let options = app.post("/auth/passkey/options", None, None).await;
        options.assert_success(200, "Passkey sign-in options created successfully.");
        let challenge_id = options.data()["challenge_id"].as_str().unwrap().to_string();
        let body = json!({"options": options.data(), "credential_id": credential_id});
        let signed = answer(&app, "/sandbox/passkey/assertion", body).await;
        let body = json!({"challenge_id": challenge_id, "credential": signed["credential"]});
        let signed_in = app.post("/auth/passkey", None, Some(body)).await;
        signed_in.assert_success(200, "User logged in successfully.");
        assert_eq!(signed_in.data()["id"], id.as_str());
    }

    // What the authenticator cannot answer is the 400.
    let sign_in = app.post("/auth/passkey/options", None, None).await;
    let not_ours = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for (path, body) in [
        ("/sandbox/passkey/assertion", json!({"options": sign_in.data(), "credential_id": not_ours})),
        ("/sandbox/passkey/assertion", json!({"options": sign_in.data()})),
        ("/sandbox/passkey/attestation", json!({"options": {"publicKey": {"challenge": "abc"}}})),
        ("/sandbox/passkey/attestation", json!({"options": "text"})),
        ("/sandbox/passkey/attestation", json!({})),
    ] {
        app.post(path, None, Some(body)).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    app.post("/sandbox/passkey/assertion", None, None).await.assert_error(400, "empty_body", MSG_EMPTY);
}
