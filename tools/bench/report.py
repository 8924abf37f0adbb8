#!/usr/bin/python3
"""Turns the JSON lines written by tools/bench/parse into a table (plain text or markdown).

    report.py RESULTS.jsonl [--markdown]

Each line is one contender's run on one message. With several runs per (message, contender) the
table shows the median messages/s and MB/s and the spread ((max − min) / 2 / median). The last
column is Helsebro's median messages/s divided by the contender's.
"""
import argparse
import json
import statistics
import sys
from collections import OrderedDict

ORDER = [
    ("helsebro", "full"),
    ("@medplum/core", "full"),
    ("@medplum/core", "lazy"),
    ("node-hl7-client", "full"),
    ("node-hl7-client", "lazy"),
    ("python-hl7", "full"),
]


def label(contender: str, mode: str, version: str) -> str:
    if contender == "helsebro":
        return "Helsebro (inspect --repeat)"
    suffix = " (lazy: parse + PID-5.1 only)" if mode == "lazy" else ""
    return f"{contender} {version}{suffix}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    groups: "OrderedDict[tuple, list]" = OrderedDict()
    sizes = {}
    with open(args.results, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            message = r["file"].rsplit("/", 1)[-1]
            sizes[message] = r["bytes"]
            groups.setdefault((message, r["contender"], r["mode"]), []).append(r)

    runs = max(len(v) for v in groups.values()) if groups else 0
    headers = ["message", "bytes", "contender", "msgs/s", "MB/s"]
    if runs > 1:
        headers.append("spread")
    headers.append("Helsebro ×")
    rows = []
    for message in sizes:
        base = groups.get((message, "helsebro", "full"))
        base_rate = statistics.median(r["messages_per_second"] for r in base) if base else None
        for contender, mode in ORDER:
            results = groups.get((message, contender, mode))
            if not results:
                continue
            rates = [r["messages_per_second"] for r in results]
            rate = statistics.median(rates)
            mbps = statistics.median(r["mb_per_second"] for r in results)
            row = [message, str(sizes[message]), label(contender, mode, results[0].get("version", "")),
                   f"{rate:,.0f}", f"{mbps:,.1f}"]
            if runs > 1:
                row.append(f"±{(max(rates) - min(rates)) / 2 / rate * 100:.0f} %")
            if base_rate is None:
                row.append("–")
            elif contender == "helsebro":
                row.append("1")
            else:
                ratio = base_rate / rate
                row.append(f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.1f}×")
            rows.append(row)

    right = {"bytes", "msgs/s", "MB/s", "spread", "Helsebro ×"}
    if args.markdown:
        print("| " + " | ".join(headers) + " |")
        print("|" + "|".join("---:" if h in right else "---" for h in headers) + "|")
        previous = None
        for row in rows:
            shown = list(row)
            if row[0] == previous:
                shown[0] = shown[1] = ""
            previous = row[0]
            print("| " + " | ".join(shown) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

        def fmt(cells):
            return "  ".join(c.rjust(w) if h in right else c.ljust(w) for c, w, h in zip(cells, widths, headers))

        print(fmt(headers))
        print("  ".join("-" * w for w in widths))
        previous = None
        for row in rows:
            shown = list(row)
            if row[0] == previous:
                shown[0] = shown[1] = ""
            previous = row[0]
            print(fmt(shown).rstrip())
    if runs > 1:
        print(f"\n(median of {runs} runs)" if not args.markdown else f"\nMedian of {runs} runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
