package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// registerFlags are the --registry options of the training commands.
type registerFlags struct {
	dir     string
	promote bool
}

func (r *registerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.dir, "registry", "", "also write the model as a new version (with lineage) into this model registry directory")
	cmd.Flags().BoolVar(&r.promote, "promote", false, "with --registry: make the new version the champion")
	pre := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if r.promote && r.dir == "" {
			return fmt.Errorf("--promote needs --registry")
		}
		if pre != nil {
			return pre(c, args)
		}
		return nil
	}
}

// publish writes a trained model into the registry (when --registry was given) with the
// lineage lineage returns (called only then: it may hash a trace file), and says what it did.
// peers are the kinds that serve in the same role: the parent is the champion when it is one
// of them (a seasonal-naive trained against a holt-winters champion is its challenger; an RL
// agent is no forecaster's).
func (r *registerFlags) publish(w io.Writer, peers []string, lineage func() (registry.Lineage, error), save func(dir string) error) error {
	if r.dir == "" {
		return nil
	}
	l, err := lineage()
	if err != nil {
		return err
	}
	if l.Parent == "" && registry.IsRegistry(r.dir) {
		reg, err := registry.Open(r.dir)
		if err != nil {
			return err
		}
		if v, err := reg.Get(registry.Champion); err == nil && slices.Contains(peers, v.Lineage.Kind) {
			l.Parent = v.ID
		}
	}
	v, created, err := registry.Publish(r.dir, save, l, r.promote)
	if err != nil {
		return err
	}
	what := "registered"
	if !created {
		what = "already registered (identical model)"
	}
	fmt.Fprintf(w, "%s %s version %s in %s", what, v.Lineage.Kind, registry.Short(v.ID), r.dir)
	if v.Lineage.Parent != "" {
		fmt.Fprintf(w, ", parent %s", registry.Short(v.Lineage.Parent))
	}
	if len(v.Aliases) > 0 {
		fmt.Fprintf(w, ", aliases %s", strings.Join(v.Aliases, ","))
	}
	fmt.Fprintln(w)
	return nil
}

// lineage describes the data p was loaded from (see seriesData).
func (t *fcTraceFlags) lineage(p fcData, createdBy string) (registry.Lineage, error) {
	d, err := seriesData(t.trace, &t.prom, t.split, p.raw, p.train, p.val, p.norm)
	if err != nil {
		return registry.Lineage{}, err
	}
	return registry.Lineage{Data: d, Seed: t.seed, CreatedBy: createdBy, CodeVersion: registry.CodeVersion(version)}, nil
}

// seriesData describes a workload's training data: the trace and its SHA-256 (or the
// Prometheus range read, or synthetic), the digest of the training and validation points
// before normalisation (raw, in req/s), the split, the normalisation and both windows.
func seriesData(trace string, prom *promSource, split string, raw, train, val series.Series, norm *series.Normalizer) (registry.Data, error) {
	used := raw.Slice(0, train.Len()+val.Len())
	d := registry.Data{Source: "trace", Trace: trace, Split: split, Normalize: "none",
		SeriesDigest: registry.DigestSeries(used.Start, used.Step, used.Values),
		Train:        registry.WindowOf(train.Start, train.Step, train.Len())}
	if norm != nil {
		d.Normalize = norm.Kind
	}
	if val.Len() > 0 {
		w := registry.WindowOf(val.Start, val.Step, val.Len())
		d.Validation = &w
	}
	switch {
	case prom != nil && prom.address != "":
		d.Source, d.Prometheus = "prometheus", prom.read
	case trace == "synthetic" || strings.HasPrefix(trace, "synthetic:"):
		d.Source = "synthetic"
	default:
		sum, err := registry.FileSHA256(trace)
		if err != nil {
			return registry.Data{}, err
		}
		d.TraceDigest = sum
	}
	return d, nil
}

// newRegistryCmd is a models subcommand on the registry in args[0]: it checks --format,
// opens the registry and runs run with the command's output.
func newRegistryCmd(use, short string, nargs int, run func(w io.Writer, r *registry.Registry, format modelsFormat, args []string) error) *cobra.Command {
	var format modelsFormat
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := format.check(); err != nil {
				return err
			}
			r, err := registry.Open(args[0])
			if err != nil {
				return err
			}
			return run(cmd.OutOrStdout(), r, format, args)
		},
	}
	format.register(cmd)
	return cmd
}

// modelsFormat is the --format flag of the models subcommands.
type modelsFormat string

func (f *modelsFormat) register(cmd *cobra.Command) {
	cmd.Flags().StringVar((*string)(f), "format", "table", "table or json")
}

func (f modelsFormat) check() error {
	if f != "table" && f != "json" {
		return fmt.Errorf("--format %q: want table or json", string(f))
	}
	return nil
}

