package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// benchServerEnv makes the test binary serve instead of testing: the benchmarks run the
// fast target in a child process so that GOMAXPROCS=1 limits the generator alone.
const benchServerEnv = "BASCALER_LOAD_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(benchServerEnv) == "1" {
		serveBench()
		return
	}
	os.Exit(m.Run())
}

// serveBench answers every request with a 2-byte body on a free loopback port, prints the
// address and serves until stdin closes (the parent's end).
func serveBench() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // EOF when the parent exits
		os.Exit(0)
	}()
	body := []byte("ok")
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
}

// startBenchServer starts the fast target as a child process and returns its URL.
func startBenchServer(b *testing.B) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("bench server: %v", err)
	}
	return "http://" + addr[:len(addr)-1] + "/"
}

func benchEnv(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

// cpuTime is the CPU (user + system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRun reports the run's numbers and the generator's CPU per request (the server is
// another process, so this is the generator's own cost).
func reportRun(b *testing.B, run *Run, cpu time.Duration) {
	s := run.Summarize()
	if s.Sent > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(s.Sent), "cpu-µs/req")
	}
	b.ReportMetric(s.AchievedRate, "req/s")
	b.ReportMetric(float64(s.Shortfall), "shortfall")
	b.ReportMetric(float64(s.Failed), "failed")
	b.ReportMetric(float64(s.Workers), "workers")
	b.ReportMetric(s.Latency.P50MS*1000, "p50-µs")
	b.ReportMetric(s.Latency.P99MS*1000, "p99-µs")
	if s.SendLag != nil {
		b.ReportMetric(s.SendLag.P50MS*1000, "lag-p50-µs")
		b.ReportMetric(s.SendLag.P99MS*1000, "lag-p99-µs")
	}
}

// BenchmarkOpenLoop sends BASCALER_LOAD_BENCH_RATE (default 5000) req/s for
// BASCALER_LOAD_BENCH_SECONDS (default 10) with the generator on one core (GOMAXPROCS=1)
// against the fast child server, after one warm-up second; BASCALER_LOAD_BENCH_ARRIVALS=poisson
// and BASCALER_LOAD_BENCH_MAX_IN_FLIGHT change those options. Run with -benchtime 1x.
func BenchmarkOpenLoop(b *testing.B) {
	url := startBenchServer(b)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	rate := benchEnv("BASCALER_LOAD_BENCH_RATE", 5000)
	secs := benchEnv("BASCALER_LOAD_BENCH_SECONDS", 10)
	arrivals := Uniform
	if os.Getenv("BASCALER_LOAD_BENCH_ARRIVALS") == "poisson" {
		arrivals = Poisson
	}
	warm, _ := Constant(rate, time.Second)
	if _, err := Generate(context.Background(), Options{Targets: one(url), Schedule: warm}); err != nil {
		b.Fatal(err)
	}
	s, err := Constant(rate, time.Duration(secs*float64(time.Second)))
	if err != nil {
		b.Fatal(err)
	}
	var run *Run
	b.ResetTimer()
	for range b.N {
		cpu0 := cpuTime(b)
		run, err = Generate(context.Background(), Options{Targets: one(url), Schedule: s, Arrivals: arrivals, Seed: 1,
			MaxInFlight: int(benchEnv("BASCALER_LOAD_BENCH_MAX_IN_FLIGHT", 0))})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		reportRun(b, run, cpuTime(b)-cpu0)
		b.StartTimer()
	}
}

// BenchmarkOneUserBaseline is the floor the open-loop latencies are compared with: one
// closed-loop user on one core, sending the next request as soon as the answer is read, for
// BASCALER_LOAD_BENCH_SECONDS/2 against the same kind of server.
func BenchmarkOneUserBaseline(b *testing.B) {
	url := startBenchServer(b)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	secs := benchEnv("BASCALER_LOAD_BENCH_SECONDS", 10) / 2
	b.ResetTimer()
	for range b.N {
		cpu0 := cpuTime(b)
		run, err := Generate(context.Background(), Options{Targets: one(url), Users: 1, Duration: time.Duration(secs * float64(time.Second))})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		reportRun(b, run, cpuTime(b)-cpu0)
		b.StartTimer()
	}
}
