package scheduler

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/roam-sh/roam/structs"
)

// resolveTarget returns what a constraint target means on node: literals stand
// for themselves, ${node.*}, ${attr.*} and ${meta.*} read the node. The bool is
// false when the node has no such value.
func resolveTarget(target string, node *structs.Node) (string, bool) {
	if !strings.HasPrefix(target, "${") {
		return target, true
	}
	switch target {
	case "${node.unique.id}":
		return node.ID, true
	case "${node.unique.name}":
		return node.Name, true
	case "${node.datacenter}":
		return node.Datacenter, true
	case "${node.class}":
		return node.NodeClass, true
	case "${node.pool}":
		return nodePool(node), true
	case "${node.region}":
		v, ok := node.Attributes[structs.AttrNomadRegion]
		return v, ok
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(target, "${"), "}")
	if k, ok := strings.CutPrefix(inner, "attr."); ok {
		v, ok := node.Attributes[k]
		return v, ok
	}
	if k, ok := strings.CutPrefix(inner, "meta."); ok {
		v, ok := node.Meta[k]
		return v, ok
	}
	return "", false
}

// targetEscapesClass reports whether a target reads node data that the
// computed class does not cover, so results cannot be shared by class.
func targetEscapesClass(target string) bool {
	return strings.Contains(target, "${node.unique.") ||
		strings.Contains(target, "${attr.unique.") ||
		strings.Contains(target, "${meta.unique.")
}

// constraintEscapes reports whether a constraint's result is node specific.
func constraintEscapes(c *structs.Constraint) bool {
	switch c.Operand {
	case structs.ConstraintDistinctHosts, structs.ConstraintDistinctProperty:
		return true
	}
	return targetEscapesClass(c.LTarget) || targetEscapesClass(c.RTarget)
}

// operandChecker evaluates constraint and affinity operands. Parsed regular
// expressions and version constraints are cached for the evaluation; an
// unparsable right-hand side never matches.
type operandChecker struct {
	regexps  map[string]*regexp.Regexp
	versions map[string]version.Constraints
	semvers  map[string]semverConstraints
}

func newOperandChecker() *operandChecker {
	return &operandChecker{
		regexps:  map[string]*regexp.Regexp{},
		versions: map[string]version.Constraints{},
		semvers:  map[string]semverConstraints{},
	}
}

// meets reports whether node satisfies l operand r.
func (oc *operandChecker) meets(operand, lTarget, rTarget string, node *structs.Node) bool {
	l, lok := resolveTarget(lTarget, node)
	r, rok := resolveTarget(rTarget, node)
	return oc.check(operand, l, r, lok, rok)
}

// check applies an operand to resolved values; lok and rok say whether each
// side was found on the node.
func (oc *operandChecker) check(operand, l, r string, lok, rok bool) bool {
	op, _ := structs.NormalizeOperand(operand)
	switch op {
	case structs.ConstraintDistinctHosts, structs.ConstraintDistinctProperty:
		// Checked against the plan by their own iterators.
		return true
	case structs.ConstraintEqual:
		return lok && rok && l == r
	case structs.ConstraintNotEqual:
		// A missing attribute differs from any value.
		return lok != rok || l != r
	case structs.ConstraintLess, structs.ConstraintLessEqual, structs.ConstraintGreater, structs.ConstraintGreaterEqual:
		return lok && rok && compareOrdered(op, l, r)
	case structs.ConstraintAttributeIsSet:
		return lok
	case structs.ConstraintAttributeNotSet:
		return !lok
	case structs.ConstraintRegex:
		return lok && rok && oc.matchRegexp(l, r)
	case structs.ConstraintVersion:
		return lok && rok && oc.matchVersion(l, r)
	case structs.ConstraintSemver:
		return lok && rok && oc.matchSemver(l, r)
	case structs.ConstraintSetContains, structs.ConstraintSetContainsAll:
		return lok && rok && setContains(l, r, true)
	case structs.ConstraintSetContainsAny:
		return lok && rok && setContains(l, r, false)
	}
	return false
}

