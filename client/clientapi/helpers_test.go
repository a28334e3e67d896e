package clientapi_test

import (
	"context"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
)

// contextFor is a context that ends with the test's wait.
func contextFor(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), apitest.Wait)
}