// versionJSON is one version in the JSON output of models list and show.
type versionJSON struct {
	ID      string           `json:"id"`
	Short   string           `json:"short"`
	Dir     string           `json:"dir"`
	Aliases []string         `json:"aliases"`
	Lineage registry.Lineage `json:"lineage"`
	Error   string           `json:"error,omitempty"`
}

func toJSON(v registry.Version, err error) versionJSON {
	out := versionJSON{ID: v.ID, Short: registry.Short(v.ID), Dir: v.Dir, Aliases: v.Aliases, Lineage: v.Lineage}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newModelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Inspect and manage a model registry: list, show, diff, promote, rollback, gc",
		Long: `A model registry is a directory of immutable, content-addressed model versions with
their lineage, and aliases (champion, challenger, ...) that point at versions. Train into one
with "bascaler forecast train --registry DIR"; load from one anywhere a model directory is
accepted with DIR@champion or DIR@<digest prefix>.`,
	}
	cmd.AddCommand(newModelsListCmd(), newModelsShowCmd(), newModelsDiffCmd(), newModelsPromoteCmd(),
		newModelsRollbackCmd(), newModelsGCCmd())
	return cmd
}

func newModelsListCmd() *cobra.Command {
	cmd := newRegistryCmd("list DIR", "List a registry's versions, newest first, with aliases and lineage summary", 1, func(w io.Writer, r *registry.Registry, format modelsFormat, args []string) error {
		list, err := r.List()
		if err != nil {
			return err
		}
		aliases, err := r.Aliases()
		if err != nil {
			return err
		}
		hist, err := r.History()
		if err != nil {
			return err
		}
		if format == "json" {
			doc := struct {
				Registry string            `json:"registry"`
				Aliases  map[string]string `json:"aliases"`
				Versions []versionJSON     `json:"versions"`
				History  []registry.Event  `json:"history"`
			}{Registry: args[0], Aliases: aliases, Versions: []versionJSON{}, History: hist}
			if doc.History == nil {
				doc.History = []registry.Event{}
			}
			for _, l := range list {
				doc.Versions = append(doc.Versions, toJSON(l.Version, l.Err))
			}
			return writeJSON(w, doc)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tALIASES\tKIND\tCREATED\tDATA\tPOINTS\tVAL PINBALL\tPARENT\tSTATUS")
		for _, l := range list {
			status := "ok"
			if l.Err != nil {
				status = "DAMAGED: " + l.Err.Error()
			}
			ln := l.Lineage
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", registry.Short(l.ID), dash(strings.Join(l.Aliases, ",")),
				dash(ln.Kind), ln.Created.Format(time.RFC3339), dash(dataSummary(ln.Data)), ln.Data.Train.Points,
				score(ln.Validation, "pinball_mean"), dash(registry.Short(ln.Parent)), status)
		}
		return tw.Flush()
	})
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func score(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.4g", v)
}

func dataSummary(d registry.Data) string {
	switch {
	case d.Prometheus != nil:
		return "prometheus " + d.Prometheus.Start.Format(time.RFC3339) + ".." + d.Prometheus.End.Format(time.RFC3339)
	case d.Trace != "":
		return d.Trace
	}
	return d.Source
}

func newModelsShowCmd() *cobra.Command {
	cmd := newRegistryCmd("show DIR REF", "Show one version's lineage (REF: an alias or a digest prefix); verifies its files", 2, func(w io.Writer, r *registry.Registry, format modelsFormat, args []string) error {
		v, err := r.Get(args[1])
		if err != nil {
			return err
		}
		if format == "json" {
			return writeJSON(w, toJSON(v, nil))
		}
		ln := v.Lineage
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, dash(v)) }
		row("version", v.ID)
		row("dir", v.Dir)
		row("aliases", strings.Join(v.Aliases, ", "))
		row("kind", ln.Kind)
		row("params", kv(ln.Params))
		row("created", ln.Created.Format(time.RFC3339))
		row("created by", ln.CreatedBy)
		row("code version", ln.CodeVersion)
		row("parent", ln.Parent)
		row("seed", fmt.Sprint(ln.Seed))
		row("data source", ln.Data.Source)
		row("trace", ln.Data.Trace)
		row("trace sha256", ln.Data.TraceDigest)
		if p := ln.Data.Prometheus; p != nil {
			row("prometheus", p.Address)
			row("query", p.Query)
			row("range", fmt.Sprintf("%s .. %s step %s", p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339), p.Step))
		}
		row("series digest", ln.Data.SeriesDigest)
		row("split / normalize", ln.Data.Split+" / "+ln.Data.Normalize)
		row("train window", windowText(ln.Data.Train))
		if ln.Data.Validation != nil {
			row("validation window", windowText(*ln.Data.Validation))
		}
		scores := map[string]string{}
		for k, s := range ln.Validation {
			scores[k] = fmt.Sprintf("%.6g", s)
		}
		row("validation scores", kv(scores))
		cal := "none"
		if len(ln.Calibration) > 0 {
			cal = string(ln.Calibration)
			if len(cal) > 100 {
				cal = cal[:97] + "... (--format json shows it whole)"
			}
		}
		row("calibration", cal)
		names := make([]string, 0, len(ln.Files))
		for n := range ln.Files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			row("file "+n, fmt.Sprintf("%d bytes, sha256 %s", ln.Files[n].Size, ln.Files[n].SHA256))
		}
		return tw.Flush()
	})
	return cmd
}

