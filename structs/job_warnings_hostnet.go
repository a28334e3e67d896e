package structs

// warnHostNetwork tells the submitter that a task isolated in every other
// way shares the node's network namespace, as in Nomad when a group has no
// network block: nothing in the job file says so, and from there the task
// reaches whatever listens on the node's loopback (the agent's HTTP API
// and RPC ports among them) and may listen on any port of the node.
const warnHostNetwork = "shares the node's network namespace (the group has no network block, or mode \"host\"): " +
	"it can reach every service on the node's loopback, the agent's HTTP API and RPC among them, and listen on any port of the node; " +
	"use network { mode = \"bridge\" } to give the group a namespace of its own (docs/security.md)"

// sharesHostNetwork reports whether the task joins the node's namespace in
// a group without one of its own. exec and java tasks do; docker tasks sit
// on Docker's bridge unless the job asks for network_mode = "host" (or the
// operator's host_network_mode = "auto" puts them there, which a job cannot
// see). raw_exec is not listed: it isolates nothing, and only an operator
// who enabled it can run it.
func (t *Task) sharesHostNetwork() bool {
	switch t.Driver {
	case "exec", "java":
		return true
	case "docker":
		mode, _ := t.Config["network_mode"].(string)
		return mode == "host"
	}
	return false
}

func (tg *TaskGroup) warnHostNetwork(p problems) {
	if tg.NetworkMode().Isolated() {
		return
	}
	for _, t := range tg.Tasks {
		if t != nil && t.sharesHostNetwork() {
			p.in("Task %q", t.Name).addf(warnHostNetwork)
		}
	}
}
