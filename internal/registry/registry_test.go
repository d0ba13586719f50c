package registry

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests re-execute their own binary as writer processes; TestMain dispatches on this
// variable before any test runs.
const childEnv = "BASCALER_REGISTRY_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := runChild(role, os.Args[len(os.Args)-1]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild is a writer process: role "writer:<n>:<tag>" commits and promotes n versions,
// "slow" stages a big version slowly (to be killed mid-write), "lock" holds the lock.
func runChild(role, dir string) error {
	r, err := Open(dir)
	if err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(role, "writer:"):
		parts := strings.Split(role, ":")
		n, _ := strconv.Atoi(parts[1])
		for i := range n {
			v, err := commitModel(r, "arima", fmt.Sprintf("%s-%d", parts[2], i), Lineage{})
			if err != nil {
				return err
			}
			if _, err := r.Promote(Champion, v.ID); err != nil {
				return err
			}
		}
		return nil
	case role == "slow":
		s, err := r.Stage()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(s.Dir(), "manifest.json"), manifest("gru", "big"), 0o644); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(s.Dir(), "state.bin"))
		if err != nil {
			return err
		}
		chunk := make([]byte, 1<<20)
		for i := 0; i < 600; i++ { // up to 600 MB over a minute: the parent kills long before
			if _, err := f.Write(chunk); err != nil {
				return err
			}
			if i == 2 {
				fmt.Println("writing")
			}
			time.Sleep(100 * time.Millisecond)
		}
		f.Close()
		_, _, err = s.Commit(Lineage{})
		return err
	case role == "lock":
		return r.withLock(func() error {
			fmt.Println("locked")
			time.Sleep(time.Minute)
			return nil
		})
	}
	return fmt.Errorf("unknown role %q", role)
}

func manifest(kind, tag string) []byte {
	b, _ := json.Marshal(map[string]any{"kind": kind, "format_version": 1, "params": map[string]string{"tag": tag},
		"levels": []float64{0.1, 0.5, 0.9}, "validation_scores": map[string]float64{"pinball_mean": float64(len(tag))}})
	return b
}

// commitModel stores a small model whose content is determined by kind and tag.
func commitModel(r *Registry, kind, tag string, l Lineage) (Version, error) {
	s, err := r.Stage()
	if err != nil {
		return Version{}, err
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "manifest.json"), manifest(kind, tag), 0o644); err != nil {
		return Version{}, err
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "state.bin"), []byte("state of "+tag), 0o644); err != nil {
		return Version{}, err
	}
	v, _, err := s.Commit(l)
	return v, err
}

