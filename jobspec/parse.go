package jobspec

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"

	"github.com/roam-sh/roam/structs"
)

// ParseOptions are the inputs of a job file besides its source.
type ParseOptions struct {
	// Vars are -var name=value flags; they win over every other source.
	Vars map[string]string
	// VarFiles are -var-file paths, in order; later files win. Each is HCL,
	// or JSON when its name ends in .json or its content starts with '{'.
	VarFiles []string
	// VarFileContents optionally holds the content of VarFiles by name, for
	// callers that already read them; files missing here are read from disk.
	VarFileContents map[string][]byte
	// Env is the environment ("NAME=value"), consulted for NOMAD_VAR_<name>.
	// Nil means no environment.
	Env []string
	// AllowFS enables the functions that read local files (file, fileset...).
	// The command line sets it; the HTTP parse endpoint must not.
	AllowFS bool
	// Strict makes undeclared variables in var files an error; otherwise
	// they are ignored, so one var file can serve several jobs.
	Strict bool
}

// Parse decodes a job file (HCL2, or HCL-JSON when the source starts with
// '{') into a job. The result is not canonicalized or validated. On failure
// the error is an *Error listing every problem with its position.
func Parse(filename string, src []byte, opts ParseOptions) (*structs.Job, error) {
	p := &parser{filename: filename, opts: opts}
	job := p.parse(src)
	if err := newError(p.diags, fileStart(filename)); err != nil {
		return nil, err
	}
	return job, nil
}

// parser holds the state of one Parse call.
type parser struct {
	filename string
	opts     ParseOptions
	diags    hcl.Diagnostics
	bodies   map[hcl.Range]*hclsyntax.Body
}

func (p *parser) report(diags hcl.Diagnostics) { p.diags = append(p.diags, diags...) }

// topSchema is what may appear at the top level of a job file.
func topSchema() *hcl.BodySchema {
	return &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "variables"},
		{Type: "locals"},
		{Type: "job", LabelNames: []string{"name"}},
	}}
}

func (p *parser) parse(src []byte) *structs.Job {
	var heredocs cty.Value
	if !isJSON(p.filename, src) {
		src, heredocs = liftHeredocs(p.filename, src)
	}
	file := p.parseFile(p.filename, src)
	if file == nil {
		return nil
	}
	p.bodies = map[hcl.Range]*hclsyntax.Body{}
	indexBodies(file.Body, p.bodies)
	content, diags := file.Body.Content(topSchema())
	p.report(diags)
	if content == nil || diags.HasErrors() {
		return nil
	}
	ctx := &hcl.EvalContext{Functions: functions(baseDirOf(p.filename), p.opts.AllowFS)}
	if heredocs != cty.NilVal {
		ctx.Variables = map[string]cty.Value{heredocVar: heredocs}
	}
	vars := p.variables(ctx, content.Blocks)
	if p.diags.HasErrors() {
		return nil
	}
	if ctx.Variables == nil {
		ctx.Variables = map[string]cty.Value{}
	}
	ctx.Variables["var"] = vars
	ctx.Variables["local"] = p.locals(ctx, content.Blocks)
	if p.diags.HasErrors() {
		return nil
	}
	jobBlock := p.jobBlock(content.Blocks)
	if jobBlock == nil {
		return nil
	}
	d := &decoder{ctx: ctx, bodies: p.bodies}
	job := d.job(jobBlock, dynblock.Expand(jobBlock.Body, ctx))
	p.report(d.diags)
	return job
}

// parseFile parses native syntax, or JSON when the source starts with '{'.
func (p *parser) parseFile(name string, src []byte) *hcl.File {
	var file *hcl.File
	var diags hcl.Diagnostics
	if isJSON(name, src) {
		file, diags = json.Parse(src, name)
	} else {
		file, diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	}
	p.report(diags)
	if diags.HasErrors() || file == nil || file.Body == nil {
		return nil
	}
	return file
}

func isJSON(name string, src []byte) bool {
	trimmed := bytes.TrimSpace(src)
	return bytes.HasPrefix(trimmed, []byte("{")) || (len(trimmed) == 0 && hasSuffix(name, ".json"))
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// jobBlock returns the one job block, reporting none or several.
func (p *parser) jobBlock(blocks hcl.Blocks) *hcl.Block {
	var job *hcl.Block
	for _, b := range blocks {
		if b.Type != "job" {
			continue
		}
		if job != nil {
			p.report(hcl.Diagnostics{errorf(b.DefRange, "Duplicate job block",
				"a job file holds exactly one job; the first job block is at %s", at(job.DefRange))})
			continue
		}
		job = b
	}
	if job == nil {
		p.report(hcl.Diagnostics{errorf(fileStart(p.filename), "Missing job block",
			"a job file must contain one job \"<name>\" { ... } block")})
	}
	return job
}

// fileStart is the position of problems that belong to the whole file.
func fileStart(filename string) hcl.Range {
	return hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
}
