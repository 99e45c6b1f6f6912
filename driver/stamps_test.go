package driver

import "testing"

// TestStampsStrictlyLaterPerPoll: within a poll timestamps may repeat (one
// poll, one instant); across polls begun back to back they never do.
func TestStampsStrictlyLaterPerPoll(t *testing.T) {
	var s Stamps
	var last int64
	for i := 0; i < 1000; i++ {
		s.Begin()
		a, b := s.Now(), s.Now()
		if a <= last {
			t.Fatalf("poll %d stamped %d after a poll stamped %d", i, a, last)
		}
		if b < a {
			t.Fatalf("poll %d went back in time: %d then %d", i, a, b)
		}
		last = b
	}
}
