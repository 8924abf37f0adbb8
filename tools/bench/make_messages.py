#!/usr/bin/python3
"""Writes the synthetic ORU^R01 benchmark messages into tools/bench/messages/.

All data is invented (the fødselsnummer is a synthetic one with valid check digits, the HPR number
and the requisition numbers are made up). Segments end with \\r, as on the wire. Deterministic:
running it again gives the same bytes, so the committed files can be checked against it. The NPU codes are illustrative.
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent / "messages"

# (code, name, value type, value, unit, reference range, abnormal flag)
ANALYTES = [
    ("NPU02319", "Hemoglobin;B", "NM", "13.8", "g/dL", "11.7-15.3", "N"),
    ("NPU02593", "Leukocytter;B", "NM", "11.2", "10*9/L", "3.5-10.0", "H"),
    ("NPU03568", "Trombocytter;B", "NM", "245", "10*9/L", "145-390", "N"),
    ("NPU01960", "Erytrocytter;B", "NM", "4.6", "10*12/L", "3.9-5.2", "N"),
    ("NPU18016", "Kreatinin;P", "NM", "71", "umol/L", "45-90", "N"),
    ("NPU03429", "Natrium;P", "NM", "139", "mmol/L", "137-145", "N"),
    ("NPU03230", "Kalium;P", "NM", "3.3", "mmol/L", "3.5-4.4", "L"),
    ("NPU19748", "CRP;P", "NM", "48", "mg/L", "<5", "H"),
    ("NPU27300", "eGFR;Pt", "NM", ">90", "mL/min/1.73m2", ">60", "N"),
    ("NPU19661", "ALAT;P", "NM", "31", "U/L", "10-45", "N"),
    ("NPU01370", "Albumin;P", "NM", "41", "g/L", "36-48", "N"),
    ("NPU19673", "Bilirubin;P", "NM", "12", "umol/L", "5-25", "N"),
    ("NPU19651", "ASAT;P", "NM", "28", "U/L", "15-35", "N"),
    ("NPU27783", "HbA1c;B", "NM", "39", "mmol/mol", "20-42", "N"),
    ("NPU03688", "TSH;P", "NM", "2.1", "mIU/L", "0.5-4.1", "N"),
    ("NPU01566", "Ferritin;P", "NM", "18", "ug/L", "15-200", "N"),
    ("NPU04144", "Glukose;P", "NM", "6.4", "mmol/L", "4.0-6.0", "H"),
    ("NPU19705", "Kolesterol;P", "NM", "5.2", "mmol/L", "<5.0", "H"),
    ("MERK", "Merknad", "ST", "Prøven er lett hemolysert", "", "", ""),
    ("NPU04998", "Urat;P", "NM", "310", "umol/L", "155-350", "N"),
]


def oru(obx_count: int, control_id: str, detailed: bool) -> bytes:
    """detailed: OBX-14 (time of observation) on every OBX and an NTE comment after every sixth."""
    segments = [
        "MSH|^~\\&|UNILAB|STOLAV^2.16.578.1.12.4.1.4.102^ISO|HELSEBRO|HMN|20261123101500+0100||"
        f"ORU^R01^ORU_R01|{control_id}|P|2.5|||AL|NE|NOR|UNICODE UTF-8",
        "PID|1||15038510190^^^^FNR~H123456^^^STOLAV^PI||Nordmann^Kåre^Øystein||19850315|M|||"
        "Storgata 1^^Trondheim^^7010^NOR^H",
        "ORC|RE|R2026-0042^DIPS|L123456^UNILAB||CM",
        "OBR|1|R2026-0042^DIPS|L123456^UNILAB|KLIN^Klinisk kjemi^L|||20261123080000+0100|||||||||"
        "9144900^Lege^Lise^^^^^^HPR&2.16.578.1.12.4.1.4.4&ISO||||||20261123100000+0100|||F",
    ]
    for i in range(obx_count):
        code, name, vtype, value, unit, ref, flag = ANALYTES[i % len(ANALYTES)]
        units = f"{unit}^^UCUM" if unit else ""
        system = "NLK" if code.startswith("NPU") else "99STOLAV"
        obx = f"OBX|{i + 1}|{vtype}|{code}^{name}^{system}||{value}|{units}|{ref}|{flag}|||F"
        if detailed:
            obx += "|||20261123093000+0100"
        segments.append(obx)
        if detailed and i % 6 == 5:
            segments.append(f"NTE|{i // 6 + 1}|L|Analysert på Cobas 8000, seksjon {i // 6 + 1}~Kontrollert av bioingeniør")
    return ("\r".join(segments) + "\r").encode("utf-8")


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, count, control, detailed in (
        ("oru-r01-10obx.hl7", 10, "LAB0000010", False),
        ("oru-r01-60obx.hl7", 60, "LAB0000060", True),
    ):
        data = oru(count, control, detailed)
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
