"""The inbound endpoints over HTTPS, end to end with real processes and certificates made here
with openssl: the same handlers as over HTTP, mutual TLS refusing clients without a trusted
certificate at the handshake, and allowedSenders answering a trusted but unlisted client 403 with
problem JSON — counted, and nothing stored."""

import json
import os
import re
import socket
import ssl
import unittest
import urllib.error
import urllib.request

from harness import SOURCE_DIR, DevFhirServer, Gateway, wait_for
from test_mllp import Certificates

KITH_SCHEMAS = os.path.join(SOURCE_DIR, "schemas", "kith")
DIALOG = os.path.join(SOURCE_DIR, "mappings", "kith", "examples", "dialogmelding-helsefaglig-odegard.xml")
MSG_ID = "7c1e5a2b-3f4d-4e8a-9b6c-0d2e4f6a8b10"
ALLOWED = "/C=NO/O=St. Olavs hospital/CN=lab.stolav.no"  # Certificates' "client"


def dialog():
    with open(DIALOG, "rb") as f:
        return f.read()


def post(url, body, context, content_type="application/xml", timeout=15):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def journal_total(gw):
    return sum(value for (name, _), value in gw.metrics().items() if name == "helsebro_journal_messages")


class HttpsIntake(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()

    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)

    def gateway(self, **https):
        tls = {"certFile": self.certs.path("server.crt"), "keyFile": self.certs.path("server.key")}
        tls.update(https.pop("tls", {}))
        config = {"kith": {"schemasDir": KITH_SCHEMAS}, "https": dict({"port": 0, "tls": tls}, **https)}
        gw = Gateway(self.fhir.base, config=config).start()
        self.addCleanup(gw.cleanup)
        listening = next(e for e in gw.log.json_events() if e.get("event") == "server.listening")
        self.assertGreater(listening["https_port"], 0)
        return gw, f"https://127.0.0.1:{listening['https_port']}"

    def mutual(self, **extra):
        return self.gateway(tls={"caFile": self.certs.path("ca.crt"), "requireClientCertificate": True}, **extra)

    def test_https_post_of_an_e_message_is_answered_with_the_apprec_and_delivered(self):
        gw, base = self.gateway()
        status, headers, body = post(base + "/inbound/kith", dialog(), self.certs.client_context())
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Content-Type"].startswith("application/xml"))
        self.assertRegex(body.decode(), r'<Status[^>]*\bV="1"')
        found = wait_for(lambda: self.fhir.search("Communication", identifier="urn:ietf:rfc:3986|urn:uuid:" + MSG_ID),
                         what="the Communication")
        self.assertEqual(len(found), 1)
        # Only the inbound endpoints are served over HTTPS; the rest stays on the HTTP listener.
        req = urllib.request.Request(base + "/metrics")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10, context=self.certs.client_context())
        self.assertEqual(refused.exception.code, 404)
        self.assertEqual(gw.metric("helsebro_intake_messages_acknowledged_total", channel="http-kith"), 1)

    def test_a_client_without_a_trusted_certificate_is_refused_at_the_handshake(self):
        gw, base = self.mutual()
        for cert in (None, "rogue"):
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                post(base + "/inbound/kith", dialog(), self.certs.client_context(cert))
        wait_for(lambda: gw.metric("helsebro_listen_connections_refused_total", channel="https",
                                   reason="tls_handshake") == 2, what="refused handshakes counted")
        self.assertEqual(journal_total(gw), 0)

    def test_a_trusted_client_not_among_the_allowed_senders_gets_403_problem_json(self):
        gw, base = self.mutual(allowedSenders=[{"certificateSubject": ALLOWED}])
        status, headers, body = post(base + "/inbound/kith", dialog(), self.certs.client_context("other-client"))
        self.assertEqual(status, 403, body)
        self.assertEqual(headers["Content-Type"], "application/problem+json")
        problem = json.loads(body)
        self.assertEqual((problem["status"], problem["title"]), (403, "Forbidden"))
        self.assertIn("/C=NO/O=Helse Nord/CN=lab.unn.no", problem["detail"])
        self.assertEqual(gw.metric("helsebro_listen_requests_refused_total", listener="https",
                                   reason="sender_not_allowed"), 1)
        self.assertEqual(journal_total(gw), 0, "refused at the transport, never stored")

        # Refused on its header: a sender not allowed is not invited to send its body.
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with self.certs.client_context("other-client").wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"POST /inbound/kith HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                            b"Content-Length: 3000000\r\nExpect: 100-continue\r\n\r\n")
                first = tls.recv(65536)
        self.assertTrue(first.startswith(b"HTTP/1.1 403 "), first[:80])

        status, _, body = post(base + "/inbound/kith", dialog(), self.certs.client_context("client"))
        self.assertEqual(status, 200, body)
        self.assertRegex(body.decode(), r'<Status[^>]*\bV="1"')
        self.assertEqual(journal_total(gw), 1)
        self.assertEqual(gw.metric("helsebro_listen_requests_refused_total", listener="https",
                                   reason="sender_not_allowed"), 2)

    def test_allowed_senders_without_a_required_certificate_refuse_anonymous_clients(self):
        gw, base = self.gateway(tls={"caFile": self.certs.path("ca.crt")},
                                allowedSenders=[{"certificateSubject": ALLOWED}])
        status, headers, body = post(base + "/inbound/hl7v2", b"MSH|^~\\&|A|B\r", self.certs.client_context(),
                                     content_type="x-application/hl7-v2+er7")
        self.assertEqual(status, 403, body)
        self.assertIn("client certificate is required", json.loads(body)["detail"])
        status, _, body = post(base + "/inbound/kith", dialog(), self.certs.client_context("client"))
        self.assertEqual(status, 200, body)
        self.assertEqual(journal_total(gw), 1)

    def test_an_unusable_certificate_stops_the_start_naming_it(self):
        config = {"https": {"port": 0, "tls": {"certFile": "/nonexistent/server.crt", "keyFile": "/nonexistent/k"}}}
        gw = Gateway(self.fhir.base, config=config)
        self.addCleanup(gw.cleanup)
        with self.assertRaises(RuntimeError) as failed:
            gw.start()
        self.assertIn("listen.start_failed", str(failed.exception))


if __name__ == "__main__":
    unittest.main()
