package sim

import "fmt"

// AddLoad puts the wallbox simulator w behind the grid meter simulator s
// (janitza-umg96rm): from the meter's next step on, its phase powers and
// currents include what the wallbox draws, so a load management test sees
// a site whose meter follows the chargers.
func (s *Server) AddLoad(w *Server) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.dev.(*janitza)
	if !ok {
		return fmt.Errorf("simulator %s is not a grid meter (janitza-umg96rm)", s.name)
	}
	if _, ok := w.dev.(*wallboxDev); !ok {
		return fmt.Errorf("simulator %s is not a wallbox (wallbox-sim)", w.name)
	}
	j.loads = append(j.loads, func() [3]float64 {
		w.mu.Lock() // lock order: meter, then wallbox; a wallbox never locks a meter
		defer w.mu.Unlock()
		return w.dev.(*wallboxDev).Currents()
	})
	return nil
}
