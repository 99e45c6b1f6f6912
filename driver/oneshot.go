package driver

import (
	"context"
	"iter"
	"time"
)

// OneShot is a driver's one-shot read for commissioning (`gridbox read`):
// it reads what a request names from the device at its URL once, without a
// configured device. A driver that implements it is made known to the
// command by one line in cmd/gridbox/read.go.
type OneShot interface {
	// ReadOnce checks req and returns one Reading per point: the profile's
	// datapoints first, then the Specs, in order. The device is read while
	// the sequence is ranged over, so a caller can print each reading as it
	// comes; connections are closed when the range ends.
	//
	// An error means req is wrong (URL, a spec, the profile, Unit) and
	// nothing was read. Failures on the way to the device are in
	// Reading.Err; when ctx ends, the sequence ends after the reading that
	// failed because of it.
	ReadOnce(ctx context.Context, req ReadRequest) (iter.Seq[Reading], error)
}

// ReadRequest is what a one-shot read reads. Its zero values mean "not
// given": the driver's defaults apply.
type ReadRequest struct {
	URL      string        // the device in the driver's URL form, like tcp://10.0.0.5:502?unit=3
	Specs    []string      // points in the driver's syntax: holding:30775:int32, a JSON path, a KNX group address
	Profile  string        // also read every datapoint of this profile (built-in name or file path)
	Profiles ProfileSource // resolves Profile
	Unit     *int          // the device's address behind URL, where the protocol has one (Modbus unit id); drivers without one refuse it
	Timeout  time.Duration // per request
}

// Reading is the outcome of one point of a one-shot read.
type Reading struct {
	Name  string // the spec as given, or the profile's datapoint name
	Raw   string // what the device answered, as the driver shows it: "[30775] 0x0000 0x3039"; "" if it did not answer
	Value any    // decoded as in model.Value: float64, string, bool, or nil for "not available"
	Unit  string // the value's unit, like "W"
	Err   error  // why the point failed; with Raw set, the answer could not be decoded
}
