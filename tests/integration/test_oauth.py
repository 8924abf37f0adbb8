"""OAuth 2.0 client credentials towards the shared record, with real processes: a token endpoint
in this test issues short-lived tokens and tells the dev FHIR server which ones it accepts. The
gateway renews tokens before they lapse, one request at a time however many lanes wait, sends
them as bearer tokens, answers a 401 with exactly one renewal and one retry, never loops on a
server that keeps refusing, and never logs a secret or a token. Both client authentications
(client_secret in HTTP Basic, private_key_jwt) are checked here, the JWT's signature with the
public key through Python's cryptography package."""

import base64
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from harness import CR, EB, SB, DevFhirServer, Gateway, MllpConnection, hl7, segments, wait_for

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ID = "helsebro-test"
STATES = ["received", "translated", "delivered", "rejected", "failed", "dead"]


def fnr(born, individual):
    """A fødselsnummer with valid check digits (mod 11)."""
    digits = f"{born}{individual:03d}"
    for weights in ([3, 7, 6, 1, 8, 9, 4, 5, 2], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]):
        check = 11 - sum(int(d) * w for d, w in zip(digits, weights)) % 11
        if check == 10:
            return None
        digits += str(check % 11)
    return digits


PATIENTS = [f for f in (fnr("150385", i) for i in range(100, 160)) if f][:24]


def adt(control_id, patient):
    return hl7(
        f"MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500+0100||ADT^A08^ADT_A01|{control_id}|P|2.5",
        f"PID|1||{patient}^^^^FNR||Hansen^Åse||19920724|F",
        f"PV1|1|I|POL^^^STOLAV||||||||||||||||V-{control_id}",
    )


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_client_assertion(assertion, public_key, algorithm, audience, seen_jtis):
    """Checks an RFC 7523 client assertion; returns the problem, or None when it is good."""
    try:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(payload_b64))
        signature = b64url_decode(signature_b64)
    except ValueError as e:
        return f"malformed assertion: {e}"
    if header.get("alg") != algorithm:
        return f"alg {header.get('alg')!r}"
    signed = f"{header_b64}.{payload_b64}".encode()
    try:
        if algorithm == "RS256":
            public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            if len(signature) != 64:
                return "ES256 signature is not r||s"
            der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "bad signature"
    now = time.time()
    if claims.get("iss") != CLIENT_ID or claims.get("sub") != CLIENT_ID:
        return "iss/sub"
    if claims.get("aud") != audience:
        return f"aud {claims.get('aud')!r}"
    if not (now < claims.get("exp", 0) <= now + 120):
        return "exp"
    if not claims.get("jti") or claims["jti"] in seen_jtis:
        return "jti missing or replayed"
    seen_jtis.add(claims["jti"])
    return None


class TokenEndpoint:
    """An OAuth 2.0 token endpoint (client credentials) that registers every token it issues with
    the dev FHIR server's auth hook, for `lifetime` seconds (plus the half second of leeway real
    servers give for clock skew and transit). It counts requests and how many were in flight at
    once; `refuse` makes it answer 400 invalid_client."""

    LEEWAY = 0.5

    def __init__(self, fhir, lifetime=60, delay=0.0, secret=None, public_key=None, algorithm=None, scope=None,
                 ssl_context=None, host="127.0.0.1"):
        self.fhir, self.lifetime, self.delay = fhir, lifetime, delay
        self.secret, self.public_key, self.algorithm, self.scope = secret, public_key, algorithm, scope
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.issued = []
        self.problems = []
        self.jtis = set()
        self.refuse = False
        self.throttle = 0  # answer that many requests 429 with Retry-After: 2
        self.make_token = lambda: secrets.token_urlsafe(24)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                endpoint.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://{host}:{self.server.server_address[1]}/oauth2/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def check(self, request, form):
        if form.get("grant_type") != ["client_credentials"]:
            return "grant_type"
        if self.scope is not None and form.get("scope") != [self.scope]:
            return f"scope {form.get('scope')!r}"
        if self.secret is not None:
            kind, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
            if kind != "Basic":
                return "no Basic authorization"
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            if (urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)) != (CLIENT_ID, self.secret):
                return "wrong client id or secret"
            return None
        if form.get("client_assertion_type") != [JWT_BEARER] or "client_assertion" not in form:
            return "no client assertion"
        return verify_client_assertion(form["client_assertion"][0], self.public_key, self.algorithm, self.url, self.jtis)

    def handle(self, request):
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            body = request.rfile.read(int(request.headers.get("Content-Length", 0))).decode()
            form = urllib.parse.parse_qs(body)
            with self.lock:
                throttled, self.throttle = self.throttle > 0, max(0, self.throttle - 1)
            if throttled:
                self.reply(request, 429, {"error": "slow_down"}, {"Retry-After": "2"})
                return
            problem = "refused by the test" if self.refuse else self.check(request, form)
            if problem:
                with self.lock:
                    self.problems.append(problem)
                self.reply(request, 400, {"error": "invalid_client", "error_description": "Client authentication failed"})
                return
            token = self.make_token()
            self.fhir.hook("auth", {"add": token, "expiresIn": self.lifetime + self.LEEWAY})
            with self.lock:
                self.issued.append(token)
            self.reply(request, 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime})
        finally:
            with self.lock:
                self.in_flight -= 1

    @staticmethod
    def reply(request, status, body, headers=None):
        data = json.dumps(body).encode()
        request.send_response(status)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        request.wfile.write(data)


