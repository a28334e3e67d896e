package ui_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestLogsFollow: the logs page shows a task's stdout from the start and
// keeps showing new lines as the task prints them; stderr is one click away.
func TestLogsFollow(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, webJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/allocations/" + alloc.ID + "/logs?task=server&origin=start")
	b.waitText("#log-output", "tick 1\n")
	first := strings.Count(b.text("#log-output"), "tick ")
	// Following: lines printed after the page opened arrive without a reload.
	b.waitText("#log-output", fmt.Sprintf("tick %d\n", first+2))
	if got := b.text("#log-output"); strings.Contains(got, "warn") {
		t.Errorf("stdout shows stderr's lines: %q", clip(got))
	}
	b.click(`input[name="log-type"][value="stderr"]`)
	b.waitText("#log-output", "warn ")
	b.check()
}

// TestFileExplorer: a task's directory is listed without secrets/ (which
// the API refuses anyway), a source file the task wrote is shown with
// line numbers and highlighting, and a PNG it wrote is rendered as an
// image, with a raw download link.
func TestFileExplorer(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, webJob, structs.TaskStateRunning)
	waitFile(t, la, alloc.ID, "server/local/dot.png")
	b := newBrowser(t, la.URL, 1280, 900)

	b.open("/ui/allocations/" + alloc.ID + "/fs/server")
	b.waitText("main", "local/", "tmp/")
	if got := b.text("main table"); strings.Contains(got, "secrets") || strings.Contains(got, "private") {
		t.Errorf("the task's listing shows secrets/ or private/: %q", got)
	}
	b.open("/ui/allocations/" + alloc.ID + "/fs/server/local")
	b.waitText("main table", "app.py", "dot.png")
	b.click(`a[href$="/local/app.py"]`)
	b.waitText(".code", "def greet(name):")
	var got struct {
		Lines    int
		Keywords []string
		Strings  []string
		Lang     string
	}
	testutil.WaitFor(t, browserWait, func() error {
		var err error
		got, err = eval[struct {
			Lines    int
			Keywords []string
			Strings  []string
			Lang     string
		}](b, `({Lines: document.querySelectorAll(".code li").length,
		  Keywords: [...document.querySelectorAll(".code .tok-k")].map(e => e.textContent),
		  Strings: [...document.querySelectorAll(".code .tok-s")].map(e => e.textContent),
		  Lang: document.querySelector(".code").dataset.lang})`)
		return err
	})
	if got.Lang != "py" || got.Lines < 3 || !contains(got.Keywords, "def") || !contains(got.Keywords, "return") || !contains(got.Strings, `"hello "`) {
		t.Errorf("app.py shown as %+v, want Python with numbered lines, def/return as keywords and the string highlighted", got)
	}

	b.open("/ui/allocations/" + alloc.ID + "/fs/server/local/dot.png")
	testutil.WaitFor(t, browserWait, func() error {
		w, err := eval[int](b, `(() => { const i = document.querySelector(".media img"); return i && i.complete ? i.naturalWidth : 0 })()`)
		if err != nil || w != 1 {
			return fmt.Errorf("image not rendered (natural width %d, %v)", w, err)
		}
		return nil
	})
	b.waitText("#media-caption", "dot.png: 1 × 1 px")
	href := b.attr("#raw-link", "href")
	if !strings.HasPrefix(href, "/v1/client/fs/cat/"+alloc.ID) || !strings.Contains(href, url.QueryEscape("server/local/dot.png")) {
		t.Errorf("raw link %q", href)
	}

	// A binary file is offered as a download, not shown.
	b.open("/ui/allocations/" + alloc.ID + "/fs/server/local/blob.bin")
	b.waitText("main .note", "download it to look inside")
	if n, _ := eval[int](b, `document.querySelectorAll(".code, .media").length`); n != 0 {
		t.Error("a binary file was shown in the page")
	}
	if href := b.attr("#raw-link", "href"); !strings.Contains(href, url.QueryEscape("server/local/blob.bin")) {
		t.Errorf("blob.bin's download link is %q", href)
	}

	// A path into secrets/ shows the API's refusal, not the file.
	b.open("/ui/allocations/" + alloc.ID + "/fs/server/secrets/token")
	b.waitText("main", "Reading server/secrets/token")
	if strings.Contains(b.text("main"), "TOPSECRET") {
		t.Error("the explorer showed a file in secrets/")
	}
	// Nor is private/ listed when asked for by its address.
	b.open("/ui/allocations/" + alloc.ID + "/fs/server/private")
	b.waitText("main", "not accessible through the API")
	b.open("/ui/allocations/" + alloc.ID + "/fs/server/secrets")
	b.waitText("main", "not accessible through the API")
	if strings.Contains(b.text("main"), "token") {
		t.Error("the explorer listed secrets/")
	}
	b.check()
}

