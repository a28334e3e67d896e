package services

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// ErrMalformedChoose is returned for a ?choose= value that is not "N|key".
var ErrMalformedChoose = errors.New(`choose must be "<count>|<key>" with a count of at least 1 and a key`)

// maxChooseKey bounds the key so a request cannot make every hash expensive.
const maxChooseKey = 512

// ParseChoose parses Nomad's ?choose= value, "<count>|<key>".
func ParseChoose(s string) (n int, key string, err error) {
	count, key, ok := strings.Cut(s, "|")
	if !ok || key == "" || len(key) > maxChooseKey {
		return 0, "", fmt.Errorf("choose %q: %w", s, ErrMalformedChoose)
	}
	n, err = strconv.Atoi(count)
	if err != nil || n < 1 {
		return 0, "", fmt.Errorf("choose %q: %w", s, ErrMalformedChoose)
	}
	return n, key, nil
}

// Choose returns up to n instances picked by rendezvous (highest random
// weight) hashing on key, best first. For one key the pick is stable: an
// instance leaving only replaces that instance, and an instance joining
// displaces at most one. Different keys (consul-template passes the
// allocation ID) spread over different instances. Callers pass the
// instances they may route to (Routables): choosing before filtering would
// hand a key a critical instance.
func Choose(regs []*structs.ServiceRegistration, n int, key string) []*structs.ServiceRegistration {
	type scored struct {
		w uint64
		r *structs.ServiceRegistration
	}
	all := make([]scored, len(regs))
	for i, r := range regs {
		all[i] = scored{weight(r.ID, key), r}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].w != all[j].w {
			return all[i].w > all[j].w
		}
		return all[i].r.ID < all[j].r.ID
	})
	n = min(n, len(all))
	out := make([]*structs.ServiceRegistration, n)
	for i := range out {
		out[i] = all[i].r
	}
	return out
}

// weight is the instance's score for a key. Only the ID goes in, so a
// change of tags or address does not reshuffle who gets whom.
func weight(id, key string) uint64 {
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}