func newTestRegistry(t *testing.T) *Registry {
	t.Helper()
	r, err := Create(filepath.Join(t.TempDir(), "models"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustCommit(t *testing.T, r *Registry, tag string) Version {
	t.Helper()
	v, err := commitModel(r, "arima", tag, Lineage{Data: Data{Source: "trace", Trace: "t.csv"}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustPromote(t *testing.T, r *Registry, alias, ref string) {
	t.Helper()
	if _, err := r.Promote(alias, ref); err != nil {
		t.Fatal(err)
	}
}

func champion(t *testing.T, r *Registry) string {
	t.Helper()
	v, err := r.Get(Champion)
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

func TestRegistryVersionIsContentAddressedWithLineageFromTheManifest(t *testing.T) {
	r := newTestRegistry(t)
	a := mustCommit(t, r, "a")
	s, _ := r.Stage()
	os.WriteFile(filepath.Join(s.Dir(), "manifest.json"), manifest("arima", "a"), 0o644)
	os.WriteFile(filepath.Join(s.Dir(), "state.bin"), []byte("state of a"), 0o644)
	again, created, err := s.Commit(Lineage{CreatedBy: "second run"})
	if err != nil {
		t.Fatal(err)
	}
	if created || again.ID != a.ID || again.Lineage.CreatedBy != "" {
		t.Errorf("same files: created %v, id %s vs %s, lineage %q: want the stored version unchanged", created, again.ID, a.ID, again.Lineage.CreatedBy)
	}
	b := mustCommit(t, r, "b")
	if b.ID == a.ID {
		t.Fatal("different state, same version id")
	}
	if a.Lineage.Kind != "arima" || a.Lineage.Params["tag"] != "a" || a.Lineage.Validation["pinball_mean"] != 1 {
		t.Errorf("lineage not filled from manifest: %+v", a.Lineage)
	}
	if a.Lineage.Created.IsZero() || a.Lineage.CodeVersion == "" || len(a.Lineage.Files) != 2 {
		t.Errorf("lineage created %v code %q files %v", a.Lineage.Created, a.Lineage.CodeVersion, a.Lineage.Files)
	}
	if Digest(a.Lineage.Files) != a.ID {
		t.Error("id is not the digest of the files")
	}
	if ents, _ := os.ReadDir(filepath.Join(r.Dir(), tmpDir)); len(ents) != 0 {
		t.Errorf("tmp/ not empty after commits: %v", ents)
	}
}

func TestRegistryPromoteAndRollBack(t *testing.T) {
	r := newTestRegistry(t)
	v1, v2, v3 := mustCommit(t, r, "1"), mustCommit(t, r, "2"), mustCommit(t, r, "3")
	steps := []struct {
		name string
		do   func() (Event, error)
		want string // champion afterwards
		err  string
	}{
		{"first promote", func() (Event, error) { return r.Promote(Champion, v1.ID[:8]) }, v1.ID, ""},
		{"rollback with no earlier champion", func() (Event, error) { return r.Rollback(Champion) }, v1.ID, "no earlier version"},
		{"promote by prefix", func() (Event, error) { return r.Promote(Champion, v2.ID[:6]) }, v2.ID, ""},
		{"promote the challenger alias", func() (Event, error) {
			if _, err := r.Promote(Challenger, v3.ID); err != nil {
				return Event{}, err
			}
			return r.Promote(Champion, Challenger)
		}, v3.ID, ""},
		{"re-promoting the champion records nothing", func() (Event, error) { return r.Promote(Champion, v3.ID) }, v3.ID, ""},
		{"rollback to v2", func() (Event, error) { return r.Rollback(Champion) }, v2.ID, ""},
		{"rollback again to v1", func() (Event, error) { return r.Rollback(Champion) }, v1.ID, ""},
		{"nothing before v1", func() (Event, error) { return r.Rollback(Champion) }, v1.ID, "no earlier version"},
		{"invalid alias", func() (Event, error) { return r.Promote("Champion!", v2.ID) }, v1.ID, "alias"},
		{"hex alias", func() (Event, error) { return r.Promote("cafe", v2.ID) }, v1.ID, "digest prefix"},
	}
	for _, s := range steps {
		_, err := s.do()
		if s.err == "" && err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.err != "" && (err == nil || !strings.Contains(err.Error(), s.err)) {
			t.Fatalf("%s: error %v, want one containing %q", s.name, err, s.err)
		}
		if got := champion(t, r); got != s.want {
			t.Fatalf("%s: champion %s, want %s", s.name, Short(got), Short(s.want))
		}
	}
	h, _ := r.History()
	var acts []string
	for _, e := range h {
		acts = append(acts, e.Alias+":"+e.Action)
	}
	want := "champion:promote champion:promote challenger:promote champion:promote champion:rollback champion:rollback"
	if got := strings.Join(acts, " "); got != want {
		t.Errorf("history %s\nwant    %s", got, want)
	}
}

func TestRegistryCreateRefusesADirectoryThatIsNotARegistry(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir); err == nil || !strings.Contains(err.Error(), "not a model registry") {
		t.Errorf("Create over a model directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, versionsDir)); err == nil {
		t.Error("Create wrote into a directory it refused")
	}
	r := newTestRegistry(t)
	if _, err := Create(r.Dir()); err != nil {
		t.Errorf("Create of an existing registry: %v", err)
	}
}

func TestRegistryUnknownAliasOrVersion(t *testing.T) {
	r := newTestRegistry(t)
	v := mustCommit(t, r, "1")
	mustPromote(t, r, Champion, v.ID)
	for _, ref := range []string{"challenger", "0000000", "abc", "ZZ@"} {
		_, err := r.Get(ref)
		if err == nil {
			t.Errorf("Get(%q): no error", ref)
			continue
		}
		if !strings.Contains(err.Error(), r.Dir()) || !strings.Contains(err.Error(), "champion") {
			t.Errorf("Get(%q): %v: want the registry and the known aliases named", ref, err)
		}
	}
	if _, err := r.Get("challenger"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown alias: %v, want ErrNotFound", err)
	}
	if _, err := r.Rollback("challenger"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rollback of unknown alias: %v", err)
	}
	if _, _, err := Resolve(r.Dir() + "@challenger"); err == nil || !strings.Contains(err.Error(), `"challenger"`) {
		t.Errorf("Resolve unknown alias: %v", err)
	}
}

// corrupt damages one file of a version the way a disk, a person or a bug might.
var corruptions = []struct {
	name, file string
	damage     func(dir string) error
}{
	{"flipped byte in state", "state.bin", func(d string) error {
		p := filepath.Join(d, "state.bin")
		b, _ := os.ReadFile(p)
		b[0] ^= 0xff
		return os.WriteFile(p, b, 0o644)
	}},
	{"truncated manifest", "manifest.json", func(d string) error { return os.Truncate(filepath.Join(d, "manifest.json"), 5) }},
	{"state deleted", "state.bin", func(d string) error { return os.Remove(filepath.Join(d, "state.bin")) }},
	{"lineage not JSON", LineageFile, func(d string) error { return os.WriteFile(filepath.Join(d, LineageFile), []byte("{oops"), 0o644) }},
	{"stray file", "extra.bin", func(d string) error { return os.WriteFile(filepath.Join(d, "extra.bin"), []byte("x"), 0o644) }},
	{"state replaced and lineage edited to match", LineageFile, func(d string) error {
		// The files agree with lineage.json again, but no longer with the version id.
		p := filepath.Join(d, LineageFile)
		var l Lineage
		b, _ := os.ReadFile(p)
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "state.bin"), []byte("forged"), 0o644); err != nil {
			return err
		}
		l.Files["state.bin"], _ = digestFile(filepath.Join(d, "state.bin"))
		b, _ = json.Marshal(l)
		return os.WriteFile(p, b, 0o644)
	}},
}

func TestRegistryCorruptedVersionIsNamedAndThePreviousChampionKeepsServing(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			r := newTestRegistry(t)
			v1, v2 := mustCommit(t, r, "1"), mustCommit(t, r, "2")
			mustPromote(t, r, Champion, v1.ID)
			mustPromote(t, r, Challenger, v2.ID)
			if err := c.damage(v2.Dir); err != nil {
				t.Fatal(err)
			}
			_, err := r.Get(Challenger)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Get of damaged version: %v, want a *CorruptError", err)
			}
			if ce.Version != v2.ID || ce.File != c.file {
				t.Errorf("error names version %s file %s, want %s %s", Short(ce.Version), ce.File, Short(v2.ID), c.file)
			}
			if msg := err.Error(); !strings.Contains(msg, Short(v2.ID)) || !strings.Contains(msg, c.file) {
				t.Errorf("message %q does not name the version and file", msg)
			}
			if _, err := r.Promote(Champion, Challenger); err == nil {
				t.Error("a damaged version was promoted")
			}
			dir, id, err := Resolve(r.Dir() + "@champion")
			if err != nil || id != v1.ID || dir != v1.Dir {
				t.Errorf("champion after failed promotion: %s %s %v, want %s", dir, Short(id), err, Short(v1.ID))
			}
			list, err := r.List()
			if err != nil || len(list) != 2 {
				t.Fatalf("list: %v %d", err, len(list))
			}
			for _, l := range list {
				if (l.ID == v2.ID) != (l.Err != nil) {
					t.Errorf("list: %s err %v", Short(l.ID), l.Err)
				}
			}
		})
	}
}

func TestRegistryRollbackAwayFromADamagedChampion(t *testing.T) {
	r := newTestRegistry(t)
	v1, v2 := mustCommit(t, r, "1"), mustCommit(t, r, "2")
	mustPromote(t, r, Champion, v1.ID)
	mustPromote(t, r, Champion, v2.ID)
	os.WriteFile(filepath.Join(v2.Dir, "state.bin"), []byte("garbage"), 0o644)
	if _, _, err := Resolve(r.Dir() + "@champion"); err == nil || !strings.Contains(err.Error(), "state.bin") {
		t.Fatalf("damaged champion resolved: %v", err)
	}
	if _, err := r.Rollback(Champion); err != nil {
		t.Fatal(err)
	}
	if got := champion(t, r); got != v1.ID {
		t.Errorf("champion %s after rollback, want %s", Short(got), Short(v1.ID))
	}
}

// checkChain verifies the alias history is one unbroken chain of promotions: every event
// starts from where the previous one ended. A lost update (two writers reading the same
// aliases.json) would break it.
func checkChain(t *testing.T, r *Registry, wantEvents int) {
	t.Helper()
	h, err := r.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != wantEvents {
		t.Errorf("%d history events, want %d", len(h), wantEvents)
	}
	prev := ""
	for i, e := range h {
		if e.From != prev {
			t.Fatalf("event %d starts from %s, previous ended at %s: a lost update", i, Short(e.From), Short(prev))
		}
		prev = e.To
	}
	if got := champion(t, r); got != prev {
		t.Errorf("champion %s, history ends at %s", Short(got), Short(prev))
	}
}

func checkAllVerify(t *testing.T, r *Registry, want int) {
	t.Helper()
	list, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != want {
		t.Errorf("%d versions, want %d", len(list), want)
	}
	for _, l := range list {
		if l.Err != nil {
			t.Errorf("version %s: %v", Short(l.ID), l.Err)
		}
	}
}

func TestRegistryConcurrentWriterGoroutines(t *testing.T) {
	r := newTestRegistry(t)
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine opens its own handle, as separate programs would.
			rw, err := Open(r.Dir())
			if err != nil {
				errs <- err
				return
			}
			for i := range each {
				// Writer 0 and 1 write the same models: equal content must land once.
				tag := fmt.Sprintf("g%d-%d", w, i)
				if w == 1 {
					tag = fmt.Sprintf("g0-%d", i)
				}
				v, err := commitModel(rw, "arima", tag, Lineage{})
				if err == nil {
					_, err = rw.Promote(Champion, v.ID)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkAllVerify(t, r, (writers-1)*each)
	h, _ := r.History()
	checkChain(t, r, len(h))
	if len(h) < (writers-1)*each {
		t.Errorf("%d promotions recorded, want at least %d", len(h), (writers-1)*each)
	}
}

func child(t *testing.T, role, dir string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$", dir)
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	cmd.Stderr = os.Stderr
	t.Cleanup(func() { // a failed test must not leave a writer behind
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

func TestRegistryConcurrentWriterProcesses(t *testing.T) {
	r := newTestRegistry(t)
	const procs, each = 4, 6
	var cmds []*exec.Cmd
	for p := range procs {
		c := child(t, fmt.Sprintf("writer:%d:p%d", each, p), r.Dir())
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("writer process %d: %v", i, err)
		}
	}
	checkAllVerify(t, r, procs*each)
	checkChain(t, r, procs*each)
}

// waitLine starts cmd and blocks until it prints want on stdout.
func waitLine(t *testing.T, cmd *exec.Cmd, want string) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if s.Text() == want {
				line <- want
				return
			}
		}
		close(line)
	}()
	select {
	case got, ok := <-line:
		if !ok || got != want {
			cmd.Process.Kill()
			t.Fatalf("child exited before printing %q", want)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("child did not print %q in 30 s", want)
	}
}

func TestRegistryKilledWriterLeavesThePreviousVersionIntact(t *testing.T) {
	r := newTestRegistry(t)
	v1 := mustCommit(t, r, "1")
	mustPromote(t, r, Champion, v1.ID)

	cmd := child(t, "slow", r.Dir())
	waitLine(t, cmd, "writing")
	time.Sleep(150 * time.Millisecond) // mid-write: a few MB of state on disk
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer was not killed mid-write (exit %v): the test proves nothing", err)
	}
	staged, _ := filepath.Glob(filepath.Join(r.Dir(), tmpDir, "stage-*", "state.bin"))
	if len(staged) != 1 {
		t.Fatalf("expected the killed writer's partial state in tmp/, found %v", staged)
	}

	r2, err := Open(r.Dir())
	if err != nil {
		t.Fatalf("registry does not open after a killed writer: %v", err)
	}
	list, err := r2.List()
	if err != nil || len(list) != 1 || list[0].ID != v1.ID || list[0].Err != nil {
		t.Fatalf("list after killed writer: %v %+v", err, list)
	}
	dir, id, err := Resolve(r.Dir() + "@champion")
	if err != nil || id != v1.ID || dir != v1.Dir {
		t.Fatalf("champion after killed writer: %s %v", Short(id), err)
	}
	// The debris goes with gc once it is old enough.
	removed, err := r2.GC(GCOptions{MinAge: time.Nanosecond})
	if err != nil || len(removed) != 0 {
		t.Fatalf("gc: %v removed %v", err, removed)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.Dir(), tmpDir)); len(ents) != 0 {
		t.Errorf("gc left %d entries in tmp/", len(ents))
	}
}

func TestRegistryKilledLockHolderDoesNotBlockOthers(t *testing.T) {
	r := newTestRegistry(t)
	v1, v2 := mustCommit(t, r, "1"), mustCommit(t, r, "2")
	mustPromote(t, r, Champion, v1.ID)
	cmd := child(t, "lock", r.Dir())
	waitLine(t, cmd, "locked")
	done := make(chan error, 1)
	go func() { _, err := r.Promote(Champion, v2.ID); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("promote did not wait for the lock holder (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("promote still blocked 20 s after the lock holder was killed")
	}
	if got := champion(t, r); got != v2.ID {
		t.Errorf("champion %s, want %s", Short(got), Short(v2.ID))
	}
}

func TestRegistryGCKeepsAliasedRecentAndYoungVersions(t *testing.T) {
	r := newTestRegistry(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return clock }
	var v []Version
	for i := range 6 {
		v = append(v, mustCommit(t, r, strconv.Itoa(i)))
		clock = clock.Add(time.Hour)
	}
	// v0 -> v1 -> v2 promoted, v3 challenger, v4 never used, v5 written just now.
	mustPromote(t, r, Champion, v[0].ID)
	mustPromote(t, r, Champion, v[1].ID)
	mustPromote(t, r, Champion, v[2].ID)
	mustPromote(t, r, Challenger, v[3].ID)
	clock = v[5].Lineage.Created.Add(30 * time.Minute)

	cases := []struct {
		name string
		o    GCOptions
		want []int
	}{
		{"dry run, default keeps", GCOptions{DryRun: true, KeepHistory: DefaultKeepHistory, MinAge: DefaultMinAge}, []int{4}},
		{"history of one event", GCOptions{DryRun: true, KeepHistory: 1, MinAge: DefaultMinAge}, []int{0, 1, 4}},
		{"young kept unless min-age is short", GCOptions{DryRun: true, KeepHistory: 1, MinAge: time.Minute}, []int{0, 1, 4, 5}},
		{"zero value keeps aliased only", GCOptions{DryRun: true}, []int{0, 1, 4, 5}},
		{"for real", GCOptions{KeepHistory: 2, MinAge: DefaultMinAge}, []int{0, 4}},
	}
	for _, c := range cases {
		got, err := r.GC(c.o)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, i := range c.want {
			want = append(want, v[i].ID)
		}
		if fmt.Sprint(sortStrings(got)) != fmt.Sprint(sortStrings(want)) {
			t.Errorf("%s: removed %d versions %v, want %v", c.name, len(got), shorts(got), shorts(want))
		}
	}
	checkAllVerify(t, r, 4)
	for _, i := range []int{0, 4} {
		if _, err := r.Get(v[i].ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("v%d after gc: %v", i, err)
		}
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func shorts(ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, Short(id))
	}
	return out
}

func TestRegistryResolveReferences(t *testing.T) {
	r := newTestRegistry(t)
	v1, v2 := mustCommit(t, r, "1"), mustCommit(t, r, "2")
	mustPromote(t, r, Champion, v1.ID)
	plain := t.TempDir()
	atDir := filepath.Join(t.TempDir(), "model@v1")
	os.MkdirAll(atDir, 0o755)
	cases := []struct {
		ref, wantDir, err string
	}{
		{plain, plain, ""},
		{atDir, atDir, ""},
		{r.Dir() + "@champion", v1.Dir, ""},
		{r.Dir() + "@" + v2.ID[:7], v2.Dir, ""},
		{r.Dir() + "@" + v2.ID, v2.Dir, ""},
		{r.Dir() + "@" + v2.ID[:3], "", "no alias"},
		{r.Dir() + "@", "", "want DIR@ALIAS"},
		{plain + "@champion", "", "not a model registry"},
	}
	for _, c := range cases {
		dir, _, err := Resolve(c.ref)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Resolve(%s): %v, want error with %q", c.ref, err, c.err)
			}
			continue
		}
		if err != nil || dir != c.wantDir {
			t.Errorf("Resolve(%s) = %s, %v; want %s", c.ref, dir, err, c.wantDir)
		}
	}
}

