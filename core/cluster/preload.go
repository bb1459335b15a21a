package cluster

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// preload is the Node preload (see preload.cjs), shipped inside the binary.
//
//go:embed preload.cjs
var preload []byte

// WritePreload writes the Node preload into dir (the daemon's run folder)
// and returns its path. The name carries a hash of the content, so a daemon
// upgraded in place never hands a program a half-written or older file.
func WritePreload(dir string) (string, error) {
	sum := sha256.Sum256(preload)
	path := filepath.Join(dir, "node-preload-"+hex.EncodeToString(sum[:6])+".cjs")
	if b, err := os.ReadFile(path); err == nil && string(b) == string(preload) {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, ".preload-*")
	if err != nil {
		return "", fmt.Errorf("node preload: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(preload); err != nil {
		tmp.Close()
		return "", fmt.Errorf("node preload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("node preload: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("node preload: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("node preload: %w", err)
	}
	return path, nil
}
