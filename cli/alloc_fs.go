package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// allocFSCommand is `roam alloc fs <alloc> [path]`: list a directory of the
// allocation, or print (and follow) a file.
func (a *app) allocFSCommand() *cobra.Command {
	var t tailOptions
	var stat, byJob bool
	var out *outputFlags
	cmd := &cobra.Command{
		Use:               "fs [flags] <alloc> [path]",
		ValidArgsFunction: a.completeAllocs(),
		Short:             "List or print files of an allocation",
		Long: "Browse an allocation's directory: a directory is listed, a file printed. Paths\n" +
			"are relative to the allocation directory (alloc/logs, web/local/conf); the\n" +
			"tasks' secrets/ and private/ are not accessible.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			al, err := allocArg(c, w, args[0], byJob)
			if err != nil {
				return err
			}
			path := "/"
			if len(args) > 1 {
				path = args[1]
			}
			fi, err := c.AllocFS().Stat(al.ID, path, nil)
			if err != nil {
				return fmt.Errorf("stat %q: %w", path, err)
			}
			switch {
			case stat:
				return writeFileInfo(w, out, fi)
			case fi.IsDir:
				return listDir(c, w, out, al.ID, path)
			}
			return printFile(cmd, c, al.ID, path, t)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&stat, "stat", false, "describe the file instead of printing it")
	f.BoolVarP(&t.follow, "follow", "f", false, "keep printing the file as it grows")
	f.BoolVar(&t.tail, "tail", false, "start from the end of the file (the last 10 lines unless -n or -c)")
	f.IntVarP(&t.lines, "lines", "n", 0, "print the last `N` lines (implies -tail)")
	f.Int64VarP(&t.bytes, "bytes", "c", 0, "print the last `N` bytes (implies -tail)")
	f.BoolVar(&byJob, "job", false, "the argument is a job ID: use its newest running allocation")
	out = addOutputFlags(cmd)
	return cmd
}

func printFile(cmd *cobra.Command, c *api.Client, allocID, path string, t tailOptions) error {
	ctx := cmd.Context()
	open := func(o api.StreamOptions) (*api.FrameStream, error) {
		s, err := c.AllocFS().Stream(allocID, path, o, &api.QueryOptions{Ctx: ctx})
		if err != nil {
			return nil, fmt.Errorf("read %q: %w", path, err)
		}
		return s, nil
	}
	return t.run(ctx, open, cmd.OutOrStdout())
}

func listDir(c *api.Client, w io.Writer, out *outputFlags, allocID, path string) error {
	files, err := c.AllocFS().List(allocID, path, nil)
	if err != nil {
		return fmt.Errorf("list %q: %w", path, err)
	}
	if out.wanted() {
		return out.print(w, files)
	}
	rows := [][]string{{"Mode", "Size", "Modified Time", "Name"}}
	for _, fi := range files {
		rows = append(rows, fileRow(fi))
	}
	fmt.Fprint(w, table(rows))
	return nil
}

func writeFileInfo(w io.Writer, out *outputFlags, fi *api.AllocFileInfo) error {
	if out.wanted() {
		return out.print(w, fi)
	}
	fmt.Fprint(w, table([][]string{{"Mode", "Size", "Modified Time", "Name"}, fileRow(fi)}))
	return nil
}

func fileRow(fi *api.AllocFileInfo) []string {
	name := fi.Name
	if fi.IsDir && name != "/" {
		name += "/"
	}
	return []string{fi.FileMode, humanBytes(uint64(fi.Size)), formatTime(fi.ModTime), name}
}
