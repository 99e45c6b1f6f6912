#!/usr/bin/env python3
"""A KEBA P30 stand-in on UDP: answers report 1/2/3 and commands like the
station, sending every answer to the requester's address on REPLY_PORT (the
station's habit is port 7090; tests pass a free one).

Usage: keba.py REPLY_PORT [SERIAL]. Prints "LISTENING <port>", then one JSON
line per command it executed. Control datagrams "test <mode>" (not answered)
change the next answers: json (truncated JSON), type (a number as text),
oversized (a 5000-byte datagram), silent (no answers), normal.
Each report 2 answer is preceded by an unsolicited datagram and each report 3
answer by a report with the wrong ID, as a station may send them.
"""
import json
import socket
import sys

reply_port = int(sys.argv[1])
serial = sys.argv[2] if len(sys.argv) > 2 else "17123456"
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print("LISTENING %d" % sock.getsockname()[1], flush=True)

state = {"ena": 1, "curr": 16000, "setenergy": 0, "display": ""}
mode = "normal"


def report(n):
    if n == 1:
        return {"ID": "1", "Product": "KC-P30-ES240022-E0R", "Serial": serial, "Firmware": "P30 v 3.10.16"}
    if n == 2:
        return {"ID": "2", "State": 3, "Error1": 0, "Plug": 7, "Enable sys": state["ena"], "Max curr": state["curr"],
                "Curr HW": 32000, "Curr user": state["curr"], "Setenergy": state["setenergy"], "Serial": serial}
    return {"ID": "3", "U1": 230, "U2": 231, "U3": 229, "I1": 16000, "I2": 15900, "I3": 16100, "P": 11040000,
            "PF": 998, "E pres": 52340, "E total": 123456789, "Serial": serial}


while True:
    data, addr = sock.recvfrom(4096)
    msg = data.decode("ascii", "replace").strip()
    to = (addr[0], reply_port)
    if msg.startswith("test "):
        mode = msg[5:]
        continue
    if mode == "silent":
        continue
    if msg.startswith("report "):
        n = int(msg[7:])
        body = report(n)
        if n == 2:
            sock.sendto(b'{"State": 3}', to)
        if n == 3:
            sock.sendto(json.dumps(dict(report(2))).encode(), to)
        if mode == "json":
            out = json.dumps(body).encode()[:20]
        elif mode == "type":
            body["P"] = "lots"
            out = json.dumps(body).encode()
        elif mode == "oversized":
            out = json.dumps(dict(body, pad="x" * 5000)).encode()
        else:
            out = json.dumps(body).encode()
        sock.sendto(out, to)
        continue
    word, _, arg = msg.partition(" ")
    if word in ("ena", "curr", "setenergy", "display"):
        state[word] = arg if word == "display" else int(arg)
        print(json.dumps({"cmd": msg}), flush=True)
        sock.sendto(b"TCH-OK :done\n", to)
    else:
        sock.sendto(b"TCH-ERR :unknown command\n", to)
