package rl

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bascaler/bascaler/internal/nn"
)

func saveParams(b *bytes.Buffer, ps []*nn.Tensor) error { return nn.SaveParams(b, ps) }

// loadParamFile fills ps from a parameter file, naming the file in every error.
func loadParamFile(path string, ps []*nn.Tensor) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("weights file %s is missing", path)
		}
		return err
	}
	if err := nn.LoadParams(bytes.NewReader(raw), ps); err != nil {
		return fmt.Errorf("weights file %s: %w", path, err)
	}
	return nil
}
