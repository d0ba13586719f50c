package kedascaler

import (
	"context"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/bascaler/bascaler/api/externalscaler"
	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/live"
)

// rateSource is a unit-test metric source: every period's rate is rate(start) req/s.
type rateSource struct {
	mu   sync.Mutex
	rate func(time.Time) float64
}

func (s *rateSource) Range(_ context.Context, w driver.Window) ([]driver.Point, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pts := make([]driver.Point, w.Count)
	for i := range pts {
		st := w.Start().Add(time.Duration(i) * w.Step)
		pts[i] = driver.Point{Start: st, Rate: s.rate(st), LatencyMeanMS: 5, LatencyP95MS: 8, LatencyP99MS: 9, CPU: 0.3, MemoryBytes: math.NaN()}
	}
	return pts, nil
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func target(name, policyName string, min, max int) live.TargetConfig {
	c := live.TargetConfig{Name: name, Namespace: "shop", Workload: name, Interval: "1s", Min: &min, Max: max, HistoryIntervals: 8}
	c.SLO.Metric, c.SLO.Target = "p95", "50ms"
	c.Policy.Name = policyName
	c.Prometheus.Address = "http://127.0.0.1:1" // never read: the source is replaced
	return c
}

// serveScaler serves sc on a loopback port and returns KEDA's generated client for it.
func serveScaler(t *testing.T, sc *Scaler) pb.ExternalScalerClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, sc, "127.0.0.1:0", time.Second, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return pb.NewExternalScalerClient(conn)
}

func ref(target string) *pb.ScaledObjectRef {
	md := map[string]string{}
	if target != "" {
		md[MetadataTarget] = target
	}
	return &pb.ScaledObjectRef{Name: "web", Namespace: "shop", ScalerMetadata: md}
}

func newScaler(t *testing.T, src *rateSource, clk *clock, cfgs ...live.TargetConfig) *Scaler {
	t.Helper()
	set, err := live.NewSet(cfgs, func(live.TargetConfig) live.Options { return live.Options{Source: src} })
	if err != nil {
		t.Fatal(err)
	}
	return &Scaler{Targets: set, Now: clk.now}
}

// TestMetricsAreDesiredReplicas: GetMetricSpec has target 1 and GetMetrics the desired
// replicas, so KEDA's AverageValue HPA wants exactly that count; IsActive follows desired > 0.
func TestMetricsAreDesiredReplicas(t *testing.T) {
	// Traffic for "three" only; "idle" never had any, and keep-alive with min 0 keeps it at zero.
	src := &rateSource{rate: func(time.Time) float64 { return 10 }}
	idleSrc := &rateSource{rate: func(time.Time) float64 { return 0 }}
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	idle, zero := target("idle", "keepalive:2s", 0, 5), 0
	idle.Replicas.Initial = &zero
	set, err := live.NewSet([]live.TargetConfig{target("three", "static:3", 1, 5), idle},
		func(c live.TargetConfig) live.Options {
			if c.Name == "idle" {
				return live.Options{Source: idleSrc}
			}
			return live.Options{Source: src}
		})
	if err != nil {
		t.Fatal(err)
	}
	sc := &Scaler{Targets: set, Now: clk.now}
	c := serveScaler(t, sc)
	ctx := context.Background()

	spec, err := c.GetMetricSpec(ctx, ref("three"))
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.MetricSpecs) != 1 || spec.MetricSpecs[0].MetricName != "bascaler-three" || spec.MetricSpecs[0].TargetSize != 1 || spec.MetricSpecs[0].TargetSizeFloat != 1 {
		t.Fatalf("GetMetricSpec = %v, want one metric bascaler-three with target 1", spec.MetricSpecs)
	}
	m, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref("shop/three"), MetricName: "bascaler-three"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.MetricValues) != 1 || m.MetricValues[0].MetricValue != 3 || m.MetricValues[0].MetricValueFloat != 3 {
		t.Fatalf("GetMetrics = %v, want desired replicas 3", m.MetricValues)
	}
	if a, err := c.IsActive(ctx, ref("three")); err != nil || !a.Result {
		t.Fatalf("IsActive(three) = %v, %v; want true", a, err)
	}
	if a, err := c.IsActive(ctx, ref("idle")); err != nil || a.Result {
		t.Fatalf("IsActive(idle) at zero desired = %v, %v; want false", a, err)
	}
	m, err = c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref("idle"), MetricName: "bascaler-idle"})
	if err != nil || m.MetricValues[0].MetricValue != 0 {
		t.Fatalf("GetMetrics(idle) = %v, %v; want 0", m, err)
	}
}

