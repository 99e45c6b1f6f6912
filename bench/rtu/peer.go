package main

import (
	"encoding/binary"
	"io"
	"os"
	"time"
)

// respond answers FC 3 requests on f for any unit with registers holding
// their address, until f is closed. Like a device on a real line at the
// bench's baud rate it answers after the 3.5-character silence that ends
// the request (whose bytes a real line delivers at the baud rate) and keeps
// the line for the time its response takes to send
// (a pty carries bytes at no baud rate at all). A window of 8 bytes that is not a
// request slides on by one byte, so the responder finds the frames again.
func respond(f *os.File, baud int) {
	char := 11 * time.Second / time.Duration(baud)
	req := make([]byte, 8)
	have := 0
	for {
		if _, err := io.ReadFull(f, req[have:]); err != nil {
			return
		}
		if req[1] != 3 || crc(req[:6]) != binary.LittleEndian.Uint16(req[6:]) {
			copy(req, req[1:])
			have = 7
			continue
		}
		have = 0
		start, n := binary.BigEndian.Uint16(req[2:]), binary.BigEndian.Uint16(req[4:])
		res := []byte{req[0], 3, byte(2 * n)}
		for i := range n {
			res = binary.BigEndian.AppendUint16(res, start+i)
		}
		res = binary.LittleEndian.AppendUint16(res, crc(res))
		time.Sleep(time.Duration(len(req)+len(res))*char + silence(baud))
		if _, err := f.Write(res); err != nil {
			return
		}
	}
}

// crc is the Modbus CRC-16 (polynomial 0xA001, initial 0xFFFF).
func crc(b []byte) uint16 {
	c := uint16(0xFFFF)
	for _, x := range b {
		c ^= uint16(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return c
}
