"""KITH channels that take e-messages only for patients the shared record knows
(kith.requireKnownPatient), end to end with real processes: the gateway searches the dev FHIR
server for the patient's fødselsnummer before it answers. A known patient gets AppRec status 1
and the message is delivered; an unknown one gets status 2 with E35, and the message is kept as
rejected; answers are cached; once the patient is registered the next message is taken; a record
that cannot answer does not turn messages away. The same holds for an inbound directory."""

import json
import os
import re
import shutil
import sqlite3
import tempfile
import unittest
import urllib.error
import urllib.request
import uuid

from harness import FNR_SYSTEM, SOURCE_DIR, DevFhirServer, Gateway, http_json, wait_for

KITH_SCHEMAS = os.path.join(SOURCE_DIR, "schemas", "kith")
DIALOG = os.path.join(SOURCE_DIR, "mappings", "kith", "examples", "dialogmelding-helsefaglig-odegard.xml")
EXAMPLE_FNR = "24058440260"
EXAMPLE_MSG_ID = "7c1e5a2b-3f4d-4e8a-9b6c-0d2e4f6a8b10"
REJECTED_STATE = 3  # MessageState::kRejected, as the journal keeps it


def fodselsnummer(birth_ddmmyy, individual):
    """A synthetic fødselsnummer with both mod-11 control digits right, or None when the
    individual number gives a control digit of 10 (no such number)."""
    digits = [int(c) for c in f"{birth_ddmmyy}{individual:03d}"]
    k1 = 11 - sum(w * d for w, d in zip([3, 7, 6, 1, 8, 9, 4, 5, 2], digits)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return None
    digits.append(k1)
    k2 = 11 - sum(w * d for w, d in zip([5, 4, 3, 2, 7, 6, 5, 4, 3, 2], digits)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return None
    return "".join(map(str, digits + [k2]))


def synthetic_fnrs(n):
    out, individual = [], 100
    while len(out) < n:
        fnr = fodselsnummer("120390", individual)
        if fnr and fnr != EXAMPLE_FNR:
            out.append(fnr)
        individual += 1
    return out


def dialog_for(fnr):
    """The Dialogmelding example about another patient, with a new MsgId."""
    with open(DIALOG, "rb") as f:
        body = f.read()
    body = body.replace(EXAMPLE_FNR.encode(), fnr.encode()).replace(EXAMPLE_MSG_ID.encode(),
                                                                    str(uuid.uuid4()).encode())
    assert fnr.encode() in body
    return body


def post_kith(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/inbound/kith", data=body, method="POST",
                                 headers={"Content-Type": "application/xml"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def apprec(xml):
    status = re.search(r'<Status[^>]*\bV="(\d)"', xml).group(1)
    errors = re.findall(r'<Error[^>]*\bV="([A-Z]\d\d)"', xml)
    return status, errors


def register_patient(fhir, fnr):
    status, _ = http_json("POST", f"{fhir.base}/Patient", {
        "resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]})
    assert status == 201, status


class KnownPatientsOnly(unittest.TestCase):
    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)
        self.known, self.unknown, self.later, self.unreachable = synthetic_fnrs(4)
        register_patient(self.fhir, self.known)

    def gateway(self, **extra):
        config = {"kith": {"schemasDir": KITH_SCHEMAS, "requireKnownPatient": True,
                           "patientLookup": {"unknownCacheSeconds": 0, "timeoutSeconds": 3}}}
        config.update(extra)
        gw = Gateway(self.fhir.base, config=config).start()
        self.addCleanup(gw.cleanup)
        return gw

    def lookups(self, gw, result, source):
        return gw.metric("helsebro_patient_lookups_total", result=result, source=source)

    def test_known_patient_accepted_unknown_refused_with_e35(self):
        gw = self.gateway()

        status, body = post_kith(gw.http_port, dialog_for(self.known))
        self.assertEqual(status, 200, body)
        self.assertEqual(apprec(body), ("1", []), body)
        wait_for(lambda: self.fhir.search("Communication", subject=f"Patient/{self.fhir.patients_with_fnr(self.known)[0]['id']}"),
                 what="the known patient's Communication")
        self.assertEqual(self.lookups(gw, "known", "record"), 1)

        status, body = post_kith(gw.http_port, dialog_for(self.unknown))
        self.assertEqual(status, 200, body)
        self.assertEqual(apprec(body), ("2", ["E35"]), body)
        self.assertIn('OT="Pasienten finnes ikke i mottakersystemet (/MsgHead/MsgInfo/Patient)"', body)
        self.assertNotIn(self.unknown, body)
        self.assertEqual(self.lookups(gw, "unknown", "record"), 1)
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", reason="patient_unknown"), 1)
        self.assertEqual(self.fhir.patients_with_fnr(self.unknown), [])  # no Patient was created for it

        # The second message about the known patient is answered from the cache.
        status, body = post_kith(gw.http_port, dialog_for(self.known))
        self.assertEqual(apprec(body), ("1", []), body)
        self.assertEqual(self.lookups(gw, "known", "cache"), 1)
        self.assertEqual(self.lookups(gw, "known", "record"), 1)

        # Registered since: the next message about that patient is taken.
        register_patient(self.fhir, self.unknown)
        status, body = post_kith(gw.http_port, dialog_for(self.unknown))
        self.assertEqual(apprec(body), ("1", []), body)

        # The refused message is kept for inspection, with the reason; never the number in the log.
        db = sqlite3.connect(f"file:{os.path.join(gw.data_dir, 'journal.db')}?mode=ro", uri=True, timeout=5)
        self.addCleanup(db.close)
        rows = db.execute("SELECT state, reason FROM messages WHERE reason LIKE 'E35%'").fetchall()
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][0], REJECTED_STATE)
        self.assertEqual(rows[0][1], "E35: Pasienten finnes ikke i mottakersystemet (/MsgHead/MsgInfo/Patient)")
        self.assertNotIn(self.unknown, gw.log_text())
        self.assertNotIn(self.known, gw.log_text())

    def test_a_resend_of_an_accepted_message_gets_its_first_answer_though_it_would_now_be_refused(self):
        # Taken while the record knew the patient; the reply was lost and the same bytes come
        # again once the patient is gone from the record: the first AppRec (status 1) comes back,
        # not E35, and the message is stored once.
        gw = self.gateway(kith={"schemasDir": KITH_SCHEMAS, "requireKnownPatient": True,
                                "patientLookup": {"cacheSeconds": 0, "unknownCacheSeconds": 0, "timeoutSeconds": 3}})
        body = dialog_for(self.known)
        status, first = post_kith(gw.http_port, body)
        self.assertEqual(apprec(first), ("1", []), first)
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 1, what="the delivery")
        for patient in self.fhir.patients_with_fnr(self.known):
            status, _ = http_json("DELETE", f"{self.fhir.base}/Patient/{patient['id']}")
            self.assertIn(status, (200, 204), status)
        self.assertEqual(self.fhir.patients_with_fnr(self.known), [])
        status, again = post_kith(gw.http_port, body)
        self.assertEqual(status, 200, again)
        self.assertEqual(again, first, "the original AppRec, byte for byte")
        self.assertEqual(gw.metric("helsebro_intake_duplicates_total", channel="http-kith"), 1)
        self.assertEqual(sum(gw.metric("helsebro_journal_messages", state=s)
                             for s in ("received", "translated", "delivered", "failed", "dead", "rejected")), 1)

    def test_a_record_that_cannot_answer_does_not_turn_messages_away(self):
        gw = self.gateway()
        self.fhir.stop()
        status, body = post_kith(gw.http_port, dialog_for(self.unreachable))
        self.assertEqual(status, 200, body)
        self.assertEqual(apprec(body), ("1", []), body)
        self.assertEqual(self.lookups(gw, "unavailable", "record"), 1)
        self.assertIn("patient_lookup.unavailable", gw.log_text())

    def test_inbound_directory_files_get_the_same_check(self):
        inbox = tempfile.mkdtemp(prefix="helsebro-inbox-")
        self.addCleanup(shutil.rmtree, inbox, True)
        gw = self.gateway(inboundDirectories=[{"channel": "plo-known", "path": inbox, "format": "kith",
                                               "pollMilliseconds": 100}])
        for name, fnr in (("known.xml", self.known), ("unknown.xml", self.unknown)):
            with open(os.path.join(inbox, name + ".tmp"), "wb") as f:
                f.write(dialog_for(fnr))
            os.replace(os.path.join(inbox, name + ".tmp"), os.path.join(inbox, name))
        processed = os.path.join(inbox, "processed", "known.xml.apprec.xml")
        refused = os.path.join(inbox, "error", "unknown.xml.apprec.xml")
        wait_for(lambda: os.path.exists(processed) and os.path.exists(refused), what="both files moved")
        with open(processed, encoding="utf-8") as f:
            self.assertEqual(apprec(f.read())[0], "1")
        with open(refused, encoding="utf-8") as f:
            self.assertEqual(apprec(f.read()), ("2", ["E35"]))
        self.assertTrue(os.path.exists(os.path.join(inbox, "error", "unknown.xml")))


if __name__ == "__main__":
    unittest.main()
