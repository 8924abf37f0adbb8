"""Inbound HTTP, end to end with real processes: HL7 v2, KITH e-messages and FHIR JSON posted to
the gateway are answered only after they are stored (ACK, AppRec, 202 or a problem), valid ones
reach the dev FHIR server (or are held when no mapping takes them), bad ones are answered with their reason and kept, and a
full backlog turns senders away with 503 and Retry-After instead of storing more."""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness import FNR_SYSTEM, SOURCE_DIR, DevFhirServer, Gateway, hl7, segments, wait_for

KITH_SCHEMAS = os.path.join(SOURCE_DIR, "schemas", "kith")
CORPUS = os.path.join(SOURCE_DIR, "..", "shared", "corpus", "kith", "sarepta-eksempel")
if not os.path.isdir(CORPUS):
    CORPUS = "/work/shared/corpus/kith/sarepta-eksempel"
DIALOG_1_1 = os.path.join(CORPUS, "Dialogmelding", "Dialogmelding-v1-1",
                          "Helsefaglig dialog_angi profesjon hos mottaker.xml")
DIALOG_NS = "http://www.kith.no/xmlstds/dialog/2013-01-23"
APPREC_NS = {"a": "http://www.kith.no/xmlstds/apprec/2012-02-15"}
HL7_TYPE = "x-application/hl7-v2+er7"


def post(url, body, content_type, timeout=15):
    """POSTs bytes; returns (status, headers, body bytes) for every status."""
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def adt_a04(control_id, fnr):
    return hl7(
        f"MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500+0100||ADT^A04^ADT_A01|{control_id}|P|2.5|||||NOR|UNICODE UTF-8",
        "EVN|A04|20261123101500+0100",
        f"PID|1||{fnr}^^^^FNR||Hansen^Åse||19920724|F",
        f"PV1|1|O|POL^^^STOLAV||||||||||||||||V-{control_id}^^^STOLAV&2.16.578.1.12.4.1.4.102.1&ISO^VN",
    )


def patient(fnr, gender="female"):
    return json.dumps({"resourceType": "Patient", "gender": gender,
                       "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
                       "name": [{"family": "Fjell", "given": ["Kari"]}]}).encode()


def apprec_codes(xml):
    """(status V, [error V…]) of an AppRec, read without a namespace-aware parser."""
    status = re.search(r'<Status[^>]*\bV="(\d)"', xml).group(1)
    errors = re.findall(r'<Error[^>]*\bV="([A-Z]\d\d)"', xml)
    return status, errors


def journal_total(gw):
    """Messages in the journal, whatever their state, from one scrape (states change meanwhile)."""
    return sum(value for (name, _), value in gw.metrics().items() if name == "helsebro_journal_messages")


