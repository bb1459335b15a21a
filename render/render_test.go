package render

import (
	"bytes"
	"flag"
	"fmt"
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
	// A number a row lacks is "-", not a zero it does not have.
	want := `{"rows":{"cols":["name","tags","note","n"],"rows":[["a",["x"],"hi",2],["b",[],"","-"]]}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// One row unlike the rest is taken out of the table, so that the columns
// the others share are still said once; when that does not pay, or would
// take out too many rows, the table stays whole.
func TestAITableOddRows(t *testing.T) {
	type p struct {
		ID       int    `json:"id" ai:"id,keep"`
		Name     string `json:"name"`
		Status   string `json:"status" ai:"st"`
		PID      int    `json:"pid"`
		Memory   int64  `json:"memory" ai:"mem" fmt:"bytes"`
		UptimeMS int64  `json:"uptime_ms" ai:"up" fmt:"ms"`
		Restarts int    `json:"restarts" ai:"rs"`
		Reason   string `json:"reason,omitempty"`
	}
	type out struct {
		Processes []p `json:"processes"`
	}
	online := func(n int) []p {
		var ps []p
		for i := range n {
			ps = append(ps, p{ID: i, Name: fmt.Sprintf("app-%d", i), Status: "online", PID: 100 + i, Memory: 2 << 20, UptimeMS: 3600e3})
		}
		return ps
	}
	down := p{ID: 9, Name: "db", Status: "waiting", Restarts: 4, Reason: "exit 3, restart in 2s"}
	for _, c := range []struct {
		name string
		ps   []p
		want string
	}{
		{"one odd of ten", append(online(9), down),
			`{"processes":{"all":{"mem":"2M","st":"online","up":"1h"},"cols":"id name pid","other":[{"id":9,"name":"db","reason":"exit 3, restart in 2s","rs":4,"st":"waiting"}],"rows":["0 app-0 100","1 app-1 101","2 app-2 102","3 app-3 103","4 app-4 104","5 app-5 105","6 app-6 106","7 app-7 107","8 app-8 108"]}}`},
		// Half the rows differ: no column is nearly uniform; a missing value is "-".
		{"half down", []p{online(2)[0], online(2)[1], {ID: 2, Name: "x", Status: "stopped"}, {ID: 3, Name: "y", Status: "stopped"}},
			`{"processes":{"cols":"id name st pid mem up","rows":["0 app-0 online 100 2M 1h","1 app-1 online 101 2M 1h","2 x stopped - - -","3 y stopped - - -"]}}`},
		{"uniform", online(3),
			`{"processes":{"all":{"mem":"2M","st":"online","up":"1h"},"cols":"id name pid","rows":["0 app-0 100","1 app-1 101","2 app-2 102"]}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := AIString(out{Processes: c.ps})
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestBytesRound(t *testing.T) {
	for in, want := range map[int64]string{512: "512B", 1536: "2K", 1600 << 10: "2M", 45 << 20: "45M", 1023<<20 + 900<<10: "1G", 1536 << 20: "1.5G"} {
		if got := BytesRound(in); got != want {
			t.Errorf("BytesRound(%d) = %q, want %q", in, got, want)
		}
	}
}
