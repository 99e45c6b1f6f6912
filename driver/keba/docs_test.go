package keba_test

import (
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/drivertest"
	"github.com/gridbox/gridbox/driver/keba"
)

// TestSampleConfigs: the sample.yaml and the docs' sample validate.
func TestSampleConfigs(t *testing.T) {
	newConfig := func() driver.Config { return keba.NewConfig() }
	drivertest.CheckSample(t, "sample.yaml", "keba", newConfig)
	drivertest.CheckSample(t, "../../docs/driver-keba.md", "keba", newConfig)
}
