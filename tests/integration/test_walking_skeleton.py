"""The walking skeleton, end to end with real processes: an ADT message sent over MLLP by an
independent client becomes a Patient and an Encounter in a real FHIR server; acknowledgements
are honest; bad input is answered and kept; the gateway survives its FHIR server being down."""

import os
import tempfile
import unittest

from harness import (FNR_SYSTEM, SOURCE_DIR, DevFhirServer, Gateway, MllpConnection, free_port, hl7,
                     mllp_send_file, segments, unescape, wait_for)

EXAMPLE = os.path.join(SOURCE_DIR, "mappings", "hl7v2", "examples", "adt-a04-nordmann.hl7")
EXAMPLE_FNR = "15038510190"


def adt_a04(control_id, fnr, family="Hansen", given="Åse"):
    return hl7(
        f"MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500+0100||ADT^A04^ADT_A01|{control_id}|P|2.5|||||NOR|UNICODE UTF-8",
        "EVN|A04|20261123101500+0100",
        f"PID|1||{fnr}^^^^FNR||{family}^{given}||19920724|F",
        f"PV1|1|O|POL^^^STOLAV||||||||||||||||V-{control_id}^^^STOLAV&2.16.578.1.12.4.1.4.102.1&ISO^VN",
    )


class WalkingSkeleton(unittest.TestCase):
    def setUp(self):
        self.fhir = DevFhirServer().start()
        self.addCleanup(self.fhir.stop)

    def gateway(self, fhir_base=None, config=None):
        gw = Gateway(fhir_base or self.fhir.base, config=config).start()
        self.addCleanup(gw.cleanup)
        return gw

    def test_adt_a04_sent_with_mllp_send_becomes_patient_and_encounter(self):
        gw = self.gateway()
        ack = segments(mllp_send_file(gw.mllp_port, EXAMPLE))
        self.assertEqual(ack["MSA"][1], "AA")
        self.assertEqual(ack["MSA"][2], "MSG00001")
        self.assertEqual(ack["MSH"][8], "ACK^A04^ACK")

        patients = wait_for(lambda: self.fhir.patients_with_fnr(EXAMPLE_FNR), what="the Patient")
        self.assertEqual(len(patients), 1)
        patient = patients[0]
        self.assertEqual(patient["name"][0]["family"], "Nordmann")
        self.assertEqual(patient["name"][0]["given"], ["Kåre", "Øystein"])
        self.assertEqual(patient["birthDate"], "1985-03-15")
        self.assertEqual(patient["gender"], "male")
        self.assertIn({"use": "official", "system": FNR_SYSTEM, "value": EXAMPLE_FNR}, patient["identifier"])

        encounters = wait_for(lambda: self.fhir.search("Encounter", subject=f"Patient/{patient['id']}"),
                              what="the Encounter")
        self.assertEqual(len(encounters), 1)
        self.assertEqual(encounters[0]["subject"]["reference"], f"Patient/{patient['id']}")
        self.assertEqual(encounters[0]["class"]["code"], "AMB")

        wait_for(lambda: gw.metric("helsebro_forward_messages_delivered_total") == 1, what="delivered counter")
        self.assertEqual(gw.metric("helsebro_intake_messages_received_total", message_type="ADT^A04"), 1)
        self.assertEqual(gw.metric("helsebro_intake_messages_acknowledged_total", code="AA"), 1)
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total"), 0)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="delivered"), 1)

        # Logs carry ids and hashes, never the patient's name or fødselsnummer.
        log = gw.log_text()
        for secret in (EXAMPLE_FNR, "Nordmann", "Kåre"):
            self.assertNotIn(secret, log)

    def test_message_is_acknowledged_while_fhir_server_is_down_and_delivered_once_it_is_up(self):
        port = free_port()
        gw = self.gateway(fhir_base=f"http://127.0.0.1:{port}/fhir",
                          config={"fhir": {"retry": {"initialSeconds": 0.05, "maxSeconds": 0.3}}})
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt_a04("DOWN0001", "24079210087"))
        ack = segments(conn.read_frame().decode())
        conn.close()
        self.assertEqual(ack["MSA"][1], "AA", "stored messages are acknowledged even when the shared record is down")
        wait_for(lambda: gw.metric("helsebro_forward_attempts_failed_total", reason="unreachable") >= 2,
                 what="failed attempts")
        self.assertEqual(gw.metric("helsebro_journal_messages", state="failed"), 1)

        later = DevFhirServer(port=port).start()
        self.addCleanup(later.stop)
        patients = wait_for(lambda: later.patients_with_fnr("24079210087"), what="delivery after recovery")
        self.assertEqual(len(patients), 1)
        wait_for(lambda: gw.metric("helsebro_journal_messages", state="delivered") == 1, what="delivered state")
        transactions = [a for a in later.arrivals() if a["method"] == "POST" and a["path"] == "/fhir"]
        self.assertEqual(len(transactions), 1, "delivered once, not again after success")

    def test_acknowledged_message_survives_a_restart_of_the_gateway(self):
        port = free_port()
        data_dir = tempfile.mkdtemp(prefix="helsebro-it-restart-")
        first = Gateway(f"http://127.0.0.1:{port}/fhir", data_dir=data_dir,
                        config={"fhir": {"retry": {"initialSeconds": 0.05, "maxSeconds": 0.2}}}).start()
        self.addCleanup(first.cleanup)
        conn = MllpConnection(first.mllp_port)
        conn.send(adt_a04("RESTART1", "31129910065"))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        first.stop()

        later = DevFhirServer(port=port).start()
        self.addCleanup(later.stop)
        second = Gateway(later.base, data_dir=data_dir,
                         config={"fhir": {"retry": {"initialSeconds": 0.05, "maxSeconds": 0.2}}}).start()
        self.addCleanup(second.cleanup)
        patients = wait_for(lambda: later.patients_with_fnr("31129910065"), what="delivery after restart")
        self.assertEqual(len(patients), 1)

    def test_frame_that_is_not_hl7_gets_AR_and_the_server_keeps_serving(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        conn.send(b"this is not an HL7 message")
        ack = segments(conn.read_frame().decode())
        self.assertEqual(ack["MSA"][1], "AR")
        self.assertIn("ERR", ack)
        self.assertIn("not an HL7 v2 message", ack["ERR"][8])
        # Same connection, next message: still served.
        conn.send(adt_a04("AFTERBAD", "01020310045"))
        self.assertEqual(segments(conn.read_frame().decode())["MSA"][1], "AA")
        conn.close()
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", reason="not_hl7"), 1)
        self.assertEqual(gw.metric("helsebro_journal_messages", state="rejected"), 1)

    def test_oversized_frame_is_refused_and_the_connection_closed(self):
        gw = self.gateway(config={"mllp": {"maxFrameBytes": 2048}})
        big = adt_a04("BIG00001", "15038510190").rstrip(b"\r") + b"\rNTE|1||" + b"x" * 10000 + b"\r"
        conn = MllpConnection(gw.mllp_port)
        conn.send(big)
        ack = segments(conn.read_frame().decode())
        self.assertEqual(ack["MSA"][1], "AR")
        self.assertEqual(ack["MSA"][2], "BIG00001", "the NAK names the refused message")
        self.assertIn("larger than 2048 bytes", ack["ERR"][8])
        self.assertTrue(conn.is_closed_by_peer())
        conn.close()
        self.assertEqual(gw.metric("helsebro_listen_frames_oversized_total"), 1)
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", reason="frame_too_large"), 1)
        fresh = MllpConnection(gw.mllp_port)
        fresh.send(adt_a04("SMALL001", "15038510190"))
        self.assertEqual(segments(fresh.read_frame().decode())["MSA"][1], "AA")
        fresh.close()

    def test_message_type_without_mapping_gets_AR_naming_the_type(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        conn.send(hl7("MSH|^~\\&|LAB|STOLAV|HELSEBRO|HMN|20261123101500||ZZZ^Z99|NOMAP001|P|2.5",
                      "PID|1||15038510190^^^^FNR"))
        ack = segments(conn.read_frame().decode())
        conn.close()
        self.assertEqual(ack["MSA"][1], "AR")
        self.assertEqual(ack["ERR"][3].split("^")[0], "200")
        self.assertIn("ZZZ^Z99", unescape(ack["ERR"][8]))
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", reason="no_mapping"), 1)

    def test_invalid_fodselsnummer_gets_AE_naming_the_field_and_is_not_sent(self):
        gw = self.gateway()
        conn = MllpConnection(gw.mllp_port)
        conn.send(adt_a04("BADFNR01", "15038510191"))
        ack = segments(conn.read_frame().decode())
        conn.close()
        self.assertEqual(ack["MSA"][1], "AE")
        self.assertTrue(ack["ERR"][2].startswith("PID^1^3"), ack["ERR"])
        self.assertIn("fødselsnummer", ack["ERR"][8])
        self.assertEqual(gw.metric("helsebro_intake_messages_rejected_total", reason="invalid_identifier"), 1)
        self.assertEqual(self.fhir.patients_with_fnr("15038510191"), [])


if __name__ == "__main__":
    unittest.main()
