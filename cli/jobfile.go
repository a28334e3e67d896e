package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/structs"
)

// The job commands parse job files locally (not through /v1/jobs/parse):
// local parsing may read files next to the job (file(), templates), sees
// NOMAD_VAR_* from the user's environment and reports errors with the real
// file name. This is the one place the CLI uses a package other than api.

// JobParser evaluates a job file; cmd/roam passes a jobspec/sandbox.Runner
// so that a hostile file costs the CLI bounded work. It must stop when ctx
// ends (^C).
type JobParser interface {
	Parse(ctx context.Context, filename string, src []byte, opts jobspec.ParseOptions) (*structs.Job, error)
}

// inProcessParser is jobspec.Parse with no bound on its work, the default
// for Options without a JobParser (tests).
type inProcessParser struct{}

func (inProcessParser) Parse(_ context.Context, filename string, src []byte, opts jobspec.ParseOptions) (*structs.Job, error) {
	return jobspec.Parse(filename, src, opts)
}

// jobFileFlags are the flags of commands that read a job file.
type jobFileFlags struct {
	vars     []string
	varFiles []string
	// apiJSON: the file is a job in the API's JSON (what job inspect and
	// job run -output print), not a job file.
	apiJSON bool
}

// addAPIJSONFlag adds -json, Nomad's flag for reading the job as API JSON
// (commands whose -json prints output have none; the format is also
// recognised by itself).
func (f *jobFileFlags) addAPIJSONFlag(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.apiJSON, "json", false, "read the job as API JSON (as job inspect and job run -output print it)")
}

func addJobFileFlags(cmd *cobra.Command) *jobFileFlags {
	f := &jobFileFlags{}
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a job variable (name=value; repeatable)")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil, "read job variables from a file (HCL or JSON; repeatable)")
	return f
}

// parsedJob is a job read from a file, with what is needed to submit its
// source along with it.
type parsedJob struct {
	job        *api.Job
	submission *api.JobSubmission
}

// readJobFile parses path ("-" for stdin) with the flags' variables.
func (a *app) readJobFile(ctx context.Context, path string, f *jobFileFlags) (*parsedJob, error) {
	src, name, err := a.readSource(path)
	if err != nil {
		return nil, err
	}
	vars, err := parseVarFlags(f.vars)
	if err != nil {
		return nil, err
	}
	varContents, err := readVarFiles(f.varFiles)
	if err != nil {
		return nil, err
	}
	if f.apiJSON || isAPIJSON(src) {
		job, err := decodeAPIJob(name, src)
		if err != nil {
			return nil, &ExitError{Code: 1, Msg: err.Error()}
		}
		return &parsedJob{job: job, submission: submission(src, vars, varContents, f.varFiles)}, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	job, err := a.opts.JobParser.Parse(ctx, name, src, jobspec.ParseOptions{
		Vars: vars, VarFiles: f.varFiles, VarFileContents: varContents,
		Env: a.opts.Environ(), AllowFS: true,
	})
	var lerr *sandbox.LimitError
	if errors.As(err, &lerr) {
		return nil, &ExitError{Code: 1, Msg: fmt.Sprintf("parse job file %s: %v", name, err)}
	}
	if err != nil {
		return nil, &ExitError{Code: 1, Msg: fmt.Sprintf("parse job file %s:\n%v", name, err)}
	}
	return &parsedJob{job: job, submission: submission(src, vars, varContents, f.varFiles)}, nil
}

func (a *app) readSource(path string) ([]byte, string, error) {
	if path == "-" {
		src, err := io.ReadAll(a.opts.Stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read job from stdin: %w", err)
		}
		return src, "<stdin>", nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read job file: %w", err)
	}
	return src, path, nil
}

// parseVarFlags splits -var name=value flags.
func parseVarFlags(flags []string) (map[string]string, error) {
	vars := map[string]string{}
	for _, v := range flags {
		name, value, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("invalid -var %q: want name=value", v)
		}
		vars[strings.TrimSpace(name)] = value
	}
	return vars, nil
}

func readVarFiles(paths []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read variable file: %w", err)
		}
		out[p] = b
	}
	return out, nil
}

// submission records the source so that `job inspect` can show the file a
// version came from.
func submission(src []byte, vars map[string]string, varFiles map[string][]byte, order []string) *api.JobSubmission {
	format := "hcl2"
	if trimmed := strings.TrimSpace(string(src)); strings.HasPrefix(trimmed, "{") {
		format = "json"
	}
	var files []string
	for _, p := range order {
		files = append(files, string(varFiles[p]))
	}
	return &api.JobSubmission{Source: string(src), Format: format, VariableFlags: vars, Variables: strings.Join(files, "\n")}
}

// isAPIJSON reports whether src is a job in the API's JSON: an object with
// a "Job" member (job inspect, job run -output) or the job's own
// "TaskGroups", rather than HCL's JSON syntax (job "name" { ... }).
func isAPIJSON(src []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(src, &top) != nil {
		return false
	}
	_, wrapped := top["Job"]
	_, bare := top["TaskGroups"]
	return wrapped || bare
}

// decodeAPIJob reads a job in the API's JSON, wrapped in {"Job": ...} or
// not; a decoding error names the file.
func decodeAPIJob(name string, src []byte) (*api.Job, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(src, &top); err != nil {
		return nil, fmt.Errorf("parse job file %s as JSON: %w", name, err)
	}
	body := src
	if inner, ok := top["Job"]; ok {
		body = inner
	}
	var job api.Job
	if err := json.Unmarshal(body, &job); err != nil {
		return nil, fmt.Errorf("parse job file %s as JSON: %w", name, err)
	}
	if job.ID == "" && job.Name == "" {
		return nil, fmt.Errorf("parse job file %s as JSON: the job has no ID", name)
	}
	return &job, nil
}