def journal_states(gw):
    """[(state, reason, attempts)] of every message in the gateway's journal."""
    con = sqlite3.connect(f"file:{os.path.join(gw.data_dir, 'journal.db')}?mode=ro", uri=True, timeout=5)
    try:
        return [(STATES[s], reason, attempts) for s, reason, attempts in
                con.execute("SELECT state, reason, attempts FROM messages ORDER BY seq")]
    finally:
        con.close()


def send_each(gw, messages, seconds=0.0):
    """Sends (control id, patient) pairs one by one, each after the ACK of the one before, spread
    evenly over `seconds`."""
    conn = MllpConnection(gw.mllp_port)
    started = time.monotonic()
    try:
        for i, (control, patient) in enumerate(messages):
            time.sleep(max(0.0, started + seconds * i / len(messages) - time.monotonic()))
            conn.send(adt(control, patient))
            assert segments(conn.read_frame().decode())["MSA"][1] == "AA"
    finally:
        conn.close()


class OAuth(unittest.TestCase):
    RETRY = {"initialSeconds": 0.05, "maxSeconds": 0.3}

    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)
        self.fhir.hook("auth", {"token": secrets.token_urlsafe(24)})  # nobody has this one
        self.tmp = tempfile.mkdtemp(prefix="helsebro-oauth-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def endpoint(self, **kwargs):
        endpoint = TokenEndpoint(self.fhir, **kwargs)
        self.addCleanup(endpoint.stop)
        return endpoint

    def gateway(self, auth, env=None, lanes=4, retry=None):
        gw = Gateway(self.fhir.base, config={"fhir": {"lanes": lanes, "retry": retry or self.RETRY, "auth": auth}},
                     env=env).start()
        self.addCleanup(gw.cleanup)
        return gw

    def secret_gateway(self, endpoint, secret, **kwargs):
        return self.gateway({"type": "client_secret", "tokenUrl": endpoint.url, "clientId": CLIENT_ID},
                            env={"HELSEBRO_FHIR_CLIENT_SECRET": secret}, **kwargs)

    def arrivals(self, status=None):
        return [a for a in self.fhir.arrivals() if a["path"] == "/fhir" and (status is None or a["status"] == status)]

    def delivered(self, gw, count, timeout=30):
        wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == count, timeout=timeout,
                 what=f"{count} messages delivered")

    def assert_no_secrets_logged(self, gw, *secrets_):
        log = gw.log_text()
        for s in secrets_:
            self.assertNotIn(s, log)
        for patient in PATIENTS:
            self.assertNotIn(patient, log)

    def test_short_lived_tokens_are_renewed_under_load_one_request_at_a_time(self):
        secret = "s3cr3t: with spaces/+&=%"
        endpoint = self.endpoint(lifetime=2, delay=0.3, secret=secret, scope="system/*.write")
        gw = self.gateway({"type": "client_secret", "tokenUrl": endpoint.url, "clientId": CLIENT_ID,
                           "scope": "system/*.write"}, env={"HELSEBRO_FHIR_CLIENT_SECRET": secret}, lanes=8)
        started = time.monotonic()
        messages = [(f"LOAD{i:04d}", PATIENTS[i % len(PATIENTS)]) for i in range(300)]
        send_each(gw, messages, seconds=6)  # three token lifetimes
        self.delivered(gw, len(messages))
        elapsed = time.monotonic() - started
        self.assertEqual(endpoint.problems, [])
        self.assertEqual(len(self.arrivals(200)), len(messages), "each delivered once, with an accepted token")
        self.assertEqual(self.arrivals(401), [], "no token is used after it lapsed")
        self.assertGreaterEqual(endpoint.requests, 3, "expired tokens were renewed")
        # One renewal per lifetime less its 10 % margin (plus the request's own 0.3 s), never more.
        self.assertLessEqual(endpoint.requests, int(elapsed / 2.1) + 2)
        # Once the token has lapsed, a burst for many patients starts every lane at once: they
        # all wait for one token request.
        time.sleep(2)
        endpoint.lifetime = 30  # so that the burst needs no second renewal
        before = endpoint.requests
        burst = [(f"BURST{i:03d}", PATIENTS[i % len(PATIENTS)]) for i in range(64)]
        conn = MllpConnection(gw.mllp_port)
        conn.send_raw(b"".join(SB + adt(control, patient) + EB + CR for control, patient in burst))
        acks = [segments(conn.read_frame().decode())["MSA"][1] for _ in burst]
        conn.close()
        self.assertEqual(acks, ["AA"] * len(burst))
        self.delivered(gw, len(messages) + len(burst))
        self.assertEqual(endpoint.requests, before + 1, "one token request for all lanes")
        self.assertEqual(endpoint.max_in_flight, 1, "never two token requests at once")
        self.assertEqual(self.arrivals(401), [])
        self.assert_no_secrets_logged(gw, secret, *endpoint.issued)

    def test_a_refused_token_costs_exactly_one_renewal_and_one_retry(self):
        endpoint = self.endpoint(lifetime=60, secret="pw")
        gw = self.secret_gateway(endpoint, "pw")
        send_each(gw, [("R401A", PATIENTS[0])])
        self.delivered(gw, 1)
        self.assertEqual(endpoint.requests, 1)
        self.fhir.hook("auth", {"rejectNext": 1})  # the server revokes the token the gateway holds
        send_each(gw, [("R401B", PATIENTS[1])])
        self.delivered(gw, 2)
        self.assertEqual(endpoint.requests, 2, "one renewal")
        self.assertEqual([a["status"] for a in self.arrivals()], [200, 401, 200], "one retry, with the new token")
        self.assertEqual(gw.metric("helsebro_forward_attempts_failed_total"), 0)
        self.assertEqual(gw.metric("helsebro_forward_upstream_responses_total", code="401"), 1)

    def test_a_server_that_keeps_refusing_tokens_is_retried_with_backoff_not_in_a_loop(self):
        endpoint = self.endpoint(lifetime=60, secret="pw")
        gw = self.secret_gateway(endpoint, "pw", retry={"initialSeconds": 0.2, "maxSeconds": 0.4})
        self.fhir.hook("auth", {"rejectNext": 1000})
        send_each(gw, [("LOOP0001", PATIENTS[2])])
        wait_for(lambda: gw.metric("helsebro_forward_attempts_failed_total", reason="http_401") >= 2,
                 what="failed attempts")
        time.sleep(2)
        state, reason, _ = journal_states(gw)[0]
        self.assertEqual(state, "failed", "retried, not dead")
        self.assertIn("HTTP 401", reason)
        self.fhir.hook("auth", {"rejectNext": 0})
        self.delivered(gw, 1)
        failed = gw.metric("helsebro_forward_attempts_failed_total", reason="http_401")
        refused = len(self.arrivals(401))
        self.assertLessEqual(failed, 16, "backoff between attempts, no tight loop")
        self.assertIn(refused - 2 * failed, (0, 1), "two tries per failed attempt (the last may have had one)")
        # The first token, then one renewal per attempt that met a 401: never more.
        self.assertEqual(endpoint.requests, 1 + failed + (refused - 2 * failed))
        self.assertEqual(len(self.arrivals(200)), 1)

    def test_a_refusing_token_endpoint_keeps_messages_retrying_with_a_clear_reason(self):
        secret = "correct-horse-battery"
        endpoint = self.endpoint(lifetime=60, secret=secret)
        endpoint.refuse = True
        gw = self.secret_gateway(endpoint, secret)
        send_each(gw, [("TOKFAIL1", PATIENTS[3])])
        wait_for(lambda: gw.metric("helsebro_forward_attempts_failed_total", reason="token") >= 2,
                 what="failed attempts for want of a token")
        state, reason, _ = journal_states(gw)[0]
        self.assertEqual(state, "failed")
        self.assertIn("invalid_client", reason)
        self.assertEqual(self.arrivals(), [], "nothing sent without a token")
        failures = [e for e in gw.log.json_events() if e.get("event") == "forward.token_failed"]
        self.assertTrue(failures and "HTTP 400 invalid_client" in failures[0]["error"], failures[:1])
        endpoint.refuse = False
        self.delivered(gw, 1)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="dead"), 0)
        self.assert_no_secrets_logged(gw, secret, *endpoint.issued)

    def test_a_token_endpoint_asking_for_time_is_left_alone_that_long(self):
        # 429 with Retry-After: 2 from the token endpoint. Every message retries every 50-300 ms
        # here, and each retry asked for a token: the endpoint that asked for time was asked again
        # and again. Now nothing is asked of it for 2 s, and the messages wait as long.
        secret = "correct-horse-battery"
        endpoint = self.endpoint(lifetime=60, secret=secret)
        endpoint.throttle = 1
        gw = self.secret_gateway(endpoint, secret)
        started = time.monotonic()
        send_each(gw, [(f"TOKSLOW{i}", PATIENTS[i]) for i in range(12)])  # more than the 4 lanes
        wait_for(lambda: endpoint.requests >= 1, what="the first token request")
        time.sleep(1.5)
        self.assertEqual(endpoint.requests, 1, "asked again within its Retry-After")
        states = journal_states(gw)
        self.assertTrue(all(state in ("translated", "failed") for state, _, _ in states), states)
        # The attempts that met the 429 failed; no other message was taken only to fail at once.
        self.assertLessEqual(gw.metric("helsebro_forward_attempts_failed_total", reason="token"), 4)
        self.delivered(gw, 12)
        self.assertEqual(endpoint.requests, 2)
        self.assertGreaterEqual(time.monotonic() - started, 2.0)

    def test_a_token_no_request_header_can_carry_is_refused_and_the_messages_retried(self):
        # A 70,000-character token cannot go into a request header. It was taken, the request could
        # not be built, and each lane held its message for good, without a word. Now the token is
        # refused with the reason, the messages are retried, and go once a usable token comes.
        secret = "correct-horse-battery"
        endpoint = self.endpoint(lifetime=60, secret=secret)
        endpoint.make_token = lambda: "A" * 70000
        gw = self.secret_gateway(endpoint, secret, lanes=2)
        send_each(gw, [("TOKBIG1", PATIENTS[0]), ("TOKBIG2", PATIENTS[1]), ("TOKBIG3", PATIENTS[2])])
        wait_for(lambda: gw.metric("helsebro_forward_attempts_failed_total", reason="token") >= 3,
                 what="failed attempts for want of a usable token")
        wait_for(lambda: all(state == "failed" for state, _, _ in journal_states(gw)), what="every message failed")
        for state, reason, _ in journal_states(gw):
            self.assertIn("70000 bytes; at most 16384 fit in a request header", reason)
        self.assertEqual(self.arrivals(), [], "nothing sent without a usable token")
        endpoint.make_token = lambda: secrets.token_urlsafe(24)
        self.delivered(gw, 3)

    def make_key(self, algorithm):
        path = os.path.join(self.tmp, f"{algorithm}.pem")
        options = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if algorithm == "RS256" else \
            ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "genpkey", *options, "-out", path], check=True, capture_output=True)
        public = subprocess.run(["openssl", "pkey", "-in", path, "-pubout"], check=True, capture_output=True).stdout
        return path, serialization.load_pem_public_key(public)

    def test_private_key_jwt_assertions_are_signed_and_verifiable(self):
        for algorithm in ("RS256", "ES256"):
            with self.subTest(algorithm=algorithm):
                self.fhir.hook("reset", {})
                self.fhir.hook("auth", {"token": secrets.token_urlsafe(24)})
                key_file, public_key = self.make_key(algorithm)
                endpoint = self.endpoint(lifetime=1, public_key=public_key, algorithm=algorithm)
                gw = self.gateway({"type": "private_key_jwt", "tokenUrl": endpoint.url, "clientId": CLIENT_ID,
                                   "privateKeyFile": key_file, "keyId": "test-key"})
                send_each(gw, [(f"JWT{algorithm}1", PATIENTS[4])])
                self.delivered(gw, 1)
                time.sleep(1.1)  # the token lapses: the next message needs a fresh assertion
                send_each(gw, [(f"JWT{algorithm}2", PATIENTS[4])])
                self.delivered(gw, 2)
                self.assertEqual(endpoint.problems, [])
                self.assertGreaterEqual(endpoint.requests, 2)
                self.assertEqual(len(endpoint.jtis), endpoint.requests, "a new jti for each assertion")
                with open(key_file) as f:
                    self.assertNotIn(f.read().splitlines()[1], gw.log_text())
                gw.cleanup()


if __name__ == "__main__":
    unittest.main()
