package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// PM2Version is the PM2 the tests compare against (bench/pm2.sh uses it too).
const PM2Version = "7"

var (
	pm2Once sync.Once
	pm2Bin  string
	pm2Err  string
)

// PM2 returns the path of a real pm2 from the npm registry, installed once
// into the user's cache folder (velos-test/pm2) and reused by later runs.
// Without node and npm, or when the install fails, the test is skipped with
// the reason.
func PM2(t testing.TB) string {
	t.Helper()
	pm2Once.Do(func() {
		if _, err := exec.LookPath("node"); err != nil {
			pm2Err = "node is not installed: PM2 cannot run"
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			pm2Err = "no cache folder for PM2: " + err.Error()
			return
		}
		dir := filepath.Join(cache, "velos-test", "pm2")
		bin := filepath.Join(dir, "node_modules", ".bin", "pm2")
		if _, err := os.Stat(bin); err == nil {
			pm2Bin = bin
			return
		}
		if _, err := exec.LookPath("npm"); err != nil {
			pm2Err = "npm is not installed: PM2 cannot be installed"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "pm2@"+PM2Version, "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			pm2Err = "npm install pm2 failed: " + err.Error() + "\n" + string(out)
			return
		}
		pm2Bin = bin
	})
	if pm2Bin == "" {
		t.Skip(pm2Err)
	}
	return pm2Bin
}
