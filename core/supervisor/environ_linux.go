package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Environ is the environment process pid was started with, as the kernel
// keeps it (/proc/PID/environ).
func Environ(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, fmt.Errorf("environment of pid %d: %w", pid, err)
	}
	var out []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if len(kv) > 0 {
			out = append(out, string(kv))
		}
	}
	return out, nil
}
