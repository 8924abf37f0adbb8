"""Real processes for integration tests: the development FHIR server, the helsebro gateway,
an MLLP client of our own for malformed frames, and Debian's mllp_send (python3-hl7) as an
independent client. Every server binds 127.0.0.1 on port 0 (or a port the test chose)."""

import json
import os
import resource
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = os.environ.get("HELSEBRO_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
HELSEBRO_BIN = os.environ.get("HELSEBRO_BIN", os.path.join(SOURCE_DIR, "build", "helsebro"))
MLLP_SEND = "/usr/bin/mllp_send"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=15.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_json(method, url, body=None, headers=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        payload = e.read()
        try:
            return e.code, json.loads(payload)
        except ValueError:
            return e.code, payload.decode(errors="replace")


def http_text(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


class _LineReader(threading.Thread):
    """Collects a process stream line by line so tests can wait for and inspect log lines."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines = []
        self.lock = threading.Lock()
        self.start()

    def run(self):
        for raw in iter(self.stream.readline, b""):
            with self.lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def json_events(self):
        out = []
        for line in self.snapshot():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


class DevFhirServer:
    """tools/dev-fhir-server: in-memory FHIR R4 server with validation and test hooks."""

    def __init__(self, port=0):
        self.requested_port = port
        self.proc = None
        self.port = None

    def extra_args(self):
        """More command-line options for server.mjs (e.g. TLS), for subclasses."""
        return []

    def start(self):
        cmd = ["node", "--experimental-websocket", os.path.join(SOURCE_DIR, "tools", "dev-fhir-server", "server.mjs"),
               "--port", str(self.requested_port), "--quiet"] + self.extra_args()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        if not line:
            raise RuntimeError("dev FHIR server did not start")
        self.port = json.loads(line)["port"]
        return self

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}/fhir"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def search(self, resource_type, **params):
        query = urllib.parse.urlencode(params)
        status, bundle = http_json("GET", f"{self.base}/{resource_type}?{query}")
        assert status == 200, (status, bundle)
        return [e["resource"] for e in bundle.get("entry", [])]

    def patients_with_fnr(self, fnr):
        return self.search("Patient", identifier=f"{FNR_SYSTEM}|{fnr}")

    def arrivals(self):
        status, body = http_json("GET", f"http://127.0.0.1:{self.port}/$test/arrivals")
        assert status == 200, (status, body)
        return body

    def hook(self, name, body):
        status, reply = http_json("POST", f"http://127.0.0.1:{self.port}/$test/{name}", body)
        assert status in (200, 204), (status, reply)
        return reply


class Gateway:
    """`helsebro serve` on port 0 with its own data directory."""

    def __init__(self, fhir_base, config=None, data_dir=None, env=None, fd_limit=None):
        self.fhir_base = fhir_base
        self.fd_limit = fd_limit  # RLIMIT_NOFILE of the process: to run it out of descriptors
        self.config = config
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="helsebro-it-")
        self.extra_env = env or {}
        self.proc = None
        self.log = None
        self.mllp_port = None
        self.http_port = None

    def start(self):
        env = dict(os.environ)
        env.update({
            "HELSEBRO_MLLP_PORT": "0",
            "HELSEBRO_HTTP_PORT": "0",
            "HELSEBRO_DATA_DIR": self.data_dir,
            "HELSEBRO_FHIR_BASE_URL": self.fhir_base,
            "HELSEBRO_MAPPINGS_DIR": os.path.join(SOURCE_DIR, "mappings"),
        })
        env.update(self.extra_env)
        cmd = [HELSEBRO_BIN, "serve"]
        if self.config is not None:
            path = os.path.join(self.data_dir, "config.json")
            os.makedirs(self.data_dir, exist_ok=True)
            with open(path, "w") as f:
                json.dump(self.config, f)
            cmd += ["--config", path]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        if self.fd_limit:  # set from outside (preexec_fn is unsafe beside the readers' threads)
            resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (self.fd_limit, self.fd_limit))
        self.log = _LineReader(self.proc.stderr)
        event = wait_for(lambda: next((e for e in self.log.json_events() if e.get("event") == "server.listening"), None)
                         or (self.proc.poll() is not None and {"exited": self.proc.returncode}),
                         timeout=15, what="helsebro to listen")
        if "exited" in event:
            raise RuntimeError(f"helsebro exited with {event['exited']}: " + "\n".join(self.log.snapshot()))
        self.mllp_port = event["mllp_port"]
        self.http_port = event["http_port"]
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.join(5)
            self.proc.stderr.close()

    def cleanup(self):
        self.stop()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_text(self):
        return "\n".join(self.log.snapshot()) if self.log else ""

    def metrics(self):
        status, text = http_text(f"http://127.0.0.1:{self.http_port}/metrics")
        assert status == 200
        return parse_metrics(text)

    def metric(self, name, **labels):
        total = 0.0
        for (metric, metric_labels), value in self.metrics().items():
            if metric == name and all(dict(metric_labels).get(k) == v for k, v in labels.items()):
                total += value
        return total


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format → {(name, ((label, value), …)): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError(f"malformed metrics line: {line!r}")
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def mllp_send_file(port, path):
    """Sends a plain HL7 file with Debian's mllp_send (--loose: \\n or \\r line ends) and
    returns the acknowledgements it printed, as text with \\r segment separators."""
    result = subprocess.run([MLLP_SEND, "--loose", "-p", str(port), "-f", path, "127.0.0.1"],
                            capture_output=True, timeout=30)
    if result.returncode != 0:
        raise AssertionError(f"mllp_send failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8", errors="replace")


class MllpConnection:
    """A minimal MLLP client of our own, for frames mllp_send will not send."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, payload):
        self.send_raw(SB + payload + EB + CR)

    def read_frame(self):
        while EB + CR not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before a full frame")
            self.buffer += chunk
        start = self.buffer.index(SB)
        end = self.buffer.index(EB + CR)
        frame, self.buffer = self.buffer[start + 1:end], self.buffer[end + 2:]
        return frame

    def is_closed_by_peer(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.sock.close()


def segments(ack_text):
    """An ACK as {segment id: [fields]} (first occurrence of each segment)."""
    out = {}
    for seg in re.split(r"[\r\n]+", ack_text.strip()):
        if seg and seg[:3] not in out:
            out[seg[:3]] = seg.split("|")
    return out


def unescape(text):
    """Decodes the HL7 escapes an ACK's text fields carry (default delimiters)."""
    for code, char in (("\\F\\", "|"), ("\\S\\", "^"), ("\\T\\", "&"), ("\\R\\", "~"), ("\\E\\", "\\")):
        text = text.replace(code, char)
    return text


def hl7(*segs):
    return ("\r".join(segs) + "\r").encode()
