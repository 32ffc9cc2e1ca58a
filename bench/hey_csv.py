#!/usr/bin/env python3
"""hey -o csv (one line per request) -> "req/s p50 p99 requests errors steady-p50 steady-p99" on one line.

Latencies in ms. Steady leaves out each connection's first request (its DNS+dialup column is non-zero): hey opens
all its connections in the first burst, so that burst measures connection set-up, the rest the relay alone.
Usage: hey_csv.py FILE SECONDS
"""
import sys


def pct(sorted_ms, q):
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * q))] if sorted_ms else float("nan")


def main(path, seconds):
    lat, steady, errors = [], [], 0
    with open(path) as f:
        for line in f:
            p = line.strip().split(",")
            if len(p) < 8 or p[0] == "response-time":
                continue
            if p[6] != "200":
                errors += 1
                continue
            ms = float(p[0]) * 1000
            lat.append(ms)
            if float(p[1]) == 0:
                steady.append(ms)
    lat.sort()
    steady.sort()
    print("%.1f %.2f %.2f %d %d %.2f %.2f" % (
        len(lat) / seconds, pct(lat, .5), pct(lat, .99), len(lat), errors, pct(steady, .5), pct(steady, .99)))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
