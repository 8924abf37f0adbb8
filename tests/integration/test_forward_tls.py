"""TLS towards the shared record, with real processes: the dev FHIR server speaks HTTPS with
certificates made here by the openssl CLI. Delivery works when fhir.tls.caFile vouches for the
server; a certificate from another authority or for another host name gets nothing delivered,
and the message stays failed (retrying, never dead) with "certificate verify failed" as its
last error. Mutual TLS presents fhir.tls.certFile, and an https token endpoint is verified
the same way."""

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from harness import DevFhirServer, Gateway, wait_for
from test_oauth import CLIENT_ID, PATIENTS, TokenEndpoint, journal_states, send_each

RETRY = {"initialSeconds": 0.05, "maxSeconds": 0.3}


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Pki:
    """Two certificate authorities and the certificates the tests need, in a temporary folder."""

    def __init__(self, folder):
        self.folder = folder
        for ca in ("ca", "other-ca"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                    "-subj", f"/CN=Helsebro test {ca}", "-keyout", self.path(f"{ca}.key"), "-out", self.path(f"{ca}.pem"))
        self.issue("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        self.issue("other-host", "ca", "subjectAltName=DNS:fhir.other.example\nextendedKeyUsage=serverAuth")
        self.issue("server-by-other-ca", "other-ca", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        self.issue("client", "ca", "extendedKeyUsage=clientAuth")

    def path(self, name):
        return os.path.join(self.folder, name)

    def issue(self, name, ca, extensions):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
                "-keyout", self.path(f"{name}.key"), "-out", self.path(f"{name}.csr"))
        with open(self.path(f"{name}.ext"), "w") as f:
            f.write(extensions + "\n")
        openssl("x509", "-req", "-in", self.path(f"{name}.csr"), "-CA", self.path(f"{ca}.pem"), "-CAkey",
                self.path(f"{ca}.key"), "-CAcreateserial", "-days", "1", "-extfile", self.path(f"{name}.ext"),
                "-out", self.path(f"{name}.pem"))

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.path("ca.pem"))
        ctx.load_cert_chain(self.path("client.pem"), self.path("client.key"))
        return ctx

    def server_context(self, name="server"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.path(f"{name}.pem"), self.path(f"{name}.key"))
        return ctx


class HttpsFhirServer(DevFhirServer):
    """The dev FHIR server on HTTPS with one of the Pki's certificates; its test hooks are read
    over HTTPS too, trusting the Pki's own CA only for the hooks, never by name."""

    def __init__(self, pki, cert, client_ca=False):
        super().__init__()
        self.pki, self.cert, self.client_ca = pki, cert, client_ca

    def extra_args(self):
        args = ["--tls-cert", self.pki.path(f"{self.cert}.pem"), "--tls-key", self.pki.path(f"{self.cert}.key")]
        if self.client_ca:
            args += ["--tls-client-ca", self.pki.path("ca.pem")]
        return args

    @property
    def base(self):
        return f"https://localhost:{self.port}/fhir"

    def arrivals(self):
        ctx = self.pki.client_context()
        ctx.check_hostname = False  # the hooks only; the gateway's checks are what is tested
        ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/$test/arrivals", context=ctx, timeout=10) as r:
            return json.loads(r.read())


class ForwardTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="helsebro-tls-")
        cls.pki = Pki(cls.folder)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def https_server(self, cert="server", client_ca=False):
        server = HttpsFhirServer(self.pki, cert, client_ca).start()
        self.addCleanup(server.stop)
        return server

    def gateway(self, fhir_base, tls=None, auth=None):
        fhir = {"retry": RETRY}
        if tls is not None:
            fhir["tls"] = tls
        if auth is not None:
            fhir["auth"] = auth
        gw = Gateway(fhir_base, config={"fhir": fhir}).start()
        self.addCleanup(gw.cleanup)
        return gw

    def assert_refused_and_retrying(self, gw, server, *expected_reason):
        wait_for(lambda: gw.metric("helsebro_forward_attempts_failed_total", reason="tls") >= 3,
                 what="failed TLS attempts")
        [(state, reason, attempts)] = journal_states(gw)
        self.assertEqual(state, "failed", "retrying, not dead")
        self.assertGreaterEqual(attempts, 3)
        for part in expected_reason:
            self.assertIn(part, reason)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="dead"), 0)
        self.assertEqual(gw.metric("helsebro_forward_messages_delivered_total"), 0)
        self.assertEqual([a for a in server.arrivals() if a["path"] == "/fhir"], [], "nothing reached the server")
        failures = [e for e in gw.log.json_events() if e.get("event") == "forward.tls_failed"]
        self.assertTrue(failures, "the failure is logged")
        self.assertEqual(failures[0]["host"], "localhost")
        self.assertIn("certificate verify failed", failures[0]["error"])
        self.assertNotIn(PATIENTS[0], gw.log_text())

    def test_delivers_over_https_to_a_server_the_ca_file_vouches_for(self):
        server = self.https_server()
        for host in ("localhost", "127.0.0.1"):  # a DNS name and an IP address in subjectAltName
            with self.subTest(host=host):
                gw = self.gateway(f"https://{host}:{server.port}/fhir", tls={"caFile": self.pki.path("ca.pem")})
                send_each(gw, [(f"TLS{host[:3]}{i}", PATIENTS[i]) for i in range(3)])
                wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == 3, what="delivery")
                self.assertEqual(gw.metric("helsebro_forward_attempts_failed_total"), 0)
        self.assertEqual([a["status"] for a in server.arrivals() if a["path"] == "/fhir"], [200] * 6)

    def test_a_certificate_from_another_authority_is_refused(self):
        server = self.https_server("server-by-other-ca")
        gw = self.gateway(server.base, tls={"caFile": self.pki.path("ca.pem")})
        send_each(gw, [("WRONGCA1", PATIENTS[0])])
        self.assert_refused_and_retrying(gw, server, "localhost:", "certificate verify failed")

    def test_the_system_authorities_do_not_vouch_for_a_private_ca(self):
        server = self.https_server()
        gw = self.gateway(server.base)  # no caFile: the system's CAs
        send_each(gw, [("SYSCA001", PATIENTS[0])])
        self.assert_refused_and_retrying(gw, server, "certificate verify failed", "local issuer")

    def test_a_certificate_for_another_host_name_is_refused(self):
        server = self.https_server("other-host")
        gw = self.gateway(server.base, tls={"caFile": self.pki.path("ca.pem")})
        send_each(gw, [("WRONGHST", PATIENTS[0])])
        self.assert_refused_and_retrying(gw, server, "certificate verify failed", "not for localhost")

    def test_mutual_tls_presents_the_client_certificate(self):
        server = self.https_server(client_ca=True)
        anonymous = self.gateway(server.base, tls={"caFile": self.pki.path("ca.pem")})
        send_each(anonymous, [("MTLS0001", PATIENTS[0])])
        wait_for(lambda: anonymous.metric("helsebro_forward_attempts_failed_total") >= 2,
                 what="the server refusing a client without a certificate")
        self.assertEqual(journal_states(anonymous)[0][0], "failed")
        gw = self.gateway(server.base, tls={"caFile": self.pki.path("ca.pem"), "certFile": self.pki.path("client.pem"),
                                            "keyFile": self.pki.path("client.key")})
        send_each(gw, [("MTLS0002", PATIENTS[1])])
        wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == 1, what="delivery with mTLS")
        self.assertEqual(anonymous.metric("helsebro_forward_messages_delivered_total"), 0)

    def test_an_https_token_endpoint_is_verified_like_the_server(self):
        fhir = DevFhirServer().start()
        self.addCleanup(fhir.stop)
        fhir.hook("auth", {"token": "nobody-has-this-token"})
        endpoint = TokenEndpoint(fhir, secret="pw", ssl_context=self.pki.server_context(), host="localhost")
        self.addCleanup(endpoint.stop)
        auth = {"type": "client_secret", "tokenUrl": endpoint.url, "clientId": CLIENT_ID, "clientSecret": "pw"}
        untrusting = self.gateway(fhir.base, tls={"caFile": self.pki.path("other-ca.pem")}, auth=auth)
        send_each(untrusting, [("TOKTLS01", PATIENTS[0])])
        wait_for(lambda: untrusting.metric("helsebro_forward_attempts_failed_total", reason="token") >= 2,
                 what="attempts failing for want of a token")
        reason = journal_states(untrusting)[0][1]
        self.assertIn("token endpoint localhost", reason)
        self.assertIn("certificate verify failed", reason)
        self.assertEqual(endpoint.requests, 0, "no request reached the endpoint unverified")
        gw = self.gateway(fhir.base, tls={"caFile": self.pki.path("ca.pem")}, auth=auth)
        send_each(gw, [("TOKTLS02", PATIENTS[1])])
        wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == 1, what="delivery")
        self.assertEqual(endpoint.requests, 1)

    def test_an_unusable_ca_file_stops_the_start_naming_it(self):
        gw = Gateway("https://localhost:1/fhir", config={"fhir": {"tls": {"caFile": "/nonexistent/ca.pem"}}})
        self.addCleanup(gw.cleanup)
        with self.assertRaises(RuntimeError) as raised:
            gw.start()
        self.assertIn("/fhir/tls/caFile", str(raised.exception))
        self.assertIn("/nonexistent/ca.pem", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
