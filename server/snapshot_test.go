package server

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// A snapshot saved through a follower of one cluster and restored through a
// follower of a brand-new one brings back every job, allocation and node,
// the root keys, and variables that decrypt with them, on every server.
func TestSnapshotSaveOnOneClusterRestoreOnAnother(t *testing.T) {
	a := newTestCluster(t, 3)
	aLeader := a.waitLeader()
	node := registerNode(t, aLeader)
	registerJob(t, aLeader, testJob("web", 2))
	waitLiveAllocs(t, aLeader, "web", 2)
	var set structs.VariablesApplyResponse
	items := structs.VariableItems{"password": "hunter2"}
	must(t, aLeader.RPC(structs.MethodVariablesApply, &structs.VariablesApplyRequest{Op: structs.VarOpSet,
		Var: &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: "app/db"}, Items: items}}, &set))
	keys, _ := aLeader.State().RootKeys(nil)

	var saved structs.SnapshotSaveResponse
	must(t, a.follower().RPC(structs.MethodOperatorSnapshotSave, &structs.GenericRequest{}, &saved))
	meta, st, err := structs.ReadSnapshotArchive(bytes.NewReader(saved.Archive))
	must(t, err)
	contents, err := SnapshotContents(st)
	must(t, err)
	if contents["Jobs"] != 1 || contents["Allocations"] != 2 || contents["Nodes"] != 1 || contents["Variables"] != 1 || contents["Root keys"] != len(keys) {
		t.Fatalf("snapshot %+v holds %v", meta, contents)
	}

	b := newTestCluster(t, 3)
	b.waitLeader()
	var reply structs.GenericResponse
	must(t, b.follower().RPC(structs.MethodOperatorSnapshotRestore, &structs.SnapshotRestoreRequest{Archive: saved.Archive}, &reply))
	leader := b.waitLeader()
	for _, s := range b.running() {
		testutil.WaitFor(t, waitLong, func() error {
			got, _ := s.State().RootKeys(nil)
			if len(liveAllocs(s, "web")) != 2 || len(got) != len(keys) {
				return fmt.Errorf("%s: %d allocations, %d root keys after restore", s.memberName(), len(liveAllocs(s, "web")), len(got))
			}
			if n, _ := s.State().NodeByID(nil, node.ID); n == nil {
				return fmt.Errorf("%s: node missing after restore", s.memberName())
			}
			for _, k := range keys {
				if !slices.ContainsFunc(got, func(g *structs.RootKey) bool { return g.KeyID == k.KeyID }) {
					return fmt.Errorf("%s: root key %s missing", s.memberName(), k.KeyID)
				}
			}
			return nil
		})
	}
	var read structs.VariablesReadResponse
	must(t, leader.RPC(structs.MethodVariablesRead, &structs.VariablesReadRequest{Path: "app/db", QueryOptions: structs.QueryOptions{Namespace: "default"}}, &read))
	if read.Data == nil || read.Data.Items["password"] != "hunter2" {
		t.Fatalf("variable after restore: %+v", read.Data)
	}
	// The restored cluster keeps working: a new job is scheduled.
	registerJob(t, leader, testJob("after", 1))
	waitLiveAllocs(t, leader, "after", 1)
}

func TestSnapshotArchiveRefusesCorruption(t *testing.T) {
	s := testServer(t)
	registerJob(t, s, testJob("web", 1))
	var saved structs.SnapshotSaveResponse
	must(t, s.RPC(structs.MethodOperatorSnapshotSave, &structs.GenericRequest{}, &saved))
	cases := map[string][]byte{
		"not gzip":  []byte("hello"),
		"truncated": saved.Archive[:len(saved.Archive)/2],
	}
	for name, archive := range cases {
		t.Run(name, func(t *testing.T) {
			err := s.RPC(structs.MethodOperatorSnapshotRestore, &structs.SnapshotRestoreRequest{Archive: archive}, &structs.GenericResponse{})
			if err == nil || ErrorCode(err) != 400 || !strings.Contains(err.Error(), "snapshot archive") {
				t.Fatalf("restore of a %s archive: %v, want a 400 naming the archive", name, err)
			}
		})
	}
	// A state file altered after the sums were written fails its checksum.
	files := untarGz(t, saved.Archive)
	files["state.bin"][len(files["state.bin"])/2] ^= 0xff
	err := s.RPC(structs.MethodOperatorSnapshotRestore, &structs.SnapshotRestoreRequest{Archive: tarGz(t, files)}, &structs.GenericResponse{})
	if err == nil || !strings.Contains(err.Error(), "does not match its checksum") {
		t.Fatalf("altered state: %v, want a checksum error", err)
	}
	if jobs, _ := s.State().Jobs(nil, "default", ""); len(jobs) != 1 {
		t.Fatalf("a refused restore changed the state: %d jobs", len(jobs))
	}
}

func untarGz(t *testing.T, b []byte) map[string][]byte {
	gz, err := gzip.NewReader(bytes.NewReader(b))
	must(t, err)
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		out[hdr.Name], err = io.ReadAll(tr)
		must(t, err)
	}
}

func tarGz(t *testing.T, files map[string][]byte) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, data := range files {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data))}))
		_, err := tw.Write(data)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}
