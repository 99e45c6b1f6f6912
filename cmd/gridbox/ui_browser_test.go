package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/gridbox/gridbox/internal/testenv"
)

// browser is one headless Chromium tab of a web UI test, with the test's
// steps: each fails the test with the page's text when it goes wrong.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string // the gateway's URL
	shots string // where screenshots go
}

// newBrowser starts headless Chromium (a failure in CI when it is missing).
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	chromium := testenv.Tool(t, "chromium") // skipped locally without it, a failure in CI
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	if err := chromedp.Do(bctx); err != nil { // the first call starts the browser: no timeout on it
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: bctx, base: base, shots: artifacts(t)}
}

// run does the actions within a minute.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s: %v\npage:\n%s", what, err, text)
	}
}

// eval runs JavaScript in the page.
func (b *browser) eval(js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js)); err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
}

// str evaluates a JavaScript expression to a string.
func (b *browser) str(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return s
}

// media emulates the user's colour scheme.
func (b *browser) media(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// shot saves a screenshot of the whole page as name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// eventually polls a JavaScript condition in the page.
func (b *browser) eventually(what, js string) {
	b.t.Helper()
	defer func() {
		if b.t.Failed() {
			text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify(window.__errs) + "\n" + document.body.innerText.slice(0, 600)`))
			b.t.Logf("page (%v):\n%s", err, text)
		}
	}()
	testenv.Eventually(b.t, 60*time.Second, what, func() bool {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
		return err == nil && ok
	})
}

// choose sets a select's value as a user's choice does (with its change event).
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	b.eval(`(() => { const s = document.querySelector(` + jsString(sel) + `); s.value = ` + jsString(value) +
		`; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`)
}

// fill replaces an input's text as typing does.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.eval(`(() => { const s = document.querySelector(` + jsString(sel) + `); s.value = ""; s.dispatchEvent(new Event("input", {bubbles: true})); return true })()`)
	if value != "" {
		b.run("type into "+sel, chromedp.SendKeys(sel, value))
	}
}

// login logs in through the form.
func (b *browser) login(name, password string) {
	b.t.Helper()
	b.run("log in as "+name, chromedp.WaitVisible(`form.login`), chromedp.SendKeys(`input[name=name]`, name), chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form.login button[type=submit]`), chromedp.WaitVisible(`#logout`))
}
