// Command uimem measures the web UI in headless Chromium against `gridbox
// demo`: page weight, first contentful paint of the overview, and the
// browser's JavaScript heap and DOM size at the start and after a run of
// live updates (default 10 minutes), for the overview and the datapoints
// table, each in its own browser. Printed side by side.
//
//	go run ./bench/uimem [-duration 10m] [-chromium /usr/bin/chromium]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gridbox/gridbox/api"
)

// sample is one tab's memory at one moment.
type sample struct {
	heapUsed, heapTotal float64 // JS heap after a forced collection, bytes
	nodes, listeners    float64 // DOM nodes and JS event listeners
}

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long the pages take live updates")
	chromium := flag.String("chromium", "/usr/bin/chromium", "the browser")
	flag.Parse()
	if err := run(*duration, *chromium); err != nil {
		fmt.Fprintln(os.Stderr, "uimem:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, chromium string) error {
	base, stop, err := startDemo()
	if err != nil {
		return err
	}
	defer stop()
	overview, stop1, err := startBrowser(chromium)
	if err != nil {
		return err
	}
	defer stop1()
	points, stop2, err := startBrowser(chromium) // a browser of its own: the heaps do not mix
	if err != nil {
		return err
	}
	defer stop2()

	if err := open(overview, base+"/", `[...document.querySelectorAll("#flow .node.pv b")].some(b => /W$/.test(b.textContent))`); err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	fcp, err := chromedp.Run(overview, chromedp.Evaluate[float64](`(performance.getEntriesByName("first-contentful-paint")[0] || {startTime: -1}).startTime`))
	if err != nil {
		return err
	}
	transferred, err := chromedp.Run(overview, chromedp.Evaluate[float64](`performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
		.filter(e => !e.name.includes("/api/")).reduce((s, e) => s + e.transferSize, 0)`))
	if err != nil {
		return err
	}
	if err := open(points, base+"/#/datapoints", `document.querySelectorAll("#points td[data-value]").length > 10`); err != nil {
		return fmt.Errorf("datapoints: %w", err)
	}
	time.Sleep(10 * time.Second) // let both pages settle
	s0o, err := measure(overview)
	if err != nil {
		return err
	}
	s0p, err := measure(points)
	if err != nil {
		return err
	}
	fmt.Printf("live updates for %s …\n", duration)
	time.Sleep(duration)
	s1o, err := measure(overview)
	if err != nil {
		return err
	}
	s1p, err := measure(points)
	if err != nil {
		return err
	}
	_, gz, err := api.PageWeight()
	if err != nil {
		return err
	}
	fmt.Printf("web UI against gridbox demo (3 devices, 1 s polls), headless Chromium\n")
	fmt.Printf("  page weight: %.1f kB gzip-compressed (embedded files), %.1f kB transferred for the overview (limit 300 kB)\n", float64(gz)/1024, transferred/1024)
	fmt.Printf("  first contentful paint of the overview: %.0f ms (limit 1000 ms)\n", fcp)
	fmt.Printf("  %-22s %14s %14s %10s %10s\n", "JS heap used (after GC)", "start", "after "+duration.String(), "DOM nodes", "listeners")
	for _, r := range []struct {
		name   string
		s0, s1 sample
	}{{"overview", s0o, s1o}, {"datapoints table", s0p, s1p}} {
		fmt.Printf("  %-22s %11.2f MB %11.2f MB %4.0f→%-5.0f %4.0f→%-5.0f\n", r.name, r.s0.heapUsed/1e6, r.s1.heapUsed/1e6, r.s0.nodes, r.s1.nodes, r.s0.listeners, r.s1.listeners)
	}
	return nil
}

// startBrowser starts a headless Chromium with one tab.
func startBrowser(chromium string) (context.Context, func(), error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	stop := func() { cancel(); cancelA() }
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("start chromium: %w", err)
	}
	return ctx, stop, nil
}

// open navigates a tab and waits for a condition.
func open(ctx context.Context, url, ready string) error {
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		return err
	}
	for {
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](ready))
		if err == nil && ok {
			return nil
		}
		select {
		case <-tctx.Done():
			return fmt.Errorf("waiting for %s: %w", ready, tctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// measure forces a garbage collection and reads the tab's heap and DOM size.
func measure(ctx context.Context) (sample, error) {
	var s sample
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return err
		}
		h, err := cdp.Call(ctx, tg, runtime.GetHeapUsage, cdp.Empty{})
		if err != nil {
			return err
		}
		s.heapUsed, s.heapTotal = h.UsedSize, h.TotalSize
		if _, err := cdp.Call(ctx, tg, performance.Enable, performance.EnableParams{}); err != nil {
			return err
		}
		m, err := cdp.Call(ctx, tg, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			return err
		}
		for _, x := range m.Metrics {
			switch x.Name {
			case "Nodes":
				s.nodes = x.Value
			case "JSEventListeners":
				s.listeners = x.Value
			}
		}
		return nil
	}))
	return s, err
}

// startDemo builds gridbox and runs `gridbox demo` on free ports; it
// answers the web UI's URL.
func startDemo() (string, func(), error) {
	dir, err := os.MkdirTemp("", "uimem-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "gridbox")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/gridbox").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "demo", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--log-level", "warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait(); os.RemoveAll(dir) }
	re := regexp.MustCompile(`web UI\s+(http://\S+)/`)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go func() { // keep draining the demo's output
				for sc.Scan() {
				}
			}()
			return m[1], stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("gridbox demo printed no web UI address")
}
