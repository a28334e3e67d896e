package structs

import (
	"crypto/rand"
	"fmt"
)

// GenerateUUID returns a random RFC 4122 version 4 UUID.
func GenerateUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on Linux; a zero UUID would be worse than a crash.
		panic(fmt.Errorf("read random bytes: %w", err))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ShortID returns the first eight characters of an ID, as the CLI prints them.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// GetID returns the allocation ID (used by prefix lookups).
func (a *Allocation) GetID() string { return a.ID }

// GetID returns the evaluation ID.
func (e *Evaluation) GetID() string { return e.ID }

// GetID returns the node ID.
func (n *Node) GetID() string { return n.ID }
