"""What the benchmark reports share: reading a run's JSON lines, medians, spreads and tables (plain
text or markdown), the fdatasync line and the command line. Imported by tools/bench/mllp/report.py
and tools/bench/kith/report.py."""
import argparse
import json
import statistics
import sys


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    """(max − min) / 2 / median, as a percentage; '' for a single value."""
    values = [v for v in values if v is not None]
    if len(values) < 2 or not statistics.median(values):
        return ""
    return f"±{(max(values) - min(values)) / 2 / statistics.median(values) * 100:.0f} %"


def table(headers, rows, markdown):
    if markdown:
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(headers))) + "|"]
        return "\n".join(out + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def load(path):
    """The phase lines of a results file, and its machine line ({} when there is none)."""
    phases, machine = [], {}
    with open(path, encoding="utf-8") as f:
        for text in f:
            if text.strip():
                r = json.loads(text)
                if "machine" in r:
                    machine = r["machine"]
                else:
                    phases.append(r)
    return phases, machine


def fsync_summary(machine):
    """The 4 KiB fdatasync latencies `run` measured before each round, as one phrase."""
    fsync = ", ".join(f"p50 {f['p50_us']} µs / p99 {f['p99_us']} µs" for f in machine.get("fsync", []))
    return fsync or "not measured"


def main(report):
    """The report scripts' command line: RESULTS.jsonl [--markdown]; prints
    report(phases, machine, markdown)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    phases, machine = load(args.results)
    if not phases:
        print("no results", file=sys.stderr)
        return 1
    print(report(phases, machine, args.markdown))
    return 0
