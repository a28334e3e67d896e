package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/roam-sh/roam/testutil"
)

// browserWait bounds how long a page may take to show what a test expects.
const browserWait = 20 * time.Second

// browser is a headless Chromium tab on an agent's UI (Debian's chromium,
// driven by chromedp). It records what the page's scripts threw and what
// the Content-Security-Policy refused; check fails the test on either.
type browser struct {
	t    testing.TB
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string
}

// chromiumPath finds Debian's chromium, or skips: scripts/test-setup.sh
// installs it.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (scripts/test-setup.sh installs it): the UI's browser tests need it")
	return ""
}

// newBrowser starts Chromium at width x height on the agent at base.
func newBrowser(t testing.TB, base string, width, height int) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.note("uncaught exception: " + (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == "error" {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.note("console.error: " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			// Content-Security-Policy refusals are reported here.
			if e.Entry.Source == "security" {
				b.note("security: " + e.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

func (b *browser) note(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, p)
}

// check fails the test on any script error seen so far.
func (b *browser) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("in the page: %s", p)
	}
	b.problems = nil
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open loads a UI path and waits until the page has shown its data.
func (b *browser) open(path string) {
	b.t.Helper()
	// Chromium abandons a navigation when the host's interfaces change
	// (other tests create namespaces and bridges): try again then.
	testutil.WaitFor(b.t, browserWait, func() error {
		ctx, cancel := context.WithTimeout(b.ctx, browserWait)
		defer cancel()
		err := chromedp.Do(ctx, chromedp.Navigate(b.base+path))
		if err != nil && !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
			b.t.Fatalf("open %s: %v", path, err)
		}
		return err
	})
	testutil.WaitFor(b.t, browserWait, func() error {
		ready, err := eval[bool](b, `!!document.querySelector("main[data-ready]")`)
		if err != nil || !ready {
			main := b.text("main")
			b.mu.Lock()
			defer b.mu.Unlock()
			return fmt.Errorf("%s not ready (%v): main shows %q; page problems: %q", path, err, clip(main), b.problems)
		}
		return nil
	})
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// text is the visible text of the first element matching sel ("" if none).
func (b *browser) text(sel string) string {
	s, err := eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// waitText waits until the element sel shows every one of want.
func (b *browser) waitText(sel string, want ...string) {
	b.t.Helper()
	testutil.WaitFor(b.t, browserWait, func() error {
		got := b.text(sel)
		for _, w := range want {
			if !strings.Contains(got, w) {
				return fmt.Errorf("%s shows %q, want %q in it", sel, clip(got), w)
			}
		}
		return nil
	})
}

// click clicks the first element matching sel, once it is there and
// enabled. It clicks from the page's script: live pages redraw, and a
// protocol-level click can land on a node just replaced.
func (b *browser) click(sel string) {
	b.t.Helper()
	testutil.WaitFor(b.t, browserWait, func() error {
		ok, err := eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e || e.disabled) return false; e.click(); return true })()`, sel))
		if err != nil || !ok {
			return fmt.Errorf("no enabled %s to click (%v)", sel, err)
		}
		return nil
	})
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// attr is an attribute of the first element matching sel.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	s, err := eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute(%q) || ""`, sel, name))
	if err != nil {
		b.t.Fatalf("read %s[%s]: %v", sel, name, err)
	}
	return s
}

// setValue replaces the value of the input or textarea sel, as typing
// would (an input event follows).
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %s; e.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, sel, jsString(value))
	if _, err := eval[bool](b, js); err != nil {
		b.t.Fatalf("set %s: %v", sel, err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