func TestRegistryDiffNamesChangedFields(t *testing.T) {
	r := newTestRegistry(t)
	a, _ := commitModel(r, "arima", "a", Lineage{Data: Data{Source: "trace", Trace: "x.csv", Train: Window{Points: 100}}})
	b, _ := commitModel(r, "arima", "bb", Lineage{Data: Data{Source: "trace", Trace: "x.csv", Train: Window{Points: 120}}, Parent: a.ID})
	_, _, ch, err := r.Diff(a.ID, b.ID[:8])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Change{}
	for _, c := range ch {
		got[c.Path] = c
	}
	for _, p := range []string{"lineage.data.train.points", "lineage.parent", "lineage.params.tag", "manifest.params.tag",
		"manifest.validation_scores.pinball_mean", "lineage.version"} {
		if _, ok := got[p]; !ok {
			t.Errorf("diff lacks %s; got %v", p, ch)
		}
	}
	if c := got["lineage.data.train.points"]; c.A != "100" || c.B != "120" {
		t.Errorf("points change %+v", c)
	}
	for _, p := range []string{"lineage.kind", "lineage.data.trace", "manifest.levels"} {
		if _, ok := got[p]; ok {
			t.Errorf("diff reports unchanged %s", p)
		}
	}
}

func TestRegistryDigestSeriesDependsOnEveryPartOfTheData(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := DigestSeries(t0, time.Minute, []float64{1, 2, 3})
	if DigestSeries(t0.In(time.FixedZone("x", 3600)), time.Minute, []float64{1, 2, 3}) != base {
		t.Error("same instant in another zone changed the digest")
	}
	for name, d := range map[string]string{
		"value":  DigestSeries(t0, time.Minute, []float64{1, 2, 3.0000001}),
		"start":  DigestSeries(t0.Add(time.Minute), time.Minute, []float64{1, 2, 3}),
		"step":   DigestSeries(t0, time.Second, []float64{1, 2, 3}),
		"length": DigestSeries(t0, time.Minute, []float64{1, 2}),
	} {
		if d == base {
			t.Errorf("changing the %s left the digest unchanged", name)
		}
	}
}

