package roam_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// miniLayers is a small layers file for the cases below: the real file's
// shapes (a sub-part, a planned part, a code-only rule) on a few packages.
const miniLayers = `{
  "test_support": ["testutil"],
  "parts": [
    {"part": "structs", "says": "domain types", "uses": [], "why": "domain types depend on nothing of ours"},
    {"part": "state", "says": "store", "uses": ["structs"], "why": "the store knows only the domain types"},
    {"part": "scheduler", "says": "pure", "uses": ["structs"], "why": "the scheduler is pure",
     "test_uses": ["scheduler/schedtest"], "tests_why": "tests run over the harness"},
    {"part": "scheduler/schedtest", "says": "harness", "uses": ["scheduler", "state", "structs"], "why": "the harness meets a store"},
    {"part": "client", "says": "node", "uses": ["netns", "structs"], "why": "the client reaches servers only over RPC"},
    {"part": "netns", "says": "host", "uses": [], "why": "host networking knows nothing of ours"},
    {"part": "server", "says": "raft", "uses": ["scheduler", "state", "structs"], "why": "servers never run tasks"},
    {"part": "cli", "says": "cli", "uses": ["structs"], "why": "the CLI speaks HTTP",
     "test_uses": ["server"], "tests_why": "tests run a live server"},
    {"part": "testutil", "says": "helpers", "uses": [], "why": "every test may use it"},
    {"part": "services", "planned": "service discovery", "says": "catalog", "uses": ["structs"], "why": "the catalog holds neither side"}
  ],
  "never": [
    {"from": "scheduler", "to": "client", "why": "scheduling is pure: no node-side code"},
    {"from": "scheduler", "to": "services", "why": "placement needs no catalog"},
    {"from": "cli", "to": "server", "why": "the CLI speaks only the HTTP API", "code_only": "its tests run a live server"}
  ]
}`

// fakePkg is one package of a synthetic graph: what its code and its tests import.
type fakePkg struct{ imports, tests []string }

// miniGraph is a graph that keeps miniLayers: every case starts from it.
func miniGraph() map[string]*fakePkg {
	return map[string]*fakePkg{
		"structs":             {},
		"state":               {imports: []string{"structs"}, tests: []string{"structs", "testutil"}},
		"scheduler":           {imports: []string{"structs"}, tests: []string{"scheduler", "scheduler/schedtest", "testutil"}},
		"scheduler/schedtest": {imports: []string{"scheduler", "state", "structs"}},
		"client":              {imports: []string{"client/allocrunner", "netns", "structs"}},
		"client/allocrunner":  {imports: []string{"netns", "structs"}},
		"netns":               {},
		"server":              {imports: []string{"scheduler", "state", "structs"}},
		"cli":                 {imports: []string{"structs"}, tests: []string{"cli", "server", "testutil"}},
		"testutil":            {},
	}
}

// goList turns a synthetic graph into the records `go list -json` would
// give: full import paths, Deps the transitive closure of Imports.
func goList(g map[string]*fakePkg) []goPackage {
	full := func(rs []string) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = module + "/" + r
		}
		return out
	}
	var pkgs []goPackage
	for _, r := range slices.Sorted(maps.Keys(g)) {
		deps := map[string]bool{}
		queue := slices.Clone(g[r].imports)
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			if !deps[d] {
				deps[d] = true
				if g[d] != nil {
					queue = append(queue, g[d].imports...)
				}
			}
		}
		pkgs = append(pkgs, goPackage{ImportPath: module + "/" + r, Imports: full(g[r].imports),
			Deps: full(slices.Sorted(maps.Keys(deps))), XTestImports: full(g[r].tests)})
	}
	return pkgs
}

func partNamed(l *layers, name string) *part {
	for i := range l.Parts {
		if l.Parts[i].Part == name {
			return &l.Parts[i]
		}
	}
	panic("no part " + name)
}