func windowText(w registry.Window) string {
	if w.Points == 0 {
		return ""
	}
	return fmt.Sprintf("%s .. %s, %d points of %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), w.Points, w.Step)
}

func kv(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

func newModelsDiffCmd() *cobra.Command {
	cmd := newRegistryCmd("diff DIR REF-A REF-B", "Compare two versions' lineage and manifest field by field", 3, func(w io.Writer, r *registry.Registry, format modelsFormat, args []string) error {
		a, b, changes, err := r.Diff(args[1], args[2])
		if err != nil {
			return err
		}
		if format == "json" {
			if changes == nil {
				changes = []registry.Change{}
			}
			return writeJSON(w, struct {
				A       string            `json:"a"`
				B       string            `json:"b"`
				Changes []registry.Change `json:"changes"`
			}{a.ID, b.ID, changes})
		}
		fmt.Fprintf(w, "a %s\nb %s\n", a.ID, b.ID)
		if len(changes) == 0 {
			fmt.Fprintln(w, "identical")
			return nil
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FIELD\tA\tB")
		for _, c := range changes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Path, clipText(dash(c.A)), clipText(dash(c.B)))
		}
		return tw.Flush()
	})
	return cmd
}

// clipText keeps table cells readable; --format json has the full values.
func clipText(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func writeEvent(w io.Writer, format modelsFormat, ev registry.Event) error {
	if format == "json" {
		return writeJSON(w, ev)
	}
	if ev.From == ev.To {
		fmt.Fprintf(w, "%s already at %s\n", ev.Alias, registry.Short(ev.To))
		return nil
	}
	fmt.Fprintf(w, "%s: %s -> %s (%s)\n", ev.Alias, dash(registry.Short(ev.From)), registry.Short(ev.To), ev.Action)
	return nil
}

func newModelsPromoteCmd() *cobra.Command {
	return newAliasCmd("promote DIR REF", "Point an alias (default champion) at a version, after verifying it", "alias to move", 2,
		func(r *registry.Registry, alias string, args []string) (registry.Event, error) {
			return r.Promote(alias, args[1])
		})
}

func newModelsRollbackCmd() *cobra.Command {
	return newAliasCmd("rollback DIR", "Point an alias (default champion) back at the version it held before", "alias to move back", 1,
		func(r *registry.Registry, alias string, _ []string) (registry.Event, error) { return r.Rollback(alias) })
}

// newAliasCmd is a command that moves an alias of the registry in args[0] and prints the
// event.
func newAliasCmd(use, short, aliasHelp string, nargs int, move func(r *registry.Registry, alias string, args []string) (registry.Event, error)) *cobra.Command {
	var alias string
	cmd := newRegistryCmd(use, short, nargs, func(w io.Writer, r *registry.Registry, format modelsFormat, args []string) error {
		ev, err := move(r, alias, args)
		if err != nil {
			return err
		}
		return writeEvent(w, format, ev)
	})
	cmd.Flags().StringVar(&alias, "alias", registry.Champion, aliasHelp)
	return cmd
}

func newModelsGCCmd() *cobra.Command {
	var o registry.GCOptions
	cmd := newRegistryCmd("gc DIR", "Remove versions no alias or recent alias history refers to", 1, func(w io.Writer, r *registry.Registry, format modelsFormat, args []string) error {
		removed, err := r.GC(o)
		if err != nil {
			return err
		}
		if format == "json" {
			if removed == nil {
				removed = []string{}
			}
			return writeJSON(w, struct {
				Removed []string `json:"removed"`
				DryRun  bool     `json:"dry_run"`
			}{removed, o.DryRun})
		}
		verb := "removed"
		if o.DryRun {
			verb = "would remove"
		}
		fmt.Fprintf(w, "%s %d versions\n", verb, len(removed))
		for _, id := range removed {
			fmt.Fprintln(w, id)
		}
		return nil
	})
	cmd.Flags().IntVar(&o.KeepHistory, "keep-history", registry.DefaultKeepHistory, "keep the versions named by this many latest alias events (0: none)")
	cmd.Flags().DurationVar(&o.MinAge, "min-age", registry.DefaultMinAge, "keep versions and staging files younger than this: a trainer may be about to promote them (0: none)")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "only report what would be removed")
	return cmd
}
