"""Watched inbound directories, end to end with real processes: KITH e-messages written into a
channel's directory go through the same pipeline as POST /inbound/kith. Each is moved to
processed/ or error/ only after it is stored, with its AppRec (or problem) beside it; valid ones
reach the dev FHIR server; files being written wait; and a gateway that dies between the journal
commit and the move finishes the move after a restart without storing the message twice."""

import json
import os
import re
import shutil
import tempfile
import time
import unittest

from harness import SOURCE_DIR, DevFhirServer, Gateway, wait_for

KITH_SCHEMAS = os.path.join(SOURCE_DIR, "schemas", "kith")
DIALOG = os.path.join(SOURCE_DIR, "mappings", "kith", "examples", "dialogmelding-helsefaglig-odegard.xml")
MSG_ID = "7c1e5a2b-3f4d-4e8a-9b6c-0d2e4f6a8b10"
FNR = "24058440260"
CHANNEL = "plo-trondheim"
CRASH_EXIT = 86  # HELSEBRO_FAULT_INJECTION=inbox.after_commit ends the process with this code


def dialog():
    with open(DIALOG, "rb") as f:
        return f.read()


def schema_invalid():
    """The Dialogmelding with an element its XSD does not allow: AppRec status 2, T02."""
    body = dialog().replace(b"<Tema>EKG ettersendes</Tema>", b"<Tema>EKG ettersendes</Tema><Ukjent>x</Ukjent>")
    assert body != dialog()
    return body


def apprec_codes(xml):
    status = re.search(r'<Status[^>]*\bV="(\d)"', xml).group(1)
    errors = re.findall(r'<Error[^>]*\bV="([A-Z]\d\d)"', xml)
    return status, errors


def journal_total(gw):
    return sum(value for (name, _), value in gw.metrics().items() if name == "helsebro_journal_messages")


