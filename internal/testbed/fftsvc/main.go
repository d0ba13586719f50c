package fftsvc

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main runs the service from serve-fft style arguments (--addr, --fft-size, --rounds,
// --startup-delay, --name, --grace) until SIGTERM or SIGINT, and returns an exit code. Test
// binaries use it to stand in for `bascaler serve-fft` when a test re-executes itself as
// a replica.
func Main(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve-fft", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	addr := fs.String("addr", "127.0.0.1:0", "address")
	fs.IntVar(&o.FFTSize, "fft-size", 0, "samples per FFT")
	fs.IntVar(&o.Rounds, "rounds", 0, "FFTs per request")
	fs.DurationVar(&o.StartupDelay, "startup-delay", 0, "time before ready")
	fs.StringVar(&o.Name, "name", "", "workload name")
	fs.IntVar(&o.Workers, "workers", 0, "requests computed at once")
	fs.IntVar(&o.QueueLimit, "queue-limit", 0, "requests waiting for a worker")
	grace := fs.Duration("grace", 10*time.Second, "drain time")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	svc, err := New(o)
	if err != nil {
		fmt.Fprintln(stderr, "serve-fft:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := svc.Serve(ctx, *addr, *grace, func(a net.Addr) { fmt.Fprintf(stderr, "%s%s\n", ListeningPrefix, a) }); err != nil {
		fmt.Fprintln(stderr, "serve-fft:", err)
		return 1
	}
	return 0
}