// TestStreamIsActivePushesOnChange: the stream sends the activity at once and again when
// a step changes it (traffic stops: keep-alive runs out, scale to zero).
func TestStreamIsActivePushesOnChange(t *testing.T) {
	var mu sync.Mutex
	stopAt := time.Time{}
	src := &rateSource{rate: func(at time.Time) float64 {
		mu.Lock()
		defer mu.Unlock()
		if !stopAt.IsZero() && !at.Before(stopAt) {
			return 0
		}
		return 10
	}}
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	sc := newScaler(t, src, clk, target("web", "keepalive:2s", 0, 5))
	c := serveScaler(t, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := c.StreamIsActive(ctx, ref("web"))
	if err != nil {
		t.Fatal(err)
	}
	tgt, _ := sc.Targets.Lookup("web")
	// The first step: traffic, active.
	tgt.Current(ctx, clk.now())
	first, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !first.Result {
		t.Fatalf("first StreamIsActive message = %v, want active under traffic", first.Result)
	}
	mu.Lock()
	stopAt = clk.now()
	mu.Unlock()
	recv := make(chan *pb.IsActiveResponse, 1)
	go func() {
		r, err := st.Recv()
		if err != nil {
			t.Error(err)
			close(recv)
			return
		}
		recv <- r
	}()
	for i := 0; i < 30; i++ {
		clk.add(time.Second)
		tgt.Current(ctx, clk.now())
		select {
		case r, ok := <-recv:
			if !ok {
				return
			}
			if r.Result {
				t.Fatalf("pushed %v after traffic stopped, want inactive", r.Result)
			}
			if d := tgt.Last().Desired(); d != 0 {
				t.Fatalf("pushed inactive while desired is %d", d)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no push within 30 s of idle (desired %d, %s)", tgt.Last().Desired(), tgt.Last().Step.Why)
}

// TestBadInput: an unknown target, missing metadata and a wrong metric name are gRPC
// statuses whose messages say what is wrong.
func TestBadInput(t *testing.T) {
	src := &rateSource{rate: func(time.Time) float64 { return 10 }}
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	c := serveScaler(t, newScaler(t, src, clk, target("web", "static:2", 1, 5)))
	ctx := context.Background()
	check := func(name string, err error, code codes.Code, want ...string) {
		t.Helper()
		s, _ := status.FromError(err)
		if err == nil || s.Code() != code {
			t.Errorf("%s: err %v, want code %v", name, err, code)
			return
		}
		for _, w := range want {
			if !strings.Contains(s.Message(), w) {
				t.Errorf("%s: message %q does not name %q", name, s.Message(), w)
			}
		}
	}
	_, err := c.IsActive(ctx, ref("nope"))
	check("IsActive unknown", err, codes.NotFound, "shop/web", "target", `"nope"`, "served: web")
	_, err = c.GetMetricSpec(ctx, ref(""))
	check("GetMetricSpec no metadata", err, codes.InvalidArgument, "shop/web", `"target" is missing`)
	_, err = c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref("web"), MetricName: "other"})
	check("GetMetrics wrong metric", err, codes.InvalidArgument, "metricName", `"other"`, "bascaler-web")
	_, err = c.GetMetrics(ctx, &pb.GetMetricsRequest{MetricName: "bascaler-web"})
	check("GetMetrics no ref", err, codes.InvalidArgument, "scaledObjectRef")
	s, err := c.StreamIsActive(ctx, ref("nope"))
	if err == nil {
		_, err = s.Recv()
	}
	check("StreamIsActive unknown", err, codes.NotFound, `"nope"`)
}

// BenchmarkGetMetrics is one GetMetrics round trip over loopback gRPC, answered from the
// target's step at the current tick.
func BenchmarkGetMetrics(b *testing.B) {
	src := &rateSource{rate: func(time.Time) float64 { return 10 }}
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	set, err := live.NewSet([]live.TargetConfig{target("web", "static:3", 1, 5)}, func(live.TargetConfig) live.Options { return live.Options{Source: src} })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	go func() {
		_ = Run(ctx, &Scaler{Targets: set, Now: clk.now}, "127.0.0.1:0", time.Second, func(a net.Addr) { addrc <- a })
	}()
	conn, err := grpc.NewClient((<-addrc).String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewExternalScalerClient(conn)
	req := &pb.GetMetricsRequest{ScaledObjectRef: ref("web"), MetricName: "bascaler-web"}
	if _, err := c.GetMetrics(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.GetMetrics(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
