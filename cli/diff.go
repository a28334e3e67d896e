package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/roam-sh/roam/api"
)

// Rendering of job diffs for `job plan` and `job history -p`:
//
//	+/- Job: "web"
//	+/- Task Group: "web" (1 create/destroy update)
//	  +/- Task: "server" (forces create/destroy update)
//	    +/- Config {
//	      +/- args[0]: "8080" => "8081"
//	        }
//
// A marker says what happened: + added, - deleted, +/- edited.

func diffMarker(typ string) string {
	switch typ {
	case "Added":
		return "+"
	case "Deleted":
		return "-"
	case "Edited":
		return "+/-"
	}
	return " "
}

// showDetail reports whether the fields of a job, group or task diff are
// shown: only for edits, since an added or removed object is summed up by
// its header line (verbose shows everything).
func showDetail(typ string, verbose bool) bool { return verbose || typ == "Edited" }

// formatJobDiff renders a job diff; verbose also shows unchanged fields.
func formatJobDiff(d *api.JobDiff, verbose bool) string {
	if d == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s Job: %q\n", diffMarker(d.Type), d.ID)
	if showDetail(d.Type, verbose) {
		writeFields(&b, d.Fields, "", verbose)
		writeObjects(&b, d.Objects, "", verbose)
	}
	for _, tg := range d.TaskGroups {
		if tg.Type == "None" && !verbose {
			continue
		}
		writeGroupDiff(&b, tg, verbose)
	}
	return b.String()
}

func writeGroupDiff(b *strings.Builder, tg *api.TaskGroupDiff, verbose bool) {
	fmt.Fprintf(b, "%s Task Group: %q%s\n", diffMarker(tg.Type), tg.Name, groupUpdates(tg.Updates))
	if showDetail(tg.Type, verbose) {
		writeFields(b, tg.Fields, "  ", verbose)
		writeObjects(b, tg.Objects, "  ", verbose)
	}
	for _, t := range tg.Tasks {
		if t.Type == "None" && !verbose {
			continue
		}
		ann := ""
		if len(t.Annotations) > 0 {
			ann = " (" + strings.Join(t.Annotations, ", ") + ")"
		}
		fmt.Fprintf(b, "  %s Task: %q%s\n", diffMarker(t.Type), t.Name, ann)
		if showDetail(t.Type, verbose) {
			writeFields(b, t.Fields, "    ", verbose)
			writeObjects(b, t.Objects, "    ", verbose)
		}
	}
}

// updateOrder is the order counts of a group's planned changes are listed in.
var updateOrder = []string{"create", "create/destroy update", "destroy", "migrate", "in-place update", "canary", "ignore"}

// groupUpdates renders " (1 create, 2 ignore)" from a group diff's counts.
func groupUpdates(u map[string]uint64) string {
	if len(u) == 0 {
		return ""
	}
	var parts []string
	seen := map[string]bool{}
	for _, k := range updateOrder {
		if n := u[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
		seen[k] = true
	}
	for _, k := range sortedKeys(u) {
		if !seen[k] && u[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", u[k], k))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func writeFields(b *strings.Builder, fields []*api.FieldDiff, indent string, verbose bool) {
	fields = append([]*api.FieldDiff(nil), fields...)
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	for _, f := range fields {
		if f.Type == "None" && !verbose {
			continue
		}
		fmt.Fprintf(b, "%s  %s %s: %s", indent, diffMarker(f.Type), f.Name, fieldValue(f))
		if len(f.Annotations) > 0 {
			fmt.Fprintf(b, " (%s)", strings.Join(f.Annotations, ", "))
		}
		b.WriteByte('\n')
	}
}

func fieldValue(f *api.FieldDiff) string {
	switch f.Type {
	case "Added":
		return fmt.Sprintf("%q", f.New)
	case "Deleted":
		return fmt.Sprintf("%q", f.Old)
	case "Edited":
		return fmt.Sprintf("%q => %q", f.Old, f.New)
	}
	return fmt.Sprintf("%q", f.New)
}

func writeObjects(b *strings.Builder, objs []*api.ObjectDiff, indent string, verbose bool) {
	for _, o := range objs {
		if o.Type == "None" && !verbose {
			continue
		}
		fmt.Fprintf(b, "%s  %s %s {\n", indent, diffMarker(o.Type), o.Name)
		writeFields(b, o.Fields, indent+"  ", verbose)
		writeObjects(b, o.Objects, indent+"  ", verbose)
		fmt.Fprintf(b, "%s    }\n", indent)
	}
}
