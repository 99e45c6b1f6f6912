package control

import "fmt"

// SetItems implements sink.Controls: what is "setpoint" or "schedule".
func (c *Controller) SetItems(device, name, what string, items []byte, ts int64) error {
	switch what {
	case "setpoint":
		return c.SetSetpoint(device, name, items, ts)
	case "schedule":
		return c.SetSchedule(device, name, items, ts)
	}
	return fmt.Errorf("control: %q is neither setpoint nor schedule", what)
}

// Items implements sink.Controls.
func (c *Controller) Items(device, name, what string) (any, error) {
	switch what {
	case "setpoint":
		return c.Setpoint(device, name)
	case "schedule":
		return c.Schedule(device, name)
	}
	return nil, fmt.Errorf("control: %q is neither setpoint nor schedule", what)
}

// ControlState implements sink.Controls.
func (c *Controller) ControlState(device, name string) (any, error) { return c.State(device, name) }
