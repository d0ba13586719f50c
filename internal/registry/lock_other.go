//go:build !unix

package registry

import "fmt"

// lockFile is not implemented off Unix: the registry refuses to modify aliases rather than
// risk lost updates.
func lockFile(path string) (func(), error) {
	return nil, fmt.Errorf("lock %s: file locking is only implemented on Unix", path)
}
