package ui

import (
	"bytes"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
)

// firstRead names the API reads a page starts before anything else, so
// that the page's HTML can ask the browser to start them (a preload) while
// it still loads and runs the app's modules: the answers are on their way
// when the page's script asks for them, instead of leaving only then. The
// browser hands the preloaded answer to the page's own fetch of the same
// URL; a page that does not ask (another version of the script) costs one
// unused read.
type firstRead struct {
	// page matches the path under /ui/ (decoded); its one group is the
	// parameter the reads name, as the page's module gets it.
	page *regexp.Regexp
	// reads are the API paths, %s being the parameter escaped as the
	// module escapes it (encodeURIComponent).
	reads []string
}

// firstReads, one entry per page whose first reads are known from its URL
// alone. Order does not matter: page patterns do not overlap.
var firstReads = []firstRead{
	// The job page (pages/job.js) reads the job and, side by side with it,
	// the sources of its first round: allocations, evaluations, summary,
	// deployments. A job ID with an @ is Nomad's id@namespace link, which
	// the router rewrites first, so it is left out.
	{regexp.MustCompile(`^jobs/([^/@]+)$`), []string{
		"/v1/job/%s", "/v1/job/%s/allocations", "/v1/job/%s/evaluations",
		"/v1/job/%s/summary", "/v1/job/%s/deployments",
	}},
}

// preloadAnchor is where the preloads go in index.html: before the
// stylesheet, so the browser sends them first.
var preloadAnchor = []byte(`<link rel="stylesheet"`)

// withFirstReads returns index with a preload for each first read of the
// page at name (the path under /ui/), carrying the namespace of query as
// the page does (api.js nsQuery); index itself when the page has none.
func withFirstReads(index []byte, name string, query url.Values) []byte {
	at := bytes.Index(index, preloadAnchor)
	if at < 0 {
		return index
	}
	var links strings.Builder
	for _, fr := range firstReads {
		m := fr.page.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		param := escapeComponent(m[1])
		suffix := ""
		if ns := query.Get("namespace"); ns != "" {
			suffix = "?namespace=" + escapeForm(ns)
		}
		for _, r := range fr.reads {
			// crossorigin: the page's fetch is in cors mode with same-origin
			// credentials; a preload matches it only in the same mode.
			fmt.Fprintf(&links, "<link rel=\"preload\" as=\"fetch\" crossorigin href=\"%s\">\n",
				html.EscapeString(fmt.Sprintf(r, param)+suffix))
		}
	}
	if links.Len() == 0 {
		return index
	}
	out := make([]byte, 0, len(index)+links.Len())
	out = append(out, index[:at]...)
	out = append(out, links.String()...)
	return append(out, index[at:]...)
}

// escapeComponent escapes s as JavaScript's encodeURIComponent does: the
// browser reuses a preload only for the very same URL.
func escapeComponent(s string) string { return escapeExcept(s, "-_.!~*'()", false) }

// escapeForm escapes a query value as URLSearchParams does
// (application/x-www-form-urlencoded: a space is a +).
func escapeForm(s string) string { return escapeExcept(s, "*-._", true) }

// escapeExcept percent-encodes every byte of s but ASCII letters, digits
// and those in keep; spacePlus writes a space as +.
func escapeExcept(s, keep string, spacePlus bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && spacePlus:
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
