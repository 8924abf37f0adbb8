"""Delivery with real processes: messages about one patient (A01, A08, A08, A03) reach the shared
record in the order they were received, through transient failures, while other patients go in parallel (also when
the channel translates after the ACK); a permanent refusal makes a message dead with the server's
reason; the retry budget is kept; an invalid Bundle is refused with AE, or after an AA kept as
rejected when the channel translates after the ACK."""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from harness import (CR, EB, SB, HELSEBRO_BIN, SOURCE_DIR, DevFhirServer, Gateway, MllpConnection,
                     free_port, hl7, segments, wait_for)

TOKEN = "integration-test-admin-token-0123456789"

FNRS = ["15038510190", "24079210087", "01020310045"]


def adt(event, control_id, fnr, visit=None):
    return hl7(
        f"MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500+0100||ADT^{event}^ADT_A01|{control_id}|P|2.5",
        f"PID|1||{fnr}^^^^FNR||Hansen^Åse||19920724|F",
        f"PV1|1|I|POL^^^STOLAV||||||||||||||||{visit or 'V-' + control_id}",
    )


class Delivery(unittest.TestCase):
    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)

    def gateway(self, config=None, fhir_base=None):
        gw = Gateway(fhir_base or self.fhir.base, config=config).start()
        self.addCleanup(gw.cleanup)
        return gw

    def test_one_patients_messages_arrive_in_order_through_transient_failures(self):
        self.check_order({})

    def test_the_order_holds_when_translating_after_the_ack(self):
        gw = self.check_order({"mllp": {"translate": "afterAck"}})
        self.assertEqual(gw.metric("helsebro_translator_messages_total", state="translated"), 24)

    def check_order(self, extra_config):
        gw = self.gateway({"fhir": {"lanes": 4, "retry": {"initialSeconds": 0.05, "maxSeconds": 0.2}},
                           **extra_config})
        self.fhir.hook("fail", {"status": 503, "count": 6, "retryAfter": 0})
        sent = {fnr: [] for fnr in FNRS}
        frames = []
        # Rounds 0-3: a visit of their own each, so that the arrivals show each message's place.
        # Rounds 4-7: one visit, admitted, updated twice, discharged: it ends finished only if
        # the discharge came last.
        events = ["A01", "A08", "A08", "A03"]
        for round_, event in enumerate(events + events):
            for p, fnr in enumerate(FNRS):
                control = f"ORD{p}{round_}"
                visit = f"V-{control}" if round_ < 4 else f"W-{p}"
                sent[fnr].append(visit)
                frames.append(SB + adt(event, control, fnr, visit) + EB + CR)
        conn = MllpConnection(gw.mllp_port)
        conn.send_raw(b"".join(frames))
        acks = [segments(conn.read_frame().decode())["MSA"][1] for _ in frames]
        conn.close()
        self.assertEqual(acks, ["AA"] * len(frames))
        wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == len(frames),
                 timeout=30, what="every message delivered")
        self.assertGreater(gw.metric("helsebro_forward_attempts_failed_total"), 0, "failures happened")
        arrived = {fnr: [] for fnr in FNRS}
        for a in self.fhir.arrivals():
            if a.get("status") != 200 or a["path"] != "/fhir":
                continue
            ids = [i for e in a["entries"] for i in e.get("identifiers", [])]
            fnr = next(f for f in FNRS if any(i.endswith("|" + f) for i in ids))
            visit = next(i.split("|")[1] for i in ids if "|V-" in i or "|W-" in i)
            arrived[fnr].append(visit)
        self.assertEqual(arrived, sent, "each patient's messages arrive once, in the order received")
        # The discharge came last, so the record shows it.
        for p, fnr in enumerate(FNRS):
            encounters = self.fhir.search("Encounter", identifier=f"W-{p}")
            self.assertEqual([e["status"] for e in encounters], ["finished"], fnr)
        return gw

    def test_a_permanent_refusal_makes_the_message_dead_with_the_servers_reason(self):
        gw = self.gateway()
        self.fhir.hook("fail", {"status": 422, "count": 1, "body": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": "Encounter.class is wrong"}]}})
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt("A01", "DEAD0001", FNRS[0]))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.send(adt("A08", "LIVE0002", FNRS[0]))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="dead") == 1, what="a dead letter")
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 1,
                 what="the next message, not held back by a dead one")
        self.assertEqual(gw.metric("helsebro_forward_messages_dead_total", reason="http_422"), 1)

    def test_the_retry_budget_gives_up_after_the_configured_attempts(self):
        gw = self.gateway({"fhir": {"retry": {"initialSeconds": 0.02, "maxSeconds": 0.05, "maxAttempts": 3}}},
                          fhir_base=f"http://127.0.0.1:{free_port()}/fhir")
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt("A01", "BUDGET01", FNRS[1]))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        wait_for(lambda: gw.metric("helsebro_forward_messages_dead_total", reason="retry_budget") == 1,
                 what="the message given up on")
        self.assertEqual(gw.metric("helsebro_forward_attempts_failed_total"), 2)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="dead"), 1)


    def test_a_server_answering_503_with_retry_after_for_30_seconds_gets_everything_once(self):
        gw = self.gateway({"fhir": {"lanes": 4, "retry": {"initialSeconds": 0.05, "maxSeconds": 0.3}}})
        self.fhir.hook("fail", {"status": 503, "seconds": 30, "retryAfter": 5})
        conn = MllpConnection(gw.mllp_port)
        sent = []
        for i in range(12):
            control = f"OUT{i:04d}"
            conn.send(adt("A01", control, FNRS[i % 3]))
            self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
            sent.append(f"V-{control}")
        conn.close()
        wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == len(sent),
                 timeout=90, what="delivery after the outage")
        # Retry-After was honoured: a handful of attempts per waiting message, not hundreds.
        self.assertLessEqual(gw.metric("helsebro_forward_attempts_failed_total"), 3 * 8)
        delivered = [i.split("|")[1] for a in self.fhir.arrivals()
                     if a.get("status") == 200 and a["path"] == "/fhir"
                     for e in a["entries"] for i in e.get("identifiers", []) if "|V-OUT" in i]
        self.assertEqual(sorted(delivered), sorted(sent), "all delivered, none twice")

    def copy_mappings(self, change=None):
        mappings = tempfile.mkdtemp(prefix="helsebro-mappings-")
        self.addCleanup(shutil.rmtree, mappings, True)
        shutil.copytree(os.path.join(SOURCE_DIR, "mappings"), mappings, dirs_exist_ok=True)
        path = os.path.join(mappings, "hl7v2", "adt-patient-encounter.json")
        with open(path) as f:
            good = f.read()
        if change:
            changed = change(good)
            self.assertNotEqual(good, changed, "the edit applies")
            with open(path, "w") as f:
                f.write(changed)
        return mappings, path, good

    GENDER = '"gender": { "$path": "PID-8.1", "$table": "hl7-0001-administrative-gender" }'
    # A mapping bug only a message reveals (a constant such as "banana" is refused when the
    # mappings load): the family name as the gender code.
    WRONG_GENDER = '"gender": { "$path": "PID-5.1" }'

    def test_an_invalid_bundle_is_refused_with_AE_naming_the_fhir_path(self):
        mappings, _, _ = self.copy_mappings(lambda t: t.replace(self.GENDER, self.WRONG_GENDER))
        gw = Gateway(self.fhir.base, env={"HELSEBRO_MAPPINGS_DIR": mappings}).start()
        self.addCleanup(gw.cleanup)
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt("A01", "INVALID1", FNRS[2]))
        ack = segments(conn.read_frame().decode())
        conn.close()
        self.assertEqual(ack["MSA"][1], "AE")
        self.assertIn("gender", ack["ERR"][8])
        self.assertIn("code 'Hansen' is not in required value set", ack["ERR"][8])
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", reason="mapping_failed"), 1)
        self.assertEqual([a for a in self.fhir.arrivals() if a["path"] == "/fhir"], [], "never sent")

    def test_after_the_ack_an_invalid_bundle_is_kept_as_rejected(self):
        mappings, _, _ = self.copy_mappings(lambda t: t.replace(self.GENDER, self.WRONG_GENDER))
        gw = Gateway(self.fhir.base, config={"mllp": {"translate": "afterAck"}},
                     env={"HELSEBRO_MAPPINGS_DIR": mappings}).start()
        self.addCleanup(gw.cleanup)
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt("A01", "INVALID2", FNRS[2]))
        ack = segments(conn.read_frame().decode())
        conn.close()
        self.assertEqual(ack["MSA"][1], "AA", "acknowledged once stored, before translation")
        wait_for(lambda: gw.metric("helsebro_translator_messages_total", state="rejected") == 1,
                 what="the translation after the ACK")
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 1)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="received"), 0)
        self.assertEqual(gw.metric("helsebro_forward_backlog_messages"), 0, "not waiting for delivery")
        db = sqlite3.connect(f"file:{os.path.join(gw.data_dir, 'journal.db')}?mode=ro", uri=True, timeout=5)
        self.addCleanup(db.close)
        (reason,), = db.execute("SELECT reason FROM messages WHERE control_id = 'INVALID2'").fetchall()
        self.assertIn("gender", reason, "the reason is kept for inspection")
        self.assertEqual([a for a in self.fhir.arrivals() if a["path"] == "/fhir"], [], "never sent")

    def test_a_message_refused_after_the_ack_lets_later_deliveries_go_at_once(self):
        # Until a message translated after the ACK is settled, no later message is delivered. One
        # its mapping refuses is settled too: the forwarder must look again then, not at its idle
        # poll (5 s). Each round: A to a channel that translates after the ACK (refused: its family
        # name is read as the gender), then B to one that translates before it (valid), stored
        # while A waits for translation.
        mappings, _, _ = self.copy_mappings(lambda t: t.replace(self.GENDER, self.WRONG_GENDER))
        gw = Gateway(self.fhir.base, config={"mllp": {"translate": "afterAck", "channel": "late"},
                                             "mllpChannels": [{"channel": "early", "port": 0}]},
                     env={"HELSEBRO_MAPPINGS_DIR": mappings}).start()
        self.addCleanup(gw.cleanup)
        event = next(e for e in gw.log.json_events() if e.get("event") == "server.listening")
        ports = dict(pair.split(":") for pair in event["mllp_channels"].split(","))
        late, early = MllpConnection(int(ports["late"])), MllpConnection(int(ports["early"]))
        self.addCleanup(late.close)
        self.addCleanup(early.close)

        def female(control_id, fnr):  # valid with the wrong rule too: "female" as the family name
            return adt("A01", control_id, fnr).replace(b"Hansen^", b"female^")

        waits = []
        for i in range(6):
            delivered = gw.metric("helsebro_forward_messages_delivered_total")
            late.send(adt("A01", f"LATE{i}", FNRS[0]))
            early.send(female(f"EARLY{i}", FNRS[1]))
            self.assertEqual(segments(late.read_frame().decode())["MSA"][1], "AA")
            self.assertEqual(segments(early.read_frame().decode())["MSA"][1], "AA")
            started = time.monotonic()
            wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == delivered + 1,
                     timeout=20, interval=0.01, what=f"round {i}: B delivered")
            waits.append(time.monotonic() - started)
        self.assertEqual(gw.metric("helsebro_translator_messages_total", state="rejected"), 6)
        self.assertLess(max(waits), 2.5, f"B waited for the forwarder's idle poll: {waits}")

    def test_fields_no_rule_read_are_counted_before_and_after_the_ack(self):
        # The same message twice, the second with a Z-segment no mapping reads: 3 more fields
        # (ZNO-1, ZNO-2.1, ZNO-2.2) are counted for it, whenever the channel translates.
        messages = "helsebro_mapping_messages_with_unmapped_fields_total"
        fields = "helsebro_mapping_unmapped_fields_total"
        for mode in ("beforeAck", "afterAck"):
            with self.subTest(mode=mode):
                gw = self.gateway({"mllp": {"translate": mode}})
                conn = MllpConnection(gw.mllp_port)
                conn.send(adt("A01", f"UNM{mode[0]}1", FNRS[0]))
                self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
                wait_for(lambda: gw.metric(messages, mapping="adt-patient-encounter") == 1, what=f"{mode}: counted")
                plain = gw.metric(fields, mapping="adt-patient-encounter")
                conn.send(adt("A01", f"UNM{mode[0]}2", FNRS[0]) + b"ZNO|1|local note^x\r")
                self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
                conn.close()
                wait_for(lambda: gw.metric(messages, mapping="adt-patient-encounter") == 2, what=f"{mode}: counted")
                self.assertEqual(gw.metric(fields, mapping="adt-patient-encounter") - plain, plain + 3)

    def test_dead_letters_are_replayed_through_the_fixed_mapping(self):
        # A mapping whose Bundles the server refuses: a content rule of the test server answers 422
        # to every Bundle with gender "unknown", as a real server's business rule would. Replayed
        # through the same mapping, they are refused again; through the fixed one, delivered.
        mappings, mapping, good = self.copy_mappings(lambda t: t.replace(self.GENDER, '"gender": "unknown"'))
        gw = Gateway(self.fhir.base, env={"HELSEBRO_MAPPINGS_DIR": mappings, "HELSEBRO_ADMIN_TOKEN": TOKEN}).start()
        self.addCleanup(gw.cleanup)
        self.fhir.hook("fail", {"status": 422, "whenBodyContains": '"gender":"unknown"'})
        self.addCleanup(self.fhir.hook, "fail", {"status": 0})
        conn = MllpConnection(gw.mllp_port)
        for control, fnr in (("REPLAY01", FNRS[0]), ("REPLAY02", FNRS[1])):
            conn.send(adt("A01", control, fnr))
            self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="dead") == 2, what="the server's refusals")
        self.assertEqual(gw.metric("helsebro_forward_messages_dead_total"), 2)
        self.assertEqual(self.fhir.patients_with_fnr(FNRS[0]), [])
        env = dict(os.environ, HELSEBRO_DATA_DIR=gw.data_dir, HELSEBRO_MAPPINGS_DIR=mappings)

        # Replayed before the fix: the same Bundles, refused again.
        refusals = len([a for a in self.fhir.arrivals() if a["path"] == "/fhir"])
        replay = subprocess.run([HELSEBRO_BIN, "replay", "--state", "dead"], capture_output=True, text=True,
                                env=env, timeout=60)
        self.assertEqual(replay.returncode, 0, replay.stderr)
        wait_for(lambda: len([a for a in self.fhir.arrivals() if a["path"] == "/fhir"]) == refusals + 2,
                 what="both sent again")
        wait_for(lambda: gw.metric("helsebro_forward_messages_dead_total") == 4, what="refused again")
        self.assertEqual(self.fhir.patients_with_fnr(FNRS[0]), [])

        with open(mapping + ".tmp", "w") as f:
            f.write(good)
        os.replace(mapping + ".tmp", mapping)
        wait_for(lambda: any(e.get("event") == "mappings.reloaded" for e in gw.log.json_events()),
                 what="the fixed mapping to load")

        # The command line, beside the running gateway, on its journal.
        replay = subprocess.run([HELSEBRO_BIN, "replay", "--state", "dead", "--since", "2020-01-01"],
                                capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(replay.returncode, 0, replay.stderr)
        self.assertIn("2 message(s) queued", replay.stdout)
        wait_for(lambda: self.fhir.patients_with_fnr(FNRS[0]) and self.fhir.patients_with_fnr(FNRS[1]),
                 timeout=20, what="delivery after replay")
        self.assertEqual(self.fhir.patients_with_fnr(FNRS[0])[0]["gender"], "female", "the current mapping")
        # The gateway noticed the other process's changes: its counts and backlog are right.
        wait_for(lambda: (gw.metric("helsebro_journal_messages", state="delivered"),
                          gw.metric("helsebro_journal_messages", state="dead"),
                          gw.metric("helsebro_journal_messages", state="translated"),
                          gw.metric("helsebro_forward_backlog_messages")) == (2, 0, 0, 0),
                 what="delivered 2, dead 0, translated 0, backlog 0")

        # The admin endpoint: an unknown id is named, not an error.
        request = urllib.request.Request(f"http://127.0.0.1:{gw.http_port}/admin/messages/replay",
                                         data=json.dumps({"ids": ["no-such-id"]}).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            self.assertEqual(json.loads(r.read()), {"queued": 0, "rejected": [], "held": [], "notFound": ["no-such-id"]})

        # A misspelt member is a 400 naming it, not a replay of every message in the state.
        request = urllib.request.Request(f"http://127.0.0.1:{gw.http_port}/admin/messages/replay",
                                         data=json.dumps({"state": "delivered", "sinse": "2030-01-01"}).encode(),
                                         method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
        with self.assertRaises(urllib.error.HTTPError) as misspelt:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(misspelt.exception.code, 400)
        self.assertIn('unknown member "sinse"', json.loads(misspelt.exception.read())["detail"])

        # A body nested a million deep is a 400, and the gateway stays up.
        request = urllib.request.Request(f"http://127.0.0.1:{gw.http_port}/admin/messages/replay",
                                         data=b"[" * 1_000_000, method="POST",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(refused.exception.code, 400)
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.http_port}/healthz", timeout=10) as r:
            self.assertEqual(r.status, 200)

    def test_backpressure_pauses_senders_and_memory_stays_bounded(self):
        limit, senders, per_sender = 5, 4, 8
        gw = self.gateway({"maxBacklog": limit, "fhir": {"lanes": 1}})
        self.fhir.hook("delay", {"ms": 60})
        self.addCleanup(self.fhir.hook, "delay", {"ms": 0})
        peak, stop = [0], threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], gw.metric("helsebro_forward_backlog_messages"))
                time.sleep(0.02)

        def send(n):
            conn = MllpConnection(gw.mllp_port, timeout=60)
            for i in range(per_sender):
                conn.send(adt("A01", f"BP{n}{i:03d}", FNRS[n % len(FNRS)]))
                assert segments(conn.read_frame().decode())["MSA"][1] == "AA"
            conn.close()

        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == senders * per_sender,
                 timeout=60, what="everything delivered")
        stop.set()
        watcher.join()
        self.assertGreater(gw.metric("helsebro_listen_backpressure_pauses_total"), 0, "senders were held back")
        # Each connection may have one frame in hand when the limit is reached.
        self.assertLessEqual(peak[0], limit + senders)
        with open(f"/proc/{gw.proc.pid}/status") as f:
            rss_kb = int(next(line for line in f if line.startswith("VmRSS:")).split()[1])
        self.assertLess(rss_kb, 64 * 1024, "RSS stays under 64 MB")


if __name__ == "__main__":
    unittest.main()
