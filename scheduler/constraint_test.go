package scheduler

import (
	"testing"

	"github.com/roam-sh/roam/structs"
)

func testNode() *structs.Node {
	return &structs.Node{
		ID: "0c6f4e5b-1111-2222-3333-444455556666", Name: "n1", Datacenter: "dc1", NodeClass: "large",
		NodePool: "prod",
		Attributes: map[string]string{
			"kernel.name": "linux", "cpu.numcores": "8", "nomad.version": "1.8.2", "consul.version": "1.16.0-beta1",
			"os.version": "22.04", "unique.hostname": "host-1", "nomad.region": "eu", "tags": "ssd, gpu,fast",
		},
		Meta: map[string]string{"rack": "r2", "weight": "1.5"},
	}
}

func TestResolveTarget(t *testing.T) {
	n := testNode()
	cases := []struct {
		target, want string
		found        bool
	}{
		{"literal", "literal", true},
		{"${node.unique.id}", n.ID, true},
		{"${node.unique.name}", "n1", true},
		{"${node.datacenter}", "dc1", true},
		{"${node.class}", "large", true},
		{"${node.pool}", "prod", true},
		{"${node.region}", "eu", true},
		{"${attr.kernel.name}", "linux", true},
		{"${attr.missing}", "", false},
		{"${meta.rack}", "r2", true},
		{"${meta.nope}", "", false},
		{"${env.HOME}", "", false},
	}
	for _, c := range cases {
		got, ok := resolveTarget(c.target, n)
		if got != c.want || ok != c.found {
			t.Errorf("resolveTarget(%q) = %q, %v; want %q, %v", c.target, got, ok, c.want, c.found)
		}
	}
}

func TestConstraintOperands(t *testing.T) {
	n := testNode()
	cases := []struct {
		l, op, r string
		want     bool
	}{
		// equality and its aliases
		{"${attr.kernel.name}", "=", "linux", true},
		{"${attr.kernel.name}", "==", "linux", true},
		{"${attr.kernel.name}", "is", "windows", false},
		{"${attr.kernel.name}", "", "linux", true},
		{"${attr.missing}", "=", "", false},
		{"${attr.kernel.name}", "!=", "windows", true},
		{"${attr.kernel.name}", "not", "linux", false},
		{"${attr.missing}", "!=", "linux", true},
		// ordering: numeric when both sides parse, lexical otherwise
		{"${attr.cpu.numcores}", ">", "4", true},
		{"${attr.cpu.numcores}", ">", "10", false}, // lexically "8" > "10"
		{"${attr.cpu.numcores}", "<=", "8", true},
		{"${attr.cpu.numcores}", "<", "8", false},
		{"${meta.weight}", ">=", "1.25", true},
		{"${attr.kernel.name}", "<", "mac", true},
		{"${attr.kernel.name}", ">=", "linux", true},
		{"${attr.missing}", "<", "9", false},
		// regexp
		{"${attr.kernel.name}", "regexp", "^lin", true},
		{"${attr.kernel.name}", "regexp", "^win", false},
		{"${attr.kernel.name}", "regexp", "([", false},
		{"${attr.missing}", "regexp", ".*", false},
		// version (go-version constraints)
		{"${attr.nomad.version}", "version", ">= 1.8, < 2", true},
		{"${attr.nomad.version}", "version", "~> 1.7.0", false},
		{"${attr.nomad.version}", "version", "not a constraint", false},
		{"${attr.kernel.name}", "version", ">= 1.0", false},
		{"${attr.consul.version}", "version", ">= 1.15", false}, // pre-releases only match pre-release constraints
		// semver (strict, Semantic Versioning ordering)
		{"${attr.nomad.version}", "semver", ">= 1.8.0", true},
		{"${attr.consul.version}", "semver", ">= 1.15.0", true},
		{"${attr.consul.version}", "semver", "< 1.16.0", true},
		{"${attr.consul.version}", "semver", "= 1.16.0-beta1", true},
		{"${attr.nomad.version}", "semver", "~> 1.8", false},
		{"${attr.nomad.version}", "semver", ">= bogus", false},
		// sets
		{"${attr.tags}", "set_contains", "gpu,ssd", true},
		{"${attr.tags}", "set_contains", "gpu,nvme", false},
		{"${attr.tags}", "set_contains_all", "fast", true},
		{"${attr.tags}", "set_contains_any", "nvme, gpu", true},
		{"${attr.tags}", "set_contains_any", "nvme,hdd", false},
		// presence
		{"${attr.kernel.name}", "is_set", "", true},
		{"${attr.missing}", "is_set", "", false},
		{"${attr.missing}", "is_not_set", "", true},
		{"${meta.rack}", "is_not_set", "", false},
		// distinct_* are checked elsewhere; unknown operands never match
		{"${meta.rack}", "distinct_property", "2", true},
		{"", "distinct_hosts", "", true},
		{"${attr.kernel.name}", "like", "linux", false},
	}
	oc := newOperandChecker()
	for _, c := range cases {
		if got := oc.meets(c.op, c.l, c.r, n); got != c.want {
			t.Errorf("%s %s %q = %v, want %v", c.l, c.op, c.r, got, c.want)
		}
	}
	// Parse results are cached, failures included.
	if _, ok := oc.regexps["(["]; !ok {
		t.Error("invalid regexp not cached")
	}
}

func TestParseSemverConstraints(t *testing.T) {
	for _, bad := range []string{"", ">= 1.0.0, ", "=> 1.0.0", "1.0.0.0.x"} {
		if _, err := parseSemverConstraints(bad); err == nil {
			t.Errorf("parseSemverConstraints(%q) accepted", bad)
		}
	}
	cs, err := parseSemverConstraints(">= 1.2.0, != 1.3.0, < 2.0.0")
	if err != nil || len(cs) != 3 {
		t.Fatalf("got %v, %v", cs, err)
	}
}

func TestConstraintEscapes(t *testing.T) {
	cases := []struct {
		c    structs.Constraint
		want bool
	}{
		{structs.Constraint{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}, false},
		{structs.Constraint{LTarget: "${node.unique.name}", RTarget: "n1", Operand: "="}, true},
		{structs.Constraint{LTarget: "${attr.unique.hostname}", RTarget: "h", Operand: "="}, true},
		{structs.Constraint{LTarget: "${meta.rack}", RTarget: "${meta.unique.id}", Operand: "="}, true},
		{structs.Constraint{Operand: structs.ConstraintDistinctHosts}, true},
		{structs.Constraint{LTarget: "${meta.rack}", Operand: structs.ConstraintDistinctProperty}, true},
	}
	for _, c := range cases {
		if got := constraintEscapes(&c.c); got != c.want {
			t.Errorf("constraintEscapes(%s) = %v, want %v", c.c.String(), got, c.want)
		}
	}
}
