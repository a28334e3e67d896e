package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Specification files of `namespace apply` and `node pool apply`: HCL (the
// format of Nomad's examples) or JSON (the API's shape; -json or a .json
// name). The HCL is decoded without functions or variables, so a file
// cannot read anything beyond itself.

// maxSpecBytes bounds a specification file: they hold a name, a
// description and a few meta keys.
const maxSpecBytes = 1 << 20

// readSpec reads a spec file ("-" for stdin) and says whether it is JSON.
func readSpec(a *app, path string, asJSON bool) ([]byte, bool, error) {
	var src []byte
	var err error
	if path == "-" {
		src, err = readAllLimited(a.opts.Stdin, maxSpecBytes)
	} else {
		var f *os.File
		if f, err = os.Open(path); err == nil {
			defer f.Close()
			src, err = readAllLimited(f, maxSpecBytes)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return src, asJSON || strings.HasSuffix(path, ".json"), nil
}

// decodeJSONSpec decodes a JSON spec strictly, so a misspelt field is an
// error rather than a setting silently dropped.
func decodeJSONSpec(name string, src []byte, out any) error {
	dec := json.NewDecoder(strings.NewReader(string(src)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// parseHCL parses src and returns its body.
func parseHCL(name string, src []byte) (hcl.Body, error) {
	f, diags := hclparse.NewParser().ParseHCL(src, name)
	if diags.HasErrors() {
		return nil, diags
	}
	return f.Body, nil
}

// metaBlock is a `meta { key = "value" }` block.
type metaBlock struct {
	Body hcl.Body `hcl:",remain"`
}

// decodeMeta evaluates a meta block's attributes as strings.
func decodeMeta(m *metaBlock) (map[string]string, error) {
	if m == nil {
		return nil, nil
	}
	attrs, diags := m.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diags
	}
	out := make(map[string]string, len(attrs))
	for name, attr := range attrs {
		var v string
		if diags := gohcl.DecodeExpression(attr.Expr, nil, &v); diags.HasErrors() {
			return nil, diags
		}
		out[name] = v
	}
	return out, nil
}

// readAllLimited reads r to its end, failing past max bytes.
func readAllLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}
