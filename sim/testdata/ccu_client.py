#!/usr/bin/env python3
"""Talks to a CCU (argv[1], http://host:port) with Python's xmlrpc modules:
reads the device list and a paramset, writes SET_TEMPERATURE, registers a
callback and waits for the first event. Prints one JSON document."""
import json
import sys
import threading
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCServer, SimpleXMLRPCRequestHandler

ccu = xmlrpc.client.ServerProxy(sys.argv[1], allow_none=True)
out = {}
devices = ccu.listDevices()
out["addresses"] = [d["ADDRESS"] for d in devices]
out["set_description"] = ccu.getParamsetDescription("NEQ0123456:2", "VALUES")["SET_TEMPERATURE"]
ccu.setValue("NEQ0123456:2", "SET_TEMPERATURE", 22.5)
out["after_write"] = ccu.getValue("NEQ0123456:2", "SET_TEMPERATURE")
try:
    ccu.setValue("NEQ0123456:2", "SET_TEMPERATURE", 35.0)
    out["out_of_range"] = "accepted"
except xmlrpc.client.Fault as f:
    out["out_of_range"] = f.faultCode

got = threading.Event()
events = []


class Quiet(SimpleXMLRPCRequestHandler):
    def log_message(self, *args):
        pass


server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=Quiet, allow_none=True, logRequests=False)
server.register_multicall_functions()


def event(iface, address, key, value):
    events.append([iface, address, key, value])
    got.set()
    return ""


server.register_function(event)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d" % server.server_address[1]
ccu.init(url, "pytest")
out["event"] = events[0] if got.wait(30) else None
ccu.init(url, "")
print(json.dumps(out))
