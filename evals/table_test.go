package evals

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/velos-pm/velos/internal/testenv"
)

var (
	tableOut = flag.String("table", "", "write the eval table (markdown) to this file")
	readme   = flag.Bool("readme", false, "with -table: also put the table in README.md between its eval markers")
)

// The markers around the eval table in README.md.
const (
	readmeBegin = "<!-- BEGIN EVAL TABLE (make evals) -->"
	readmeEnd   = "<!-- END EVAL TABLE -->"
)

// row is one measured output: a tool's eval case, or a process_list case.
type row struct {
	Tool, Case       string
	JSON, AI, Budget int
}

// results collects what the evals measured, for the table.
var results collector

type collector struct {
	mu        sync.Mutex
	rows      []row
	list, nTl int // tools/list tokens and tool count
}

func (c *collector) add(r row) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows = append(c.rows, r)
}

func (c *collector) setList(tokens, tools int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list, c.nTl = tokens, tools
}

// markdown is the table `make evals` prints: per tool, its --json and --ai
// tokens (o200k_base), their ratio and the --ai budget, then tools/list.
func (c *collector) markdown() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows := append([]row(nil), c.rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Tool != rows[j].Tool {
			return rows[i].Tool < rows[j].Tool
		}
		return rows[i].Case < rows[j].Case
	})
	var b strings.Builder
	b.WriteString("| tool | `--json` tokens | `--ai` tokens | ratio | `--ai` budget |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		name := "`" + r.Tool + "`"
		if r.Case != "" {
			name += ", " + r.Case
		}
		ratio := "—"
		if r.JSON > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*float64(r.AI)/float64(r.JSON))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d |\n", name, r.JSON, r.AI, ratio, r.Budget)
	}
	if c.list > 0 {
		fmt.Fprintf(&b, "\n`tools/list` (%d tools, names, descriptions, schemas, annotations): **%d tokens**, budget %d.\n", c.nTl, c.list, ToolsListBudget)
	}
	return b.String()
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if *tableOut != "" {
		if err := writeTable(results.markdown()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func writeTable(md string) error {
	if err := os.WriteFile(*tableOut, []byte(md), 0o644); err != nil {
		return fmt.Errorf("eval table: %w", err)
	}
	if !*readme {
		return nil
	}
	path := filepath.Join(testenv.Root(), "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("eval table: %w", err)
	}
	i, j := bytes.Index(b, []byte(readmeBegin)), bytes.Index(b, []byte(readmeEnd))
	if i < 0 || j < i {
		return fmt.Errorf("eval table: %s lacks the markers %q … %q", path, readmeBegin, readmeEnd)
	}
	out := append(append(append([]byte{}, b[:i+len(readmeBegin)]...), "\n"+md...), b[j:]...)
	return os.WriteFile(path, out, 0o644)
}
