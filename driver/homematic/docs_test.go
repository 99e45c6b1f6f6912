package homematic_test

import (
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/homematic"
	"github.com/gridbox/gridbox/driver/internal/drivertest"
)

// TestSampleConfigs: the sample.yaml and the docs' sample validate.
func TestSampleConfigs(t *testing.T) {
	newConfig := func() driver.Config { return homematic.NewConfig() }
	drivertest.CheckSample(t, "sample.yaml", "homematic", newConfig)
	drivertest.CheckSample(t, "../../docs/driver-homematic.md", "homematic", newConfig)
}
