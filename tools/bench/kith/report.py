#!/usr/bin/python3
"""Turns the JSON lines written by tools/bench/kith/run into a report (plain text or markdown).

    report.py RESULTS.jsonl [--markdown]

Each phase line is one load phase (closed or open loop) in one round; the last line describes the
machine. With several rounds the tables show medians and the spread.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from report_common import fsync_summary, main, median, spread, table  # noqa: E402

TARGET_RATE, TARGET_P99_MS = 2000.0, 20.0


def row(name, ps):
    lat = lambda q: median(p["latency_ms"][q] for p in ps)
    rates = [p["msgs_per_s"] for p in ps]
    return [name, f"{median(rates):,.0f}", spread(rates), f"{lat('p50'):.2f}", f"{lat('p90'):.2f}",
            f"{lat('p99'):.2f}", spread([p["latency_ms"]["p99"] for p in ps]), f"{lat('max'):.1f}",
            f"{median(p['server']['cpu_cores'] for p in ps):.2f}", sum(p["failures"]["total"] for p in ps)]


def report(phases, machine, markdown):
    closed = [p for p in phases if p["mode"] == "closed"]
    open_ = [p for p in phases if p["mode"] == "open"]
    bold = (lambda s: f"**{s}**") if markdown else (lambda s: s)
    headers = ["phase", "msgs/s", "spread", "p50 ms", "p90 ms", "p99 ms", "p99 spread", "max ms",
               "gateway CPU cores", "failures"]
    rows, out = [], []
    if closed:
        rows.append(row(f"closed loop, {closed[0]['connections']} connections", closed))
    if open_:
        rows.append(row(f"open loop at {open_[0]['target_rate']:,.0f}/s, {open_[0]['connections']} connections", open_))
    rounds = len({p["round"] for p in phases})
    out.append(f"POST /inbound/kith → XSD validation, mapping, journal commit (fsync) → AppRec status 1 "
               f"checked in every reply; {rounds} round(s), medians; latency from the scheduled send time.\n")
    out.append(table(headers, rows, markdown))
    if closed:
        rate = median(p["msgs_per_s"] for p in closed)
        met = "met" if rate >= TARGET_RATE else "not met"
        out.append(f"\nThroughput: {bold(f'{rate:,.0f} e-messages/s')} (target ≥ {TARGET_RATE:,.0f}: {met}).")
    if open_:
        p99 = median(p["latency_ms"]["p99"] for p in open_)
        met = "met" if p99 <= TARGET_P99_MS else "not met"
        out.append(f"p99 at {open_[0]['target_rate']:,.0f}/s: {bold(f'{p99:.2f} ms')} (target ≤ {TARGET_P99_MS:.0f} ms: {met}).")
    gw = closed + open_
    if gw:
        peak = max(p["server"]["rss_peak_kb"] for p in gw) / 1024
        hwm = max(p["server"]["hwm_kb"] for p in gw) / 1024
        out.append(f"Gateway RSS: peak VmRSS {bold(f'{peak:.1f} MB')} in the measured windows, VmHWM {hwm:.1f} MB. "
                   f"Messages: {median(p['avg_message_bytes'] for p in gw):,.0f} bytes on average.")
    if machine:
        out.append(f"\nMachine: {machine['nproc']} cores ({machine['cpu']}), {machine['mem_gb']} GB, "
                   f"Linux {machine['kernel']}; FHIR target: {machine['fhir']}; load average "
                   f"{machine['load_before']} before, {machine['load_after']} after; {machine['date']}. "
                   f"fdatasync of 4 KiB before each round: {fsync_summary(machine)}.")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main(report))
