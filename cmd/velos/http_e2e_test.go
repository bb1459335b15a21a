package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
)

type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func TestMCPOverHTTP(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	var out struct {
		URL       string `json:"url"`
		TokenFile string `json:"token_file"`
	}
	if err := json.Unmarshal([]byte(e.MustRun("mcp-server", "--http", "127.0.0.1:0", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out.TokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %s: %v %v", out.TokenFile, fi, err)
	}
	b, _ := os.ReadFile(out.TokenFile)
	token := strings.TrimSpace(string(b))

	// A second call reports the endpoint that already serves.
	if again := e.MustRun("mcp", "http", "--address", "127.0.0.1:0", "--ai"); !strings.Contains(again, `"already":true`) || !strings.Contains(again, out.URL) {
		t.Fatalf("second serve: %s", again)
	}

	client := &http.Client{Transport: bearer{token, http.DefaultTransport}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: out.URL, HTTPClient: client}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "process_list", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, `"api"`) {
		t.Fatalf("process_list over HTTP: %v %+v", err, res)
	}

	post := func(h map[string]string) int {
		req, _ := http.NewRequest("POST", out.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code := post(map[string]string{"Authorization": "Bearer nope"}); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code := post(map[string]string{"Authorization": "Bearer " + token, "Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Errorf("cross-origin: %d, want 403", code)
	}
}

func TestMCPOverHTTPRefusesRemoteWithoutAsking(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	r := e.Run("mcp-server", "--http", "0.0.0.0:0")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not a loopback address; add --allow-remote") {
		t.Fatalf("remote without --allow-remote: exit %d %q", r.Code, r.Stderr)
	}
}
