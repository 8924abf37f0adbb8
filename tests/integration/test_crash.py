"""The central guarantee, with real processes: four senders send 2,000 messages about 200 patients
while helsebro is killed with SIGKILL twice and restarted; afterwards every acknowledged message is
in the shared record exactly once and none is missing. Senders behave like real ones: a message
without an acknowledgement is sent again, so resends of stored messages must not duplicate. Run
for both ways of translating: before the ACK (the default) and after it (translate "afterAck",
where a kill leaves acknowledged messages untranslated, to be translated after the restart)."""

import os
import signal
import sqlite3
import threading
import time
import unittest

from harness import CR, EB, SB, DevFhirServer, Gateway, MllpConnection, free_port, hl7, segments, wait_for

PATIENTS, MESSAGES, SENDERS = 200, 2000, 4


def fodselsnummer(n):
    """The n-th synthetic fødselsnummer with valid control digits (born 1985, day/month from n)."""
    w1, w2 = [3, 7, 6, 1, 8, 9, 4, 5, 2], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    individual = 100
    while True:
        day, month = 1 + n % 28, 1 + (n // 28) % 12
        digits = [int(c) for c in f"{day:02d}{month:02d}85{individual:03d}"]
        k1 = 11 - sum(a * b for a, b in zip(w1, digits)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 != 10:
            k2 = 11 - sum(a * b for a, b in zip(w2, digits + [k1])) % 11
            k2 = 0 if k2 == 11 else k2
            if k2 != 10:
                return "".join(map(str, digits + [k1, k2]))
        individual += 1 + n % 7  # keep numbers apart between patients


def message(i, fnr):
    return hl7(
        f"MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500+0100||ADT^A08^ADT_A01|CRASH{i:05d}|P|2.5",
        f"PID|1||{fnr}^^^^FNR||Hansen^Åse||19850101|F",
        f"PV1|1|I|POL^^^STOLAV||||||||||||||||V-CRASH{i:05d}",
    )


class CrashRecovery(unittest.TestCase):
    def test_every_acknowledged_message_is_delivered_exactly_once_across_sigkills(self):
        self.run_with_kills({})

    def test_the_same_when_translating_after_the_ack(self):
        gw = self.run_with_kills({"mllp": {"translate": "afterAck"}})
        self.assertEqual(gw.metric("helsebro_journal_messages", state="received"), 0)

    def run_with_kills(self, extra_config):
        fhir = DevFhirServer().start()
        self.addCleanup(fhir.stop)
        fnrs = sorted({fodselsnummer(n) for n in range(PATIENTS * 3)})[:PATIENTS]
        self.assertEqual(len(fnrs), PATIENTS)
        mllp_port, http_port = free_port(), free_port()
        env = {"HELSEBRO_MLLP_PORT": str(mllp_port), "HELSEBRO_HTTP_PORT": str(http_port)}
        config = {"fhir": {"lanes": 4, "retry": {"initialSeconds": 0.05, "maxSeconds": 0.5}}, **extra_config}
        first = Gateway(fhir.base, config=config, env=env).start()
        data_dir = first.data_dir
        gateways = [first]
        self.addCleanup(lambda: [g.cleanup() for g in gateways])

        acked, lock, killed_with = set(), threading.Lock(), []

        def sender(k):
            conn = None
            for i in range(k, MESSAGES, SENDERS):
                while True:  # until this message is acknowledged, like a real sender
                    try:
                        if conn is None:
                            conn = MllpConnection(mllp_port, timeout=10)
                        conn.send(message(i, fnrs[i % PATIENTS]))
                        msa = segments(conn.read_frame().decode())["MSA"]
                        assert msa[1] == "AA", msa
                        with lock:
                            acked.add(i)
                        break
                    except (OSError, ConnectionError):
                        if conn is not None:
                            conn.close()
                        conn = None
                        time.sleep(0.05)
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
        for t in threads:
            t.start()
        for kill_at in (MESSAGES // 4, MESSAGES * 2 // 3):
            wait_for(lambda: len(acked) >= kill_at, timeout=120, what=f"{kill_at} acknowledgements")
            killed_with.append(len(acked))
            gateways[-1].proc.send_signal(signal.SIGKILL)
            gateways[-1].proc.wait()
            gateways.append(Gateway(fhir.base, config=config, env=env, data_dir=data_dir).start())
        for t in threads:
            t.join(300)
        self.assertEqual(len(acked), MESSAGES, "every message was acknowledged in the end")
        self.assertTrue(all(n < MESSAGES for n in killed_with), f"killed mid-run: {killed_with}")

        gw = gateways[-1]
        wait_for(lambda: gw.metric("helsebro_forward_backlog_messages") == 0
                 and gw.metric("helsebro_journal_messages", state="received") == 0
                 and gw.metric("helsebro_journal_messages", state="translated") == 0
                 and gw.metric("helsebro_journal_messages", state="failed") == 0,
                 timeout=120, what="the backlog to drain")
        encounters = {}
        offset = 0
        while True:
            page = fhir.search("Encounter", _count=1000, _offset=offset)
            for e in page:
                for ident in e.get("identifier", []):
                    encounters[ident["value"]] = encounters.get(ident["value"], 0) + 1
            if len(page) < 1000:
                break
            offset += 1000
        missing = [i for i in range(MESSAGES) if f"V-CRASH{i:05d}" not in encounters]
        doubled = {k: v for k, v in encounters.items() if v != 1}
        self.assertEqual(missing, [], "no acknowledged message is missing")
        # Encounters are written by conditional update, so the record cannot hold one twice
        # whatever happens: that is how a resend stays harmless. What can go wrong is upstream of
        # it, and is checked below: a message stored twice, or delivered out of its patient's order.
        self.assertEqual(doubled, {}, "none is there twice")
        for fnr in fnrs[:20]:
            self.assertEqual(len(fhir.patients_with_fnr(fnr)), 1)
        # Stored once: a resend of a stored message whose ACK the kill cut off is a duplicate.
        db = sqlite3.connect(f"file:{os.path.join(data_dir, 'journal.db')}?mode=ro", uri=True, timeout=5)
        self.addCleanup(db.close)
        stored = dict(db.execute("SELECT control_id, COUNT(*) FROM messages GROUP BY control_id").fetchall())
        self.assertEqual({c: n for c, n in stored.items() if n != 1}, {}, "a message stored twice")
        self.assertEqual(len(stored), MESSAGES)
        (delivered,), = db.execute("SELECT COUNT(*) FROM messages WHERE state = 2").fetchall()
        self.assertEqual(delivered, MESSAGES)
        # Each patient's messages reached the record in the order they were sent (one sender sends
        # all of a patient's, one after another). A kill between a delivery and its record in the
        # journal sends that message again, right after itself, never after a later one.
        arrived = {}
        for a in fhir.arrivals():
            if a.get("status") != 200 or a["path"] != "/fhir":
                continue
            visit = next(i.split("|")[1] for e in a["entries"] for i in e.get("identifiers", []) if "|V-CRASH" in i)
            i = int(visit[len("V-CRASH"):])
            arrived.setdefault(i % PATIENTS, []).append(i)
        for patient, order in arrived.items():
            again = [b for a, b in zip(order, order[1:]) if b < a]
            self.assertEqual(again, [], f"patient {patient}: {order}")
        return gw


if __name__ == "__main__":
    unittest.main()
