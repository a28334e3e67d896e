package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/structs"
)

// operatorSnapshotCommand is `roam operator snapshot save|restore|inspect`.
func (a *app) operatorSnapshotCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "snapshot", Short: "Save, restore and inspect snapshots of the cluster's state"}
	cmd.AddCommand(a.snapshotSaveCommand(), a.snapshotRestoreCommand(), a.snapshotInspectCommand())
	return cmd
}

func (a *app) snapshotSaveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "save FILE",
		Short: "Write a consistent snapshot of the cluster's state (from the leader) to FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			body, err := c.Operator().SnapshotSave(nil)
			if err != nil {
				return fmt.Errorf("save snapshot: %w", err)
			}
			defer body.Close()
			tmp := args[0] + ".tmp"
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(body, structs.MaxSnapshotSize+1))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = checkSnapshotFile(tmp)
			}
			if err != nil {
				os.Remove(tmp)
				return fmt.Errorf("save snapshot: %w", err)
			}
			if err := os.Rename(tmp, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "State file written to %s\n", args[0])
			return nil
		},
	}
}

// checkSnapshotFile reads an archive back, so a save never leaves a file
// that a restore would refuse.
func checkSnapshotFile(path string) error {
	_, err := readSnapshotFile(path)
	return err
}

func readSnapshotFile(path string) (structs.SnapshotMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return structs.SnapshotMeta{}, err
	}
	defer f.Close()
	meta, _, err := structs.ReadSnapshotArchive(f)
	return meta, err
}

func (a *app) snapshotRestoreCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the cluster's state with the snapshot in FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkSnapshotFile(args[0]); err != nil {
				return fmt.Errorf("restore snapshot: %w", err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if err := c.Operator().SnapshotRestore(f); err != nil {
				return fmt.Errorf("restore snapshot: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Snapshot Restored")
			return nil
		},
	}
}

func (a *app) snapshotInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE",
		Short: "Check a snapshot file and print what it is (no agent needed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			meta, err := readSnapshotFile(args[0])
			if err != nil {
				return fmt.Errorf("inspect snapshot: %w", err)
			}
			rows := [][]string{{"ID", meta.ID}, {"Size", strconv.FormatInt(meta.Size, 10)}, {"Index", strconv.FormatUint(meta.Index, 10)},
				{"Term", strconv.FormatUint(meta.Term, 10)}, {"Version", strconv.Itoa(meta.Version)}, {"Server", meta.ServerVersion}, {"Created", meta.CreateTime.Format("2006-01-02T15:04:05Z07:00")}}
			for _, r := range rows {
				fmt.Fprintf(cmd.OutOrStdout(), "%-8s %s\n", r[0], r[1])
			}
			return nil
		},
	}
}
