#!/usr/bin/python3
"""An independent Modbus RTU peer for gridbox's tests: pymodbus (Debian's
python3-pymodbus 3.0) serving several unit ids on one serial port (a socat
pty) or over TCP with RTU framing (RTU over TCP).

Every unit has holding registers 0..9: register 0 is the unit id × 100,
register 1 counts the reads of that unit (a fresh value on every poll).

Control and observation go through the directory given by --dir:
  requests.log  one line per request that reached a unit: the unit id
  silent        unit ids (one a line) that do not answer at all; re-read on
                every request, so a test can silence a unit while it runs
  ready         written once the server is about to serve
"""
import argparse
import asyncio
import logging
import os

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.transaction import ModbusRtuFramer


class CountingBlock(ModbusSequentialDataBlock):
    """Holding registers whose register 1 counts the reads."""

    def __init__(self, unit):
        super().__init__(0, [unit * 100] + [0] * 9)
        self.reads = 0

    def getValues(self, address, count=1):
        self.reads += 1
        self.values[1] = self.reads & 0xFFFF
        return super().getValues(address, count)


class Units(ModbusServerContext):
    """Server context that logs every request and stays silent for the
    units listed in the silent file."""

    def __init__(self, units, folder):
        super().__init__(slaves={u: ModbusSlaveContext(hr=CountingBlock(u), zero_mode=True) for u in units},
                         single=False)
        self.folder = folder
        self.log = open(os.path.join(folder, "requests.log"), "a", buffering=1)

    def silent(self):
        try:
            with open(os.path.join(self.folder, "silent")) as f:
                return {int(x) for x in f.read().split()}
        except FileNotFoundError:
            return set()

    def __getitem__(self, unit):
        self.log.write(f"{unit}\n")
        if unit in self.silent():
            raise NoSuchSlaveException(f"unit {unit} is silent")
        return super().__getitem__(unit)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--serial", help="serial device (a pty)")
    p.add_argument("--tcp", help="host:port for RTU over TCP")
    p.add_argument("--baud", type=int, default=9600)
    p.add_argument("--units", default="1,2,3")
    p.add_argument("--dir", required=True)
    a = p.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    ctx = Units([int(u) for u in a.units.split(",")], a.dir)
    with open(os.path.join(a.dir, "ready"), "w") as f:
        f.write("ok\n")
    if a.serial:
        await StartAsyncSerialServer(context=ctx, framer=ModbusRtuFramer, port=a.serial,
                                     baudrate=a.baud, bytesize=8, parity="N", stopbits=1,
                                     timeout=0.005, ignore_missing_slaves=True)
    else:
        host, port = a.tcp.rsplit(":", 1)
        await StartAsyncTcpServer(context=ctx, framer=ModbusRtuFramer, address=(host, int(port)),
                                  ignore_missing_slaves=True)


if __name__ == "__main__":
    asyncio.run(main())