func TestResolveKindRefusesAVersionOfAnotherKind(t *testing.T) {
	r := newTestRegistry(t)
	fc := mustCommit(t, r, "fc") // an arima forecaster
	ppo, err := commitModel(r, "ppo", "agent", Lineage{Data: Data{Source: "trace", Trace: "t.csv"}})
	if err != nil {
		t.Fatal(err)
	}
	mustPromote(t, r, Champion, fc.ID)
	mustPromote(t, r, "rl", ppo.ID)
	if dir, id, err := ResolveKind(r.Dir()+"@rl", "rl-model", "ppo"); err != nil || dir != ppo.Dir || id != ppo.ID {
		t.Fatalf("ResolveKind(@rl, ppo) = %s, %s, %v", dir, id, err)
	}
	_, _, err = ResolveKind(r.Dir()+"@champion", "rl-model", "ppo")
	if !errors.Is(err, ErrWrongKind) || !strings.Contains(err.Error(), "is of kind arima, want ppo") || !strings.Contains(err.Error(), "rl-model") {
		t.Fatalf("ResolveKind(@champion holding arima, ppo): %v", err)
	}
	_, _, err = ResolveKind(r.Dir()+"@"+ppo.ID[:8], "forecaster", "arima", "gru")
	if !errors.Is(err, ErrWrongKind) || !strings.Contains(err.Error(), "is of kind ppo, want one of arima, gru") {
		t.Fatalf("ResolveKind(ppo prefix, forecasters): %v", err)
	}
	if _, _, err := ResolveKind(r.Dir()+"@nosuch", "rl-model", "ppo"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("unknown alias: %v", err)
	}
	plain := t.TempDir()
	if dir, id, err := ResolveKind(plain, "rl-model", "ppo"); err != nil || dir != plain || id != "" {
		t.Fatalf("plain directory: %s %s %v", dir, id, err)
	}
}

func TestPublishParentIsTheChampionOfTheSameKind(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	save := func(kind, tag string) func(string) error {
		return func(d string) error {
			if err := os.WriteFile(filepath.Join(d, "manifest.json"), manifest(kind, tag), 0o644); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(d, "state.bin"), []byte(tag), 0o644)
		}
	}
	a, _, err := Publish(dir, save("arima", "a"), Lineage{}, true)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := Publish(dir, save("ppo", "p"), Lineage{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Lineage.Parent != "" {
		t.Errorf("a ppo version's parent is the arima champion %s", Short(p.Lineage.Parent))
	}
	b, _, err := Publish(dir, save("arima", "b"), Lineage{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if b.Lineage.Parent != a.ID {
		t.Errorf("arima version's parent %q, want the arima champion %s", Short(b.Lineage.Parent), Short(a.ID))
	}
}
