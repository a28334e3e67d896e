package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed static
var files embed.FS

// Prefix is the path the UI is served under.
const Prefix = "/ui/"

// csp is the Content-Security-Policy of every UI response: scripts and
// styles only from the agent's own files (no inline script, no eval),
// connections only to the agent (fetch, the exec websocket), images and
// media from the agent or from blobs the UI built from file contents, and
// no framing, so another page cannot overlay the UI.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Files are the UI's static files (index.html, style.css, the modules).
func Files() fs.FS {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return static
}

// Handler serves the UI's files under Prefix. A path that names no file
// (a deep link such as /ui/jobs/web, or /ui/allocations/:id/fs/web/a.png)
// gets index.html, so the browser's router shows the page; a missing asset
// (a top-level file or one under pages/) is a 404, so a typo in a script
// name fails loudly instead of loading HTML.
//
// index.html names the files under a versioned path, /ui/v-<hash>/app.js,
// where the hash is of every file in the binary: those answers may be
// cached for a year without asking again (a page load would otherwise
// revalidate all twenty files, a round trip each, before it could ask for
// its data), and an upgraded agent's files have another path, so a browser
// never mixes old and new modules. Modules import each other by relative
// paths, so they stay under the version of the page that loaded them.
func Handler() http.Handler {
	static := Files()
	fileServer := http.StripPrefix(Prefix, http.FileServerFS(static))
	tags := etags(static)
	version := "v-" + buildHash(tags)
	index := versionedIndex(static, version)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		// Unversioned paths (and index.html) change with the binary:
		// revalidating keeps an upgraded agent's files from mixing with old.
		h.Set("Cache-Control", "no-cache")
		name := strings.TrimPrefix(path.Clean(r.URL.Path), strings.TrimSuffix(Prefix, "/"))
		name = strings.TrimPrefix(name, "/")
		if first, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(first, "v-") {
			// Another build's files are not here: a 404 rather than this
			// build's file under that build's name.
			if first != version || !exists(static, rest) {
				http.NotFound(w, r)
				return
			}
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			h.Set("ETag", tags[rest])
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = Prefix+rest, ""
			fileServer.ServeHTTP(w, r2)
			return
		}
		if name == "" || name == "index.html" || !exists(static, name) {
			if isAsset(name) {
				http.NotFound(w, r)
				return
			}
			serveIndex(w, r, withFirstReads(index, name, r.URL.Query()))
			return
		}
		// Embedded files have no modification time, so without an ETag every
		// revalidation would download the file again.
		h.Set("ETag", tags[name])
		fileServer.ServeHTTP(w, r)
	})
}

// buildHash is one hash of every file's: it changes when any file does.
func buildHash(tags map[string]string) string {
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		sum.Write([]byte(n + " " + tags[n] + "\n"))
	}
	return hex.EncodeToString(sum.Sum(nil)[:8])
}

// assetRef is a reference in index.html to one of the UI's files (a
// script, stylesheet, preload or icon); the app's links (/ui/jobs) end in
// no file extension and are left alone.
var assetRef = regexp.MustCompile(`((?:href|src)=")/ui/([^"]+\.(?:js|css|svg))"`)

// versionedIndex is index.html with its files named under version.
func versionedIndex(fsys fs.FS, version string) []byte {
	b, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return nil // the embed directive guarantees it; serveIndex says so
	}
	return assetRef.ReplaceAll(b, []byte("${1}/ui/"+version+"/${2}\""))
}

// etags hashes every file once: the contents change only with the binary.
func etags(fsys fs.FS) map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return tags
}

func exists(fsys fs.FS, name string) bool {
	fi, err := fs.Stat(fsys, name)
	return err == nil && !fi.IsDir()
}

func serveIndex(w http.ResponseWriter, r *http.Request, index []byte) {
	if index == nil {
		http.Error(w, "ui: index.html missing from the binary", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(index)
}

// isAsset reports whether name is where the UI's own files live: the top
// level (app.js, style.css) and pages/. Deep links never are: they start
// with a page's name (jobs/, allocations/…), which holds no files.
func isAsset(name string) bool {
	if name == "" || name == "index.html" {
		return false
	}
	return (!strings.Contains(name, "/") && path.Ext(name) != "") || strings.HasPrefix(name, "pages/")
}
