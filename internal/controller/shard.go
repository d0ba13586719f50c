package controller

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is one of Count parts of the autoscalers: those whose FNV-1a hash of
// "namespace/name" is Index modulo Count. Count controllers with shards 0..Count-1, each
// electing its own leader (LeaseName), split the objects without overlap; the zero value
// (or Count 1) owns everything. The object key is hashed rather than the namespace alone
// because namespaces are few and uneven in size: 1,000 autoscalers in 10 namespaces split
// by namespace over 2 shards can leave one shard 70% of them.
type Shard struct{ Index, Count int }

// ParseShard reads "i/n" (0 <= i < n); "" is the whole set.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/2", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Owns reports whether the autoscaler namespace/name belongs to the shard.
func (s Shard) Owns(namespace, name string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(namespace + "/" + name))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// String returns "i/n", or "" for the whole set.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// LeaseName is the leader-election lease of the shard's replicas: base for the whole set,
// base-shard-i-of-n otherwise, so each shard has its own leader.
func (s Shard) LeaseName(base string) string {
	if s.Count <= 1 {
		return base
	}
	return fmt.Sprintf("%s-shard-%d-of-%d", base, s.Index, s.Count)
}
