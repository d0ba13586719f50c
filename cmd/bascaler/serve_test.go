package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeCommand starts `bascaler serve` on the embedded default, waits for readiness,
// asks for a forecast and a recommendation as the README's curl examples do, and stops it.
func TestServeCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--grace", "2s"})
	cmd.SetErr(pw)
	cmd.SetOut(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), ServeListeningPrefix); ok {
				addr <- a
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen within 30 s")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 30 s (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []struct{ path, body, want string }{
		{"/v1/forecast", `{"step":"60s","history":[480,500,520,510,530,560,600,640],"horizon":3}`, `"version":"builtin:holt-winters:bursty-day-seed1"`},
		{"/v1/recommend", `{"now":"2026-12-02T05:00:00Z","interval":"60s","history":[{"rate":480,"cpu":0.5},{"rate":900,"cpu":0.9}],` +
			`"recent":[{"rate":900,"cpu":0.9},{"rate":950,"cpu":0.95},{"rate":980,"cpu":0.97},{"rate":990,"cpu":0.98}],` +
			`"replicas":4,"ready":4,"min":1,"max":20,"slo":{"metric":"p95","target_ms":200},"policy":{"name":"hpa"}}`, `"replicas":6`},
	} {
		resp, err := http.Post(base+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), c.want) || !json.Valid(b) {
			t.Errorf("%s: %d %s, want 200 with %s", c.path, resp.StatusCode, b, c.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestServeCommandBadModel: a model that cannot be loaded stops serve with an error naming it.
func TestServeCommandBadModel(t *testing.T) {
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--model", t.TempDir() + "/missing"})
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("want an error naming the model, got %v", err)
	}
}
