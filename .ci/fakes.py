"""Stand-ins for the outside services, for runs of the real server outside `cargo test`
(schemathesis, the client journeys, the browser check, the benchmarks).

- a Stripe API: customers, Checkout Sessions and billing-portal sessions;
- an OpenAI-compatible model provider: chat completions with a fixed verdict;
- Google's JWKS (empty) at the provider's `/certs`;
- an SMTP sink that appends each message to a file, so scripts can read one-time codes.

Usage: python fakes.py --stripe PORT --provider PORT --smtp PORT --mail-log FILE
"""

import argparse
import itertools
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

COUNTER = itertools.count(1)

VERDICT = {
    "verdict": "FALSE",
    "confidence": 0.9,
    "summary": "The claim contradicts the record.",
    "findings": ["The record says otherwise."],
    "sources": ["https://example.org/record"],
}


class Json(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)


class Stripe(Json):
    def do_POST(self):
        urllib.parse.parse_qs(self.body().decode(errors="replace"))
        n = next(COUNTER)
        if self.path == "/v1/customers":
            return self.answer(200, {"id": f"cus_fake_{n}", "object": "customer"})
        if self.path == "/v1/checkout/sessions":
            return self.answer(200, {"id": f"cs_fake_{n}", "url": f"https://checkout.stripe.test/c/pay/cs_fake_{n}"})
        if self.path == "/v1/billing_portal/sessions":
            return self.answer(200, {"id": f"bps_fake_{n}", "url": f"https://billing.stripe.test/p/session/{n}"})
        return self.answer(404, {"error": {"type": "invalid_request_error", "message": "unknown"}})


class Provider(Json):
    def do_GET(self):
        # Google's key set (served here too): empty, so no ID token verifies.
        if self.path == "/certs":
            return self.answer(200, {"keys": []})
        return self.answer(404, {"error": {"message": "unknown"}})

    def do_POST(self):
        self.body()
        if self.path.endswith("/chat/completions"):
            content = json.dumps(VERDICT)
            return self.answer(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})
        if self.path.endswith("/audio/transcriptions"):
            return self.answer(200, {"text": "A transcript."})
        return self.answer(404, {"error": {"message": "unknown"}})


class Sink:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        text = envelope.content.decode("utf-8", errors="replace")
        with self.lock, open(self.path, "a", encoding="utf-8") as log:
            log.write(f"=== to: {','.join(envelope.rcpt_tos)}\n{text}\n")
        return "250 OK"


def serve(handler, port):
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stripe", type=int, required=True)
    parser.add_argument("--provider", type=int, required=True)
    parser.add_argument("--smtp", type=int, required=True)
    parser.add_argument("--mail-log", required=True)
    args = parser.parse_args()
    serve(Stripe, args.stripe)
    serve(Provider, args.provider)
    smtp = Controller(Sink(args.mail_log), hostname="127.0.0.1", port=args.smtp)
    smtp.start()
    print("fakes: ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
