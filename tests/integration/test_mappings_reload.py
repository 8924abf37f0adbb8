"""Hot reload of mappings with real processes: a good edit is picked up (file change, SIGHUP,
admin endpoint), a broken edit is refused with file:line:column while the previous mappings keep
serving, and traffic flows throughout."""

import json
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import SOURCE_DIR, DevFhirServer, Gateway, MllpConnection, hl7, segments, wait_for

TOKEN = "integration-test-admin-token-0123456789"
MAPPING = os.path.join("hl7v2", "adt-patient-encounter.json")


def adt(control_id, fnr):
    return hl7(
        f"MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500+0100||ADT^A04^ADT_A01|{control_id}|P|2.5",
        f"PID|1||{fnr}^^^^FNR||Berg^Ida||20030201|F",
        f"PV1|1|E|||||||||||||||||V-{control_id}",
    )


def post(url, token=None):
    request = urllib.request.Request(url, data=b"", method="POST")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class MappingsReload(unittest.TestCase):
    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)
        self.mappings = tempfile.mkdtemp(prefix="helsebro-mappings-")
        self.addCleanup(shutil.rmtree, self.mappings, True)
        shutil.copytree(os.path.join(SOURCE_DIR, "mappings"), self.mappings, dirs_exist_ok=True)
        self.gw = Gateway(self.fhir.base, env={"HELSEBRO_MAPPINGS_DIR": self.mappings,
                                               "HELSEBRO_ADMIN_TOKEN": TOKEN}).start()
        self.addCleanup(self.gw.cleanup)

    def edit_mapping(self, change):
        path = os.path.join(self.mappings, MAPPING)
        with open(path) as f:
            text = f.read()
        with open(path + ".tmp", "w") as f:
            f.write(change(text))
        os.replace(path + ".tmp", path)  # as editors save: a new file moved into place

    def reloads(self, trigger, event="mappings.reloaded"):
        return [e for e in self.gw.log.json_events() if e.get("event") == event and e.get("trigger") == trigger]

    def send(self, control_id, fnr):
        conn = MllpConnection(self.gw.mllp_port)
        conn.send(adt(control_id, fnr))
        ack = segments(conn.read_frame().decode())
        conn.close()
        return ack["MSA"][1]

    def test_a_good_edit_is_picked_up_and_a_broken_one_refused_while_traffic_flows(self):
        results, stop = [], threading.Event()

        def traffic():
            i = 0
            while not stop.is_set():
                results.append(self.send(f"BG{i:05d}", "24079210087"))
                i += 1

        sender = threading.Thread(target=traffic)
        sender.start()
        try:
            self.edit_mapping(lambda t: t.replace('"birthDate": { "$path": "PID-7", "$as": "date" },',
                                                  '"birthDate": { "$path": "PID-7", "$as": "date" },\n'
                                                  '        "active": { "$const": true },'))
            wait_for(lambda: self.reloads("file_change"), what="the good edit to be loaded")
            self.assertEqual(self.send("AFTER001", "01020310045"), "AA")
            patient = wait_for(lambda: self.fhir.patients_with_fnr("01020310045"), what="delivery")[0]
            self.assertIs(patient.get("active"), True, "the edited mapping serves")

            self.edit_mapping(lambda t: t.replace('"resources": [', '"resources": [[', 1))
            refused = wait_for(lambda: self.reloads("file_change", "mappings.reload_refused"),
                               what="the broken edit to be refused")
            self.assertRegex(refused[0]["error"], r"adt-patient-encounter\.json:\d+:\d+: ")
            self.assertEqual(self.send("BROKEN01", "31129910065"), "AA", "the previous mappings keep serving")
            patient = wait_for(lambda: self.fhir.patients_with_fnr("31129910065"), what="delivery")[0]
            self.assertIs(patient.get("active"), True)
        finally:
            stop.set()
            sender.join(30)
        self.assertGreater(len(results), 0)
        self.assertTrue(all(code == "AA" for code in results), results)

    def test_admin_endpoint_reloads_with_the_token_only(self):
        base = f"http://127.0.0.1:{self.gw.http_port}/admin/mappings/reload"
        status, body = post(base)
        self.assertEqual(status, 401)
        self.assertEqual(body["status"], 401)
        status, body = post(base, "wrong-token-wrong-token-wrong")
        self.assertEqual(status, 401)
        status, body = post(base, TOKEN)
        self.assertEqual(status, 200)
        mapping_files = [f for f in os.listdir(os.path.join(self.mappings, "hl7v2")) if f.endswith(".json")]
        self.assertEqual(body, {"status": "reloaded", "mappings": len(mapping_files)})
        self.edit_mapping(lambda t: t.replace('"$table": "hl7-0001-administrative-gender"', '"$table": "no-such-table"'))
        status, body = post(base, TOKEN)
        self.assertEqual(status, 422)
        self.assertIn("no-such-table", body["detail"])
        self.assertIn("previous mappings keep serving", body["detail"])
        self.assertNotIn(TOKEN, self.gw.log_text(), "the token is never logged")

    def test_a_directory_swapped_into_place_is_loaded_and_watched(self):
        # A release-style deploy: the new set copied beside, then moved into the watched name.
        new, old = self.mappings + ".new", self.mappings + ".old"
        self.addCleanup(shutil.rmtree, new, True)
        self.addCleanup(shutil.rmtree, old, True)
        shutil.copytree(self.mappings, new)
        os.rename(self.mappings, old)
        os.rename(new, self.mappings)
        wait_for(lambda: self.reloads("file_change"), what="a reload after the swap")
        before = len(self.reloads("file_change"))
        # An edit in the directory now in place is seen; one in the directory moved away is not.
        self.edit_mapping(lambda text: text)
        wait_for(lambda: len(self.reloads("file_change")) > before, what="a reload after an edit in the new directory")
        settled = len(self.reloads("file_change"))
        path = os.path.join(old, MAPPING)
        with open(path, "a") as f:
            f.write("\n")
        time.sleep(1.0)  # the watcher waits 150 ms for a change to settle; nothing should come
        self.assertEqual(len(self.reloads("file_change")), settled)

    def test_sighup_reloads(self):
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.reloads("SIGHUP"), what="SIGHUP reload")

    def test_a_reload_that_would_lose_a_whole_format_is_refused(self):
        # A folder moved away (a checkout half done, a share unmounted): every HL7 v2 mapping
        # would go, and every message after it be refused.
        shutil.move(os.path.join(self.mappings, "hl7v2"), os.path.join(self.mappings, "hl7v2.away"))
        self.gw.proc.send_signal(signal.SIGHUP)
        refused = wait_for(lambda: self.reloads("SIGHUP", "mappings.reload_refused"), what="the reload to be refused")
        self.assertIn("no hl7v2 mappings", refused[0]["error"])
        self.assertEqual(self.send("GONE0001", "24079210087"), "AA", "the serving mappings keep serving")


