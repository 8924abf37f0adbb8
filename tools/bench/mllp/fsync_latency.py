#!/usr/bin/python3
"""How long one durable write takes on the file system under DIR: 4 KiB written in place, then
fdatasync, COUNT times. The journal pays this once per group commit, so with S senders each
waiting for its acknowledgement no server can acknowledge durably faster than S / this latency.

    fsync_latency.py DIR [COUNT]    → one JSON line: {"p50_us":…, "p90_us":…, "p99_us":…, …}
"""
import json
import os
import sys
import time


def main() -> int:
    directory = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    path = os.path.join(directory, ".fsync-latency-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.pwrite(fd, b"\0" * 65536, 0)
        os.fsync(fd)
        samples = []
        for i in range(count):
            os.pwrite(fd, os.urandom(4096), (i % 16) * 4096)
            started = time.perf_counter()
            os.fdatasync(fd)
            samples.append((time.perf_counter() - started) * 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    samples.sort()

    def q(p):
        return round(samples[min(len(samples) - 1, int(p * len(samples)))])

    print(json.dumps({"samples": count, "p50_us": q(0.50), "p90_us": q(0.90), "p99_us": q(0.99),
                      "min_us": round(samples[0]), "max_us": round(samples[-1])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
