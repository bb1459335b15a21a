package testenv

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Answer is the trimmed body of a 200 answer to a request (the test
// servers answer with the pid of the instance that served); a failed
// request or another status is an error.
func Answer(r *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return "", err
	}
	if r.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", r.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}
