package structs

import (
	"regexp"
	"strconv"
	"strings"

	version "github.com/hashicorp/go-version"
)

// interpolated reports whether s holds a ${...} reference, whose value is only
// known on the node; such values are checked after interpolation instead.
func interpolated(s string) bool { return strings.Contains(s, "${") }

func validateConstraints(p problems, list []*Constraint) {
	for i, c := range list {
		if c == nil {
			continue
		}
		c.validate(p.in("Constraint %d", i+1))
	}
}

// validate checks that the operand is known and that the operands it needs
// are set and well formed.
func (c *Constraint) validate(p problems) {
	op, ok := NormalizeOperand(c.Operand)
	if !ok {
		p.addf("unknown operator %q", c.Operand)
		return
	}
	if c.LTarget == "" && op != ConstraintDistinctHosts && op != ConstraintDistinctProperty {
		p.addf("attribute is required for operator %q", op)
	}
	switch op {
	case ConstraintDistinctHosts:
		if c.RTarget != "" && !interpolated(c.RTarget) {
			if _, err := strconv.ParseBool(c.RTarget); err != nil {
				p.addf("distinct_hosts value %q must be true or false", c.RTarget)
			}
		}
	case ConstraintDistinctProperty:
		if c.LTarget == "" {
			p.addf("distinct_property needs the attribute to spread over")
		}
		if c.RTarget != "" && !interpolated(c.RTarget) {
			if n, err := strconv.ParseUint(c.RTarget, 10, 64); err != nil || n == 0 {
				p.addf("distinct_property limit %q must be a positive whole number", c.RTarget)
			}
		}
	case ConstraintAttributeIsSet, ConstraintAttributeNotSet:
	default:
		validateOperand(p, op, c.RTarget)
	}
}

// validateOperand checks the right-hand side of comparison operators.
func validateOperand(p problems, op, rtarget string) {
	if rtarget == "" {
		p.addf("value is required for operator %q", op)
		return
	}
	if interpolated(rtarget) {
		return
	}
	switch op {
	case ConstraintRegex:
		if _, err := regexp.Compile(rtarget); err != nil {
			p.addf("invalid regular expression %q: %v", rtarget, err)
		}
	case ConstraintVersion, ConstraintSemver:
		if _, err := version.NewConstraint(rtarget); err != nil {
			p.addf("invalid version constraint %q: %v", rtarget, err)
		}
	}
}

// Affinity weights lie in [-100, 100] and are never zero.
const (
	MinAffinityWeight = -100
	MaxAffinityWeight = 100
)

func validateAffinities(p problems, list []*Affinity) {
	for i, a := range list {
		if a == nil {
			continue
		}
		a.validate(p.in("Affinity %d", i+1))
	}
}

func (a *Affinity) validate(p problems) {
	op, ok := NormalizeOperand(a.Operand)
	switch {
	case !ok:
		p.addf("unknown operator %q", a.Operand)
	case op == ConstraintDistinctHosts || op == ConstraintDistinctProperty ||
		op == ConstraintAttributeIsSet || op == ConstraintAttributeNotSet:
		p.addf("operator %q is not allowed in an affinity", op)
	default:
		if a.LTarget == "" {
			p.addf("attribute is required")
		}
		validateOperand(p, op, a.RTarget)
	}
	if a.Weight == 0 {
		p.addf("weight must not be zero")
	}
	if a.Weight < MinAffinityWeight || a.Weight > MaxAffinityWeight {
		p.addf("weight %d is out of range; it must be between %d and %d", a.Weight, MinAffinityWeight, MaxAffinityWeight)
	}
}

func validateSpreads(p problems, list []*Spread) {
	for i, s := range list {
		if s == nil {
			continue
		}
		s.validate(p.in("Spread %d", i+1))
	}
}

func (s *Spread) validate(p problems) {
	if s.Attribute == "" {
		p.addf("attribute is required")
	}
	if s.Weight < 0 || s.Weight > 100 {
		p.addf("weight %d is out of range; it must be between 0 and 100", s.Weight)
	}
	sum := 0
	seen := map[string]bool{}
	for _, t := range s.SpreadTarget {
		if t == nil {
			continue
		}
		if seen[t.Value] {
			p.addf("target %q is listed more than once", t.Value)
		}
		seen[t.Value] = true
		if t.Percent > 100 {
			p.addf("target %q percent %d is more than 100", t.Value, t.Percent)
		}
		sum += int(t.Percent)
	}
	if sum > 100 {
		p.addf("target percentages add up to %d, more than 100", sum)
	}
}
