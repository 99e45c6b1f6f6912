#!/usr/bin/env python3
"""A device stand-in for the socket driver built on Python's socketserver: each
client that connects gets the bytes of FILE, then the connection stays open
and silent until the client closes it.

usage: feed.py PORT FILE
Prints "ready" once it listens and "conn N" for each connection.
"""
import socketserver
import sys
import threading

COUNT = 0
LOCK = threading.Lock()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        global COUNT
        with LOCK:
            COUNT += 1
            print("conn %d" % COUNT, flush=True)
        with open(sys.argv[2], "rb") as f:
            self.request.sendall(f.read())
        try:
            while self.request.recv(4096):
                pass
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    srv.serve_forever()
