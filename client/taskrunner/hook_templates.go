package taskrunner

import (
	"context"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// templatesHook stands where template rendering will go. Templates parse
// and validate, but this client does not render them yet: rather than
// start the task silently without the files, it says so in the task's
// events, naming the destinations, once per task runner.
type templatesHook struct{ told bool }

func (h *templatesHook) Name() string { return "templates" }

// templatesNotRendered is the event's message; the destinations follow.
const templatesNotRendered = "template blocks are not rendered by this version of roam; the task starts without "

func (h *templatesHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if h.told || len(req.Task.Templates) == 0 {
		return nil
	}
	h.told = true
	var dests []string
	for _, t := range req.Task.Templates {
		dests = append(dests, t.DestPath)
	}
	ev := structs.NewTaskEvent(structs.TaskHookMessage)
	ev.Message = templatesNotRendered + strings.Join(dests, ", ")
	resp.Events = append(resp.Events, ev)
	return nil
}
