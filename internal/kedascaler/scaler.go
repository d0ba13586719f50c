package kedascaler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/bascaler/bascaler/api/externalscaler"
	"github.com/bascaler/bascaler/internal/live"
)

// MetadataTarget is the trigger metadata key naming the live target: its name or
// NAMESPACE/WORKLOAD.
const MetadataTarget = "target"

// MetricPrefix starts every metric name this scaler reports ("bascaler-" + target name;
// KEDA adds its own "s<index>-" in front).
const MetricPrefix = "bascaler-"

// Scaler implements KEDA's ExternalScaler over live targets. It decides nothing itself:
// every answer is a target's step (live.Target.Current), taken at the last tick.
type Scaler struct {
	pb.UnimplementedExternalScalerServer
	Targets *live.Set
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

func (s *Scaler) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// MetricName is the metric a target is reported under.
func MetricName(t *live.Target) string { return MetricPrefix + t.Name() }

// target resolves a ScaledObjectRef's metadata to a live target, with a gRPC status that
// says what is wrong and where.
func (s *Scaler) target(ref *pb.ScaledObjectRef) (*live.Target, error) {
	if ref == nil {
		return nil, status.Error(codes.InvalidArgument, "scaledObjectRef: missing")
	}
	name := strings.TrimSpace(ref.GetScalerMetadata()[MetadataTarget])
	if name == "" {
		return nil, status.Errorf(codes.InvalidArgument,
			"ScaledObject %s/%s: trigger metadata %q is missing: name a live target of bascaler serve (NAME or NAMESPACE/WORKLOAD)",
			ref.GetNamespace(), ref.GetName(), MetadataTarget)
	}
	t, err := s.Targets.Lookup(name)
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "ScaledObject %s/%s: trigger metadata %s: %v", ref.GetNamespace(), ref.GetName(), MetadataTarget, err)
	}
	return t, nil
}

// state steps t to now; a target without any decision yet is Unavailable (KEDA retries).
func (s *Scaler) state(ctx context.Context, t *live.Target) (live.State, error) {
	st := t.Current(ctx, s.now())
	if err := usable(t, st); err != nil {
		return st, err
	}
	return st, nil
}

func usable(t *live.Target, st live.State) error {
	if !st.Valid {
		return status.Errorf(codes.Unavailable, "live target %s: not stepped yet", t.Name())
	}
	if st.Err != nil && st.Built.IsZero() {
		return status.Errorf(codes.Unavailable, "live target %s: no decision yet: %v", t.Name(), st.Err)
	}
	return nil
}

// IsActive says whether the workload should run: bascaler's desired replicas above zero
// (with min 0 and the bascaler policy, a forecast-driven scale to zero and pre-warm).
func (s *Scaler) IsActive(ctx context.Context, ref *pb.ScaledObjectRef) (*pb.IsActiveResponse, error) {
	t, err := s.target(ref)
	if err != nil {
		return nil, err
	}
	st, err := s.state(ctx, t)
	if err != nil {
		return nil, err
	}
	return &pb.IsActiveResponse{Result: st.Active()}, nil
}

// StreamIsActive sends the activity at once and then at every step that changes it, until
// the client goes away.
func (s *Scaler) StreamIsActive(ref *pb.ScaledObjectRef, stream grpc.ServerStreamingServer[pb.IsActiveResponse]) error {
	t, err := s.target(ref)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	changed := t.Changed()
	st, err := s.state(ctx, t)
	for err != nil {
		// No decision yet: wait for the first step that has one.
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-changed:
		}
		changed = t.Changed()
		st = t.Last()
		err = usable(t, st)
	}
	last := st.Active()
	if err := stream.Send(&pb.IsActiveResponse{Result: last}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		changed = t.Changed()
		st := t.Last()
		if usable(t, st) != nil || st.Active() == last {
			continue
		}
		last = st.Active()
		if err := stream.Send(&pb.IsActiveResponse{Result: last}); err != nil {
			return err
		}
	}
}

// GetMetricSpec reports one metric per target, its desired replicas, with target 1: under
// KEDA's default AverageValue metric type the HPA then wants exactly the desired count.
func (s *Scaler) GetMetricSpec(_ context.Context, ref *pb.ScaledObjectRef) (*pb.GetMetricSpecResponse, error) {
	t, err := s.target(ref)
	if err != nil {
		return nil, err
	}
	return &pb.GetMetricSpecResponse{MetricSpecs: []*pb.MetricSpec{{MetricName: MetricName(t), TargetSize: 1, TargetSizeFloat: 1}}}, nil
}

// GetMetrics reports the target's desired replicas at the last tick.
func (s *Scaler) GetMetrics(ctx context.Context, req *pb.GetMetricsRequest) (*pb.GetMetricsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "request: missing")
	}
	t, err := s.target(req.GetScaledObjectRef())
	if err != nil {
		return nil, err
	}
	if want := MetricName(t); req.GetMetricName() != want {
		return nil, status.Errorf(codes.InvalidArgument, "metricName: %q is not this target's metric (want %q, as GetMetricSpec reports)", req.GetMetricName(), want)
	}
	st, err := s.state(ctx, t)
	if err != nil {
		return nil, err
	}
	d := st.Desired()
	return &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{{MetricName: MetricName(t), MetricValue: int64(d), MetricValueFloat: float64(d)}}}, nil
}

// Run serves the scaler on addr until ctx ends (then stops gracefully for up to grace).
// listening is told the bound address.
func Run(ctx context.Context, sc *Scaler, addr string, grace time.Duration, listening func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("grpc: listen on %s: %w", addr, err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(1<<20), grpc.MaxConcurrentStreams(1024))
	pb.RegisterExternalScalerServer(srv, sc)
	if listening != nil {
		listening(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("grpc: %w", err)
	case <-ctx.Done():
	}
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		srv.Stop() // open streams (StreamIsActive) would hold GracefulStop forever
	}
	return nil
}
