package tools

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
)

// The insight engine on any log file (velos logs --file PATH): the same
// digest, dedupe and patterns as for a managed process, and the template of
// every line.
//
// A file's lines carry no arrival time, so each line gets the timestamp it
// starts with, when it starts with one in a common shape (RFC 3339 and
// "2006-01-02 15:04:05[.000|,000]" with or without a zone, "2006/01/02
// 15:04:05", each optionally in brackets, and syslog's "Jan _2 15:04:05");
// a line without one (a stack frame, a message without a stamp) gets the
// time of the line before it, and lines before the first stamp the file's
// modification time. Times without a zone are local. Anomalies per minute
// therefore need stamped lines; a file without any stamps has none.

// maxFileLine bounds one line of a file read by the engine.
const maxFileLine = 16 << 20

// The stamps a line may start with, compiled on first use: the CLI links
// this file, and a command that reads no file must not pay for them.
var (
	isoStamp = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\[?(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?`)
	})
	syslogStamp = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\[?([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2})`)
	})
)

// leadingTime parses the timestamp a line starts with; year is used for
// stamps that lack one (syslog).
func leadingTime(s string, year int) (time.Time, bool) {
	if len(s) < 15 {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '[' && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
		m := isoStamp().FindStringSubmatch(s)
		if m == nil {
			return time.Time{}, false
		}
		v := m[1] + "-" + m[2] + "-" + m[3] + " " + m[4]
		if m[5] != "" {
			v += "." + m[5]
		}
		zone := m[6]
		if zone == "" {
			t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", v, time.Local)
			return t, err == nil
		}
		if zone != "Z" && !strings.Contains(zone, ":") {
			zone = zone[:3] + ":" + zone[3:]
		}
		t, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", v+zone)
		return t, err == nil
	}
	m := syslogStamp().FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("Jan 2 15:04:05 2006", fmt.Sprintf("%s %s %s %d", m[1], m[2], m[3], year), time.Local)
	return t, err == nil
}

// readFile calls fn for each line of the file at path, with its time (see
// above), reading it as a stream: memory does not grow with the file.
func readFile(ctx context.Context, path string, fn func(n int, l insight.Line) error) error {
	var last time.Time
	return readLines(ctx, path, func(mod time.Time) { last = mod }, func(n int, b []byte) error {
		text := lineText(b)
		if t, ok := leadingTime(text, last.Year()); ok {
			last = t
		}
		return fn(n, insight.Line{Time: last, Stream: "out", Text: text})
	})
}

// lineText is a line as the engine reads it: without a CR line end and
// colour codes.
func lineText(b []byte) string {
	text := strings.TrimSuffix(string(b), "\r")
	if strings.IndexByte(text, 0x1b) >= 0 {
		text = logs.StripANSI(text)
	}
	return text
}

// readLines calls fn for each line of the file at path (the bytes are
// valid until fn returns; see lineText), after start with the file's
// modification time.
func readLines(ctx context.Context, path string, start func(mod time.Time), fn func(n int, b []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a log file", path)
	}
	if start != nil {
		start(fi.ModTime())
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxFileLine)
	n := 0
	for sc.Scan() {
		n++
		if n%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s: line %d is longer than %d MiB", path, n+1, maxFileLine>>20)
		}
		return err
	}
	return nil
}

