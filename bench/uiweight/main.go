// Command uiweight prints the web UI's page weight: every file the page
// loads, raw and gzip-compressed as the gateway serves it.
//
//	go run ./bench/uiweight
package main

import (
	"fmt"
	"os"

	"github.com/gridbox/gridbox/api"
)

func main() {
	raw, gz, err := api.PageWeight()
	if err != nil {
		fmt.Fprintln(os.Stderr, "uiweight:", err)
		os.Exit(1)
	}
	fmt.Printf("web UI page weight: %d bytes raw, %d bytes gzip-compressed (%.1f kB; limit 300 kB)\n", raw, gz, float64(gz)/1024)
}
