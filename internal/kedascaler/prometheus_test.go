package kedascaler

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/bascaler/bascaler/api/externalscaler"
	"github.com/bascaler/bascaler/internal/live"
	"github.com/bascaler/bascaler/internal/promserver"
	"github.com/bascaler/bascaler/internal/testenv"
)

// busyMinutes of traffic (the rate of minute m is rateAt(m)), then idle: the workload a
// ScaledObject should keep active, then let go to zero.
const busyMinutes, idleMinutes = 90, 20

func rateAt(m int) float64 {
	if m >= busyMinutes {
		return 0
	}
	return 40 + float64(m%30) // 40..69 req/s
}

// backfill renders the workload as gauges demo_{rate,latency,errors,cpu}, sampled every 10 s
// with the minute's value, so a query at any 10 s instant reads the minute that ends there.
func backfill(t0 time.Time) string {
	var b strings.Builder
	for _, sig := range []string{"rate", "latency", "errors", "cpu"} {
		fmt.Fprintf(&b, "# TYPE demo_%s gauge\n", sig)
		for m := 0; m < busyMinutes+idleMinutes; m++ {
			v := rateAt(m)
			switch sig {
			case "latency":
				v = 10
			case "errors":
				v = 0
			case "cpu":
				v = 0.5
			}
			for s := 10; s <= 60; s += 10 {
				ts := t0.Add(time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
				fmt.Fprintf(&b, "demo_%s %s %s\n", sig, strconv.FormatFloat(v, 'g', -1, 64), strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64))
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

func startProm(t *testing.T, t0 time.Time) string {
	t.Helper()
	testenv.Prometheus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := promserver.Start(ctx, promserver.Options{Backfill: backfill(t0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv.URL
}

func promTarget(prom, name, pol string, min int) live.TargetConfig {
	c := live.TargetConfig{Name: name, Namespace: "default", Workload: name, Max: 20, PerPodRPS: 10, Preset: "custom", HistoryIntervals: 60}
	c.Min = &min
	c.SLO.Metric, c.SLO.Target = "mean", "16ms"
	c.Policy.Name = pol
	c.Prometheus.Address = prom
	c.Custom.Rate, c.Custom.Latency, c.Custom.Errors, c.Custom.CPU = "demo_rate", "demo_latency", "demo_errors", "demo_cpu"
	return c
}

type wallClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wallClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *wallClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// serveScaler serves sc on a loopback port and returns a client.
func servePromScaler(t *testing.T, sc *Scaler) pb.ExternalScalerClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, sc, "127.0.0.1:0", time.Second, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scaler stopped with %v", err)
		}
	})
	return pb.NewExternalScalerClient(conn)
}

// TestScalerFollowsTheLiveTarget: over real gRPC on loopback, against a live target backed
// by a real Prometheus, the metric is the target's desired replicas (target 1), IsActive
// and StreamIsActive follow desired > 0, and the stream pushes the change to inactive when
// the workload's cooldown ends.
func TestScalerFollowsTheLiveTarget(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-4 * time.Hour)
	prom := startProm(t, t0)
	set, err := live.NewSet([]live.TargetConfig{promTarget(prom, "shop", "keda", 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := set.Lookup("shop")
	clk := &wallClock{t: t0.Add(80 * time.Minute)}
	c := servePromScaler(t, &Scaler{Targets: set, Now: clk.Now})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref := &pb.ScaledObjectRef{Name: "shop-so", Namespace: "default", ScalerMetadata: map[string]string{"target": "shop"}}

	spec, err := c.GetMetricSpec(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.MetricSpecs) != 1 || spec.MetricSpecs[0].MetricName != "bascaler-shop" || spec.MetricSpecs[0].TargetSizeFloat != 1 || spec.MetricSpecs[0].TargetSize != 1 {
		t.Fatalf("metric spec %v, want one bascaler-shop with target 1", spec.MetricSpecs)
	}
	mv, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: "bascaler-shop"})
	if err != nil {
		t.Fatal(err)
	}
	st := tg.Last()
	if len(mv.MetricValues) != 1 || mv.MetricValues[0].MetricValueFloat != float64(st.Desired()) || mv.MetricValues[0].MetricValue != int64(st.Desired()) {
		t.Fatalf("metrics %v, the target's step wants %d (%s)", mv.MetricValues, st.Desired(), st.Step.Explanation())
	}
	// 40..69 req/s at a threshold of 7 req/s per pod: well above one pod.
	if st.Desired() < 5 {
		t.Fatalf("desired %d while busy (%s)", st.Desired(), st.Step.Explanation())
	}
	act, err := c.IsActive(ctx, ref)
	if err != nil || !act.Result {
		t.Fatalf("IsActive while busy: %v, %v", act, err)
	}

	stream, err := c.StreamIsActive(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || !first.Result {
		t.Fatalf("stream's first message %v, %v: want active", first, err)
	}
	pushed := make(chan time.Time, 4)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				close(pushed)
				return
			}
			if !m.Result {
				pushed <- clk.Now()
			}
		}
	}()
	// Step the target through the idle stretch at its ticks (what Set.Run does in serve).
	var inactiveAt time.Time
	tick := tg.Tick()
	for at := clk.Now().Truncate(tick).Add(tick); at.Before(t0.Add((busyMinutes + idleMinutes) * time.Minute)); at = at.Add(tick) {
		clk.Set(at)
		if s := tg.Current(ctx, at); s.Step.Desired == 0 && inactiveAt.IsZero() {
			inactiveAt = at
			break
		}
	}
	if inactiveAt.IsZero() {
		t.Fatal("the keda policy never went to zero in the idle stretch")
	}
	// Last request in the minute ending at busy end; cooldown 300 s; a poll every 30 s.
	if lo, hi := t0.Add(busyMinutes*time.Minute+5*time.Minute), t0.Add(busyMinutes*time.Minute+6*time.Minute); inactiveAt.Before(lo) || inactiveAt.After(hi) {
		t.Errorf("went inactive at %s, want about 5 min after the last request (%s)", inactiveAt.Format("15:04:05"), lo.Format("15:04:05"))
	}
	select {
	case at, ok := <-pushed:
		if !ok || !at.Equal(inactiveAt) {
			t.Fatalf("stream pushed inactive at %v (open %v), the target went inactive at %s", at, ok, inactiveAt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("StreamIsActive did not push the change to inactive")
	}
	act, err = c.IsActive(ctx, ref)
	if err != nil || act.Result {
		t.Fatalf("IsActive after the cooldown: %v, %v", act, err)
	}
	mv, err = c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: "bascaler-shop"})
	if err != nil || mv.MetricValues[0].MetricValue != 0 {
		t.Fatalf("metric at zero: %v, %v", mv, err)
	}
}

// TestScalerBadInput: every malformed request gets a gRPC status naming what is wrong.
func TestScalerBadInput(t *testing.T) {
	set, err := live.NewSet([]live.TargetConfig{promTarget("http://127.0.0.1:1", "shop", "hpa", 1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := servePromScaler(t, &Scaler{Targets: set})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ref := func(md map[string]string) *pb.ScaledObjectRef {
		return &pb.ScaledObjectRef{Name: "so", Namespace: "ns", ScalerMetadata: md}
	}
	good := ref(map[string]string{"target": "shop"})
	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"IsActive without metadata", func() error { _, err := c.IsActive(ctx, ref(nil)); return err }, codes.InvalidArgument, `ScaledObject ns/so: trigger metadata "target" is missing`},
		{"GetMetricSpec with an empty target", func() error {
			_, err := c.GetMetricSpec(ctx, ref(map[string]string{"target": " "}))
			return err
		}, codes.InvalidArgument, `"target" is missing`},
		{"GetMetrics for an unknown target", func() error {
			_, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(map[string]string{"target": "cart"}), MetricName: "bascaler-cart"})
			return err
		}, codes.NotFound, `unknown live target "cart" (served: shop)`},
		{"GetMetrics without a ref", func() error {
			_, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{MetricName: "bascaler-shop"})
			return err
		}, codes.InvalidArgument, "scaledObjectRef: missing"},
		{"GetMetrics for another metric", func() error {
			_, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: good, MetricName: "cpu"})
			return err
		}, codes.InvalidArgument, `metricName: "cpu" is not this target's metric (want "bascaler-shop"`},
		{"StreamIsActive for an unknown target", func() error {
			s, err := c.StreamIsActive(ctx, ref(map[string]string{"target": "default/cart"}))
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, codes.NotFound, `unknown live target "default/cart"`},
		{"IsActive while Prometheus is unreachable", func() error { _, err := c.IsActive(ctx, good); return err }, codes.Unavailable, "live target shop: no decision yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st, ok := status.FromError(err)
			if !ok || st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Fatalf("got %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
	// The metric spec needs no decision: KEDA can create its HPA before the first tick.
	if _, err := c.GetMetricSpec(ctx, good); err != nil {
		t.Fatal(err)
	}
}
