package roam_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// seedJobs holds the repository's copies of the seed documents' job files:
// the tests that run seed jobs (jobspec, e2e) read them from here, so a
// fresh clone needs nothing beside it.
const seedJobs = "examples/seeds"

// sharedSeedJobs holds the originals, in the project's workspace beside the
// repository; a fresh clone has no such folder.
const sharedSeedJobs = "../shared/seeds/jobs"

// TestSeedJobsMatchShared keeps examples/seeds a byte-identical mirror of
// ../shared/seeds/jobs: every original has its copy, no copy lacks an
// original. Without the shared folder there is nothing to compare against.
func TestSeedJobsMatchShared(t *testing.T) {
	originals, err := readFiles(sharedSeedJobs)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent: comparison of %s with the originals skipped", sharedSeedJobs, seedJobs)
	}
	if err != nil {
		t.Fatal(err)
	}
	copies, err := readFiles(seedJobs)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range originals {
		got, ok := copies[name]
		switch {
		case !ok:
			t.Errorf("%s has no copy in %s (cp %s %s/)", name, seedJobs, filepath.Join(sharedSeedJobs, name), seedJobs)
		case !bytes.Equal(got, want):
			t.Errorf("%s differs from %s (cp %s %s/)", filepath.Join(seedJobs, name), sharedSeedJobs, filepath.Join(sharedSeedJobs, name), seedJobs)
		}
	}
	for name := range copies {
		if _, ok := originals[name]; !ok {
			t.Errorf("%s has no original in %s: remove it, or add it to shared/ first", filepath.Join(seedJobs, name), sharedSeedJobs)
		}
	}
}

// readFiles is the content of every file in dir, by name.
func readFiles(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	return files, nil
}
