#!/usr/bin/env python3
"""A device stand-in built on Python's standard http.server: it answers every
request with a recorded answer from answers/, so the HTTP driver is tested
against an HTTP stack that is not Go's.

usage: serve.py PORT ANSWERS_DIR

Routing (the first that applies):
  GET  [/VARIANT]/solar_api/v1/GetPowerFlowRealtimeData.fcgi -> fronius.json (fronius-VARIANT.json)
  GET  /getKey?k=...                                 -> dachs.txt, only the lines of the asked keys
  POST /setKeys                                      -> echoes the form body, remembers the keys
  POST /AmbusNetWS/Service1.asmx                     -> ambus-<meterId>.xml, or ambus-fault.xml with HTTP 500
  GET  /raw/<file>                                   -> that file as it is (garbage, truncated answers)
  GET  /big/<n>                                      -> a JSON answer of n+8 bytes
  GET  /status/<code>                                -> an empty answer with that status
It prints "ready" once it listens.
"""
import os
import re
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWERS = sys.argv[2]
DACHS_SET = {}


def read(name):
    with open(os.path.join(ANSWERS, name), "rb") as f:
        return f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path.endswith("/solar_api/v1/GetPowerFlowRealtimeData.fcgi"):
            variant = u.path[: -len("/solar_api/v1/GetPowerFlowRealtimeData.fcgi")].strip("/")
            name = "fronius-%s.json" % variant if variant else "fronius.json"
            return self.answer(200, "application/json", read(name))
        if u.path == "/getKey":
            lines = {}
            for line in read("dachs.txt").decode().splitlines():
                k, _, v = line.partition("=")
                lines[k] = DACHS_SET.get(k, v)
            out = "".join("%s=%s\n" % (k, lines.get(k, "")) for k in q.get("k", []))
            return self.answer(200, "text/plain", out.encode())
        if u.path.startswith("/raw/"):
            return self.answer(200, "application/octet-stream", read(os.path.basename(u.path)))
        if u.path.startswith("/big/"):
            n = int(u.path[len("/big/"):])
            return self.answer(200, "application/json", b'{"a":"' + b"x" * n + b'"}')
        if u.path.startswith("/status/"):
            return self.answer(int(u.path[len("/status/"):]), "text/plain", b"status answer\n")
        self.answer(404, "text/plain", b"not found\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        if self.path == "/setKeys":
            for k, v in urllib.parse.parse_qsl(body):
                DACHS_SET[k] = v
            return self.answer(200, "text/plain", body.encode() + b"\n")
        if self.path == "/AmbusNetWS/Service1.asmx":
            if self.headers.get("SOAPAction") != '"http://tempuri.org/GetMeterValues"':
                return self.answer(500, "text/xml", read("ambus-fault.xml"))
            m = re.search(r"<meterId>(\w+)</meterId>", body)
            name = "ambus-%s.xml" % m.group(1) if m else ""
            if not m or not os.path.exists(os.path.join(ANSWERS, name)):
                return self.answer(500, "text/xml; charset=utf-8", read("ambus-fault.xml"))
            return self.answer(200, "text/xml; charset=utf-8", read(name))
        self.answer(404, "text/plain", b"not found\n")


if __name__ == "__main__":
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    srv.serve_forever()
