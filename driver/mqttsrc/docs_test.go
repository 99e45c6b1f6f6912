package mqttsrc_test

import (
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/drivertest"
	"github.com/gridbox/gridbox/driver/mqttsrc"
)

// TestSampleConfigs: the sample.yaml and the docs' sample validate.
func TestSampleConfigs(t *testing.T) {
	newConfig := func() driver.Config { return mqttsrc.NewConfig() }
	drivertest.CheckSample(t, "sample.yaml", "mqtt", newConfig)
	drivertest.CheckSample(t, "../../docs/driver-mqtt.md", "mqtt", newConfig)
}
