package clientapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/api"
)

// sniffBytes is how much of a file its content type is guessed from.
const sniffBytes = 512

// withFS opens the request's allocation directory for fn.
func (h *Handler) withFS(w http.ResponseWriter, r *http.Request, fn func(*allocFS) error) {
	ar, err := h.allocRunner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	afs, err := openAllocFS(ar.AllocDir().Dir)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer afs.Close()
	if err := fn(afs); err != nil {
		h.writeError(w, r, err)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// fsList: GET /v1/client/fs/ls/:alloc?path=
func (h *Handler) fsList(w http.ResponseWriter, r *http.Request) {
	h.withFS(w, r, func(afs *allocFS) error {
		f, rel, fi, err := afs.openPath(r.URL.Query().Get("path"))
		if err != nil {
			return err
		}
		defer f.Close()
		if !fi.IsDir() {
			return badRequest("path is not a directory; use stat or cat")
		}
		names, err := readNames(f, h.cfg.MaxListEntries)
		if err != nil {
			return err
		}
		slices.Sort(names)
		out := make([]*api.AllocFileInfo, 0, len(names))
		for _, n := range names {
			child := path.Join(rel, n)
			cfi, err := afs.root.Lstat(child)
			if err != nil {
				continue // removed meanwhile
			}
			out = append(out, fileInfo(afs, child, n, cfi))
		}
		writeJSON(w, out)
		return nil
	})
}

// readNames reads a directory's names, refusing one with more than max
// entries: a task can make millions, and each costs a stat and JSON.
func readNames(f *os.File, max int) ([]string, error) {
	var names []string
	for {
		batch, err := f.Readdirnames(1024)
		names = append(names, batch...)
		if len(names) > max {
			return nil, badRequest(fmt.Sprintf("directory has more than %d entries; the API lists at most that many", max))
		}
		if errors.Is(err, io.EOF) || (err == nil && len(batch) == 0) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// fsStat: GET /v1/client/fs/stat/:alloc?path=
func (h *Handler) fsStat(w http.ResponseWriter, r *http.Request) {
	h.withFS(w, r, func(afs *allocFS) error {
		rel, fi, err := afs.resolve(r.URL.Query().Get("path"))
		if err != nil {
			return err
		}
		name := "/"
		if rel != "." {
			name = path.Base(strings.TrimRight(r.URL.Query().Get("path"), "/"))
		}
		writeJSON(w, fileInfo(afs, rel, name, fi))
		return nil
	})
}

// fileInfo describes a file; regular files get a sniffed content type.
func fileInfo(afs *allocFS, rel, name string, fi fs.FileInfo) *api.AllocFileInfo {
	out := &api.AllocFileInfo{
		Name: name, IsDir: fi.IsDir(), Size: fi.Size(), FileMode: fi.Mode().String(), ModTime: fi.ModTime(),
	}
	if fi.Mode().IsRegular() && !private(strings.Split(rel, "/")) {
		out.ContentType = sniff(afs, rel, fi)
	}
	return out
}

func sniff(afs *allocFS, rel string, fi fs.FileInfo) string {
	f, err := afs.open(rel, fi)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, sniffBytes)
	n, _ := io.ReadFull(f, buf)
	return http.DetectContentType(buf[:n])
}

// openFile opens a regular file for the content endpoints.
func openFile(afs *allocFS, p string) (*os.File, string, fs.FileInfo, error) {
	f, rel, fi, err := afs.openPath(p)
	if err != nil {
		return nil, "", nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, "", nil, badRequest("path is a directory; use ls")
	}
	return f, rel, fi, nil
}

func rawHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// fsCat: GET /v1/client/fs/cat/:alloc?path=
//
// It serves the file as it was when opened: a task appending as fast as
// the client reads cannot keep the request going, and a file larger than
// the read cap is refused (raw bytes carry no offset, so a cut would go
// unnoticed): read it in parts with readat or stream.
func (h *Handler) fsCat(w http.ResponseWriter, r *http.Request) {
	h.withFS(w, r, func(afs *allocFS) error {
		f, _, fi, err := openFile(afs, r.URL.Query().Get("path"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := h.checkRead(fi.Size()); err != nil {
			return err
		}
		rawHeaders(w)
		_, _ = io.Copy(w, io.NewSectionReader(f, 0, fi.Size()))
		return nil
	})
}

// checkRead refuses a read of n bytes beyond the cap.
func (h *Handler) checkRead(n int64) error {
	if n > h.cfg.MaxReadBytes {
		return badRequest(fmt.Sprintf("%d bytes asked for; one request reads at most %d (client fs_max_read_bytes): read in parts with readat (offset, limit) or stream", n, h.cfg.MaxReadBytes))
	}
	return nil
}

// fsReadAt: GET /v1/client/fs/readat/:alloc?path=&offset=&limit=
//
// limit 0 reads to the end; either way the range is at most the read cap,
// and an offset past the end of the file is refused.
func (h *Handler) fsReadAt(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, err := intParam(q.Get("offset"), "offset")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.withFS(w, r, func(afs *allocFS) error {
		f, _, fi, err := openFile(afs, q.Get("path"))
		if err != nil {
			return err
		}
		defer f.Close()
		if offset > fi.Size() {
			return badRequest(fmt.Sprintf("offset %d is past the end of the file (%d bytes)", offset, fi.Size()))
		}
		n := fi.Size() - offset // no overflow: 0 <= offset <= size
		if limit > 0 && limit < n {
			n = limit
		}
		if err := h.checkRead(n); err != nil {
			return err
		}
		rawHeaders(w)
		if n > 0 {
			_, _ = io.Copy(w, io.NewSectionReader(f, offset, n))
		}
		return nil
	})
}

// intParam parses a required non-negative integer.
func intParam(v, name string) (int64, error) {
	if v == "" {
		return 0, badRequest("missing " + name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(name + " must be an integer between 0 and 9223372036854775807")
	}
	return n, nil
}