class InboundDirectory(unittest.TestCase):
    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)
        self.inbox = tempfile.mkdtemp(prefix="helsebro-inbox-")
        self.addCleanup(shutil.rmtree, self.inbox, True)

    def config(self, **directory):
        entry = {"channel": CHANNEL, "path": self.inbox, "format": "kith", "pollMilliseconds": 100}
        entry.update(directory)
        return {"kith": {"schemasDir": KITH_SCHEMAS}, "inboundDirectories": [entry]}

    def gateway(self, config=None, env=None, data_dir=None):
        gw = Gateway(self.fhir.base, config=config or self.config(), env=env, data_dir=data_dir).start()
        self.addCleanup(gw.cleanup)
        return gw

    def drop(self, name, body):
        """As a well-behaved writer does: write under a hidden name, then rename."""
        tmp = os.path.join(self.inbox, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(body)
        os.rename(tmp, os.path.join(self.inbox, name))

    def waiting(self):
        return sorted(e.name for e in os.scandir(self.inbox) if e.is_file())

    def read(self, *parts):
        with open(os.path.join(self.inbox, *parts), "rb") as f:
            return f.read()

    def listing(self, folder):
        return sorted(os.listdir(os.path.join(self.inbox, folder)))

    def test_each_file_is_answered_moved_and_the_valid_one_delivered(self):
        gw = self.gateway()
        self.drop("dialog.xml", dialog())
        self.drop("invalid.xml", schema_invalid())
        self.drop("notes.txt", b"this is not an e-message\n")
        wait_for(lambda: not self.waiting() and len(self.listing("processed")) + len(self.listing("error")) == 6,
                 what="every file moved with its reply")

        self.assertEqual(self.listing("processed"), ["dialog.xml", "dialog.xml.apprec.xml"])
        self.assertEqual(self.read("processed", "dialog.xml"), dialog(), "moved, never changed")
        ok = self.read("processed", "dialog.xml.apprec.xml").decode()
        self.assertEqual(apprec_codes(ok), ("1", []))
        self.assertIn(f"<Id>{MSG_ID}</Id>", ok)

        self.assertEqual(self.listing("error"), ["invalid.xml", "invalid.xml.apprec.xml", "notes.txt",
                                                 "notes.txt.problem.json"])
        self.assertEqual(apprec_codes(self.read("error", "invalid.xml.apprec.xml").decode()), ("2", ["T02"]))
        problem = json.loads(self.read("error", "notes.txt.problem.json"))
        self.assertEqual((problem["status"], problem["apprecCode"]), (400, "T01"))

        found = wait_for(lambda: self.fhir.search("Communication", identifier="urn:ietf:rfc:3986|urn:uuid:" + MSG_ID),
                         what="the Communication at the FHIR server")
        self.assertEqual(len(found), 1)
        self.assertTrue(self.fhir.patients_with_fnr(FNR))
        self.assertEqual(journal_total(gw), 3)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 2)
        self.assertEqual(gw.metric("helsebro_listen_files_taken_total", channel=CHANNEL), 3)
        self.assertEqual(gw.metric("helsebro_listen_files_processed_total", channel=CHANNEL), 1)
        self.assertEqual(gw.metric("helsebro_listen_files_error_total", channel=CHANNEL, reason="rejected"), 2)
        self.assertEqual(gw.metric("helsebro_intake_messages_received_total", channel=CHANNEL), 3)
        self.assertEqual(os.listdir(os.path.join(self.inbox, ".inflight")), [])
        log = gw.log_text()
        self.assertIn('"file":"dialog.xml"', log)
        for secret in (FNR, "Bæverfjord", "EKG ettersendes"):
            self.assertNotIn(secret, log)

    def test_files_being_written_and_hidden_files_wait(self):
        gw = self.gateway()
        with open(os.path.join(self.inbox, "dialog.xml.part"), "wb") as f:
            f.write(dialog())
        with open(os.path.join(self.inbox, ".dialog.xml"), "wb") as f:
            f.write(dialog())
        time.sleep(0.6)  # six polls
        self.assertEqual(self.waiting(), [".dialog.xml", "dialog.xml.part"])
        self.assertEqual(journal_total(gw), 0)
        os.rename(os.path.join(self.inbox, "dialog.xml.part"), os.path.join(self.inbox, "dialog.xml"))
        wait_for(lambda: os.path.exists(os.path.join(self.inbox, "processed", "dialog.xml.apprec.xml")),
                 what="the renamed file taken")
        self.assertEqual(self.waiting(), [".dialog.xml"])

    def test_a_file_over_the_limit_goes_to_error_unread(self):
        gw = self.gateway(self.config(maxFileBytes=2048))
        self.drop("big.xml", dialog())
        wait_for(lambda: os.path.exists(os.path.join(self.inbox, "error", "big.xml.problem.json")), what="refused")
        self.assertEqual(json.loads(self.read("error", "big.xml.problem.json"))["status"], 413)
        self.assertEqual(self.waiting(), [])
        self.assertEqual(journal_total(gw), 0)
        self.assertEqual(gw.metric("helsebro_listen_files_error_total", channel=CHANNEL, reason="too_big"), 1)

    def test_a_full_backlog_leaves_files_waiting(self):
        self.fhir.hook("fail", {"status": 503, "seconds": 60, "retryAfter": 5})
        config = self.config()
        config.update({"maxBacklog": 1, "fhir": {"retry": {"initialSeconds": 5, "maxSeconds": 10}}})
        gw = self.gateway(config)
        self.drop("dialog.xml", dialog())
        wait_for(lambda: os.path.exists(os.path.join(self.inbox, "processed", "dialog.xml")), what="the first file")
        self.drop("second.xml", schema_invalid())
        wait_for(lambda: gw.metric("helsebro_listen_backpressure_pauses_total", channel=CHANNEL) >= 3,
                 what="polls paused by the backlog")
        self.assertEqual(self.waiting(), ["second.xml"])
        self.assertEqual(journal_total(gw), 1)

    def crash_after_commit(self, name, body):
        """Runs a gateway that dies right after `name`'s journal commit; returns its data dir."""
        crashing = Gateway(self.fhir.base, config=self.config(),
                           env={"HELSEBRO_FAULT_INJECTION": "inbox.after_commit"}).start()
        self.addCleanup(crashing.cleanup)
        self.drop(name, body)
        wait_for(lambda: crashing.proc.poll() is not None, what="the injected crash")
        self.assertEqual(crashing.proc.returncode, CRASH_EXIT, crashing.log_text())
        self.assertEqual(self.waiting(), [name], "still in the inbox: never moved")
        self.assertEqual(self.listing("processed") + self.listing("error"), [])
        return crashing.data_dir

    def test_a_refused_file_stored_before_a_crash_is_moved_once_after_restart(self):
        data_dir = self.crash_after_commit("invalid.xml", schema_invalid())
        gw = self.gateway(data_dir=data_dir)
        wait_for(lambda: os.path.exists(os.path.join(self.inbox, "error", "invalid.xml.apprec.xml")),
                 what="the move finished")
        self.assertEqual(apprec_codes(self.read("error", "invalid.xml.apprec.xml").decode()), ("2", ["T02"]))
        self.assertEqual(self.waiting(), [])
        self.assertEqual(journal_total(gw), 1, "stored once, not again after the restart")
        self.assertEqual(gw.metric("helsebro_listen_files_recovered_total", channel=CHANNEL), 1)
        self.assertEqual(gw.metric("helsebro_intake_messages_received_total", channel=CHANNEL), 0)

    def test_a_valid_file_stored_before_a_crash_is_delivered_once_after_restart(self):
        data_dir = self.crash_after_commit("dialog.xml", dialog())
        gw = self.gateway(data_dir=data_dir)
        wait_for(lambda: os.path.exists(os.path.join(self.inbox, "processed", "dialog.xml.apprec.xml")),
                 what="the move finished")
        self.assertEqual(apprec_codes(self.read("processed", "dialog.xml.apprec.xml").decode()), ("1", []))
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 1, what="delivery")
        self.assertEqual(journal_total(gw), 1)
        found = self.fhir.search("Communication", identifier="urn:ietf:rfc:3986|urn:uuid:" + MSG_ID)
        self.assertEqual(len(found), 1)
        self.assertEqual(gw.metric("helsebro_listen_files_recovered_total", channel=CHANNEL), 1)


if __name__ == "__main__":
    unittest.main()
