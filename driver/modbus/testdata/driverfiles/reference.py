#!/usr/bin/env python3
"""Independent reference decoder for the driver-file tests.

Usage: reference.py datalogger|modbus_config DRIVER.json IMAGE.json DEVICE_UNIT
IMAGE.json: {"<unit>": {"holding": {"<addr>": reg}, "input": {...}, "coil": {"<addr>": bool}}}
Prints {"datapoint name": value} as JSON. Written from the formats'
descriptions (Python struct for every byte conversion), not from the Go code.
"""
import json
import struct
import sys


def regs(img, unit, table, addr, n):
    return [img[str(unit)][table][str(addr + i)] for i in range(n)]


def slug(key):
    return "".join(c if ("a" <= c <= "z" or "0" <= c <= "9" or c == "_") else "_" for c in key.lower())


def datalogger_value(f, img, unit):
    table = "input" if f.get("fncode", 3) == 4 else "holding"
    if "start_bit" in f:
        v = regs(img, unit, table, f["register"], 1)[0]
        if f.get("bit_order", "lsb") == "msb":
            v = int(format(v, "016b")[::-1], 2)
        v = (v >> f["start_bit"]) & ((1 << f.get("length_bits", 1)) - 1)
        levels = dict((a, b) for a, b in f.get("status_level_value_map", []))
        return levels.get(v, v)
    rr = regs(img, unit, table, f["register"], f.get("words", 1))
    if f.get("order", "msr") == "lsr":
        rr = rr[::-1]
    raw = b"".join(struct.pack(">H", r) for r in rr)
    vm = f.get("valuemap")
    if vm is not None and "0x" + raw.hex() in vm:
        return vm["0x" + raw.hex()]
    fmts = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I",
            "int64": ">q", "uint64": ">Q", "float": ">f", "double": ">d"}
    fmt = fmts[f["datatype"]] if "datatype" in f else {2: ">H", 4: ">I", 8: ">d"}[len(raw)]
    v = struct.unpack(fmt, raw)[0]
    if "multiplier" in f:
        v = v * f["multiplier"]
    if "offset" in f:
        v = v + f["offset"]
    cast = {"int": int, "float": float, "str": str, "bool": bool}.get(f.get("typecast"))
    return cast(v) if cast else v


def datalogger(drv, img, unit):
    out = {}
    for common_key, items_key in (("common", "fields"), ("status_info_common", "status_info")):
        common = drv.get(common_key, {})
        for key, f in drv.get(items_key, {}).items():
            out[slug(key)] = datalogger_value(dict(common, **f), img, unit)
    return out


REGS = {c: 1 for c in "hHe?"}
REGS.update({c: 2 for c in "iIlLf"})
REGS.update({c: 4 for c in "qQd"})


def modbus_config(cfg, img, unit):
    out = {}
    for kind, table in (("read_holding_registers", "holding"), ("read_input_registers", "input"),
                        ("read_coils", "coil"), ("write_register", "holding")):
        for blk in cfg.get(kind, []):
            u = blk.get("unit", unit)
            if table == "coil":
                for i in range(blk["count"]):
                    a = blk["address"] + i
                    out["%s__%d__%d" % (kind, u, a)] = img[str(u)]["coil"][str(a)]
                continue
            fmt = blk["datatypes"].replace(" ", "")
            order, chars = (fmt[0], fmt[1:]) if fmt[0] in "<>!=@" else ("@", fmt)
            addr = blk["address"]
            for c in chars:
                raw = b"".join(struct.pack(">H", r) for r in regs(img, u, table, addr, REGS[c]))
                v = struct.unpack(order + c, raw)[0]
                factor = blk.get("scaling_factors", {}).get(str(addr))
                if factor is not None:
                    v = v * factor
                out["%s__%d__%d" % (kind, u, addr)] = v
                addr += REGS[c]
    return out


def main():
    kind, drv_path, img_path, unit = sys.argv[1:5]
    drv = json.load(open(drv_path, encoding="utf-8"))
    img = json.load(open(img_path, encoding="utf-8"))
    fn = datalogger if kind == "datalogger" else modbus_config
    json.dump(fn(drv, img, int(unit)), sys.stdout, sort_keys=True)


main()