// TestLayeringCatches breaks miniGraph or miniLayers one way per case and
// checks the checker reports exactly the expected violations, each a
// substring of one reported line, in order. The first case is the intact
// graph: it reports nothing.
func TestLayeringCatches(t *testing.T) {
	cases := []struct {
		name string
		edit func(l *layers, g map[string]*fakePkg)
		want []string
	}{
		{name: "intact graph", edit: func(*layers, map[string]*fakePkg) {}},
		{
			name: "forbidden direct import",
			edit: func(_ *layers, g map[string]*fakePkg) {
				g["scheduler"].imports = append(g["scheduler"].imports, "client")
			},
			want: []string{
				"scheduler imports client: part scheduler may import only [structs]",
				"scheduler depends on client (scheduler -> client): never scheduler -> client",
				// The harness is below the scheduler: the rule binds it too.
				"scheduler/schedtest depends on client (scheduler/schedtest -> scheduler -> client): never scheduler -> client",
			},
		},
		{
			// structs is allowed client here, so only the never rule sees it.
			name: "forbidden transitive import through allowed arrows",
			edit: func(l *layers, g map[string]*fakePkg) {
				partNamed(l, "structs").Uses = []string{"client"}
				g["structs"].imports = []string{"client"}
			},
			want: []string{
				"scheduler depends on client (scheduler -> structs -> client): never scheduler -> client",
				"scheduler/schedtest depends on client (scheduler/schedtest -> structs -> client): never scheduler -> client",
			},
		},
		{
			name: "allow-only violation",
			edit: func(_ *layers, g map[string]*fakePkg) { g["client"].imports = append(g["client"].imports, "state") },
			want: []string{"client imports state: part client may import only [netns structs]: the client reaches servers only over RPC"},
		},
		{
			name: "test import outside uses, test_uses and test_support",
			edit: func(_ *layers, g map[string]*fakePkg) { g["state"].tests = append(g["state"].tests, "netns") },
			want: []string{"state's tests import netns: part state's tests may import only [structs testutil]"},
		},
		{
			// The tests may import the server, and the server (here) the
			// client: the rule still holds for the tests, through what their
			// imports depend on.
			name: "test dependency behind an allowed test import",
			edit: func(l *layers, g map[string]*fakePkg) {
				partNamed(l, "scheduler").TestUses = append(partNamed(l, "scheduler").TestUses, "server")
				partNamed(l, "server").Uses = append(partNamed(l, "server").Uses, "client")
				g["server"].imports = append(g["server"].imports, "client")
				g["scheduler"].tests = append(g["scheduler"].tests, "server")
			},
			want: []string{"scheduler's tests depend on client (server -> client): never scheduler -> client, tests included"},
		},
		{
			name: "code_only exempts the tests, not the code",
			edit: func(_ *layers, g map[string]*fakePkg) {
				g["cli"].imports = append(g["cli"].imports, "server")
			},
			want: []string{
				"cli imports server: part cli may import only [structs]",
				"cli depends on server (cli -> server): never cli -> server",
			},
		},
		{
			name: "a part covers its subpackages",
			edit: func(_ *layers, g map[string]*fakePkg) {
				g["client/allocrunner/hooks"] = &fakePkg{imports: []string{"state"}}
				g["client/allocrunner"].imports = append(g["client/allocrunner"].imports, "client/allocrunner/hooks")
			},
			want: []string{"client/allocrunner/hooks imports state: part client may import only [netns structs]"},
		},
		{
			name: "a never rule covers subpackages on both sides",
			edit: func(l *layers, g map[string]*fakePkg) {
				partNamed(l, "scheduler").Uses = append(partNamed(l, "scheduler").Uses, "client")
				g["scheduler/feasible"] = &fakePkg{imports: []string{"client/allocrunner"}}
			},
			want: []string{"scheduler/feasible depends on client/allocrunner (scheduler/feasible -> client/allocrunner): never scheduler -> client"},
		},
		{
			name: "a part names a package that no longer exists",
			edit: func(_ *layers, g map[string]*fakePkg) {
				delete(g, "netns")
				g["client"].imports = []string{"structs"}
				g["client/allocrunner"].imports = nil
			},
			want: []string{"part netns names no package: it was moved or removed"},
		},
		{
			name: "a never rule names a package that no longer exists",
			edit: func(l *layers, _ map[string]*fakePkg) {
				l.Never = append(l.Never, never{From: "jobspec", To: "client", Why: "the parser is pure"})
			},
			want: []string{"never jobspec -> client names jobspec, which holds no package and no planned part"},
		},
		{
			name: "a package in no part",
			edit: func(_ *layers, g map[string]*fakePkg) { g["httpapi"] = &fakePkg{imports: []string{"server"}} },
			want: []string{"httpapi belongs to no part: add it to layers.json"},
		},
		{
			name: "a planned part that has landed",
			edit: func(_ *layers, g map[string]*fakePkg) { g["services"] = &fakePkg{imports: []string{"structs"}} },
			want: []string{"part services is marked planned (service discovery) but holds services: it has landed, drop planned"},
		},
		{
			name: "a rule for a planned part binds once it lands",
			edit: func(l *layers, g map[string]*fakePkg) {
				partNamed(l, "services").Planned = ""
				partNamed(l, "scheduler").Uses = append(partNamed(l, "scheduler").Uses, "services")
				g["services/catalog"] = &fakePkg{imports: []string{"structs"}}
				g["scheduler"].imports = append(g["scheduler"].imports, "services/catalog")
			},
			want: []string{
				"scheduler depends on services/catalog (scheduler -> services/catalog): never scheduler -> services: placement needs no catalog",
				"scheduler/schedtest depends on services/catalog (scheduler/schedtest -> scheduler -> services/catalog)",
			},
		},
		{
			name: "uses names an undeclared part",
			edit: func(l *layers, _ map[string]*fakePkg) {
				partNamed(l, "cli").Uses = append(partNamed(l, "cli").Uses, "api")
			},
			want: []string{`layers.json: part cli uses names "api", which is no declared part`},
		},
		{
			name: "a rule without its reason",
			edit: func(l *layers, _ map[string]*fakePkg) { l.Never[0].Why = "" },
			want: []string{"layers.json: never scheduler -> client needs a why"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := parseLayers([]byte(miniLayers))
			if err != nil {
				t.Fatal(err)
			}
			g := miniGraph()
			tc.edit(l, g)
			got := checkLayers(l, module, goList(g))
			ok := len(got) == len(tc.want)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.Contains(got[i], tc.want[i])
			}
			if !ok {
				t.Errorf("got:\n  %s\nwant lines containing:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestLayersFileIsStrict: a misspelt key is an error, not a rule that
// silently no longer binds.
func TestLayeringFileIsStrict(t *testing.T) {
	_, err := parseLayers([]byte(`{"never": [{"from": "cli", "to": "server", "why": "x", "codeonly": "typo"}]}`))
	if err == nil || !strings.Contains(err.Error(), "codeonly") {
		t.Fatalf("parse a misspelt key: err %v, want it named", err)
	}
}

// TestLayeringRealGraphMutations adds one import to the module's real graph
// and checks the real layers.json rejects it with the rule's reason.
func TestLayeringRealGraphMutations(t *testing.T) {
	l, err := readLayers("layers.json")
	if err != nil {
		t.Fatal(err)
	}
	real := listPackages(t)
	cases := []struct {
		name     string
		pkg, imp string // pkg gains a direct import of imp (module-relative)
		want     []string
	}{
		{name: "scheduler reaches the host", pkg: "scheduler", imp: "netns",
			want: []string{"scheduler depends on netns (scheduler -> netns): never scheduler -> netns: scheduling is pure: no host effects"}},
		{name: "structs drags the client under everything", pkg: "structs", imp: "client/allocrunner",
			want: []string{"structs imports client/allocrunner", "scheduler depends on client/allocrunner (scheduler -> structs -> client/allocrunner)"}},
		{name: "a driver reaches the server", pkg: "drivers/docker", imp: "server",
			want: []string{"drivers/docker depends on server (drivers/docker -> server): never drivers -> server"}},
		{name: "the CLI speaks RPC", pkg: "cli", imp: "internal/msgrpc",
			want: []string{"cli depends on internal/msgrpc (cli -> internal/msgrpc): never cli -> internal/msgrpc"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(checkLayers(l, module, withImport(real, tc.pkg, tc.imp)), "\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("no violation %q in:\n%s", w, got)
				}
			}
		})
	}
}

// withImport is pkgs with pkg importing imp: in pkg's Imports, and in the
// Deps of pkg and of every package that depends on pkg.
func withImport(pkgs []goPackage, pkg, imp string) []goPackage {
	pkg, imp = module+"/"+pkg, module+"/"+imp
	var added []string
	for _, p := range pkgs {
		if p.ImportPath == imp {
			added = append([]string{imp}, p.Deps...)
		}
	}
	out := make([]goPackage, len(pkgs))
	for i, p := range pkgs {
		if p.ImportPath == pkg {
			p.Imports = append(slices.Clone(p.Imports), imp)
		}
		if p.ImportPath == pkg || slices.Contains(p.Deps, pkg) {
			p.Deps = slices.Concat(p.Deps, added)
		}
		out[i] = p
	}
	return out
}
