package ui_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// TestScreenshots writes screenshots of the main pages to the directory in
// ROAM_UI_SCREENSHOTS (make ui-screenshots: docs/ui/), for docs/ui.md. It
// is skipped otherwise; the other tests check the same pages.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("ROAM_UI_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ROAM_UI_SCREENSHOTS to a directory (make ui-screenshots) to write the UI's screenshots")
	}
	chromiumPath(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	la := apitest.StartLiveAgent(t, nil)
	web := la.RunJob(t, webJob, structs.TaskStateRunning)
	broken := la.RunJob(t, brokenJob, structs.TaskStateDead)
	b := newBrowser(t, la.URL, 1280, 860)
	shot := func(name string) {
		t.Helper()
		ctx := b.ctx
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pages := []struct{ name, path, want string }{
		{"jobs", "/ui/jobs", "1 failed"},
		{"job", "/ui/jobs/web", "Version 0"},
		{"job-failed", "/ui/jobs/broken", "migrate: Terminated (Exit Code: 3)"},
		{"alloc-failed", "/ui/allocations/" + broken.ID, "Exit Code: 3"},
		{"logs", "/ui/allocations/" + web.ID + "/logs?task=server&origin=start", "tick 2"},
		{"file", "/ui/allocations/" + web.ID + "/fs/server/local/app.py", "def greet"},
		{"clients", "/ui/clients", "raw_exec"},
		{"servers", "/ui/servers", "leader"},
	}
	for _, p := range pages {
		b.open(p.path)
		b.waitText("main", p.want)
		shot(p.name)
	}
	b.open("/ui/allocations/" + web.ID + "/exec")
	b.click("#exec-connect")
	b.waitText("#exec-status", "Connected")
	b.run(chromedp.Focus(chromedp.CSS("#terminal")), chromedp.KeyEvent("ls local\r"))
	b.waitText("#terminal", "app.py")
	shot("exec")
	b.open("/ui/run")
	b.setValue("#job-source", strings.Replace(webJob, "cpu    = 100", "cpu    = 200", 1))
	b.click("#plan")
	b.waitText("#run-result", "Plan for job web")
	if _, err := eval[bool](b, `(document.querySelector("#run-result").scrollIntoView(), true)`); err != nil {
		t.Fatal(err)
	}
	shot("run-plan")

	// The dark theme (the system's preference) and a phone's width.
	b.setColorScheme("dark")
	b.open("/ui/allocations/" + web.ID + "/fs/server/local/app.py")
	b.waitText("main", "def greet")
	shot("file-dark")
	b.setColorScheme("light")
	b.run(chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(1)))
	b.open("/ui/allocations/" + broken.ID)
	b.waitText("main", "Exit Code: 3")
	shot("alloc-failed-phone")
	b.run(chromedp.EmulateViewport(1280, 860, chromedp.EmulateScale(1)))

	// A roll-out waiting for its canary's promotion, and a periodic job
	// with a child: made after the pages above, which they would change.
	c := la.Client(t)
	la.RunJob(t, fmt.Sprintf(rolloutJob, 0), structs.TaskStateRunning)
	setHealthy(t, c, latestDeployment(t, c, "rollout", 0))
	register(t, c, fmt.Sprintf(rolloutJob, 1))
	setHealthy(t, c, latestDeployment(t, c, "rollout", 1))
	b.open("/ui/jobs/rollout")
	b.waitText("#deployment", "waiting for promotion", "1/1")
	if _, err := eval[bool](b, `(document.querySelector("#sec-latest-deployment").scrollIntoView(), true)`); err != nil {
		t.Fatal(err)
	}
	shot("deployment")
	register(t, c, periodicJob)
	if _, _, err := c.Jobs().PeriodicForce("nightly", nil); err != nil {
		t.Fatal(err)
	}
	b.open("/ui/jobs/nightly")
	b.waitText("#children", "nightly/periodic-", "dead")
	shot("periodic")
	b.check()
}