// TestExec: the terminal runs a shell in the task; what is typed is
// echoed back with the command's output, and the exit code is shown.
func TestExec(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, webJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/allocations/" + alloc.ID + "/exec")
	b.click("#exec-connect")
	b.waitText("#exec-status", "Connected to server")
	b.run(chromedp.Focus(chromedp.CSS("#terminal")), chromedp.KeyEvent("echo ui-$((6*7))\r"))
	b.waitText("#terminal", "ui-42")
	// The shell's terminal has the size drawn, and follows the window's.
	wide := ttySize(b, "wide")
	b.run(chromedp.EmulateViewport(640, 700, chromedp.EmulateScale(1)))
	narrow := ttySize(b, "narrow")
	if narrow[1] >= wide[1] || narrow[0] >= wide[0] {
		t.Errorf("the terminal was %v (rows, columns) at 1280x900 and %v at 640x700: its size did not follow the window", wide, narrow)
	}
	b.run(chromedp.KeyEvent("exit 3\r"))
	b.waitText("#exec-status", "exited with code 3")
	b.check()
}

// ttySize runs stty size in the terminal and returns what it printed
// (rows, columns), after a marker naming the call.
func ttySize(b *browser, mark string) [2]int {
	b.t.Helper()
	b.run(chromedp.KeyEvent("echo size-" + mark + " $(stty size)\r"))
	var got [2]int
	testutil.WaitFor(b.t, browserWait, func() error {
		re := regexp.MustCompile(`size-` + mark + ` (\d+) (\d+)`)
		m := re.FindStringSubmatch(b.text("#terminal"))
		if m == nil {
			return fmt.Errorf("no size-%s line on the terminal yet", mark)
		}
		got[0], _ = strconv.Atoi(m[1])
		got[1], _ = strconv.Atoi(m[2])
		return nil
	})
	return got
}

// TestRunJob: a job typed into the editor with a mistake shows the
// mistake's line and column; fixed, it plans (the diff names the new
// task group) and runs, and the page that follows is the job's.
func TestRunJob(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/run")
	bad := strings.Replace(webJob, `driver = "raw_exec"`, `driver = "raw_exec"`+"\n      bogus = 1", 1)
	b.setValue("#job-source", strings.Replace(bad, `job "web"`, `job "typed"`, 1))
	b.click("#plan")
	// The mistake's line and column, and the editor marks that line.
	b.waitText("#run-result", "Line 7, column 7", `An argument named "bogus" is not expected here`)
	if got := b.attr("#job-source", "data-bad-line"); got != "7" {
		t.Errorf("the editor marks line %q, want 7", got)
	}
	b.setValue("#job-source", strings.Replace(webJob, `job "web"`, `job "typed"`, 1))
	b.click("#plan")
	b.waitText("#run-result", "Plan for job typed", `Task Group: "frontend"`, "1 place", "Every task group can be placed")
	b.click("#run")
	testutil.WaitFor(t, browserWait, func() error {
		loc, err := eval[string](b, "location.pathname")
		if err != nil || loc != "/ui/jobs/typed" {
			return fmt.Errorf("at %q (%v), want the job's page", loc, err)
		}
		return nil
	})
	la.WaitAlloc(t, "typed", func(a *api.Allocation) error {
		if a.ClientStatus != "running" {
			return fmt.Errorf("allocation %s", a.ClientStatus)
		}
		return nil
	})
	b.waitText("main", "running", "frontend")
	b.check()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitFile waits until the allocation's file exists (the task wrote it).
func waitFile(t *testing.T, la *apitest.LiveAgent, allocID, path string) {
	t.Helper()
	c := la.Client(t)
	testutil.WaitFor(t, apitest.Wait, func() error {
		_, err := c.AllocFS().Stat(allocID, path, nil)
		return err
	})
}
