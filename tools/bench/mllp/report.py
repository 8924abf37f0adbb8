#!/usr/bin/python3
"""Turns the JSON lines written by tools/bench/mllp/run into a report (plain text or markdown).

    report.py RESULTS.jsonl [--markdown]

Each phase line is one load phase (closed or open loop) against one server in one round; the last
line describes the machine. With several rounds the tables show medians, and the ratio is the
median of the rounds' own ratios (Helsebro ÷ Medplum within one round, so both saw the same
machine at the same time).
"""
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from report_common import fsync_summary, main, median, spread, table  # noqa: E402

TARGET_RATIO, TARGET_P99_MS, TARGET_RSS_MB = 2.0, 5.0, 64.0
# The gateways of a run, by label: one per translate mode (run --translate).
GATEWAYS = (("helsebro", "Helsebro, translated before the ACK"), ("helsebro-after", "Helsebro, translated after the ACK"))
# run --floor: mllp_floor, the least a durable ACK costs here (store, commit, ACK; floor.cpp).
FLOORS = (("floor-sqlite", "Floor: SQLite WAL commit, then ACK"),
          ("floor-sqlite-gathered", "Floor: SQLite, commits wait for every sender"),
          ("floor-sqlite-writer", "Floor: SQLite, commits on a writer thread"),
          ("floor-asio", "Floor: the same behind Asio coroutines, as the gateway listens"),
          ("floor-file", "Floor: file write + fdatasync, then ACK"))
SERVERS = GATEWAYS + FLOORS + (("medplum", "Medplum Hl7Server (nothing stored)"),)


def report(phases, machine, markdown):
    by = defaultdict(list)  # (label, mode) → phases, in round order
    for p in phases:
        by[(p["label"], p["mode"])].append(p)
    rounds = sorted({p["round"] for p in phases})
    closed = [p for label, _ in GATEWAYS for p in by[(label, "closed")]]
    open_ = [p for label, _ in GATEWAYS for p in by[(label, "open")]]
    first = (closed or open_ or phases)[0]
    out = []
    bold = (lambda s: f"**{s}**") if markdown else (lambda s: s)

    # Closed loop: throughput with durable acknowledgements, and the ratio per round.
    rows = []
    for label, name in SERVERS:
        ps = by[(label, "closed")]
        if not ps:
            continue
        rates = [p["msgs_per_s"] for p in ps]
        lat = lambda q: median(p["latency_ms"][q] for p in ps)
        lag = median(p.get("journal", {}).get("received") for p in ps)
        rows.append([name, f"{median(rates):,.0f}", spread(rates), f"{lat('p50'):.2f}", f"{lat('p99'):.2f}",
                     f"{median(p['server']['cpu_cores'] for p in ps):.2f}",
                     sum(p["failures"]["total"] for p in ps), "" if lag is None else f"{lag:,.0f}"])
    out.append(f"Closed loop: {first['senders']} senders, {closed[0]['window'] if closed else '?'} message(s) in flight each "
               f"(the next is sent when the ACK is back); {first['seconds']:.0f} s measured after the warm-up, "
               f"{len(rounds)} round(s). \"untranslated\": acknowledged messages still waiting for the translator "
               f"when the phase ended.\n")
    out.append(table(["server", "msgs/s", "spread", "p50 ms", "p99 ms", "server CPU cores", "failures", "untranslated"],
                     rows, markdown))
    for label, name in GATEWAYS + FLOORS:
        ratios = []
        for h in by[(label, "closed")]:
            m = next((p for p in by[("medplum", "closed")] if p["round"] == h["round"]), None)
            if m and m["msgs_per_s"]:
                ratios.append(h["msgs_per_s"] / m["msgs_per_s"])
        if ratios:
            each = ", ".join(f"{r:.2f}×" for r in ratios)
            out.append(f"\n{name} ÷ Medplum, per round: {each}; median {bold(f'{median(ratios):.2f}×')} "
                       f"(target ≥ {TARGET_RATIO:.0f}×).")

    # Open loop: latency at a fixed rate, measured from the scheduled send time.
    rows = []
    for label, name in SERVERS:
        ps = by[(label, "open")]
        if not ps:
            continue
        lat = lambda q: median(p["latency_ms"][q] for p in ps)
        rows.append([name, f"{median(p['msgs_per_s'] for p in ps):,.0f}", f"{lat('p50'):.2f}", f"{lat('p90'):.2f}",
                     f"{lat('p99'):.2f}", spread([p["latency_ms"]["p99"] for p in ps]), f"{lat('max'):.1f}",
                     f"{median(p['server']['cpu_cores'] for p in ps):.2f}", sum(p["failures"]["total"] for p in ps)])
    if open_:
        out.append(f"\nOpen loop: {open_[0]['target_rate']:,.0f} messages/s over {first['senders']} senders on a fixed "
                   f"schedule; latency from each message's scheduled send time to its ACK (ms).\n")
        out.append(table(["server", "msgs/s", "p50", "p90", "p99", "p99 spread", "max", "server CPU cores", "failures"],
                         rows, markdown))
        for label, name in GATEWAYS:
            ps = by[(label, "open")]
            if ps:
                p99 = median(p["latency_ms"]["p99"] for p in ps)
                out.append(f"\n{name}: p99 at {ps[0]['target_rate']:,.0f}/s {bold(f'{p99:.2f} ms')} "
                           f"(target ≤ {TARGET_P99_MS:.0f} ms).")

    # Memory of the gateway, sampled every 100 ms inside every measured window.
    gw = closed + open_
    if gw:
        peak = max(p["server"]["rss_peak_kb"] for p in gw) / 1024
        hwm = max(p["server"]["hwm_kb"] for p in gw) / 1024
        mean = median(p["server"]["rss_mean_kb"] for p in gw) / 1024
        out.append(f"\nHelsebro RSS under load: peak VmRSS {bold(f'{peak:.1f} MB')}, median of the phases' means "
                   f"{mean:.1f} MB, VmHWM {hwm:.1f} MB (target ≤ {TARGET_RSS_MB:.0f} MB).")
        size = median(p["avg_message_bytes"] for p in gw)
        out.append(f"Messages: ADT^A01 and ORU^R01 alternating, {size:,.0f} bytes on average, unique MSH-10, "
                   f"200 synthetic patients.")

    if machine:
        out.append(f"\nMachine: {machine['nproc']} cores ({machine['cpu']}), {machine['mem_gb']} GB, Linux {machine['kernel']}; "
                   f"Node {machine['node']}, @medplum/hl7 {machine['medplum_hl7']}; Helsebro {machine['helsebro']}; "
                   f"load average {machine['load_before']} before, {machine['load_after']} after. "
                   f"fdatasync of 4 KiB before each round: {fsync_summary(machine)}.")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main(report))
