#!/usr/bin/env python3
"""A flood of forged keys against the demo on PostgreSQL: how many reach the database.

Usage: python3 benches/flood.py [N]   (default 10,000; needs PostgreSQL on 127.0.0.1:5432 and a
built demo: cargo build -p keygate-demo; KEYGATE_DEMO names another demo binary)

The demo runs with --store postgres:// on a database of its own and --trusted-proxy 127.0.0.1,
so that X-Forwarded-For names the client. One address sends N well-formed keys with fresh ids
(their checksum is public); another sends a valid key throughout, and a freshly minted key is
used at once. The transactions the database ran during the flood are read from
pg_stat_database (xact_commit): every key lookup is one.
"""
import http.client, json, os, secrets, subprocess, sys, time, zlib

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DB = "kg_flood_" + secrets.token_hex(4)
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def psql(sql, db="postgres"):
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atc", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def forged():
    body = "".join(secrets.choice(ALPHABET) for _ in range(12 + 43))
    text = "sk_live_" + body
    crc, digits = zlib.crc32(text.encode()), ""
    for _ in range(6):
        digits = ALPHABET[crc % 62] + digits
        crc //= 62
    return text + digits


def commits():
    psql("SELECT pg_stat_clear_snapshot()", DB)
    return int(psql(f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{DB}'"))


def main():
    demo_bin = os.environ.get("KEYGATE_DEMO", "target/debug/keygate-demo")
    psql(f"CREATE DATABASE {DB}")
    env = dict(os.environ, KEYGATE_PEPPER="flood-test-pepper-of-at-least-32-bytes!!")
    # A demo from before --trusted-proxy existed: run it without (all requests then come from
    # one address, which the forged ones share with the valid ones).
    proxy = [] if os.environ.get("KEYGATE_FLOOD_NO_PROXY") else ["--trusted-proxy", "127.0.0.1"]
    demo = subprocess.Popen(
        [demo_bin, "--addr", "127.0.0.1:0", "--store",
         f"postgres://postgres@127.0.0.1:5432/{DB}", *proxy],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        ready = json.loads(demo.stdout.readline())
        host, port = ready["addr"].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port))

        def get(path, key, client, method="GET", body=None):
            headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": client}
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()

        admin = ready["admin_key"]
        status, body = get("/v1/api-keys", admin, "192.0.2.1", "POST",
                           json.dumps({"name": "valid", "permissions": ["tasks:read"]}))
        assert status == 201, body
        valid = json.loads(body)["key"]
        assert get("/v1/ping", valid, "198.51.100.1")[0] == 200
        time.sleep(2)
        before = commits()
        statuses, valid_ok = {}, 0
        for i in range(N):
            s, _ = get("/v1/ping", forged(), "203.0.113.9")
            statuses[s] = statuses.get(s, 0) + 1
            if i % 200 == 0:
                valid_ok += get("/v1/ping", valid, "198.51.100.1")[0] == 200
        time.sleep(2)  # backends report their statistics at most once a second
        after = commits()
        status, body = get("/v1/api-keys", admin, "192.0.2.1", "POST",
                           json.dumps({"name": "fresh", "permissions": ["tasks:read"]}))
        fresh = json.loads(body)["key"]
        fresh_ok = get("/v1/ping", fresh, "198.51.100.2")[0] == 200
        print(json.dumps({
            "forged_requests": N,
            "answers": statuses,
            "database_transactions_during_flood": after - before,
            "valid_key_checks": (N + 199) // 200,
            "valid_key_200s": valid_ok,
            "fresh_key_works_at_once": fresh_ok,
        }))
    finally:
        demo.terminate()
        demo.wait()
        psql(f"DROP DATABASE {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
