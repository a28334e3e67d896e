package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// eventCommand is `roam event`.
func (a *app) eventCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "event", Short: "Read the cluster's event stream"}
	cmd.AddCommand(a.eventStreamCommand())
	return cmd
}

// eventStreamCommand is `roam event stream`: it follows /v1/event/stream
// until interrupted.
func (a *app) eventStreamCommand() *cobra.Command {
	var (
		topics []string
		index  uint64
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Follow changes to jobs, allocations, evaluations, nodes and services",
		Long: "Follow the event stream. Each -topic is Topic or Topic:Key (a job ID, an\n" +
			"allocation ID, a service name...); without -topic every event is shown.\n" +
			"-index resumes at a log index (the server keeps its latest 100 entries).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			subs, err := parseTopicFlags(topics)
			if err != nil {
				return err
			}
			ch, err := c.EventStream().Stream(cmd.Context(), subs, index, nil)
			if err != nil {
				return fmt.Errorf("subscribe to events: %w", err)
			}
			w := cmd.OutOrStdout()
			for batch := range ch {
				if batch.Err != nil {
					return batch.Err
				}
				if err := printEvents(w, batch, asJSON); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "Topic or Topic:Key to follow (repeatable)")
	cmd.Flags().Uint64Var(&index, "index", 0, "log index to start from")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each batch as one line of JSON, as the API sends it")
	return cmd
}

func parseTopicFlags(flags []string) (map[api.Topic][]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[api.Topic][]string{}
	for _, f := range flags {
		topic, key, ok := strings.Cut(f, ":")
		if !ok {
			key = "*"
		}
		if topic == "" || key == "" {
			return nil, fmt.Errorf("invalid -topic %q: want Topic or Topic:Key", f)
		}
		out[api.Topic(topic)] = append(out[api.Topic(topic)], key)
	}
	return out, nil
}

func printEvents(w io.Writer, batch *api.Events, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(batch)
		if err != nil {
			return fmt.Errorf("encode events: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	for _, ev := range batch.Events {
		if _, err := fmt.Fprintf(w, "%-8d %-11s %-30s %s\n", ev.Index, ev.Topic, ev.Type, ev.Key); err != nil {
			return err
		}
	}
	return nil
}