class KithSchemasOnReload(unittest.TestCase):
    def test_a_broken_schema_index_does_not_unload_the_kith_mappings(self):
        fhir = DevFhirServer().start()
        self.addCleanup(fhir.stop)
        schemas = tempfile.mkdtemp(prefix="helsebro-schemas-")
        self.addCleanup(shutil.rmtree, schemas, True)
        shutil.copytree(os.path.join(SOURCE_DIR, "schemas", "kith"), schemas, dirs_exist_ok=True)
        gw = Gateway(fhir.base, config={"kith": {"schemasDir": schemas}, "mappingsWatch": False}).start()
        self.addCleanup(gw.cleanup)
        self.assertFalse([e for e in gw.log.json_events() if e.get("event") == "mappings.kith_skipped"])
        with open(os.path.join(schemas, "index.json"), "w") as f:
            f.write("{ not json")
        gw.proc.send_signal(signal.SIGHUP)
        refused = wait_for(lambda: [e for e in gw.log.json_events() if e.get("event") == "mappings.reload_refused"],
                           what="the reload to be refused")
        self.assertIn("index", refused[0]["error"])
        self.assertFalse([e for e in gw.log.json_events() if e.get("event") == "mappings.reloaded"])


class AdminApiOff(unittest.TestCase):
    def test_without_a_token_the_admin_api_answers_403(self):
        fhir = DevFhirServer().start()
        self.addCleanup(fhir.stop)
        gw = Gateway(fhir.base).start()
        self.addCleanup(gw.cleanup)
        status, body = post(f"http://127.0.0.1:{gw.http_port}/admin/mappings/reload", TOKEN)
        self.assertEqual(status, 403)
        self.assertIn("HELSEBRO_ADMIN_TOKEN", body["detail"])


if __name__ == "__main__":
    unittest.main()