// analyzeFile feeds the lines of path in [since, until) that match grep
// (when set) to a new Analyzer.
func analyzeFile(ctx context.Context, path string, since, until time.Time, grep *regexp.Regexp) (*insight.Analyzer, error) {
	a := insight.NewAnalyzer(insight.Options{Source: path})
	err := readFile(ctx, path, func(_ int, l insight.Line) error {
		if InRange(l.Time, since, until) && (grep == nil || grep.MatchString(l.Text)) {
			a.Add(l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	a.Flush()
	return a, nil
}

// perLineFile is the template of every line of a file, in two passes in
// bounded memory. The first mines every line (insight.LineMiner) and
// writes each line's message id to a temporary file, 4 bytes a line. The
// second reads the ids and the file again in step, as the answer is
// written: a line's template is its message's pattern, and only a line
// whose message the miner no longer keeps (more distinct messages than
// its bound) is masked again.
type perLineFile struct {
	path string
	lm   *insight.LineMiner
	ids  *os.File
	// remove is the ids file's name when it could not be unlinked open.
	remove string
}

// close closes (and where needed removes) the ids file.
func (p *perLineFile) close() {
	p.ids.Close()
	if p.remove != "" {
		os.Remove(p.remove)
	}
}

// minePerLine is the first pass over path. The caller closes the answer.
func minePerLine(ctx context.Context, path string) (*perLineFile, error) {
	ids, err := os.CreateTemp("", "velos-perline-*.ids")
	if err != nil {
		return nil, fmt.Errorf("per-line: %w", err)
	}
	p := &perLineFile{path: path, lm: insight.NewLineMiner(insight.MinerConfig{}), ids: ids}
	// Unlinked at once where the system allows it (the file lives as long
	// as it is open); elsewhere (Windows) when the second pass closes it.
	if os.Remove(ids.Name()) != nil {
		p.remove = ids.Name()
	}
	bw := bufio.NewWriterSize(ids, 64<<10)
	var id [4]byte
	err = readLines(ctx, path, nil, func(_ int, b []byte) error {
		binary.LittleEndian.PutUint32(id[:], uint32(p.lm.Add(lineText(b))))
		_, err := bw.Write(id[:])
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		p.close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return p, nil
}

// each is the second pass: fn gets every line's number and pattern (nil:
// see templateText) and text, until it returns errStop or an error. It
// closes the ids file.
func (p *perLineFile) each(ctx context.Context, fn func(n int, g *insight.Group, text string) error) error {
	defer p.close()
	if _, err := p.ids.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("per-line: %w", err)
	}
	br := bufio.NewReaderSize(p.ids, 64<<10)
	var id [4]byte
	err := readLines(ctx, p.path, nil, func(n int, b []byte) error {
		if _, err := io.ReadFull(br, id[:]); err != nil {
			return fmt.Errorf("%s changed while read: %w", p.path, err)
		}
		if g := p.lm.GroupOf(int(binary.LittleEndian.Uint32(id[:]))); g != nil {
			return fn(n, g, "")
		}
		text := lineText(b)
		return fn(n, p.lm.Group(text), text)
	})
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("read %s: %w", p.path, err)
	}
	return nil
}

var errStop = errors.New("stop")

// templates is the second pass into a slice of at most max rows (all when
// max < 0), and whether the file had more lines.
func (p *perLineFile) templates(ctx context.Context, max int) ([]insight.LineTemplate, bool, error) {
	var out []insight.LineTemplate
	more := false
	err := p.each(ctx, func(n int, g *insight.Group, text string) error {
		if max >= 0 && len(out) == max {
			more = true
			return errStop
		}
		out = append(out, insight.LineTemplate{Line: n, Template: p.templateText(g, text)})
		return nil
	})
	return out, more, err
}

// templateText is a line's template (see insight.LineMiner.Template for a
// line without a pattern).
func (p *perLineFile) templateText(g *insight.Group, text string) string {
	if g == nil {
		return p.lm.Template(text)
	}
	return g.Template
}

// write streams the answer: JSON lines ({"line":N,"template":"…"}) or, for
// people, "N<tab>template" lines.
func (p *perLineFile) write(w io.Writer, asJSON bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	quoted := map[*insight.Group][]byte{}
	var b []byte
	err := p.each(context.Background(), func(n int, g *insight.Group, text string) error {
		b = b[:0]
		if !asJSON {
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, '\t')
			b = append(b, p.templateText(g, text)...)
			b = append(b, '\n')
		} else {
			q, ok := quoted[g]
			if !ok || g == nil {
				q = jsonString(p.templateText(g, text))
				if g != nil {
					quoted[g] = q
				}
			}
			b = append(b, `{"line":`...)
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, `,"template":`...)
			b = append(b, q...)
			b = append(b, "}\n"...)
		}
		_, err := bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// jsonString is s as a JSON string, HTML characters left as they are.
func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// DedupeRow is one group of lines that are equal once their variable parts
// are masked.
type DedupeRow struct {
	Level string `json:"level" col:"LEVEL" ai:"lvl"`
	// Text is the masked message, or for a single line the line's message.
	Text  string    `json:"text" col:"TEXT"`
	Count int       `json:"count" col:"COUNT" ai:"n"`
	First time.Time `json:"first" col:"FIRST"`
	Last  time.Time `json:"last" col:"LAST"`
}

// String is the row as people read it (see insight.Row.String):
//
//	[ERROR] Connection refused (x10847, first: 10:05:03, last: 10:47:22)
func (r DedupeRow) String() string {
	lvl, _ := insight.ParseLevel(r.Level)
	return insight.Row{Text: r.Text, Example: r.Text, Count: r.Count, First: r.First.Local(), Last: r.Last.Local(), Level: lvl}.String()
}

// dedupeRows converts an analyzer's rows, most frequent first.
func dedupeRows(a *insight.Analyzer, n int) []DedupeRow {
	rows := a.Rows(n)
	out := make([]DedupeRow, 0, len(rows))
	for _, r := range rows {
		text := r.Text
		if r.Count <= 1 {
			text = r.Example
		}
		out = append(out, DedupeRow{Level: strings.ToLower(r.Level.String()), Text: Clip(text, MaxMsg), Count: r.Count, First: r.First, Last: r.Last})
	}
	return out
}

// writeRows prints dedupe rows one per line, as people read them.
func writeRows(w io.Writer, rows []DedupeRow) error {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.String() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
