// Package backoff computes retry delays that grow exponentially, with jitter,
// between a floor and a ceiling.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff hands out growing delays: Min, 2·Min, 4·Min … up to Max, each
// reduced by up to a quarter at random so many clients retrying together
// spread out. The zero value is not usable; set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the next delay.
func (b *Backoff) Next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.Min
	case b.cur < b.Max:
		b.cur = min(b.cur*2, b.Max)
	}
	if q := int64(b.cur / 4); q > 0 {
		return b.cur - time.Duration(rand.Int64N(q))
	}
	return b.cur
}

// Reset starts over from Min.
func (b *Backoff) Reset() { b.cur = 0 }
