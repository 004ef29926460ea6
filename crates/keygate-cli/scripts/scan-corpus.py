#!/usr/bin/env python3
"""Writes a corpus of source-like text with keys in it, for timing `keygate scan` against
ripgrep: `scan-corpus.py DIR [MEGABYTES]` (default 300).

The text is lines of this repository's Rust sources, shuffled, cut into files of about 100 KB in
nested directories. About one line in 20,000 gets a real key of one of the four presets (the
checksum computed as keygate does: CRC32 of everything before it, as 6 base62 digits), and as
many get a look-alike (one character changed, so the checksum fails). The same arguments
always write the same corpus. Prints how many real keys it planted.
"""

import os
import random
import sys
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIXES = ["pl_v2_", "pk_", "sk_live_", "sk_test_", "ws_"]


def checksum(text):
    crc = zlib.crc32(text.encode())
    digits = []
    for _ in range(6):
        digits.append(BASE62[crc % 62])
        crc //= 62
    return "".join(reversed(digits))


def key(rng):
    body = rng.choice(PREFIXES) + "".join(rng.choice(BASE62) for _ in range(12 + 43))
    return body + checksum(body)


def main():
    out = sys.argv[1]
    megabytes = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = random.Random(13)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
    lines = []
    for top in ("crates", "examples", "tests", "benches"):
        for folder, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if name.endswith(".rs"):
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        lines.extend(f.read().splitlines())
    planted = 0
    written = 0
    n = 0
    while written < megabytes << 20:
        folder = os.path.join(out, f"pkg{n // 100:03}", f"mod{n // 10 % 10}")
        os.makedirs(folder, exist_ok=True)
        text = []
        size = 0
        while size < 100_000:
            line = rng.choice(lines)
            roll = rng.random()
            if roll < 1 / 20_000:
                line = f'    let token = "{key(rng)}";'
                planted += 1
            elif roll < 2 / 20_000:
                bad = list(key(rng))
                bad[20] = "A" if bad[20] != "A" else "B"
                line = f'    let example = "{"".join(bad)}";'
            text.append(line)
            size += len(line) + 1
        with open(os.path.join(folder, f"file{n:05}.rs"), "w", encoding="utf-8") as f:
            f.write("\n".join(text) + "\n")
        written += size
        n += 1
    print(f"{n} files, {written >> 20} MiB, {planted} keys planted")


if __name__ == "__main__":
    main()
