package keba

import (
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
)

func TestValidate(t *testing.T) {
	c := NewConfig()
	c.URL, c.Listen, c.Gap, c.Interval = "tcp://x:1", "nope", config.Duration(50e6), 0
	got := config.Errors(c.Validate()).Error()
	for _, want := range []string{`url: "tcp://x:1": want udp://host:7090`, "listen:", "gap: 50ms", "interval: 0s"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	c = NewConfig()
	c.URL = "udp://10.0.0.9?listen=:1"
	if got := config.Errors(c.Validate()).Error(); !strings.Contains(got, "listen key") {
		t.Errorf("query in url: %q", got)
	}
	if hp, err := parseURL("udp://10.0.0.9"); hp != "10.0.0.9:7090" || err != nil {
		t.Errorf("default port: %q %v", hp, err)
	}
}

func TestCommands(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"enabled", true, "ena 1"}, {"enabled", false, "ena 0"},
		{"max_current", 16.0, "curr 16000"}, {"energy_limit", 1234.5, "setenergy 12345"},
		{"display", "Hello world, this is too long", "display 0 0 0 0 Hello$world,$this$is$to"},
	} {
		p, _ := findPoint(c.name)
		if got, err := p.command(c.v); got != c.want || err != nil {
			t.Errorf("%s %v = %q %v, want %q", c.name, c.v, got, err, c.want)
		}
	}
	p, _ := findPoint("power")
	if v, err := p.decode(11040000.0); v != 11040.0 || err != nil {
		t.Errorf("power = %v %v", v, err)
	}
	if _, err := p.decode("lots"); err == nil {
		t.Error("text accepted for power")
	}
}
