package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"strings"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core (testdata/axe, a test-only asset: the gateway
// never serves it), read once per test binary.
func axeSource(b *browser) string {
	b.t.Helper()
	f, err := os.Open("testdata/axe/axe.min.js.gz")
	if err != nil {
		b.t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.t.Fatal(err)
	}
	src, err := io.ReadAll(zr)
	if err != nil {
		b.t.Fatal(err)
	}
	return string(src)
}

// axeRun runs the WCAG 2.1 A/AA rules on the page and answers the violations.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations", "passes"]})
  .then(r => JSON.stringify({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + ": " + (n.failureSummary || "").split("\n").slice(1, 2).join(""))}))}))`

type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// audit checks the page with axe-core in the light and the dark theme and
// fails the test for every violation.
func (b *browser) audit(page string) {
	b.t.Helper()
	src := axeSource(b)
	for _, theme := range []string{"light", "dark"} {
		b.eval(`document.documentElement.dataset.theme = "` + theme + `"; true`)
		if b.str(`String(typeof window.axe)`) == "undefined" {
			b.eval(src + "; true")
		}
		out := b.str(axeRun)
		var res struct {
			Passes     int
			Violations []axeViolation
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Passes == 0 {
			b.t.Fatalf("axe on %s: %v: %s", page, err, out)
		}
		for _, v := range res.Violations {
			b.t.Errorf("accessibility, %s (%s theme): %s (%s, %s): %s", page, theme, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "; "))
		}
	}
	b.eval(`delete document.documentElement.dataset.theme; true`)
}

// keyboard tabs through the first n focusable elements of the page and
// fails for one without a visible focus indicator.
func (b *browser) keyboard(page string, n int) {
	b.t.Helper()
	b.eval(`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); true`)
	seen := map[string]bool{}
	for range n {
		b.run("tab", chromedp.KeyEvent(kb.Tab))
		got := b.str(`(() => { const e = document.activeElement; if (!e || e === document.body) return "none";
			const s = getComputedStyle(e); const id = e.tagName + (e.id ? "#" + e.id : "") + " " + (e.textContent || e.name || "").trim().slice(0, 20);
			return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2 ? "ok " : "invisible ") + id })()`)
		if strings.HasPrefix(got, "invisible ") {
			b.t.Errorf("keyboard, %s: focus on %s is not visible", page, strings.TrimPrefix(got, "invisible "))
		}
		seen[got] = true
	}
	if len(seen) < n/2 {
		b.t.Errorf("keyboard, %s: Tab reached only %d elements: %v", page, len(seen), seen)
	}
}

// responsive takes 360 px wide screenshots in the dark and the light theme
// and fails when the page is wider than the screen.
func (b *browser) responsive(page string) {
	b.t.Helper()
	for _, scheme := range []string{"dark", "light"} {
		b.run("360 px "+scheme, chromedp.EmulateViewport(360, 780), b.media(scheme))
		b.eventually(page+" fits 360 px", `document.documentElement.scrollWidth <= 360`)
		b.shot(page + "-360-" + scheme)
	}
	b.run("wide light", chromedp.EmulateViewport(1280, 900), b.media("light"))
}
