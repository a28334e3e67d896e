package ui_test

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// axeSource is axe-core (MPL-2.0), loaded only by this test; see
// testdata/axe/README.md for where it came from.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is what axe-core reports for one failed rule.
type axeViolation struct {
	ID    string
	Help  string
	Nodes []struct {
		Target  []string
		Failure string `json:"failureSummary"`
	}
}

// axeRun runs axe-core over the page for WCAG 2.0/2.1 A and AA.
const axeRun = `(async () => {
  if (!window.axe) { (0, eval)(%s); }
  const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]});
  return r.violations.map(v => ({ID: v.id, Help: v.help, Nodes: v.nodes.slice(0, 5).map(n => ({Target: n.target, failureSummary: n.failureSummary}))}));
})()`

// setColorScheme emulates prefers-color-scheme.
func (b *browser) setColorScheme(scheme string) {
	b.t.Helper()
	b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	}))
}

// axe reports the page's accessibility violations as readable lines.
func (b *browser) axe() []string {
	b.t.Helper()
	vs, err := eval[[]axeViolation](b, fmt.Sprintf(axeRun, jsString(axeSource)))
	if err != nil {
		b.t.Fatalf("run axe-core: %v", err)
	}
	var out []string
	for _, v := range vs {
		for _, n := range v.Nodes {
			out = append(out, fmt.Sprintf("%s (%s) at %s: %s", v.ID, v.Help, strings.Join(n.Target, " "), strings.ReplaceAll(n.Failure, "\n", " ")))
		}
	}
	return out
}

// qualityFixture runs what the quality checks look at: a running job
// that prints and writes files, a job whose task failed, and a job no node
// can take (an evaluation with placement failures).
type qualityFixture struct {
	alloc, broken *api.Allocation
	evalID        string
}

func startQualityFixture(t *testing.T, la *apitest.LiveAgent) qualityFixture {
	t.Helper()
	f := qualityFixture{alloc: la.RunJob(t, webJob, structs.TaskStateRunning), broken: la.RunJob(t, brokenJob, structs.TaskStateDead)}
	c := la.Client(t)
	register(t, c, nowhereJob)
	testutil.WaitFor(t, apitest.Wait, func() error {
		evals, _, err := c.Jobs().Evaluations("nowhere", nil)
		for _, e := range evals {
			if len(e.FailedTGAllocs) > 0 {
				f.evalID = e.ID
				return nil
			}
		}
		return fmt.Errorf("no evaluation with placement failures yet (%v)", err)
	})
	waitFile(t, la, f.alloc.ID, "server/local/dot.png")
	return f
}

// pages are the pages the quality checks visit, with text each must show
// before it is checked (the data, not just the frame).
func (f qualityFixture) pages() []struct{ path, want string } {
	allocID := f.alloc.ID
	return []struct{ path, want string }{
		{"/ui/jobs", "web"},
		{"/ui/jobs/web", "frontend"},
		{"/ui/jobs/broken", "migrate: Terminated"},
		{"/ui/jobs/nowhere", "failed to place"},
		{"/ui/evaluations/" + f.evalID, "failed to place"},
		{"/ui/allocations/" + allocID, "Started"},
		{"/ui/allocations/" + f.broken.ID, "Why this allocation failed"},
		{"/ui/allocations/" + allocID + "/logs?task=server&origin=start", "tick 1"},
		{"/ui/allocations/" + allocID + "/fs", "alloc/"},
		{"/ui/allocations/" + allocID + "/fs/server/local", "app.py"},
		{"/ui/allocations/" + allocID + "/fs/server/local/app.py", "def greet"},
		{"/ui/allocations/" + allocID + "/fs/server/local/dot.png", "1 × 1 px"},
		{"/ui/allocations/" + allocID + "/exec", "Connect"},
		{"/ui/allocations/" + f.broken.ID + "/exec", "No task of this allocation is running"},
		{"/ui/clients", "raw_exec"},
		{"/ui/clients/" + f.alloc.NodeID, "Drivers"},
		{"/ui/servers", "leader"},
		{"/ui/run", "Plan"},
		{"/ui/run?job=web", "Edit job web"},
	}
}

// TestAccessibility: axe-core finds no WCAG 2.1 A/AA violation on any
// page, in the light and the dark theme (contrast is checked in both).
func TestAccessibility(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	f := startQualityFixture(t, la)
	b := newBrowser(t, la.URL, 1280, 900)
	// The checker itself works: an image without a text alternative and
	// grey-on-grey text are reported.
	b.open("/ui/servers")
	if _, err := eval[bool](b, `(() => { const m = document.querySelector("main");
	  m.append(Object.assign(document.createElement("img"), {src: "/ui/favicon.svg"}));
	  const p = document.createElement("p"); p.textContent = "faint"; p.style.color = "#bbb"; p.style.background = "#ccc"; m.append(p); return true })()`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.axe(), "\n"); !strings.Contains(got, "image-alt") || !strings.Contains(got, "color-contrast") {
		t.Fatalf("axe-core missed planted violations; it reported: %s", got)
	}
	for _, scheme := range []string{"light", "dark"} {
		b.setColorScheme(scheme)
		for _, p := range f.pages() {
			b.open(p.path)
			b.waitText("main", p.want)
			for _, v := range b.axe() {
				t.Errorf("%s (%s theme): %s", p.path, scheme, v)
			}
		}
	}
	b.check()
}

// TestPhoneWidth: at a phone's width (375 px, the narrowest common one) no
// page is wider than the screen: wide tables scroll inside their box, the
// page does not.
func TestPhoneWidth(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	f := startQualityFixture(t, la)
	b := newBrowser(t, la.URL, 375, 812)
	b.run(chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(1)))
	for _, p := range f.pages() {
		b.open(p.path)
		b.waitText("main", p.want)
		testutil.WaitFor(t, browserWait, func() error {
			w, err := eval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`)
			if err != nil {
				return err
			}
			if w[0] > w[1] {
				return fmt.Errorf("%s is %d px wide on a %d px screen", p.path, w[0], w[1])
			}
			return nil
		})
	}
	b.check()
}

// TestKeyboard: the main navigation and a job's allocation are reachable
// with the Tab key alone, and Enter follows the link.
func TestKeyboard(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, webJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs")
	b.waitText("main", "web")
	// Tab from the top until the job's link has focus, then Enter.
	found := false
	for i := 0; i < 30 && !found; i++ {
		b.run(chromedp.KeyEvent("\t"))
		href, err := eval[string](b, `document.activeElement.getAttribute("href") || ""`)
		if err != nil {
			t.Fatal(err)
		}
		found = href == "/ui/jobs/web"
	}
	if !found {
		t.Fatal("the job's link is not reachable with Tab")
	}
	b.run(chromedp.KeyEvent("\r"))
	b.waitText("main", "frontend", alloc.ID[:8])
	b.check()
}
