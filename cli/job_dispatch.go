package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

type jobDispatchFlags struct {
	meta             []string
	idPrefixTemplate string
	idempotencyToken string
	detach, verbose  bool
}

// jobDispatchCommand is `roam job dispatch <job> [input]`: create a child
// of a parameterized job with meta and a payload read from a file or, with
// "-", from stdin.
func (a *app) jobDispatchCommand() *cobra.Command {
	f := &jobDispatchFlags{}
	cmd := &cobra.Command{
		Use:               "dispatch [flags] <job> [input file|-]",
		ValidArgsFunction: a.completeJobs(),
		Short:             "Dispatch an instance of a parameterized job",
		Args:              cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.jobDispatch(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.meta, "meta", nil, "meta key=value for the dispatched job (repeatable)")
	fl.StringVar(&f.idPrefixTemplate, "id-prefix-template", "", "prefix of the dispatched job's ID after /dispatch-")
	fl.StringVar(&f.idempotencyToken, "idempotency-token", "", "dispatch at most once with this token: while a child dispatched with it exists, that child is returned")
	fl.BoolVar(&f.detach, "detach", false, "return after dispatching, printing the evaluation ID")
	fl.BoolVar(&f.verbose, "verbose", false, "print full IDs")
	return cmd
}

func (a *app) jobDispatch(cmd *cobra.Command, args []string, f *jobDispatchFlags) error {
	meta, err := parseMetaFlags(f.meta)
	if err != nil {
		return err
	}
	var payload []byte
	if len(args) == 2 {
		if payload, err = readPayload(args[1], a.opts.Stdin); err != nil {
			return err
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	id, err := resolveJob(c, out, args[0])
	if err != nil {
		return err
	}
	resp, _, err := c.Jobs().Dispatch(id, meta, payload, f.idPrefixTemplate,
		&api.WriteOptions{IdempotencyToken: f.idempotencyToken})
	if err != nil {
		return fmt.Errorf("dispatch job %q: %w", id, err)
	}
	rows := [][2]string{{"Dispatched Job ID", resp.DispatchedJobID}}
	if resp.EvalID != "" {
		rows = append(rows, [2]string{"Evaluation ID", shortID(resp.EvalID, f.verbose)})
	}
	fmt.Fprint(out, kv(rows))
	if resp.EvalID == "" || f.detach {
		return nil
	}
	fmt.Fprintln(out)
	return a.monitorOrDetach(cmd.Context(), c, out, resp.EvalID, false, f.verbose)
}

// parseMetaFlags turns -meta key=value flags into a map.
func parseMetaFlags(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	meta := make(map[string]string, len(flags))
	for _, m := range flags {
		k, v, ok := strings.Cut(m, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid -meta %q: want key=value", m)
		}
		meta[k] = v
	}
	return meta, nil
}

// readPayload reads the input from a file or, for "-", stdin; one larger
// than the servers accept is refused before it is sent.
func readPayload(src string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if src != "-" {
		fh, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, structs.DispatchPayloadSizeLimit+1))
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if len(b) > structs.DispatchPayloadSizeLimit {
		return nil, fmt.Errorf("input is larger than the payload limit of %d bytes", structs.DispatchPayloadSizeLimit)
	}
	return b, nil
}
