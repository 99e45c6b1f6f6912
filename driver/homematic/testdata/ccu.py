#!/usr/bin/env python3
"""A Homematic CCU stand-in built only on Python's standard xmlrpc modules.

It serves listDevices/getParamsetDescription/getParamset/init/setValue on a
free port (printed as "LISTENING <port>"), pushes events to every callback
registered with init (single event calls and system.multicall batches), and
prints one JSON line per init and setValue so a test can check what arrived.
Control calls for tests: test.push(address, key, value) sends one event,
test.bad(kind) sends a malformed callback request (xml, type, oversized).
"""
import json
import sys
import threading
import urllib.request
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCServer, SimpleXMLRPCRequestHandler

DEVICES = [
    {"ADDRESS": "NEQ0123456", "TYPE": "HM-TC-IT-WM-W-EU", "PARAMSETS": ["MASTER"], "PARENT": "", "CHILDREN": ["NEQ0123456:1", "NEQ0123456:2"]},
    {"ADDRESS": "NEQ0123456:1", "TYPE": "WEATHER_TRANSMIT", "PARAMSETS": ["LINK", "MASTER", "VALUES"], "PARENT": "NEQ0123456"},
    {"ADDRESS": "NEQ0123456:2", "TYPE": "THERMALCONTROL_TRANSMIT", "PARAMSETS": ["LINK", "MASTER", "VALUES"], "PARENT": "NEQ0123456"},
    {"ADDRESS": "NEQ0000002:1", "TYPE": "ROTARY_HANDLE_SENSOR", "PARAMSETS": ["LINK", "MASTER", "VALUES"], "PARENT": "NEQ0000002"},
]
DESCRIPTIONS = {
    "NEQ0123456:1": {
        "TEMPERATURE": {"TYPE": "FLOAT", "MIN": -50.0, "MAX": 100.0, "UNIT": "\u00b0C", "OPERATIONS": 5},
        "HUMIDITY": {"TYPE": "INTEGER", "MIN": 0, "MAX": 100, "UNIT": "%", "OPERATIONS": 5},
    },
    "NEQ0123456:2": {
        "ACTUAL_TEMPERATURE": {"TYPE": "FLOAT", "MIN": -10.0, "MAX": 50.0, "UNIT": "\u00b0C", "OPERATIONS": 5},
        "SET_TEMPERATURE": {"TYPE": "FLOAT", "MIN": 4.5, "MAX": 30.5, "UNIT": "\u00b0C", "OPERATIONS": 7},
        "BOOST_MODE": {"TYPE": "ACTION", "MIN": False, "MAX": True, "UNIT": "", "OPERATIONS": 2},
    },
    "NEQ0000002:1": {
        "STATE": {"TYPE": "ENUM", "MIN": 0, "MAX": 2, "UNIT": "", "OPERATIONS": 5, "VALUE_LIST": ["CLOSED", "TILTED", "OPEN"]},
    },
}
VALUES = {
    "NEQ0123456:1": {"TEMPERATURE": 20.0, "HUMIDITY": 45},
    "NEQ0123456:2": {"ACTUAL_TEMPERATURE": 21.5, "SET_TEMPERATURE": 21.0},
    "NEQ0000002:1": {"STATE": 0},
}
callbacks = {}  # interface id -> callback URL
lock = threading.Lock()


def record(**kw):
    print(json.dumps(kw), flush=True)


def push(url, iface, calls):
    """Sends events: one call as event, several as system.multicall."""
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True)
    try:
        if len(calls) == 1:
            proxy.event(iface, *calls[0])
        else:
            proxy.system.multicall([{"methodName": "event", "params": [iface, *c]} for c in calls])
    except Exception as e:  # the gateway may be gone
        record(push_error=str(e))


def each_callback(calls):
    with lock:
        targets = list(callbacks.items())
    for iface, url in targets:
        push(url, iface, calls)


def init(url, iface=""):
    record(call="init", url=url, iface=iface)
    with lock:
        for k, v in list(callbacks.items()):
            if v == url:
                del callbacks[k]
        if iface:
            callbacks[iface] = url
    if iface:  # like the CCU: the first events follow the registration
        threading.Timer(0.2, each_callback, [[("NEQ0123456:2", "ACTUAL_TEMPERATURE", 21.5),
                                              ("NEQ0000002:1", "STATE", 2)]]).start()
    return ""


def listDevices(*_):
    return DEVICES


def getParamsetDescription(address, key):
    if key != "VALUES" or address not in DESCRIPTIONS:
        raise xmlrpc.client.Fault(-1, "Unknown paramset")
    return DESCRIPTIONS[address]


def getParamset(address, key):
    return VALUES.get(address, {})


def setValue(address, key, value):
    record(call="setValue", address=address, key=key, value=value, type=type(value).__name__)
    VALUES.setdefault(address, {})[key] = value
    threading.Timer(0.05, each_callback, [[(address, key, value)]]).start()
    return ""


def test_push(address, key, value):
    each_callback([(address, key, value)])
    return ""


def post(url, body):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "text/xml"})
    try:
        urllib.request.urlopen(req, timeout=5).read()
    except Exception as e:
        record(bad_error=str(e))


def test_bad(kind):
    with lock:
        targets = list(callbacks.items())
    for iface, url in targets:
        if kind == "xml":
            post(url, b"<methodCall><methodName>event</methodName><params><param><value><i4>oops")
        elif kind == "type":
            post(url, xmlrpc.client.dumps((iface, 42, "STATE", 1), "event").encode())
        elif kind == "value":
            post(url, xmlrpc.client.dumps((iface, "NEQ0123456:2", "ACTUAL_TEMPERATURE", "warm"), "event").encode())
        elif kind == "oversized":
            post(url, xmlrpc.client.dumps(("x" * (1 << 20),), "event").encode())
    return ""


class Quiet(SimpleXMLRPCRequestHandler):
    def log_message(self, *args):
        pass


def main():
    server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=Quiet, allow_none=True, logRequests=False)
    server.register_multicall_functions()
    for f in (init, listDevices, getParamsetDescription, getParamset, setValue):
        server.register_function(f)
    server.register_function(test_push, "test.push")
    server.register_function(test_bad, "test.bad")
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
