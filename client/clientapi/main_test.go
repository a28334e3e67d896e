package clientapi_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}
