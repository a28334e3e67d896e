package intentions

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// DefaultNamespace fills an empty namespace, as Consul's CE does.
const DefaultNamespace = "default"

// Service names one end of a connection: a namespace and a service name.
type Service struct {
	Namespace string
	Name      string
}

func (s Service) String() string { return s.Namespace + "/" + s.Name }

// Policy is what happens when no intention matches.
type Policy string

const (
	PolicyAllow Policy = "allow"
	PolicyDeny  Policy = "deny"
)

// ParsePolicy accepts allow and deny; empty is allow (Consul with ACLs off).
func ParsePolicy(s string) (Policy, error) {
	switch Policy(s) {
	case "", PolicyAllow:
		return PolicyAllow, nil
	case PolicyDeny:
		return PolicyDeny, nil
	}
	return "", fmt.Errorf("unknown default intention policy %q (want \"allow\" or \"deny\")", s)
}

// Decision is the answer for one (source, destination) pair.
type Decision struct {
	Allowed bool
	Reason  string
	// Intention is the one that decided, nil when the default policy did.
	Intention *structs.Intention
}

// exactness of one end, for the precedence table.
type exactness int

const (
	bothWild  exactness = iota // ns * and name *
	nameWild                   // ns exact, name *
	bothExact                  // ns exact, name exact
)

func endExactness(ns, name string) exactness {
	switch {
	case ns == structs.IntentionWildcard:
		return bothWild
	case name == structs.IntentionWildcard:
		return nameWild
	}
	return bothExact
}

// Precedence is Consul's nine-level precedence: the destination's
// exactness counts first (a rule about one destination beats a rule about
// all), then the source's. 9 is exact to exact, 1 is * to *.
func Precedence(i *structs.Intention) int {
	return 3*int(endExactness(i.DestinationNS, i.DestinationName)) + int(endExactness(i.SourceNS, i.SourceName)) + 1
}

// ErrInvalid wraps every reason an intention is refused.
var ErrInvalid = errors.New("invalid intention")

// Normalize fills defaults (namespaces, source type, precedence) and
// validates: an action, names on both ends, * only as a whole name, and a
// wildcard namespace only with a wildcard name.
func Normalize(i *structs.Intention) error {
	if i.SourceNS == "" {
		i.SourceNS = DefaultNamespace
	}
	if i.DestinationNS == "" {
		i.DestinationNS = DefaultNamespace
	}
	i.SourceType = "consul"
	var errs []error
	if _, err := structs.ParseIntentionAction(string(i.Action)); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkEnd("source", i.SourceNS, i.SourceName)...)
	errs = append(errs, checkEnd("destination", i.DestinationNS, i.DestinationName)...)
	if len(i.Description) > 512 {
		errs = append(errs, errors.New("description longer than 512 bytes"))
	}
	if len(i.Meta) > 64 {
		errs = append(errs, errors.New("more than 64 meta keys"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	i.Precedence = Precedence(i)
	return nil
}

func checkEnd(end, ns, name string) []error {
	var errs []error
	for _, v := range []struct{ what, val string }{{"name", name}, {"namespace", ns}} {
		switch {
		case v.val == "":
			errs = append(errs, fmt.Errorf("%s %s is required", end, v.what))
		case len(v.val) > 128:
			errs = append(errs, fmt.Errorf("%s %s longer than 128 bytes", end, v.what))
		case v.val != structs.IntentionWildcard && strings.Contains(v.val, "*"):
			errs = append(errs, fmt.Errorf("%s %s %q: a wildcard must be the whole name (\"*\")", end, v.what, v.val))
		}
	}
	if ns == structs.IntentionWildcard && name != structs.IntentionWildcard {
		errs = append(errs, fmt.Errorf("%s namespace \"*\" requires %s name \"*\"", end, end))
	}
	return errs
}

// Sort orders intentions as they are evaluated: highest precedence first,
// ties broken by names so every node decides alike.
func Sort(list []*structs.Intention) {
	slices.SortStableFunc(list, func(a, b *structs.Intention) int {
		return cmp.Or(
			cmp.Compare(b.Precedence, a.Precedence),
			cmp.Compare(a.DestinationNS, b.DestinationNS),
			cmp.Compare(a.DestinationName, b.DestinationName),
			cmp.Compare(a.SourceNS, b.SourceNS),
			cmp.Compare(a.SourceName, b.SourceName),
		)
	})
}

func matches(pattern, v string) bool { return pattern == structs.IntentionWildcard || pattern == v }

// Applies reports whether the intention is about this pair.
func Applies(i *structs.Intention, src, dst Service) bool {
	return matches(i.DestinationNS, dst.Namespace) && matches(i.DestinationName, dst.Name) &&
		matches(i.SourceNS, src.Namespace) && matches(i.SourceName, src.Name)
}

// Match decides a pair over intentions already in evaluation order (Sort):
// the first that applies decides; with none, the default policy.
func Match(sorted []*structs.Intention, def Policy, src, dst Service) Decision {
	src, dst = withDefaultNS(src), withDefaultNS(dst)
	for _, i := range sorted {
		if !Applies(i, src, dst) {
			continue
		}
		return Decision{
			Allowed:   i.Action == structs.IntentionActionAllow,
			Intention: i,
			Reason: fmt.Sprintf("Matched L4 intention: %s/%s => %s/%s (ID: %s, Precedence: %d, Action: %s)",
				i.SourceNS, i.SourceName, i.DestinationNS, i.DestinationName, i.ID, i.Precedence, i.Action),
		}
	}
	return Decision{Allowed: def != PolicyDeny, Reason: "Default intention policy"}
}

func withDefaultNS(s Service) Service {
	if s.Namespace == "" {
		s.Namespace = DefaultNamespace
	}
	return s
}
