#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# remote_test.py IPCMARK CASE - `ipcmark serve` and `bench --remote` (issue 20): loopback
# runs, hostile clients against the server, a failing server against the client, and two
# network namespaces joined by a veth pair on 198.18.0.0/15 when root. Every wait is bounded.
import atexit, json, os, re, signal, socket, struct, subprocess, sys, tempfile, time

IPCMARK = os.path.abspath(sys.argv[1])
SKIP = 77
KEY = "k3y-that-must-never-be-seen-0123456789"
HDR = struct.Struct(">4sHHQ")
PROTO = 3  # the protocol version this build speaks
OTHER = 9  # one it does not
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(SRC, "results", "ipcmark-results-1.schema.json")


SERVERS = []  # every serve started, killed on every exit path (a failed check too)


def reap_servers():
    for p in SERVERS:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(reap_servers)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Server:
    """ipcmark serve on 127.0.0.1:0 (or argv), its port read from its first line."""

    def __init__(self, *args, env=None, prefix=(), addr="127.0.0.1:0"):
        self.out = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(list(prefix) + [IPCMARK, "serve", "--listen", addr] + list(args),
                                  stdout=self.out, stderr=subprocess.STDOUT, env=env)
        SERVERS.append(self.p)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = re.search(r"listening on (\S+):(\d+),", self.text())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return
            if self.p.poll() is not None:
                fail("serve exited at start: " + self.text())
            time.sleep(0.02)
        fail("serve did not start: " + self.text())

    def text(self):
        self.out.seek(0)
        return self.out.read()

    def addr(self):
        return "%s:%d" % (self.host, self.port)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("serve did not stop on SIGTERM")

    def wait_line(self, pattern, seconds=10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if re.search(pattern, self.text()):
                return
            time.sleep(0.02)
        fail("serve never printed /%s/:\n%s" % (pattern, self.text()))


def bench(addr, *args, env=None, timeout=120, prefix=()):
    r = subprocess.run(list(prefix) + [IPCMARK, "bench", "--remote", addr] + list(args),
                       capture_output=True, text=True, timeout=timeout, env=env)
    return r.returncode, r.stdout, r.stderr


def frame(t, body=b"", version=PROTO, length=None):
    return HDR.pack(b"IPCR", version, t, len(body) if length is None else length) + body


def read_frame(s):
    h = b""
    while len(h) < HDR.size:
        c = s.recv(HDR.size - len(h))
        if not c:
            return None
        h += c
    magic, v, t, n = HDR.unpack(h)
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            break
        body += c
    return v, t, body


def wait_child(srv, seconds=10):
    """Until the server has a child (a client is being served), then a little more."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-P", str(srv.p.pid)], capture_output=True).returncode == 0:
            time.sleep(0.5)
            return
        time.sleep(0.02)
    fail("no client was being served within %d s" % seconds)


def wait_started(p, seconds=30):
    """Until the client p (stdout a pipe) has printed its hosts: the handshake and both
    calibrations are over and the cases begin; then a little more, into the first case."""
    import select
    deadline, seen = time.monotonic() + seconds, b""
    fd = p.stdout.fileno()
    while time.monotonic() < deadline and b"path MTU" not in seen:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    if b"path MTU" not in seen:
        fail("the client never started its cases: %r" % seen)
    time.sleep(0.5)
    return seen.decode()


def validate(*files):
    """The results schema's own validator (tests/schema/validate.py) on files."""
    r = subprocess.run([sys.executable, os.path.join(SRC, "tests", "schema", "validate.py"),
                        SCHEMA] + list(files), capture_output=True, text=True, timeout=60)
    if r.returncode == 77:
        print("note: python3-jsonschema missing, schema not checked")
    elif r.returncode != 0:
        fail("schema: %s %s" % (r.stdout, r.stderr))


def connect(srv):
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    return s


def served_ok(srv):
    rc, out, err = bench(srv.addr(), "-b", "tcp", "--messages", "50", "--repeat", "1")
    if rc != 0:
        fail("the server did not serve a good client afterwards: rc %d %s" % (rc, err))


def case_loopback():
    srv = Server("--once")
    with tempfile.TemporaryDirectory() as d:
        j, csv = os.path.join(d, "r.json"), os.path.join(d, "r.csv")
        rc, out, err = bench(srv.addr(), "-b", "tcp,pipe", "--mode", "latency,throughput",
                             "--sizes", "64,4K", "--messages", "200", "--repeat", "3",
                             "--json", j, "--csv", csv)
        if rc != 0:
            fail("bench --remote rc %d: %s %s" % (rc, out, err))
        if "pipe      skipped: local only" not in out:
            fail("pipe not skipped with its reason:\n" + out)
        rec = json.load(open(j))
        validate(j)
        rem = rec["remote"]
        if rec["schema"] != "ipcmark-results/1" or rem["direction"] != "forward":
            fail("not a results record: %s %s" % (rec["schema"], rem.get("direction")))
        for side in ("client", "server"):
            for k in ("hostname", "kernel", "cpu_model", "ipcmark"):
                if not rem[side][k]:
                    fail("remote.%s.%s missing" % (side, k))
        cal = rem["server"]["calibration"]
        if not cal or not cal["memcpy_64k_gbs"] or cal["memcpy_64k_gbs"] <= 0:
            fail("the server's calibration not recorded: %s" % cal)
        path = rem["path"]
        if path["peer"] != srv.addr() or not path["ping_start_us"] or not path["ping_end_us"]:
            fail("path not recorded: %s" % path)
        tcp = [c for c in rec["cases"] if c["backend"] == "tcp"]
        if [c["status"] for c in tcp] != ["ok"] * 4:
            fail("cases: %s" % [c["status"] for c in tcp])
        for c in tcp:
            if c["mode"] == "latency":
                ok = c["latency_ns"]["p50"] > 0 and len(c["latency_ns"]["p50_samples"]) == 3 \
                    and c["direction"] == "round-trip"
            else:
                ok = len(c["msgs_per_s"]["samples"]) == 3 and c["direction"] == "client-to-server"
            if not ok or c["verified"]["messages"] != 600:
                fail("case not recorded as a local run records it: %s" % c)
        rows = open(csv).read().splitlines()
        if len(rows) != 9 or not rows[0].startswith("mode,backend") or \
                sum(r.startswith("throughput,tcp,queue,") for r in rows) != 2:
            fail("--csv: %s" % rows)
        pipe = [c for c in rec["cases"] if c["backend"] == "pipe"]
        if len(pipe) != 4 or any(c["status"] != "skipped" or "local only" not in c["reason"]
                                 for c in pipe):
            fail("pipe not recorded as skipped: %s" % pipe)
    if srv.p.wait(10) != 0:
        fail("serve --once did not exit 0")
    if not re.search(r"serve: client 127\.0\.0\.1:\d+ \(\S+\): latency 1B x200.*: ok", srv.text()):
        fail("no line for the client:\n" + srv.text())
    print("ok: loopback latency and throughput verified; both hosts and the path recorded")


def case_hostile():
    srv = Server("--idle-timeout", "400")
    pid = srv.p.pid
    time.sleep(0.2)
    before = fds(pid)
    # A silent client: dropped after the idle timeout, then the next one is served.
    s = connect(srv)
    t0 = time.monotonic()
    r = read_frame(s)
    s.close()
    if r is None or r[1] != 5 or b"silent" not in r[2] or time.monotonic() - t0 > 5:
        fail("silent client: %r" % (r,))
    served_ok(srv)
    # Random bytes, a length of 2^63, a truncated body, a wrong version.
    probes = [(os.urandom(64), b"bad magic"),
              (HDR.pack(b"IPCR", 1, 1, 1 << 63), b"over the bound"),
              (frame(1, b"x" * 10, length=256), b"silent"),
              (frame(1, b"\0" * 256, version=OTHER),
               ("protocol version %d not supported" % OTHER).encode())]
    for data, want in probes:
        s = connect(srv)
        s.sendall(data)
        r = read_frame(s)
        s.close()
        if r is None or r[1] != 5 or want not in r[2]:
            fail("probe %r: reply %r" % (data[:16], r))
    # A truncated body whose client then vanishes.
    s = connect(srv)
    s.sendall(frame(1, b"x" * 10, length=256))
    s.close()
    # A client killed mid-case.
    p = subprocess.Popen([IPCMARK, "bench", "--remote", srv.addr(), "-b", "tcp", "--mode",
                          "throughput", "--sizes", "64K", "--messages", "1000000"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    wait_started(p)
    p.kill()
    p.wait(10)
    srv.wait_line(r"client closed the connection mid-case", 10)
    # 50 connections at once while one is being served: the rest are told busy.
    hold = connect(srv)
    hold.sendall(frame(1, b"\0" * 256))
    if read_frame(hold)[1] != 2:
        fail("no CHALLENGE for the held client")
    many = [connect(srv) for _ in range(50)]
    busy = 0
    for s in many:
        r = read_frame(s)
        busy += r is not None and r[1] == 6 and b"busy" in r[2]
        s.close()
    hold.close()
    if busy != 50:
        fail("%d of 50 concurrent clients told busy" % busy)
    served_ok(srv)
    time.sleep(0.3)
    after = fds(pid)
    if after != before:
        fail("server fds: %d before, %d after" % (before, after))
    if srv.stop() != 0:
        fail("serve exit status after SIGTERM")
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    if kids.strip():
        fail("serve left children: " + kids)
    print("ok: silent, garbage, 2^63, truncated, wrong version, killed, 50 at once; "
          "%d fds before and after; still serving" % before)


def fake_server(reply):
    """A listener that answers one HELLO with reply (bytes); returns (sock, port)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    pid = os.fork()
    if pid == 0:
        c, _ = ls.accept()
        c.settimeout(5)
        try:
            read_frame(c)
            c.sendall(reply)
            time.sleep(0.5)
        finally:
            os._exit(0)
    return ls, pid


def case_client():
    # No server: one line, exit 3.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    port = ls.getsockname()[1]
    ls.close()
    rc, out, err = bench("127.0.0.1:%d" % port, "-b", "tcp")
    if rc != 3 or len(err.strip().splitlines()) != 1 or "Connection refused" not in err:
        fail("no server: rc %d err %r" % (rc, err))
    # A server that speaks another version: both versions named.
    ls, pid = fake_server(frame(5, b"", version=OTHER))
    rc, out, err = bench("127.0.0.1:%d" % ls.getsockname()[1], "-b", "tcp")
    os.waitpid(pid, 0)
    ls.close()
    if rc != 3 or "protocol version %d" % OTHER not in err or "version %d" % PROTO not in err:
        fail("version mismatch: rc %d err %r" % (rc, err))
    # Wrong key: one line on each side, exit 3, the server goes on.
    with tempfile.TemporaryDirectory() as d:
        kf = os.path.join(d, "key")
        with open(kf, "w") as f:
            f.write(KEY + "\n")
        os.chmod(kf, 0o600)
        srv = Server("--key-file", kf)
        env = dict(os.environ, IPCMARK_KEY="not-the-key")
        rc, out, err = bench(srv.addr(), "-b", "tcp", env=env)
        if rc != 3 or "refused the key" not in err or len(err.strip().splitlines()) != 1:
            fail("wrong key: rc %d err %r" % (rc, err))
        srv.wait_line(r"wrong key")
        rc, out, err = bench(srv.addr(), "-b", "tcp", env=dict(os.environ, IPCMARK_KEY=""))
        if rc != 3 or "requires a key" not in err:
            fail("no key: rc %d err %r" % (rc, err))
        # The right key, from the file; the key appears nowhere.
        j = os.path.join(d, "r.json")
        p = subprocess.Popen([IPCMARK, "bench", "--remote", srv.addr(), "-b", "tcp", "--key-file",
                              kf, "--messages", "300", "--json", j], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        out, err = p.communicate(timeout=120)
        if p.returncode != 0:
            fail("right key: rc %d %s" % (p.returncode, err))
        for where, text in (("ps", ps), ("client", out + err), ("server", srv.text()),
                            ("json", open(j).read())):
            if KEY in text:
                fail("the key appears in " + where)
        # A key file others can read is refused before any work.
        os.chmod(kf, 0o644)
        rc, out, err = bench(srv.addr(), "-b", "tcp", "--key-file", kf)
        if rc != 2 or "0600" not in err:
            fail("key file 0644: rc %d err %r" % (rc, err))
        srv.stop()
    # The server killed mid-run: the case fails with the reason, the file stays valid.
    srv = Server()
    with tempfile.TemporaryDirectory() as d:
        j = os.path.join(d, "r.json")
        p = subprocess.Popen([IPCMARK, "bench", "--remote", srv.addr(), "-b", "tcp", "--mode",
                              "latency,throughput", "--sizes", "64K", "--messages", "200000",
                              "--json", j], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        head = wait_started(p)
        subprocess.run(["pkill", "-KILL", "-P", str(srv.p.pid)])
        srv.p.kill()
        srv.p.wait(10)
        out, err = p.communicate(timeout=60)
        out = head + out
        if p.returncode != 3 or "failed:" not in out:
            fail("server killed: rc %d out %r err %r" % (p.returncode, out, err))
        rec = json.load(open(j))
        if rec["cases"][0]["status"] != "failed" or not rec["cases"][0]["reason"]:
            fail("server killed: record %s" % rec["cases"])
    print("ok: no server, version mismatch, wrong/missing key, 0644 key file, server killed")


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def case_netns():
    if os.geteuid() != 0:
        print("skipped: not root, so no network namespaces; loopback only (remote.loopback)")
        sys.exit(SKIP)
    a, b = "ipcmr-a-%d" % os.getpid(), "ipcmr-b-%d" % os.getpid()
    try:
        try:
            sh("ip", "netns", "add", a)
            sh("ip", "netns", "add", b)
            sh("ip", "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb",
               "netns", b)
            for ns, dev, ip in ((a, "va", "198.18.0.1/24"), (b, "vb", "198.18.0.2/24")):
                sh("ip", "-n", ns, "addr", "add", ip, "dev", dev)
                sh("ip", "-n", ns, "link", "set", dev, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
        except RuntimeError as e:
            print("skipped: cannot build the namespaces here (%s); loopback only" % e)
            sys.exit(SKIP)
        inb, ina = ("ip", "netns", "exec", b), ("ip", "netns", "exec", a)
        # No key: a non-loopback client is refused.
        srv = Server("--once", prefix=inb, addr="198.18.0.2:0",
                     env=dict(os.environ, IPCMARK_KEY=""))
        rc, out, err = bench(srv.addr(), "-b", "tcp", prefix=ina,
                             env=dict(os.environ, IPCMARK_KEY=""))
        if rc != 3 or "loopback clients only" not in err:
            fail("keyless server across veth: rc %d err %r" % (rc, err))
        srv.p.wait(10)
        env = dict(os.environ, IPCMARK_KEY=KEY)
        srv = Server("--once", prefix=inb, addr="198.18.0.2:0", env=env)
        with tempfile.TemporaryDirectory() as d:
            j = os.path.join(d, "r.json")
            rc, out, err = bench(srv.addr(), "-b", "tcp", "--mode", "latency,throughput",
                                 "--messages", "500", "--repeat", "3", "--json", j, prefix=ina,
                                 env=env)
            if rc != 0:
                fail("across veth: rc %d %s %s" % (rc, out, err))
            rec = json.load(open(j))
            validate(j)
            path = rec["remote"]["path"]
            if not path["local"].startswith("198.18.0.1:") or path["mtu"] != 1500 \
                    or not rec["remote"]["server"]["calibration"]:
                fail("path: %s" % rec["remote"])
            print(out.strip())
        if srv.p.wait(10) != 0:
            fail("serve --once across veth")
        print("ok: 198.18.0.1 -> 198.18.0.2 over veth, key required and checked")
    finally:
        for ns in (a, b):
            sh("ip", "netns", "del", ns, check=False)


def case_usage():
    # Bad input on the command line: one line, exit 2, nothing started.
    runs = [([IPCMARK, "serve"], "--listen ADDR:PORT is required"),
            ([IPCMARK, "serve", "--listen", "localhost:1"], "bad --listen"),
            ([IPCMARK, "serve", "--listen", "127.0.0.1:70000"], "bad --listen"),
            ([IPCMARK, "serve", "--listen", "127.0.0.1:0", "--idle-timeout", "0"], "idle-timeout"),
            ([IPCMARK, "bench", "--remote", "nocolon"], "bad --remote"),
            ([IPCMARK, "bench", "--remote", "127.0.0.1:1", "--mode", "pool"], "cannot run remotely"),
            ([IPCMARK, "bench", "--remote", "127.0.0.1:1", "--sizes", "32M"], "--sizes"),
            ([IPCMARK, "bench", "--remote", "127.0.0.1:1", "-b", "nosuch"], "unknown backend")]
    for argv, want in runs:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if r.returncode != 2 or want not in r.stderr or len(r.stderr.strip().splitlines()) != 1:
            fail("%s: rc %d err %r" % (" ".join(argv[1:]), r.returncode, r.stderr))
    r = subprocess.run([IPCMARK, "bench", "--remote", "127.0.0.1:1", "-b", "pipe"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 3 or "local only" not in r.stdout:
        fail("only local backends: rc %d out %r" % (r.returncode, r.stdout))
    print("ok: bad options rejected with one line and exit 2; local-only backends exit 3")


def rec_null_cal(path):
    return json.load(open(path))["remote"]["server"]["calibration"] is not None


def corrupt_server():
    """A keyless version-2 server that echoes round trips but, as the producer of a reverse
    case, sends messages of zeros: the client's own verification must catch them."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    pid = os.fork()
    if pid == 0:
        try:
            c, _ = ls.accept()
            c.settimeout(20)
            read_frame(c)  # HELLO
            c.sendall(frame(2, b"\0" * 32 + b"\0" * 4 + b"\0" * 256))
            read_frame(c)  # AUTH
            c.sendall(frame(4, b"\0" * (32 + 68)))  # no tag, no calibration
            for _ in range(20):  # bounded: ping, the case, ping, BYE
                f = read_frame(c)
                if f is None or f[1] != 7:
                    break
                mode, size, count = struct.unpack(">IIQ", f[2])
                c.sendall(frame(8))
                for i in range(count):
                    if mode == 3:
                        c.sendall(b"\0" * size)
                        continue
                    m = b""
                    while len(m) < size:
                        m += c.recv(size - len(m))
                    if mode == 1:
                        c.sendall(m)
                c.sendall(frame(9, struct.pack(">QQQ", count, 0, 1)))
        finally:
            os._exit(0)
    return ls, pid


def case_compare():
    """--reverse over loopback, then compare: a remote run against a local baseline (and
    forward against reverse) is refused unless --allow-path-change."""
    with tempfile.TemporaryDirectory() as d:
        fwd, rev, loc = (os.path.join(d, n + ".json") for n in ("fwd", "rev", "local"))
        small = ("-b", "tcp", "--mode", "throughput", "--sizes", "64", "--messages", "300",
                 "--repeat", "3")
        srv = Server("--once")
        rc, out, err = bench(srv.addr(), *small, "--reverse", "--json", rev)
        if rc != 0 or "reverse" not in out:
            fail("--reverse: rc %d %s %s" % (rc, out, err))
        srv.wait_line(r"reverse throughput 64B x300 \(3 times\).*: ok")
        srv.p.wait(10)
        rec = json.load(open(rev))
        validate(rev)
        c = rec["cases"][0]
        if rec["remote"]["direction"] != "reverse" or c["direction"] != "server-to-client" \
                or c["status"] != "ok" or c["verified"]["messages"] != 900:
            fail("reverse not recorded: %s %s" % (rec["remote"]["direction"], c))
        srv = Server("--once")
        rc, out, err = bench(srv.addr(), *small, "--json", fwd)
        srv.p.wait(10)
        if rc != 0:
            fail("forward: rc %d %s" % (rc, err))
        r = subprocess.run([IPCMARK, "bench", *small, "--warmup", "0", "--json", loc],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail("local run: rc %d %s" % (r.returncode, r.stderr))

        def compare(*args):
            return subprocess.run([IPCMARK, "compare", *args], capture_output=True, text=True,
                                  timeout=60)
        for base, cur, words in ((loc, fwd, "baseline local vs current remote"),
                                 (fwd, loc, "baseline remote"),
                                 (fwd, rev, "forward) vs current remote")):
            r = compare(base, cur)
            if r.returncode != 1 or "refused: different path" not in r.stderr or words not in \
                    r.stderr or len(r.stderr.strip().splitlines()) != 1 or r.stdout:
                fail("compare %s %s: rc %d %r" % (base, cur, r.returncode, r.stderr))
        r = compare(loc, fwd, "--allow-path-change")
        if r.returncode == 2 or "refused" in r.stderr or "different path" not in r.stdout \
                or "throughput/tcp/queue/64/1x1/w0/unpinned" not in r.stdout:
            fail("--allow-path-change: rc %d %r %r" % (r.returncode, r.stdout, r.stderr))
        r = compare(fwd, fwd)
        if r.returncode == 2 or "different path" in r.stdout + r.stderr:
            fail("same path refused: rc %d %r" % (r.returncode, r.stderr))
        if "--allow-path-change" not in compare("--help").stdout:
            fail("compare --help does not document --allow-path-change")
    # The client verifies what a reverse server sends: zeros are a failed case, exit 1.
    ls, pid = corrupt_server()
    with tempfile.TemporaryDirectory() as d:
        j = os.path.join(d, "bad.json")
        rc, out, err = bench("127.0.0.1:%d" % ls.getsockname()[1], "-b", "tcp", "--mode",
                             "throughput", "--messages", "50", "--repeat", "1", "--reverse",
                             "--json", j)
        os.waitpid(pid, 0)
        ls.close()
        c = json.load(open(j))["cases"][0]
        if rc != 1 or "failed verification here" not in out or c["status"] != "failed":
            fail("corrupt reverse stream: rc %d out %r err %r" % (rc, out, err))
        if rec_null_cal(j):
            fail("a server that sent no calibration recorded one")
    print("ok: --reverse verified on the client (a corrupt stream fails, exit 1); compare refuses local vs remote and forward "
          "vs reverse (exit 1, one line) unless --allow-path-change")


def key_file(d):
    kf = os.path.join(d, "key")
    with open(kf, "w") as f:
        f.write(KEY + "\n")
    os.chmod(kf, 0o600)
    return kf


def raw_client(srv):
    """A hand-made client through a keyless server's handshake, ready for CASE frames."""
    s = connect(srv)
    s.sendall(frame(1, b"\0" * 256))  # HELLO
    r = read_frame(s)
    if r is None or r[1] != 2:
        fail("no CHALLENGE: %r" % (r,))
    s.sendall(frame(3, b"\0" * 64))  # AUTH: no tag (keyless), a nonce of zeros
    r = read_frame(s)
    if r is None or r[1] != 4:
        fail("no OK: %r" % (r,))
    return s


def case_rev_latency():
    """--reverse latency: the server sends and times, the client verifies and echoes; the
    server's percentiles come back in DONE (protocol 3) and are recorded as reverse."""
    with tempfile.TemporaryDirectory() as d:
        kf = key_file(d)
        srv = Server("--once", "--key-file", kf)
        j = os.path.join(d, "r.json")
        rc, out, err = bench(srv.addr(), "--key-file", kf, "-b", "tcp,pipe", "--mode",
                             "latency,throughput", "--messages", "300", "--repeat", "3",
                             "--reverse", "--json", j)
        if rc != 0 or "timed by the server" not in out:
            fail("--reverse latency: rc %d %s %s" % (rc, out, err))
        validate(j)
        rec = json.load(open(j))
        lat = [c for c in rec["cases"] if c["backend"] == "tcp" and c["mode"] == "latency"]
        if rec["remote"]["direction"] != "reverse" or len(lat) != 1:
            fail("reverse not recorded: %s" % rec["remote"]["direction"])
        c, l = lat[0], lat[0].get("latency_ns", {})
        if c["status"] != "ok" or c["direction"] != "reverse-round-trip" or \
                c["verified"]["messages"] != 900 or len(l.get("p50_samples", [])) != 3 or \
                not 0 < l["min"] <= l["p50"] <= l["p99"] <= l["max"] or l["count"] != 900:
            fail("reverse latency case: %s" % c)
        if srv.p.wait(10) != 0:
            fail("serve --once did not exit 0:\n" + srv.text())
        srv.wait_line(r"reverse latency 64B x300 \(3 times\).*reverse throughput 64B x300.*: ok")
    # Over the server's bound for a reverse latency: refused before any work, exit 2.
    r = subprocess.run([IPCMARK, "bench", "--remote", "127.0.0.1:1", "-b", "tcp", "--reverse",
                        "--messages", "1000001", "--repeat", "1"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 2 or "at most 1000000" not in r.stderr:
        fail("--messages over the bound: rc %d %r" % (r.returncode, r.stderr))
    # A hand-made client: the bound and an unknown mode are refused and the connection
    # stays usable; an echo of zeros is counted bad by the server's own check.
    srv = Server("--idle-timeout", "2000")
    s = raw_client(srv)
    s.sendall(frame(7, struct.pack(">IIQ", 4, 64, 1000001)))
    r = read_frame(s)
    if r is None or r[1] != 5 or b"over the bound" not in r[2]:
        fail("reverse latency over the bound: %r" % (r,))
    s.sendall(frame(7, struct.pack(">IIQ", 5, 64, 10)))
    r = read_frame(s)
    if r is None or r[1] != 5 or b"not served" not in r[2]:
        fail("mode 5: %r" % (r,))
    s.sendall(frame(7, struct.pack(">IIQ", 4, 16, 5)))
    r = read_frame(s)
    if r is None or r[1] != 8:
        fail("no READY: %r" % (r,))
    for i in range(5):
        msg = b""
        while len(msg) < 16:
            chunk = s.recv(16 - len(msg))
            if not chunk:
                fail("server closed mid-case")
            msg += chunk
        if struct.unpack("<Q", msg[:8])[0] != i:
            fail("message %d out of order" % i)
        s.sendall(b"\0" * 16)
    r = read_frame(s)
    if r is None or r[1] != 9 or len(r[2]) != 88:
        fail("DONE of a reverse latency: %r" % (r,))
    v = struct.unpack(">11Q", r[2])
    if v[0] != 0 or v[1] != 5 or v[3] != 5 or not v[4] <= v[5] <= v[8] <= v[9]:
        fail("server's count of bad echoes or percentiles: %s" % (v,))
    s.sendall(frame(10))
    s.close()
    served_ok(srv)
    srv.stop()
    print("ok: reverse latency verified both ways, server-timed percentiles recorded as "
          "reverse-round-trip; bounds and unknown modes refused, bad echoes counted")


def advise(*args, env=None):
    r = subprocess.run([IPCMARK, "advise"] + list(args), capture_output=True, text=True,
                       timeout=120, env=env)
    return r.returncode, r.stdout, r.stderr


def case_advise():
    """advise --remote: tcp runs with its far side on the server, the local-only backends
    are ruled out (cannot cross hosts), one candidate says so; bad input is one line."""
    with tempfile.TemporaryDirectory() as d:
        kf = key_file(d)
        srv = Server("--once", "--key-file", kf)
        j = os.path.join(d, "a.json")
        rc, out, err = advise("--remote", srv.addr(), "--key-file", kf, "--size", "256",
                              "--producers", "1", "--consumers", "1", "-b", "tcp,pipe",
                              "--goal", "latency", "--json", j)
        if rc != 0:
            fail("advise --remote rc %d: %s %s" % (rc, out, err))
        for want in ("Recommendation: tcp", "no ranking to make", "pipe ruled out",
                     "cannot cross hosts", "round trip"):
            if want not in out:
                fail("advise --remote output lacks %r:\n%s" % (want, out))
        if "failed" in out:
            fail("a local-only backend reported as failed:\n" + out)
        validate(j)
        rec = json.load(open(j))
        a, rem = rec["advice"], rec["remote"]
        if a["winner"] != "tcp" or a["remote"] != srv.addr() or a["separation"] != "one candidate":
            fail("advice: %s" % a)
        if [x["backend"] for x in a["ruled_out"]] != ["pipe"] or \
                "cannot cross hosts" not in a["ruled_out"][0]["why"]:
            fail("ruled_out: %s" % a["ruled_out"])
        if not a["ranked"][0]["p99_ns"] > 0 or a["ranked"][0]["cpu_ns_per_msg"] is not None:
            fail("ranked: %s" % a["ranked"])
        if rem["path"]["peer"] != srv.addr() or not rem["server"]["calibration"]:
            fail("remote not recorded: %s" % rem)
        tcp = [c for c in rec["cases"] if c["backend"] == "tcp"]
        if sorted(c["mode"] for c in tcp) != ["latency", "throughput"] or \
                any(c["status"] != "ok" or not c["verified"]["messages"] for c in tcp):
            fail("tcp cases: %s" % tcp)
        if KEY in open(j).read():
            fail("the key is in the advice file")
        if srv.p.wait(10) != 0:
            fail("serve --once did not exit 0:\n" + srv.text())
        srv.wait_line(r"throughput 256B x\d+ \(5 times\), latency 256B x\d+ \(5 times\)")
    w = ("--size", "64", "--producers", "1", "--consumers", "1")
    # Bad input: one line, exit 2, before any work.
    for args, want in ((("--remote", "127.0.0.1"), "bad --remote"),
                       (("--remote", "127.0.0.1:1", "--size", "64", "--producers", "3",
                         "--consumers", "2"), "1 producer x 1 consumer"),
                       (("--remote", "127.0.0.1:1", "--goal", "cpu") + w, "--goal cpu"),
                       (("--key-file", "/nonexistent") + w, "--key-file is for --remote")):
        if "--size" not in args:
            args = args + w
        rc, out, err = advise(*args)
        if rc != 2 or len(err.strip().splitlines()) != 1 or want not in err:
            fail("advise %s: rc %d err %r" % (" ".join(args), rc, err))
    # No server: one line, exit 3.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    port = ls.getsockname()[1]
    ls.close()
    rc, out, err = advise("--remote", "127.0.0.1:%d" % port, "-b", "tcp", *w)
    if rc != 3 or len(err.strip().splitlines()) != 1 or "Connection refused" not in err:
        fail("advise, no server: rc %d out %r err %r" % (rc, out, err))
    print("ok: advise --remote ran tcp on the server, ruled out pipe (cannot cross hosts), "
          "said one candidate; bad address/workload/goal exit 2, no server exit 3")


CASES = {"compare": case_compare, "usage": case_usage, "loopback": case_loopback, "hostile": case_hostile, "client": case_client,
         "netns": case_netns, "rev_latency": case_rev_latency, "advise": case_advise}
if __name__ == "__main__":
    CASES[sys.argv[2]]()