// compareOrdered compares numerically when both sides parse as numbers, and
// lexically otherwise.
func compareOrdered(op, l, r string) bool {
	var c int
	if li, err := strconv.ParseInt(l, 10, 64); err == nil {
		if ri, err := strconv.ParseInt(r, 10, 64); err == nil {
			return orderHolds(op, cmp.Compare(li, ri))
		}
	}
	lf, lerr := strconv.ParseFloat(l, 64)
	rf, rerr := strconv.ParseFloat(r, 64)
	if lerr == nil && rerr == nil {
		c = cmp.Compare(lf, rf)
	} else {
		c = strings.Compare(l, r)
	}
	return orderHolds(op, c)
}

func orderHolds(op string, c int) bool {
	switch op {
	case structs.ConstraintLess:
		return c < 0
	case structs.ConstraintLessEqual:
		return c <= 0
	case structs.ConstraintGreater:
		return c > 0
	case structs.ConstraintGreaterEqual:
		return c >= 0
	}
	return false
}

func (oc *operandChecker) matchRegexp(l, expr string) bool {
	re, ok := oc.regexps[expr]
	if !ok {
		re, _ = regexp.Compile(expr)
		oc.regexps[expr] = re
	}
	return re != nil && re.MatchString(l)
}

func (oc *operandChecker) matchVersion(l, expr string) bool {
	cs, ok := oc.versions[expr]
	if !ok {
		cs, _ = version.NewConstraint(expr)
		oc.versions[expr] = cs
	}
	v, err := version.NewVersion(l)
	return cs != nil && err == nil && cs.Check(v)
}

func (oc *operandChecker) matchSemver(l, expr string) bool {
	cs, ok := oc.semvers[expr]
	if !ok {
		cs, _ = parseSemverConstraints(expr)
		oc.semvers[expr] = cs
	}
	v, err := version.NewVersion(l)
	return cs != nil && err == nil && cs.check(v)
}

// setContains reports whether the comma-separated set l holds all (or, with
// all false, any) of the comma-separated values r.
func setContains(l, r string, all bool) bool {
	have := map[string]bool{}
	for _, v := range strings.Split(l, ",") {
		have[strings.TrimSpace(v)] = true
	}
	for _, v := range strings.Split(r, ",") {
		found := have[strings.TrimSpace(v)]
		if all && !found {
			return false
		}
		if !all && found {
			return true
		}
	}
	return all
}

// semverConstraints is a conjunction of comparisons under Semantic Versioning
// 2.0 ordering: unlike the "version" operand, a pre-release version is
// compared like any other instead of only matching pre-release constraints.
type semverConstraints []semverConstraint

type semverConstraint struct {
	op string
	v  *version.Version
}

// parseSemverConstraints parses "op version[, op version...]" where op is one
// of =, !=, >, >=, <, <= (none means =) and each version is strict semver.
func parseSemverConstraints(expr string) (semverConstraints, error) {
	var out semverConstraints
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		op := ""
		for _, cand := range []string{">=", "<=", "!=", ">", "<", "="} {
			if rest, ok := strings.CutPrefix(part, cand); ok {
				op, part = cand, strings.TrimSpace(rest)
				break
			}
		}
		v, err := version.NewSemver(part)
		if err != nil {
			return nil, fmt.Errorf("semver constraint %q: %w", expr, err)
		}
		if op == "" {
			op = "="
		}
		out = append(out, semverConstraint{op: op, v: v})
	}
	return out, nil
}

func (cs semverConstraints) check(v *version.Version) bool {
	for _, c := range cs {
		r := v.Compare(c.v)
		ok := false
		switch c.op {
		case "=":
			ok = r == 0
		case "!=":
			ok = r != 0
		default:
			ok = orderHolds(c.op, r)
		}
		if !ok {
			return false
		}
	}
	return true
}
