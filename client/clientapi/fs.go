package clientapi

import (
	"encoding/json"
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
		names, err := f.Readdirnames(-1)
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
func (h *Handler) fsCat(w http.ResponseWriter, r *http.Request) {
	h.withFS(w, r, func(afs *allocFS) error {
		f, _, _, err := openFile(afs, r.URL.Query().Get("path"))
		if err != nil {
			return err
		}
		defer f.Close()
		rawHeaders(w)
		_, _ = io.Copy(w, f)
		return nil
	})
}

// fsReadAt: GET /v1/client/fs/readat/:alloc?path=&offset=&limit=
func (h *Handler) fsReadAt(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, err := intParam(q.Get("offset"), "offset", true)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := intParam(q.Get("limit"), "limit", false)
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
		n := fi.Size() - offset
		if limit > 0 && limit < n {
			n = limit
		}
		rawHeaders(w)
		if n > 0 {
			_, _ = io.Copy(w, io.NewSectionReader(f, offset, n))
		}
		return nil
	})
}

// intParam parses a required non-negative integer (limit may be negative:
// no limit).
func intParam(v, name string, nonNegative bool) (int64, error) {
	if v == "" {
		return 0, badRequest("missing " + name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || (nonNegative && n < 0) {
		return 0, badRequest(name + " must be a non-negative integer")
	}
	return n, nil
}