class HttpIntake(unittest.TestCase):
    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)

    def gateway(self, config=None, env=None):
        config = dict(config or {})
        config.setdefault("kith", {"schemasDir": KITH_SCHEMAS})
        gw = Gateway(self.fhir.base, config=config, env=env).start()
        self.addCleanup(gw.cleanup)
        return gw

    def url(self, gw, kind):
        return f"http://127.0.0.1:{gw.http_port}/inbound/{kind}"

    # HL7 v2 -------------------------------------------------------------------------------------

    def test_hl7v2_over_http_is_acknowledged_after_storing_and_delivered(self):
        gw = self.gateway()
        status, headers, body = post(self.url(gw, "hl7v2"), adt_a04("HTTP0001", "15038510190"), HL7_TYPE)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], HL7_TYPE)
        ack = segments(body.decode())
        self.assertEqual(ack["MSA"][1:3], ["AA", "HTTP0001"])
        wait_for(lambda: self.fhir.patients_with_fnr("15038510190"), what="the Patient")
        self.assertEqual(gw.metric("helsebro_intake_messages_acknowledged_total", channel="http-hl7v2", code="AA"), 1)

        # A resend is answered with the original ACK and stored once.
        status, _, again = post(self.url(gw, "hl7v2"), adt_a04("HTTP0001", "15038510190"), "text/plain")
        self.assertEqual(status, 200)
        self.assertEqual(again, body)
        self.assertEqual(gw.metric("helsebro_intake_duplicates_total", channel="http-hl7v2"), 1)
        self.assertNotIn("15038510190", gw.log_text())

    def test_bad_hl7v2_gets_a_negative_ack_in_the_body(self):
        gw = self.gateway()
        status, _, body = post(self.url(gw, "hl7v2"), b"PID|1||not a message\r", HL7_TYPE)
        self.assertEqual(status, 200)
        self.assertIn(segments(body.decode())["MSA"][1], ("AR", "AE"))
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 1)
        # MSH-15/16 NE asks for no acknowledgement, but an HTTP request is always answered: the
        # refusal is in the body, not an empty 200.
        bad_fnr = hl7("MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||ADT^A04|NE000001|P|2.5|||NE|NE",
                      "PID|1||15038510191^^^^FNR||Berg^Ida||20030201|F", "PV1|1|E")
        status, _, body = post(self.url(gw, "hl7v2"), bad_fnr, HL7_TYPE)
        self.assertEqual(status, 200)
        self.assertEqual(segments(body.decode())["MSA"][1:3], ["CE", "NE000001"])
        # A charset HL7 v2 cannot be read in is refused for what it is, not as "no MSH segment".
        status, _, body = post(self.url(gw, "hl7v2"), "MSH|^~\\&|A|B|C|D|2026||ADT^A04|U16|P|2.5\r".encode("utf-16"),
                               "x-application/hl7-v2+er7; charset=utf-16")
        self.assertEqual(status, 415, body)
        self.assertIn("charset=utf-16", json.loads(body)["detail"])
        # An acknowledgement sent in is kept and not answered: 202 and no body.
        status, _, body = post(self.url(gw, "hl7v2"),
                               hl7("MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||ACK^A04^ACK|ACK00001|P|2.5",
                                   "MSA|AA|X1"), HL7_TYPE)
        self.assertEqual((status, body), (202, b""))
        self.assertEqual(gw.metric("helsebro_journal_messages", state="held"), 1)

    # KITH ---------------------------------------------------------------------------------------

    def kith_sample(self):
        if not os.path.isfile(DIALOG_1_1):
            self.skipTest("KITH corpus absent")
        with open(DIALOG_1_1, "rb") as f:
            return f.read()

    def post_kith(self, gw, body):
        return post(self.url(gw, "kith"), body, "application/xml")

    def assert_valid_apprec(self, xml):
        tmp = tempfile.mkdtemp(prefix="helsebro-apprec-")
        self.addCleanup(shutil.rmtree, tmp, True)
        catalog = os.path.join(tmp, "catalog.xml")
        prefix = "file://" + os.path.abspath(KITH_SCHEMAS) + "/"
        with open(catalog, "w") as f:
            f.write('<?xml version="1.0"?>\n<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">'
                    f'<rewriteURI uriStartString="http://www.kith.no/xmlstds/" rewritePrefix="{prefix}"/>'
                    f'<rewriteSystem systemIdStartString="http://www.kith.no/xmlstds/" rewritePrefix="{prefix}"/>'
                    "</catalog>")
        path = os.path.join(tmp, "apprec.xml")
        with open(path, "wb") as f:
            f.write(xml)
        result = subprocess.run(["xmllint", "--nonet", "--noout", "--schema",
                                 os.path.join(KITH_SCHEMAS, "AppRec-v1.1.xsd"), path],
                                capture_output=True, env={**os.environ, "XML_CATALOG_FILES": catalog}, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))

    def test_valid_dialogmelding_gets_apprec_ok_and_is_delivered(self):
        sample = self.kith_sample()
        gw = self.gateway()
        status, headers, body = self.post_kith(gw, sample)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Content-Type"].startswith("application/xml"))
        self.assert_valid_apprec(body)
        xml = body.decode()
        self.assertEqual(apprec_codes(xml), ("1", []))
        msg_id = re.search(rb"<MsgId>([^<]+)</MsgId>", sample).group(1).decode()
        original = re.search(r"<OriginalMsgId>.*?<Id>([^<]+)</Id>", xml, re.S).group(1)
        self.assertEqual(original, msg_id)
        # Translated by mappings/kith/dialogmelding.json and delivered: the patient and the
        # Communication, identified by the MsgId, reach the FHIR server.
        wait_for(lambda: self.fhir.patients_with_fnr("13116900216"), what="the Patient")
        found = wait_for(lambda: self.fhir.search("Communication", identifier="urn:ietf:rfc:3986|urn:uuid:" + msg_id),
                         what="the Communication")
        self.assertEqual(len(found), 1)
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 1, what="delivered")
        # The envelope's MIGversion and more are read by no rule: counted, as for HL7 v2.
        self.assertEqual(gw.metric("helsebro_mapping_messages_with_unmapped_fields_total", mapping="dialogmelding"), 1)
        self.assertGreater(gw.metric("helsebro_mapping_unmapped_fields_total", mapping="dialogmelding"), 0)

        # The same message again: the same receipt, stored once.
        status, _, again = self.post_kith(gw, sample)
        self.assertEqual((status, again), (200, body))
        self.assertEqual(gw.metric("helsebro_journal_messages", state="delivered"), 1)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="translated"), 0)
        for secret in ("13116900216", "Danser"):
            self.assertNotIn(secret, gw.log_text())

    def test_an_e_message_no_mapping_takes_is_held(self):
        sample = self.kith_sample()
        gw = self.gateway(env={"HELSEBRO_MAPPINGS_DIR": self.empty_mappings()})
        status, _, body = self.post_kith(gw, sample)
        self.assertEqual(status, 200, body)
        self.assertEqual(apprec_codes(body.decode()), ("1", []))
        self.assertEqual(gw.metric("helsebro_journal_messages", state="held"), 1)

    def empty_mappings(self):
        tmp = tempfile.mkdtemp(prefix="helsebro-mappings-")
        self.addCleanup(shutil.rmtree, tmp, True)
        return tmp

    def test_broken_e_messages_get_their_apprec_error_or_problem(self):
        sample = self.kith_sample()
        gw = self.gateway()

        status, headers, body = self.post_kith(gw, sample[: len(sample) // 2])
        if status == 200:
            self.assertEqual(apprec_codes(body.decode()), ("2", ["T01"]))
        else:
            self.assertEqual(status, 400)
            self.assertEqual(headers["Content-Type"], "application/problem+json")
            self.assertEqual(json.loads(body)["apprecCode"], "T01")

        status, _, body = self.post_kith(gw, sample.replace(DIALOG_NS.encode(), b"http://www.kith.no/xmlstds/dialog/2099-01-01"))
        self.assertEqual(status, 200, body)
        self.assert_valid_apprec(body)
        self.assertEqual(apprec_codes(body.decode()), ("2", ["T10"]))

        status, _, body = self.post_kith(gw, sample.replace(b"13116900216", b"13116900217"))
        self.assertEqual(status, 200, body)
        self.assertEqual(apprec_codes(body.decode()), ("2", ["E31"]))
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 3)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="held"), 0)

    def test_kith_endpoint_refuses_wrong_content_type_and_oversized_bodies(self):
        gw = self.gateway({"http": {"maxBodyBytes": 4096}, "kith": {"schemasDir": KITH_SCHEMAS, "maxBodyBytes": 4096}})
        status, _, _ = post(self.url(gw, "kith"), b"{}", "application/json")
        self.assertEqual(status, 415)
        status, _, body = self.post_kith(gw, b"<a>" + b"x" * 8192 + b"</a>")
        self.assertEqual(status, 413)
        self.assertIn("larger than 4096 bytes", json.loads(body)["detail"])
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 0)

    def test_an_e_message_with_attachments_is_taken_past_the_other_intakes_limit(self):
        # Attachments make e-messages large: one of 2 MB gets its AppRec (kith.maxBodyBytes, 16 MB),
        # where an HL7 v2 body of that size gets 413 (http.maxBodyBytes, 1 MB). It got 413 too, and
        # a sender without an AppRec waits 96 hours before it knows.
        sample = self.kith_sample()
        padded = sample.replace(b"</MsgHead>", b"<!-- " + b"x" * (2 << 20) + b" --></MsgHead>")
        self.assertGreater(len(padded), 2 << 20)
        gw = self.gateway()
        status, _, body = self.post_kith(gw, padded)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(apprec_codes(body.decode()), ("1", []))
        status, _, _ = post(self.url(gw, "hl7v2"), b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\r" + b"x" * (2 << 20),
                            "x-application/hl7-v2+er7")
        self.assertEqual(status, 413)

    # FHIR ---------------------------------------------------------------------------------------

    def test_valid_fhir_patient_is_accepted_and_delivered(self):
        gw = self.gateway()
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.http_port}/readyz", timeout=10) as ready:
            self.assertEqual(json.loads(ready.read()), {"status": "ok"})
        status, _, body = post(self.url(gw, "fhir"), patient("24079210087"), "application/fhir+json")
        self.assertEqual(status, 202, body)
        self.assertRegex(json.loads(body)["messageId"], r"^[0-9a-f-]{36}$")
        found = wait_for(lambda: self.fhir.patients_with_fnr("24079210087"), what="the Patient")
        self.assertEqual(found[0]["gender"], "female")

    def test_a_resend_with_its_idempotency_key_gets_its_first_answer_and_is_not_delivered_twice(self):
        gw = self.gateway()
        body = patient("13116900216")

        def post_keyed(data, key=None):
            headers = {"Content-Type": "application/fhir+json"}
            if key:
                headers["Idempotency-Key"] = key
            req = urllib.request.Request(self.url(gw, "fhir"), data=data, method="POST", headers=headers)
            with urllib.request.urlopen(req, timeout=15) as r:
                return r.status, json.loads(r.read())["messageId"]

        first = post_keyed(body, "req-1")
        again = post_keyed(body, "req-1")
        self.assertEqual((first[0], again[0]), (202, 202))
        self.assertEqual(again[1], first[1])  # the first answer; not stored again
        # Without a key, or with another, the same body is new: a value may be set back to it.
        self.assertNotEqual(post_keyed(body)[1], first[1])
        self.assertNotEqual(post_keyed(body, "req-2")[1], first[1])
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 3, what="three delivered")
        self.assertEqual(gw.metric("helsebro_intake_duplicates_total", channel="http-fhir"), 1)
        self.assertEqual(journal_total(gw), 3)
        # A key too long to keep is refused, not ignored (the retry would be stored twice).
        with self.assertRaises(urllib.error.HTTPError) as too_long:
            post_keyed(body, "k" * 257)
        self.assertEqual(too_long.exception.code, 400)
        self.assertIn("Idempotency-Key", json.loads(too_long.exception.read())["detail"])
        self.assertEqual(journal_total(gw), 3)

    def test_fhir_in_another_charset_is_refused(self):
        gw = self.gateway()
        latin1 = b'{"resourceType":"Patient","name":[{"given":["\xc5se"]}]}'
        status, _, body = post(self.url(gw, "fhir"), latin1, "application/fhir+json; charset=ISO-8859-1")
        self.assertEqual(status, 415, body)
        self.assertIn("UTF-8", json.loads(body)["detail"])
        status, _, body = post(self.url(gw, "fhir"), latin1, "application/fhir+json")
        self.assertEqual(status, 400, body)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 1)  # kept for inspection
        status, _, body = post(self.url(gw, "fhir"), patient("24079210087"), 'application/fhir+json; charset="UTF-8"')
        self.assertEqual(status, 202, body)

    def test_invalid_fhir_is_422_with_the_path_and_kept_as_rejected(self):
        gw = self.gateway()
        status, headers, body = post(self.url(gw, "fhir"), patient("24079210087", gender="banana"),
                                     "application/fhir+json")
        self.assertEqual(status, 422)
        self.assertEqual(headers["Content-Type"], "application/problem+json")
        problem = json.loads(body)
        self.assertEqual(problem["issue"][0]["expression"], ["Patient.gender"])
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 1)
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", channel="http-fhir"), 1)

    # Transport ----------------------------------------------------------------------------------

    def raw(self, gw, request, timeout=10):
        """Sends bytes on a new connection; returns it and the first answer's bytes (up to the end
        of its header, or its whole body when one follows)."""
        conn = socket.create_connection(("127.0.0.1", gw.http_port), timeout=timeout)
        self.addCleanup(conn.close)
        conn.sendall(request)
        return conn, conn.recv(65536)

    def test_a_body_over_the_limit_gets_413_even_while_the_client_is_still_sending(self):
        gw = self.gateway({"http": {"maxBodyBytes": 4096}})
        # Four MiB: more than the sockets' buffers hold, so the client is still sending when the
        # answer is written; it must read a 413, not a reset connection.
        status, headers, body = post(self.url(gw, "fhir"), b"{" + b" " * (4 << 20) + b"}", "application/fhir+json")
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body)["status"], 413)
        self.assertEqual(journal_total(gw), 0)

    def test_a_client_that_expects_100_continue_gets_it_or_its_refusal_before_sending_the_body(self):
        gw = self.gateway({"http": {"maxBodyBytes": 4096}})
        body = patient("24079210087")
        head = (f"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        conn, first = self.raw(gw, head)
        self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue\r\n"), first)
        conn.sendall(body)
        answer = first.split(b"\r\n\r\n", 1)[1] or conn.recv(65536)
        self.assertTrue(answer.startswith(b"HTTP/1.1 202 "), answer)

        too_big = (b"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                   b"Expect: 100-continue\r\nContent-Length: 10000\r\n\r\n")
        _, refused = self.raw(gw, too_big)
        self.assertTrue(refused.startswith(b"HTTP/1.1 413 "), refused)
        self.assertIn(b"Connection: close", refused)

    def test_connections_over_the_limit_are_answered_503_and_served_again_once_one_closes(self):
        gw = self.gateway({"http": {"maxConnections": 2}})
        idle = [socket.create_connection(("127.0.0.1", gw.http_port), timeout=10) for _ in range(2)]
        time.sleep(0.2)  # both accepted
        body = patient("24079210087")
        _, refused = self.raw(gw, (f"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
        self.assertTrue(refused.startswith(b"HTTP/1.1 503 "), refused)
        self.assertIn(b"Retry-After: 1", refused)
        # Health is answered even so: a busy gateway is not a dead one.
        _, health = self.raw(gw, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(health.startswith(b"HTTP/1.1 200 "), health)
        for conn in idle:
            conn.close()

        def served():
            try:
                status, _, _ = post(self.url(gw, "fhir"), body, "application/fhir+json")
                return status == 202
            except OSError:
                return False
        wait_for(served, what="intake served again")
        self.assertGreaterEqual(gw.metric("helsebro_listen_connections_refused_total", channel="http",
                                          reason="too_many_connections"), 2)

    def test_a_wrong_method_names_the_allowed_ones_and_a_huge_header_is_431(self):
        gw = self.gateway()
        req = urllib.request.Request(f"http://127.0.0.1:{gw.http_port}/inbound/fhir", method="GET")
        with self.assertRaises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(wrong.exception.code, 405)
        self.assertEqual(wrong.exception.headers["Allow"], "POST")
        _, answer = self.raw(gw, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 431 "), answer)

    def test_framing_two_readers_could_read_two_ways_is_refused_and_the_connection_closed(self):
        gw = self.gateway()
        smuggled = (b"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                    b"Content-Length: 26\r\n\r\n{\"resourceType\":\"Patient\"}")
        for framing in (b"Transfer-Encoding: chunked, identity\r\nContent-Length: 0\r\n",
                        b"Transfer-Encoding: xchunked\r\n",
                        b"Transfer-Encoding: identity\r\nContent-Length: 3\r\n"):
            conn, answer = self.raw(gw, b"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                                        + framing + b"\r\n" + smuggled)
            self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer)
            conn.shutdown(socket.SHUT_WR)  # all sent: the server's drain ends at once
            rest = b""
            while True:  # the connection closes: the request behind it is never answered
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            self.assertNotIn(b"HTTP/1.1 202", answer + rest)
        for twice in (b"Content-Type: text/html\r\nContent-Type: application/fhir+json\r\n",
                      b"Content-Type: application/fhir+json\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n"):
            _, answer = self.raw(gw, b"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\n" + twice +
                                 b"Content-Length: 26\r\n\r\n{\"resourceType\":\"Patient\"}")
            self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer)
            self.assertIn(b"given twice", answer)
        self.assertEqual(journal_total(gw), 0)

    def test_a_body_that_keeps_arriving_is_read_however_long_it_takes(self):
        gw = self.gateway({"http": {"readTimeoutSeconds": 2}})
        # 480 KB: at 64 KiB/s on average it may take 7 s; here it takes 3.6 s, longer than the 2 s
        # timeout, in pieces each well inside it.
        record = json.loads(patient("24079210087"))
        record["name"] = [{"text": "x" * 480_000}]
        body = json.dumps(record).encode()
        conn = socket.create_connection(("127.0.0.1", gw.http_port), timeout=10)
        self.addCleanup(conn.close)
        conn.sendall(b"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        step = len(body) // 6 + 1
        for i in range(0, len(body), step):  # six pieces over about 3.6 s
            time.sleep(0.6)
            conn.sendall(body[i:i + step])
        self.assertTrue(conn.recv(65536).startswith(b"HTTP/1.1 202 "))
        # Nothing for longer than the timeout: closed.
        stalled = socket.create_connection(("127.0.0.1", gw.http_port), timeout=10)
        self.addCleanup(stalled.close)
        stalled.sendall(b"POST /inbound/fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        started = time.monotonic()
        self.assertEqual(stalled.recv(65536), b"")
        self.assertLess(time.monotonic() - started, 8)

    def test_head_is_answered_wherever_get_is(self):
        gw = self.gateway()
        conn = http.client.HTTPConnection("127.0.0.1", gw.http_port, timeout=10)
        conn.request("HEAD", "/metrics")
        head = conn.getresponse()
        self.assertEqual(head.status, 200)
        self.assertTrue(head.getheader("Content-Type").startswith("text/plain"))
        self.assertGreater(int(head.getheader("Content-Length")), 0)
        self.assertEqual(head.read(), b"")
        conn.request("GET", "/healthz")  # the same connection: no body was left in the way
        self.assertEqual(conn.getresponse().read(), b'{"status":"ok"}')
        conn.request("DELETE", "/healthz")
        refused = conn.getresponse()
        refused.read()
        self.assertEqual(refused.status, 405)
        self.assertEqual(refused.getheader("Allow"), "GET, HEAD")
        conn.close()

    # Back-pressure ------------------------------------------------------------------------------

    def test_full_backlog_answers_503_with_retry_after_and_stores_nothing(self):
        self.fhir.hook("fail", {"status": 503, "seconds": 60, "retryAfter": 5})
        gw = self.gateway({"maxBacklog": 2, "fhir": {"retry": {"initialSeconds": 5, "maxSeconds": 10}}})
        for fnr in ("24079210087", "15038510190"):
            status, _, body = post(self.url(gw, "fhir"), patient(fnr), "application/fhir+json")
            self.assertEqual(status, 202, body)
        self.assertEqual(journal_total(gw), 2)
        for kind, body, content_type in (("fhir", patient("13116900216"), "application/fhir+json"),
                                         ("hl7v2", adt_a04("FULL0001", "13116900216"), HL7_TYPE),
                                         ("kith", b"<MsgHead/>", "application/xml")):
            status, headers, reply = post(self.url(gw, kind), body, content_type)
            self.assertEqual(status, 503, kind)
            self.assertEqual(headers["Retry-After"], "5")
            self.assertEqual(json.loads(reply)["status"], 503)
        self.assertEqual(journal_total(gw), 2)
        self.assertGreaterEqual(gw.metric("helsebro_listen_backpressure_pauses_total", channel="http-fhir"), 1)
        with self.assertRaises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(f"http://127.0.0.1:{gw.http_port}/readyz", timeout=10)
        self.assertEqual(not_ready.exception.code, 503)
        self.assertEqual(json.loads(not_ready.exception.read()), {"status": "backlog_full", "backlog": 2, "limit": 2})
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.http_port}/healthz", timeout=10) as alive:
            self.assertEqual(alive.status, 200)  # alive, only not ready


if __name__ == "__main__":
    unittest.main()
