"""Replay of KITH e-messages and FHIR JSON, end to end with real processes: an e-message that no
mapping takes is held, or one the mapping refuses is rejected; once the mapping directory has a
working Dialogmelding mapping, `helsebro replay` (beside the running gateway, on its journal)
translates it and the gateway delivers it to the dev FHIR server exactly once, also when it is
replayed again (admin endpoint). A FHIR message the server refused (dead) is delivered after a
replay by id."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request
import uuid

from harness import FNR_SYSTEM, HELSEBRO_BIN, SOURCE_DIR, DevFhirServer, Gateway, wait_for

KITH_SCHEMAS = os.path.join(SOURCE_DIR, "schemas", "kith")
MAPPINGS = os.path.join(SOURCE_DIR, "mappings")
EXAMPLE = os.path.join(MAPPINGS, "kith", "examples", "dialogmelding-helsefaglig-odegard.xml")
DIALOG_MAPPING = os.path.join(MAPPINGS, "kith", "dialogmelding.json")
EXAMPLE_FNR = "24058440260"
SENDER_HER = "8123456"
HER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"
# Makes the Dialogmelding mapping refuse the example: it then needs MsgInfo/Ack, which is absent.
COMPLETED = '"status": "completed",'
NEEDS_ACK = (COMPLETED + ' "language": { "$path": "/mh:MsgHead/mh:MsgInfo/mh:Ack/@V", "$as": "code", '
             '"$required": "MsgInfo/Ack is needed, says the test" },')
TOKEN = "replay-test-token"


def post(url, body, content_type, headers=None, timeout=15):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def apprec_status(xml):
    return re.search(r'<Status[^>]*\bV="(\d)"', xml).group(1), re.findall(r'<Error[^>]*\bV="([A-Z]\d\d)"', xml)


class ReplayKithAndFhir(unittest.TestCase):
    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)
        # The repository's mappings without the Dialogmelding mapping.
        self.mappings = os.path.join(tempfile.mkdtemp(prefix="helsebro-replay-mappings-"), "mappings")
        self.addCleanup(shutil.rmtree, os.path.dirname(self.mappings), True)
        shutil.copytree(MAPPINGS, self.mappings)
        self.mapping = os.path.join(self.mappings, "kith", "dialogmelding.json")
        os.remove(self.mapping)
        self.gw = Gateway(self.fhir.base, config={"kith": {"schemasDir": KITH_SCHEMAS, "receiverHerIds": ["8765432"]},
                                                  "mappingsWatch": False},
                          env={"HELSEBRO_MAPPINGS_DIR": self.mappings, "HELSEBRO_ADMIN_TOKEN": TOKEN}).start()
        self.addCleanup(self.gw.cleanup)

    def install_mapping(self, edit=lambda text: text):
        with open(DIALOG_MAPPING, encoding="utf-8") as f:
            text = edit(f.read())
        with open(self.mapping + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(self.mapping + ".tmp", self.mapping)

    def replay(self, *args):
        """`helsebro replay` beside the running gateway, on its journal and its configuration."""
        env = dict(os.environ, HELSEBRO_DATA_DIR=self.gw.data_dir, HELSEBRO_MAPPINGS_DIR=self.mappings)
        return subprocess.run([HELSEBRO_BIN, "replay", "--config", os.path.join(self.gw.data_dir, "config.json"),
                               *args], capture_output=True, text=True, env=env, timeout=60)

    def admin_replay(self, query):
        status, body = post(f"http://127.0.0.1:{self.gw.http_port}/admin/messages/replay", json.dumps(query).encode(),
                            "application/json", {"Authorization": f"Bearer {TOKEN}"})
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def post_e_message(self):
        """The example Dialogmelding with a fresh MsgId; returns (MsgId, AppRec text)."""
        msg_id = str(uuid.uuid4())
        with open(EXAMPLE, "rb") as f:
            body = re.sub(rb"<MsgId>[^<]+</MsgId>", f"<MsgId>{msg_id}</MsgId>".encode(), f.read())
        status, reply = post(f"http://127.0.0.1:{self.gw.http_port}/inbound/kith", body, "application/xml")
        self.assertEqual(status, 200, reply)
        return msg_id, reply.decode()

    def communications(self, msg_id):
        return self.fhir.search("Communication", identifier=f"urn:ietf:rfc:3986|urn:uuid:{msg_id}")

    def assert_in_fhir_once(self, msg_id):
        """The e-message's effect: one Communication, one Patient, one sending Organization, and
        one MessageHeader and Provenance (PUT by ids derived from Helsebro's message id)."""
        self.assertEqual(len(self.communications(msg_id)), 1)
        for resource_type in ("Communication", "MessageHeader", "Provenance"):
            self.assertEqual(len(self.fhir.search(resource_type)), 1, resource_type)
        self.assertEqual(len(self.fhir.patients_with_fnr(EXAMPLE_FNR)), 1)
        self.assertEqual(len(self.fhir.search("Organization", identifier=f"{HER_SYSTEM}|{SENDER_HER}")), 1)

    def only_id(self):
        """The id of the one message in the journal, read as an operator would (sqlite3, read-only)."""
        db = sqlite3.connect(f"file:{os.path.join(self.gw.data_dir, 'journal.db')}?mode=ro", uri=True)
        try:
            (message_id,), = db.execute("SELECT id FROM messages").fetchall()
        finally:
            db.close()
        return message_id

    def delivered(self):
        return self.gw.metric("helsebro_forward_messages_delivered_total")

    def test_held_e_message_is_delivered_exactly_once_after_its_mapping_arrives(self):
        msg_id, apprec = self.post_e_message()
        self.assertEqual(apprec_status(apprec), ("1", []))
        self.assertEqual(self.gw.metric("helsebro_journal_messages", state="held"), 1)

        # Replayed before the mapping exists: still held, said so, nothing sent.
        result = self.replay("--state", "held")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("0 message(s) queued", result.stdout)
        self.assertIn("still held", result.stdout)

        self.install_mapping()
        result = self.replay("--state", "held", "--since", "2020-01-01")
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        self.assertIn("1 message(s) queued", result.stdout)
        wait_for(lambda: self.communications(msg_id), timeout=30, what="the Communication after the replay")
        wait_for(lambda: self.delivered() == 1, what="delivered")
        self.assert_in_fhir_once(msg_id)

        # The admin endpoint replays with the mappings the gateway serves: without a reload it has
        # no Dialogmelding mapping, so the delivered message is held again, and sent nowhere.
        self.assertEqual(self.admin_replay({"state": "delivered"}),
                         {"queued": 0, "rejected": [], "held": [self.only_id()], "notFound": []})
        self.assertEqual(self.admin_reload(), 200)
        # Replayed again after the reload: delivered a second time, to the same resources.
        self.assertEqual(self.admin_replay({"state": "held"}),
                         {"queued": 1, "rejected": [], "held": [], "notFound": []})
        wait_for(lambda: self.delivered() == 2, timeout=30, what="the second delivery")
        self.assert_in_fhir_once(msg_id)
        self.assertNotIn(EXAMPLE_FNR, self.gw.log_text())

    def test_e_message_the_mapping_refuses_is_delivered_once_the_mapping_is_fixed(self):
        # A mapping that needs an element the message does not have: the e-message is refused.
        def refusing(text):
            self.assertIn(COMPLETED, text, "the Dialogmelding mapping changed: adjust the test")
            return text.replace(COMPLETED, NEEDS_ACK, 1)
        self.install_mapping(refusing)
        self.assertEqual(self.admin_reload(), 200)
        msg_id, apprec = self.post_e_message()
        self.assertEqual(apprec_status(apprec), ("2", ["X99"]))
        self.assertEqual(self.gw.metric("helsebro_journal_messages", state="rejected"), 1)

        result = self.replay("--state", "rejected")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("refused by the mapping: X99", result.stdout)
        self.assertEqual(self.gw.metric("helsebro_journal_messages", state="rejected"), 1)

        self.install_mapping()
        result = self.replay("--state", "rejected")
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        self.assertIn("1 message(s) queued", result.stdout)
        wait_for(lambda: self.communications(msg_id), timeout=30, what="the Communication after the replay")
        wait_for(lambda: self.delivered() == 1, what="delivered")
        self.assert_in_fhir_once(msg_id)

    def admin_reload(self):
        status, _ = post(f"http://127.0.0.1:{self.gw.http_port}/admin/mappings/reload", b"", "application/json",
                         {"Authorization": f"Bearer {TOKEN}"})
        return status

    def test_fhir_message_replayed_from_dead_is_delivered(self):
        fnr = "15038510190"
        self.fhir.hook("fail", {"status": 422, "count": 1})
        patient = {"resourceType": "Patient", "gender": "female", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]}
        status, body = post(f"http://127.0.0.1:{self.gw.http_port}/inbound/fhir", json.dumps(patient).encode(),
                            "application/fhir+json")
        self.assertEqual(status, 202, body)
        message_id = json.loads(body)["messageId"]
        wait_for(lambda: self.gw.metric("helsebro_journal_messages", state="dead") == 1, what="the server's refusal")
        self.assertEqual(self.fhir.patients_with_fnr(fnr), [])

        result = self.replay("--id", message_id, "--id", "no-such-id")
        self.assertEqual(result.returncode, 1, result.stderr)  # the unknown id is named
        self.assertIn("1 message(s) queued", result.stdout)
        self.assertIn("no-such-id: no such message", result.stdout)
        wait_for(lambda: self.fhir.patients_with_fnr(fnr), timeout=30, what="the Patient after the replay")
        wait_for(lambda: self.gw.metric("helsebro_journal_messages", state="delivered") == 1, what="delivered")
        self.assertEqual(len(self.fhir.patients_with_fnr(fnr)), 1)
        self.assertEqual(self.fhir.patients_with_fnr(fnr)[0]["gender"], "female")


if __name__ == "__main__":
    unittest.main()
