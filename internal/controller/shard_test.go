package controller

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bascaler/bascaler/internal/scale"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		bad  bool
	}{
		{"", Shard{}, false}, {"0/2", Shard{0, 2}, false}, {"3/4", Shard{3, 4}, false}, {"0/1", Shard{0, 1}, false},
		{"2/2", Shard{}, true}, {"-1/2", Shard{}, true}, {"1", Shard{}, true}, {"a/b", Shard{}, true}, {"0/0", Shard{}, true},
	} {
		got, err := ParseShard(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseShard(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// Every object belongs to exactly one of n shards, and the shards are about even.
func TestShardsPartitionTheObjects(t *testing.T) {
	const objects = 1000
	for _, n := range []int{1, 2, 3, 8} {
		counts := make([]int, n)
		for i := 0; i < objects; i++ {
			ns, name := fmt.Sprintf("scale-%02d", i%10), fmt.Sprintf("w-%04d", i)
			owners := 0
			for k := 0; k < n; k++ {
				if (Shard{Index: k, Count: n}).Owns(ns, name) {
					owners++
					counts[k]++
				}
			}
			if owners != 1 {
				t.Fatalf("%s/%s has %d owners among %d shards", ns, name, owners, n)
			}
		}
		for k, c := range counts {
			if even := objects / n; c < even*8/10 || c > even*12/10 {
				t.Errorf("shard %d/%d owns %d of %d objects, want within 20%% of %d", k, n, c, objects, even)
			}
		}
	}
}

// TestTwoShardsSplitTheAutoscalersOnARealAPIServer runs two controllers, shards 0/2 and
// 1/2, against one kube-apiserver holding 24 autoscalers: every autoscaler decides, and
// each status write (PATCH of burstawareautoscalers/status) comes from the shard that owns
// the object and from no other.
func TestTwoShardsSplitTheAutoscalersOnARealAPIServer(t *testing.T) {
	restCfg := scaleEnv(t)
	ctrl.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newScaleFixture(t, ctx, restCfg, "shard", 24, 3*time.Second)
	var mu sync.Mutex
	writes := map[string]map[int]int{} // autoscaler key -> shard -> status writes
	done := make(chan error, 2)
	for i := range 2 {
		shard := Shard{Index: i, Count: 2}
		mcfg := rest.CopyConfig(restCfg)
		mcfg.QPS = -1
		mcfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
			return roundTripper(func(req *http.Request) (*http.Response, error) {
				// .../namespaces/NS/burstawareautoscalers/NAME/status
				segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
				if n := len(segs); req.Method == http.MethodPatch && n >= 4 && segs[n-1] == "status" && segs[n-3] == "burstawareautoscalers" {
					key := segs[n-4] + "/" + segs[n-2]
					mu.Lock()
					if writes[key] == nil {
						writes[key] = map[int]int{}
					}
					writes[key][shard.Index]++
					mu.Unlock()
				}
				return rt.RoundTrip(req)
			})
		})
		mgr, err := ctrl.NewManager(mcfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0", Controller: config.Controller{SkipNameValidation: ptr.To(true)}, Cache: CacheOptions()})
		if err != nil {
			t.Fatal(err)
		}
		r := &Reconciler{Client: mgr.GetClient(), Scaler: scale.Kubernetes{Client: mgr.GetClient()},
			Events: mgr.GetEventRecorder("bascaler-controller"), Stats: NewStats(prometheus.NewRegistry()),
			NewSource: f.newSource, Shard: shard}
		if err := r.SetupWithManager(mgr); err != nil {
			t.Fatal(err)
		}
		go func() { done <- mgr.Start(ctx) }()
	}
	f.waitDecided(t, ctx, 3*time.Minute, done)
	mu.Lock()
	defer mu.Unlock()
	per := [2]int{}
	for _, key := range f.keys {
		ns, name, _ := strings.Cut(key, "/")
		owner := 0
		if (Shard{Index: 1, Count: 2}).Owns(ns, name) {
			owner = 1
		}
		w := writes[key]
		if w[owner] == 0 || w[1-owner] != 0 {
			t.Errorf("%s (shard %d/2): status writes by shard %v, want only by its owner", key, owner, w)
		}
		per[owner]++
	}
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("objects per shard %v: the test's 24 objects should fall into both", per)
	}
}
