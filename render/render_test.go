package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

type proc struct {
	ID       int     `json:"id" col:"ID" ai:"id,keep"`
	Name     string  `json:"name" col:"NAME"`
	Status   string  `json:"status" col:"STATUS" ai:"st" color:"status"`
	CPU      float64 `json:"cpu" col:"CPU" fmt:"pct"`
	Memory   int64   `json:"memory" col:"MEM" ai:"mem" fmt:"bytes"`
	UptimeMS int64   `json:"uptime_ms" col:"UPTIME" ai:"up" fmt:"ms"`
	Secret   string  `json:"secret,omitempty" ai:"-"`
}

type listOut struct {
	Processes []proc `json:"processes"`
}

type detail struct {
	Name    string            `json:"name"`
	Started time.Time         `json:"started"`
	Env     map[string]string `json:"env"`
	Command []string          `json:"command"`
	Exit    *struct {
		Code int `json:"code"`
	} `json:"exit"`
	Hidden string `json:"hidden" human:"-"`
}

func TestGolden(t *testing.T) {
	local := time.Local
	time.Local = time.UTC // human times are local: fix the zone
	t.Cleanup(func() { time.Local = local })
	two := listOut{Processes: []proc{
		{ID: 0, Name: "api", Status: "online", CPU: 12.34, Memory: 45 << 20, UptimeMS: 2 * 86400e3},
		{ID: 1, Name: "worker", Status: "errored", CPU: 0, Memory: 1536 << 10, UptimeMS: 0, Secret: "s3cr3t"},
	}}
	one := listOut{Processes: two.Processes[:1]}
	d := detail{Name: "api", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Env: map[string]string{"B": "2", "A": "1"}, Command: []string{"node", "api.js"},
		Exit: &struct {
			Code int `json:"code"`
		}{Code: 3}, Hidden: "x"}
	cases := []struct {
		name string
		v    any
		mode Mode
		opt  Options
	}{
		{"list_tty", two, Human, Options{TTY: true}},
		{"list_tty_color", two, Human, Options{TTY: true, Color: true}},
		{"list_pipe", two, Human, Options{}},
		{"list_json", two, JSON, Options{}},
		{"list_ai", two, AI, Options{}},
		{"list_one_ai", one, AI, Options{}},
		{"empty_ai", listOut{}, AI, Options{}},
		{"detail_tty", d, Human, Options{TTY: true, Now: d.Started.Add(5 * time.Minute)}},
		{"detail_pipe", d, Human, Options{}},
		{"detail_ai", d, AI, Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, c.mode, c.v, c.opt); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if _, err := os.Stat(golden); err != nil && os.Getenv("CI") != "" {
					t.Fatalf("%s is missing; not creating it under CI", golden)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s:\n got: %q\nwant: %q", c.name, b.String(), want)
			}
		})
	}
}

func TestUnits(t *testing.T) {
	for in, want := range map[int64]string{0: "0B", 512: "512B", 1536: "1.5K", 45 << 20: "45M", 1 << 30: "1G", 2200 << 20: "2.1G"} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{0: "0s", 500 * time.Millisecond: "0s", 45 * time.Second: "45s",
		3 * time.Minute: "3m", 5 * time.Hour: "5h", 72 * time.Hour: "3d"} {
		if got := Duration(in); got != want {
			t.Errorf("Duration(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "0%", 0.54: "0.5%", 12.4: "12%", 130: "130%"} {
		if got := Percent(in); got != want {
			t.Errorf("Percent(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestAIKeepsData(t *testing.T) {
	type out struct {
		Command []string          `json:"command"`
		Env     map[string]string `json:"env"`
		Note    string            `json:"note"`
		Up      int64             `json:"up" fmt:"ms"`
	}
	got, err := AIString(out{Command: []string{"app", "--workers", "0", ""}, Env: map[string]string{"DEBUG": "0", "EMPTY": ""}, Note: "0"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"command":["app","--workers","0",""],"env":{"DEBUG":"0","EMPTY":""},"note":"0"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestAITableEmptyCells(t *testing.T) {
	type row struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
		Note string   `json:"note"`
		N    int      `json:"n"`
	}
	type out struct {
		Rows []row `json:"rows"`
	}
	got, err := AIString(out{Rows: []row{{Name: "a", Tags: []string{"x"}, Note: "hi", N: 2}, {Name: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"rows":{"cols":["name","tags","note","n"],"rows":[["a",["x"],"hi",2],["b",[],"",0]]}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestBytesRound(t *testing.T) {
	for in, want := range map[int64]string{512: "512B", 1536: "2K", 1600 << 10: "2M", 45 << 20: "45M", 1023<<20 + 900<<10: "1G", 1536 << 20: "1.5G"} {
		if got := BytesRound(in); got != want {
			t.Errorf("BytesRound(%d) = %q, want %q", in, got, want)
		}
	}
}
