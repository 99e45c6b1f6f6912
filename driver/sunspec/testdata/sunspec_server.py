"""An independent SunSpec device for gridbox's tests: pymodbus serves a
register image (JSON: {"unit": N, "registers": {"ADDRESS": [values...]}})
as holding and input registers over Modbus TCP. Addresses not in the image
answer "illegal data address", as on a real device.

usage: python3 sunspec_server.py IMAGE.json HOST PORT
"""
import json
import sys

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.server import StartTcpServer


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        image = json.load(f)
    regs = {}
    for start, values in image["registers"].items():
        for i, v in enumerate(values):
            regs[int(start) + i] = v
    block = ModbusSparseDataBlock(regs)
    slave = ModbusSlaveContext(hr=block, ir=block, zero_mode=True)
    context = ModbusServerContext(slaves={image["unit"]: slave}, single=False)
    StartTcpServer(context=context, address=(sys.argv[2], int(sys.argv[3])))


if __name__ == "__main__":
    main()
