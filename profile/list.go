package profile

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteList prints profiles for `gridbox profiles`: each profile's name,
// driver, description and sign convention, then an aligned datapoint table.
func WriteList(w io.Writer, sums []Summary) {
	for i, s := range sums {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (driver %s)\n", s.Name, s.Driver)
		if s.Description != "" {
			fmt.Fprintf(w, "  %s\n", s.Description)
		}
		if s.Sign != "" {
			fmt.Fprintf(w, "  sign: %s\n", s.Sign)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  DATAPOINT\tKIND\tUNIT\tROLE\tDESCRIPTION")
		for _, d := range s.Datapoints {
			desc := d.Description
			if d.Detect != "" {
				desc = "(when " + d.Detect + " detected) " + desc
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", d.Name, d.Kind, dash(d.Unit), dash(d.Role), desc)
		}
		tw.Flush()
	}
}

// dash shows an empty cell as "-" so columns stay readable.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
