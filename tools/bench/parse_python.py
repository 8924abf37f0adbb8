#!/usr/bin/python3
"""Times python-hl7 (Debian's python3-hl7, `import hl7`) on one message file; prints one JSON line.

    /usr/bin/python3 tools/bench/parse_python.py FILE [--warmup S] [--seconds S] [--count N]

hl7.parse(text) splits eagerly, down to sub-components, into nested list containers
(Message → Segment → Field → Repetition → Component → sub-component strings). Every parse reads
PID-5.1 and folds its length into a checksum. Warm-up (default 0.5 s; CPython has no JIT, it only
warms caches) fixes the timed count (--seconds worth, default 2) unless --count is given, which
also skips warm-up. The text is decoded from UTF-8 once, outside the timed loop; MB/s counts the
file's bytes. Run it with /usr/bin/python3: that is the interpreter Debian's python3-hl7 is for.
"""
import argparse
import json
import sys
import time

import hl7


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--count", type=int, default=0)
    args = ap.parse_args()

    with open(args.file, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")

    def parse(t: str) -> str:
        # segment('PID') → Segment; [5] → Field (PID-5); [0] → first Repetition; [0] → Component 1.
        return str(hl7.parse(t).segment("PID")[5][0][0])

    check = parse(text)
    if not check:
        print(f"parse_python.py: python-hl7 found no PID-5.1 in {args.file}", file=sys.stderr)
        return 1

    checksum = 0
    warmup_parses = 0
    count = args.count
    if count == 0:
        start = time.perf_counter()
        elapsed = 0.0
        while elapsed < args.warmup:
            for _ in range(20):
                checksum += len(parse(text))
            warmup_parses += 20
            elapsed = time.perf_counter() - start
        count = max(100, round(warmup_parses / elapsed * args.seconds))

    start = time.perf_counter()
    for _ in range(count):
        checksum += len(parse(text))
    seconds = time.perf_counter() - start

    if checksum != len(check) * (count + warmup_parses):
        print("parse_python.py: checksum mismatch", file=sys.stderr)
        return 1
    print(json.dumps({
        "contender": "python-hl7",
        "version": getattr(hl7, "__version__", "?"),
        "mode": "full",
        "file": args.file,
        "bytes": len(data),
        "warmup_parses": warmup_parses,
        "messages": count,
        "seconds": seconds,
        "messages_per_second": count / seconds,
        "mb_per_second": count * len(data) / seconds / 1e6,
        "check": check,
        "python": sys.version.split()[0],
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
