package registry

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"time"
)

// Digest is a version's identity: the SHA-256 of its files' names, sizes and SHA-256s,
// one line each in name order ("name\x00size\x00sha256\n"). Equal model files give equal
// versions however and whenever they were written; lineage.json is not part of it, so
// training the same model twice on the same data yields the same version.
func Digest(files map[string]FileDigest) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	io.WriteString(h, "bascaler-model-v1\n")
	for _, n := range names {
		f := files[n]
		fmt.Fprintf(h, "%s\x00%d\x00%s\n", n, f.Size, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digestFile hashes one file.
func digestFile(path string) (FileDigest, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileDigest{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileDigest{}, err
	}
	return FileDigest{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// FileSHA256 returns the hex SHA-256 of a file's bytes (a trace's TraceDigest).
func FileSHA256(path string) (string, error) {
	d, err := digestFile(path)
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", path, err)
	}
	return d.SHA256, nil
}

// DigestSeries is the identity of an evenly spaced series: SHA-256 over its start (Unix
// nanoseconds), step (nanoseconds), length and the IEEE-754 bits of every value, all
// big-endian. It depends on the data only, not on where it was read from, so a series
// read from Prometheus and the same series read from a CSV file have the same digest.
func DigestSeries(start time.Time, step time.Duration, values []float64) string {
	h := sha256.New()
	io.WriteString(h, "bascaler-series-v1\n")
	var b [8]byte
	put := func(u uint64) {
		binary.BigEndian.PutUint64(b[:], u)
		h.Write(b[:])
	}
	put(uint64(start.UnixNano()))
	put(uint64(step))
	put(uint64(len(values)))
	for _, v := range values {
		put(math.Float64bits(v))
	}
	return hex.EncodeToString(h.Sum(nil))
}
