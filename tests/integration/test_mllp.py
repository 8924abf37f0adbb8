"""MLLP in full, with real processes: TLS and mutual TLS (certificates made here with openssl),
a refused client certificate, allowed senders, pipelining, frames split across reads, bytes
outside frames, duplicates, enhanced-mode acknowledgements, batches, connection limits."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import (CR, EB, SB, DevFhirServer, Gateway, MllpConnection, hl7, segments, wait_for)


def adt(control_id, fnr="15038510190", msh15="", msh16="", facility="STOLAV"):
    return hl7(
        f"MSH|^~\\&|DIPS|{facility}|HELSEBRO|HMN|20261123101500+0100||ADT^A04^ADT_A01|{control_id}|P|2.5|||{msh15}|{msh16}|NOR|UNICODE UTF-8",
        f"PID|1||{fnr}^^^^FNR||Hansen^Åse||19920724|F",
        f"PV1|1|O|POL^^^STOLAV||||||||||||||||V-{control_id}^^^STOLAV&2.16.578.1.12.4.1.4.102.1&ISO^VN",
    )


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Certificates:
    """A CA, a server certificate for 127.0.0.1, a client certificate it signed, and a client
    certificate from a CA the gateway does not trust."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="helsebro-certs-")
        d = self.dir
        for ca in ("ca", "rogue-ca"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=Helsebro test {ca}",
                    "-keyout", f"{ca}.key", "-out", f"{ca}.crt", cwd=d)
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self._issue("server", "/CN=localhost", "ca", ext="server.ext")
        self._issue("client", "/C=NO/O=St. Olavs hospital/CN=lab.stolav.no", "ca")
        self._issue("other-client", "/C=NO/O=Helse Nord/CN=lab.unn.no", "ca")
        self._issue("rogue", "/C=NO/O=Nobody/CN=rogue", "rogue-ca")

    def _issue(self, name, subject, ca, ext=None):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key",
                "-out", f"{name}.csr", cwd=self.dir)
        args = ["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.crt"]
        if ext:
            args += ["-extfile", ext]
        openssl(*args, cwd=self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def client_context(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path(f"{cert}.crt"), self.path(f"{cert}.key"))
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TlsConnection(MllpConnection):
    def __init__(self, port, context, timeout=10):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.buffer = b""


class MllpChannels(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()
        cls.fhir = DevFhirServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.fhir.stop()
        cls.certs.cleanup()

    def gateway(self, config=None, **options):
        gw = Gateway(self.fhir.base, config=config, **options).start()
        self.addCleanup(gw.cleanup)
        return gw

    def tls(self, **extra):
        return dict({"certFile": self.certs.path("server.crt"), "keyFile": self.certs.path("server.key")}, **extra)

    # TLS ----------------------------------------------------------------------------------------

    def test_tls_session_is_acknowledged_and_delivered(self):
        gw = self.gateway({"mllp": {"tls": self.tls()}})
        conn = TlsConnection(gw.mllp_port, self.certs.client_context())
        conn.send(adt("TLS00001", fnr="24079210087"))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        wait_for(lambda: self.fhir.patients_with_fnr("24079210087"), what="delivery of the TLS message")

    def test_mutual_tls_client_subject_decides_who_may_send(self):
        subject = "/C=NO/O=St. Olavs hospital/CN=lab.stolav.no"
        gw = self.gateway({"mllp": {"tls": self.tls(caFile=self.certs.path("ca.crt"), requireClientCertificate=True),
                                    "allowedSenders": [{"certificateSubject": subject}]}})
        allowed = TlsConnection(gw.mllp_port, self.certs.client_context("client"))
        allowed.send(adt("MTLS0001"))
        self.assertEqual(segments(allowed.read_frame().decode())["MSA"][1], "AA")
        allowed.close()
        # Trusted by the CA, but not a sender this channel takes: AR, not a dropped connection.
        other = TlsConnection(gw.mllp_port, self.certs.client_context("other-client"))
        other.send(adt("MTLS0002"))
        ack = segments(other.read_frame().decode())
        other.close()
        self.assertEqual(ack["MSA"][1], "AR")
        self.assertEqual(ack["MSA"][2], "MTLS0002")
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", reason="sender_not_allowed"), 1)

    def test_client_certificate_from_an_unknown_authority_is_refused(self):
        gw = self.gateway({"mllp": {"tls": self.tls(caFile=self.certs.path("ca.crt"), requireClientCertificate=True)}})
        for cert in ("rogue", None):
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                conn = TlsConnection(gw.mllp_port, self.certs.client_context(cert))
                conn.send(adt("ROGUE001"))
                conn.read_frame()
        wait_for(lambda: gw.metric("helsebro_listen_connections_refused_total", reason="tls_handshake") == 2,
                 what="refused handshakes counted")
        good = TlsConnection(gw.mllp_port, self.certs.client_context("client"))
        good.send(adt("AFTERROG"))
        self.assertEqual(segments(good.read_frame().decode())["MSA"][1], "AA")
        good.close()

    # Framing ------------------------------------------------------------------------------------

    def test_pipelined_messages_are_answered_in_order(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        ids = [f"PIPE{i:04d}" for i in range(25)]
        conn.send_raw(b"".join(SB + adt(i) + EB + CR for i in ids))
        answered = [segments(conn.read_frame().decode())["MSA"] for _ in ids]
        conn.close()
        self.assertEqual([a[2] for a in answered], ids)
        self.assertTrue(all(a[1] == "AA" for a in answered))

    def test_a_frame_split_across_reads_is_joined(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        wire = SB + adt("SPLIT001") + EB + CR
        for i in range(0, len(wire), 7):
            conn.send_raw(wire[i:i + 7])
            time.sleep(0.005)
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][2], "SPLIT001")
        conn.close()

    def test_bytes_outside_frames_are_skipped_and_counted(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        conn.send_raw(b"noise before" + SB + adt("NOISE001") + EB + CR)
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        self.assertEqual(gw.metric("helsebro_listen_skipped_bytes_total"), len(b"noise before"))

    def test_a_frame_cut_short_by_a_start_block_is_kept_as_rejected_and_not_answered(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        conn.send_raw(SB + adt("CUT00001")[:60] + SB + adt("WHOLE001") + EB + CR)
        reply = segments(conn.read_frame().decode())
        self.assertEqual((reply["MSA"][1], reply["MSA"][2]), ("AA", "WHOLE001"))  # the only answer
        conn.close()
        self.assertEqual(gw.metric("helsebro_listen_frames_abandoned_total", channel="mllp"), 1)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 1)  # kept for inspection

    def test_a_batch_frame_gets_a_batch_acknowledgement(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        batch = (b"BHS|^~\\&|DIPS|STOLAV|||20261123||||BATCH01\r" + adt("BAT00001") + adt("BAT00002")
                 + b"BTS|2\r")
        conn.send(batch)
        reply = conn.read_frame().decode()
        conn.close()
        self.assertTrue(reply.startswith("BHS|"), reply)
        self.assertIn("MSA|AA|BAT00001", reply)
        self.assertIn("MSA|AA|BAT00002", reply)
        self.assertIn("BTS|2", reply)

    # Acknowledgements ---------------------------------------------------------------------------

    def test_enhanced_mode_gets_commit_acks_as_msh15_asks(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt("ENH00001", msh15="AL", msh16="NE"))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1:3], ["CA", "ENH00001"])
        # NE: no acknowledgement at all; the next frame's answer comes first.
        conn.send(adt("ENH00002", msh15="NE", msh16="NE"))
        conn.send(adt("ORIG0003"))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1:3], ["AA", "ORIG0003"])
        conn.close()
        # What was sent is counted: the unanswered one as "none", not as the CA it was not sent.
        self.assertEqual(gw.metric("helsebro_intake_messages_acknowledged_total", channel="mllp", code="CA"), 1)
        self.assertEqual(gw.metric("helsebro_intake_messages_acknowledged_total", channel="mllp", code="none"), 1)
        self.assertEqual(gw.metric("helsebro_intake_ack_seconds_count", channel="mllp"), 2)

    def test_a_resent_message_gets_its_original_ack_and_is_not_processed_twice(self):
        gw = self.gateway()
        before = len([a for a in self.fhir.arrivals() if a["method"] == "POST" and a["path"] == "/fhir"])
        replies = []
        for _ in range(2):
            conn = MllpConnection(gw.mllp_port)
            conn.send(adt("DUPL0001", fnr="01020310045"))
            replies.append(conn.read_frame())
            conn.close()
        self.assertEqual(replies[0], replies[1], "the same ACK, byte for byte")
        self.assertEqual(gw.metric("helsebro_intake_duplicates_total"), 1)
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 1, what="one delivery")
        time.sleep(0.3)
        after = len([a for a in self.fhir.arrivals() if a["method"] == "POST" and a["path"] == "/fhir"])
        self.assertEqual(after - before, 1)
        self.assertEqual(sum(gw.metric("helsebro_journal_messages", state=s)
                             for s in ("received", "translated", "delivered", "failed", "dead", "rejected")), 1)

    def test_a_resent_held_message_gets_its_original_ack_and_is_held_once(self):
        # Held (no mapping for its type yet) is accepted too: a resend must not become a second
        # held copy, which a replay would then deliver twice.
        gw = self.gateway({"mllp": {"holdUnmapped": True}})
        unmapped = hl7(
            "MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500+0100||ADT^A20^ADT_A20|HELD0001|P|2.5|||||NOR|UNICODE UTF-8",
            "NPU|ICU^101^1")
        replies = []
        for _ in range(2):
            conn = MllpConnection(gw.mllp_port)
            conn.send(unmapped)
            replies.append(conn.read_frame())
            conn.close()
        self.assertEqual(segments(replies[0].decode())["MSA"][1:3], ["AA", "HELD0001"])
        self.assertEqual(replies[0], replies[1], "the same ACK, byte for byte")
        self.assertEqual(gw.metric("helsebro_intake_duplicates_total"), 1)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="held"), 1)

    def test_a_control_id_used_again_for_another_message_is_stored_and_delivered(self):
        # A sender whose counter started over: the same MSH-10, another patient. Not a resend.
        gw = self.gateway()
        replies = []
        for fnr in ("24079210087", "01020310045"):
            conn = MllpConnection(gw.mllp_port)
            conn.send(adt("REUSED01", fnr=fnr))
            replies.append(segments(conn.read_frame().decode())["MSA"][1:3])
            conn.close()
        self.assertEqual(replies, [["AA", "REUSED01"], ["AA", "REUSED01"]])
        self.assertEqual(gw.metric("helsebro_intake_duplicates_total"), 0)
        self.assertEqual(gw.metric("helsebro_intake_control_ids_reused_total", channel="mllp"), 1)
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 2, what="both delivered")
        self.assertIn("mllp.control_id_reused", gw.log_text())

    # Limits -------------------------------------------------------------------------------------

    def test_connections_over_the_cap_are_refused(self):
        gw = self.gateway({"mllp": {"maxConnections": 1}})
        first = MllpConnection(gw.mllp_port)
        first.send(adt("CAP00001"))
        self.assertEqual(segments(first.read_frame().decode())["MSA"][1], "AA")
        second = MllpConnection(gw.mllp_port)
        self.assertTrue(second.is_closed_by_peer())
        second.close()
        first.close()
        self.assertEqual(gw.metric("helsebro_listen_connections_refused_total", reason="max_connections"), 1)

    def test_running_out_of_file_descriptors_pauses_accepting_instead_of_spinning(self):
        gw = self.gateway(fd_limit=48)
        conns = []
        for _ in range(60):  # more than the process may open
            try:
                conns.append(socket.create_connection(("127.0.0.1", gw.mllp_port), timeout=5))
            except OSError:
                break
        time.sleep(1.5)
        failures = gw.log_text().count('"mllp.accept_failed"')
        for c in conns:
            c.close()
        # Logged once while failing, not once per retry (a descriptor freed meanwhile may let one
        # connection in, and the next failure be logged again).
        self.assertGreaterEqual(failures, 1)
        self.assertLessEqual(failures, 3)
        # Descriptors free again: accepting goes on.
        wait_for(lambda: '"mllp.accept_recovered"' in gw.log_text() or None, timeout=10, what="accepting again")
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt("FDS00001"))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        self.assertGreaterEqual(gw.metric("helsebro_listen_connections_refused_total", reason="accept_failed"), 1)

    def test_a_frame_trickling_in_a_byte_at_a_time_is_cut_off_at_the_read_timeout(self):
        gw = self.gateway({"mllp": {"readTimeoutSeconds": 1}})
        conn = MllpConnection(gw.mllp_port)
        started = time.monotonic()
        conn.send_raw(SB + b"MSH|")
        closed = False
        for byte in b"^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||ADT^A04|SLOW1|P|2.5" * 4:
            time.sleep(0.1)  # each read well inside the timeout; the frame as a whole is not
            try:
                conn.send_raw(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if time.monotonic() - started > 6:
                break
        self.assertTrue(closed or conn.is_closed_by_peer(timeout=1), "the slow frame still holds its connection")
        self.assertLess(time.monotonic() - started, 4)
        conn.close()
        self.assertIn('"in_frame":true', gw.log_text())

    def test_a_sender_that_leaves_while_the_listener_is_paused_frees_its_connection(self):
        gw = Gateway("http://127.0.0.1:1/fhir", config={"maxBacklog": 1}).start()  # nothing is delivered
        self.addCleanup(gw.cleanup)
        first = MllpConnection(gw.mllp_port)
        first.send(adt("PAUSE001"))  # the backlog reaches its limit
        self.assertEqual(segments(first.read_frame().decode())["MSA"][1], "AA")
        first.close()
        wait_for(lambda: gw.metric("helsebro_listen_connections", channel="mllp") == 0 or None, timeout=10,
                 what="the first connection to close")
        waiting = MllpConnection(gw.mllp_port)
        waiting.send(adt("PAUSE003"))  # not read: the backlog is over its limit
        wait_for(lambda: gw.metric("helsebro_listen_backpressure_pauses_total", channel="mllp") >= 1 or None,
                 timeout=10, what="the listener to pause")
        self.assertEqual(gw.metric("helsebro_listen_connections", channel="mllp"), 1)
        waiting.close()  # the sender gives up
        wait_for(lambda: gw.metric("helsebro_listen_connections", channel="mllp") == 0 or None, timeout=5,
                 what="the paused connection to be closed")

    def test_an_idle_connection_is_closed(self):
        gw = self.gateway({"mllp": {"idleTimeoutSeconds": 0.3}})
        conn = MllpConnection(gw.mllp_port)
        started = time.monotonic()
        self.assertTrue(conn.is_closed_by_peer(timeout=5))
        self.assertLess(time.monotonic() - started, 3)
        conn.close()


if __name__ == "__main__":
    unittest.main()
