package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

// monitCmd is `velos monit`: a live dashboard, a client of the daemon like
// every other command (it calls process_metrics, process_describe,
// process_restart and process_stop through the same MCP client).
type monitCmd struct {
	Interval time.Duration `default:"1s" help:"Refresh interval."`
}

func (m monitCmd) Run(home daemon.Home, t *tool.Term) error {
	if m.Interval < 100*time.Millisecond {
		return fmt.Errorf("monit: --interval %v: want at least 100ms", m.Interval)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	c := &monitCaller{c: &client{home: home, exe: exe}}
	defer c.close()
	model := newMonit(c, m.Interval)
	// Fail before taking over the terminal when the daemon cannot be reached.
	if msg := model.fetch(); msg.err != nil {
		return msg.err
	}
	_, err = tea.NewProgram(model, tea.WithOutput(t.Out)).Run()
	return err
}

// monitCaller keeps one MCP session with the daemon for the whole dashboard
// (two calls a second need no new connection each). The first open starts
// the daemon if needed, like any command; after the daemon went away the
// session is reopened on the next call without starting one, so a dashboard
// left open does not bring back a daemon someone just killed.
type monitCaller struct {
	c *client

	mu     sync.Mutex
	s      tool.Session
	opened bool
}

func (m *monitCaller) Call(ctx context.Context, t tool.Info, args any) (json.RawMessage, error) {
	s, err := m.session(ctx, t)
	if err != nil {
		return nil, err
	}
	raw, err := s.Call(ctx, t, args)
	if errors.Is(err, errDaemon) {
		m.mu.Lock()
		if m.s == s {
			m.s = nil
		}
		m.mu.Unlock()
		s.Close()
	}
	return raw, err
}

func (m *monitCaller) session(ctx context.Context, t tool.Info) (tool.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s != nil {
		return m.s, nil
	}
	t.NoAutostart = m.opened
	s, err := m.c.Open(ctx, t)
	if errors.Is(err, errNothingToDo) {
		return nil, fmt.Errorf("%w: not running (velos kill?); velos list starts it again", errDaemon)
	}
	if err != nil {
		return nil, err
	}
	m.s, m.opened = s, true
	return s, nil
}

func (m *monitCaller) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s != nil {
		m.s.Close()
		m.s = nil
	}
}

// monitHistory is how many refreshes the sparklines show.
const monitHistory = 12

// monit is the dashboard's model. Everything it shows comes from tool calls
// made by fetch (off the update loop) and the log files the daemon writes.
type monit struct {
	c        tool.Caller
	interval time.Duration
	// readFile reads a log file; tests replace it.
	readFile func(path string) ([]byte, error)

	width, height int
	procs         []tools.ProcessMetrics
	cpu, mem      map[int][]float64 // per id, oldest first, for the sparklines
	selID         int               // the selected process's id; -1 before the first fetch
	detail        *tools.ProcessDetail
	logLines      []logLine
	follow        bool // the log pane takes the screen
	help          bool
	status        string // the last action's outcome
	err           error  // the last fetch's failure
	fetching      bool
}

type logLine struct {
	stamp  string
	text   string
	stderr bool
}

// Messages.
type (
	tickMsg  struct{}
	fetchMsg struct {
		procs  []tools.ProcessMetrics
		detail *tools.ProcessDetail
		logs   []logLine
		err    error
	}
	actionMsg struct {
		verb, target string
		err          error
	}
)

func newMonit(c tool.Caller, interval time.Duration) *monit {
	return &monit{c: c, interval: interval, readFile: tailFile, width: 80, height: 24,
		cpu: map[int][]float64{}, mem: map[int][]float64{}, selID: -1}
}

func (m *monit) Init() tea.Cmd { return tea.Batch(m.fetchCmd(), m.tick()) }

func (m *monit) tick() tea.Cmd {
	return tea.Tick(m.interval, func(time.Time) tea.Msg { return tickMsg{} })
}

func (m *monit) fetchCmd() tea.Cmd {
	m.fetching = true
	return func() tea.Msg { return m.fetch() }
}

// call calls one tool by its registry entry and decodes the output into out.
func (m *monit) call(ctx context.Context, name string, args map[string]any, out any) error {
	i := slices.IndexFunc(tools.All, func(e tool.Entry) bool { return e.Info().Name == name })
	if i < 0 {
		return fmt.Errorf("monit: no tool %s in this velos", name)
	}
	raw, err := m.c.Call(ctx, tools.All[i].Info(), args)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("monit: %s: decode: %w", name, err)
	}
	return nil
}

// fetch gets one refresh's worth: every process's metrics, and the selected
// one's details and last log lines. It runs outside the update loop and
// touches no model state but what it reads once (selID).
func (m *monit) fetch() fetchMsg {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out tools.MetricsOut
	if err := m.call(ctx, "process_metrics", map[string]any{"target": "all", "window": "1m"}, &out); err != nil {
		return fetchMsg{err: err}
	}
	msg := fetchMsg{procs: out.Processes}
	id := m.selID
	if id < 0 || !slices.ContainsFunc(out.Processes, func(p tools.ProcessMetrics) bool { return p.ID == id }) {
		if len(out.Processes) == 0 {
			return msg
		}
		id = out.Processes[0].ID
	}
	var det tools.DescribeOut
	if err := m.call(ctx, "process_describe", map[string]any{"target": strconv.Itoa(id)}, &det); err != nil || len(det.Processes) == 0 {
		return msg // gone between the two calls: the next refresh settles it
	}
	msg.detail = &det.Processes[0]
	msg.logs = m.tailLogs(msg.detail.OutLog, msg.detail.ErrLog, 200)
	return msg
}

func (m *monit) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		if m.fetching { // a slow daemon: never pile up calls
			return m, m.tick()
		}
		return m, tea.Batch(m.fetchCmd(), m.tick())
	case fetchMsg:
		m.fetching = false
		m.apply(msg)
	case actionMsg:
		if msg.err != nil {
			m.status = fmt.Sprintf("%s %s: %v", msg.verb, msg.target, msg.err)
		} else {
			m.status = fmt.Sprintf("%s %s: done", msg.verb, msg.target)
		}
		return m, m.fetchCmd()
	case tea.KeyPressMsg:
		return m, m.key(msg.String())
	}
	return m, nil
}

func (m *monit) apply(msg fetchMsg) {
	m.err = msg.err
	if msg.err != nil {
		return
	}
	m.procs = msg.procs
	seen := map[int]bool{}
	for _, p := range m.procs {
		seen[p.ID] = true
		m.cpu[p.ID] = appendHist(m.cpu[p.ID], p.CPU)
		m.mem[p.ID] = appendHist(m.mem[p.ID], float64(p.Memory))
	}
	for id := range m.cpu {
		if !seen[id] {
			delete(m.cpu, id)
			delete(m.mem, id)
		}
	}
	if !seen[m.selID] && len(m.procs) > 0 {
		m.selID = m.procs[0].ID
	}
	if msg.detail != nil && msg.detail.ID == m.selID {
		m.detail, m.logLines = msg.detail, msg.logs
	} else if msg.detail == nil {
		m.detail, m.logLines = nil, nil
	}
}

func appendHist(h []float64, v float64) []float64 {
	h = append(h, v)
	if len(h) > monitHistory {
		h = h[len(h)-monitHistory:]
	}
	return h
}

// key handles one key press; actions on the selected process run off the
// update loop and report back with an actionMsg.
func (m *monit) key(k string) tea.Cmd {
	switch k {
	case "q", "ctrl+c", "esc":
		if k == "esc" && (m.follow || m.help) {
			m.follow, m.help = false, false
			return nil
		}
		return tea.Quit
	case "up", "k":
		m.move(-1)
	case "down", "j":
		m.move(1)
	case "f":
		m.follow = !m.follow
	case "?", "h":
		m.help = !m.help
	case "r", "l":
		verb := "restart"
		if k == "l" {
			verb = "reload"
		}
		return m.act(verb, "process_restart")
	case "s":
		return m.act("stop", "process_stop")
	}
	return nil
}

// act calls tool on the selected process. reload is a restart until the
// registry has a process_reload (zero-downtime for clusters).
func (m *monit) act(verb, name string) tea.Cmd {
	p := m.selected()
	if p == nil {
		return nil
	}
	if verb == "reload" && slices.ContainsFunc(tools.All, func(e tool.Entry) bool { return e.Info().Name == "process_reload" }) {
		name = "process_reload"
	}
	target := strconv.Itoa(p.ID)
	m.status = fmt.Sprintf("%s %s…", verb, p.Name)
	label := p.Name
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return actionMsg{verb: verb, target: label, err: m.call(ctx, name, map[string]any{"target": target}, nil)}
	}
}

func (m *monit) move(d int) {
	i := slices.IndexFunc(m.procs, func(p tools.ProcessMetrics) bool { return p.ID == m.selID })
	if i < 0 {
		return
	}
	i = min(max(i+d, 0), len(m.procs)-1)
	if m.procs[i].ID != m.selID {
		m.selID = m.procs[i].ID
		m.detail, m.logLines = nil, nil // until the next fetch brings this one's
	}
}

func (m *monit) selected() *tools.ProcessMetrics {
	for i := range m.procs {
		if m.procs[i].ID == m.selID {
			return &m.procs[i]
		}
	}
	return nil
}

// Styles. lipgloss emits full colour; the program's writer downsamples to
// what the terminal supports (and to none under NO_COLOR).
var (
	stTitle    = lipgloss.NewStyle().Bold(true)
	stHead     = lipgloss.NewStyle().Bold(true)
	stSel      = lipgloss.NewStyle().Reverse(true)
	stDim      = lipgloss.NewStyle().Foreground(lipgloss.BrightBlack)
	stErr      = lipgloss.NewStyle().Foreground(lipgloss.Red)
	stSpark    = lipgloss.NewStyle().Foreground(lipgloss.Cyan)
	stByStatus = map[string]lipgloss.Style{
		"online":   lipgloss.NewStyle().Foreground(lipgloss.Green),
		"stopped":  lipgloss.NewStyle().Foreground(lipgloss.BrightBlack),
		"stopping": lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		"waiting":  lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		"errored":  lipgloss.NewStyle().Foreground(lipgloss.Red),
	}
)

func (m *monit) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "velos monit"
	return v
}

// render draws the screen: title, process table, details of the selected
// process, its last log lines, and the help line, in exactly height lines.
func (m *monit) render() string {
	w, h := max(m.width, 40), max(m.height, 10)
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }

	var cpu float64
	var mem int64
	online := 0
	for _, p := range m.procs {
		cpu += p.CPU
		mem += p.Memory
		if p.Status == "online" {
			online++
		}
	}
	add(stTitle.Render("velos monit") + fmt.Sprintf("  %d/%d online · CPU %s · MEM %s", online, len(m.procs), render.Percent(cpu), render.Bytes(mem)))

	helpLine := stDim.Render("↑↓/jk select · r restart · l reload · s stop · f logs · ? help · q quit")
	var foot []string
	switch {
	case m.err != nil:
		foot = append(foot, stErr.Render("error: "+oneLine(m.err.Error())))
	case m.status != "":
		foot = append(foot, m.status)
	}
	foot = append(foot, helpLine)
	body := h - len(lines) - len(foot)

	switch {
	case m.help:
		add(m.helpScreen()...)
	case m.follow:
		add(m.logPane(body)...)
	default:
		table := m.table(w, min(len(m.procs)+1, max(body/2, 2)))
		add(table...)
		rest := body - len(table)
		det := m.details(w)
		if len(det) > rest {
			det = det[:rest]
		}
		add(det...)
		add(m.logPane(rest - len(det))...)
	}
	for len(lines) < h-len(foot) {
		add("")
	}
	lines = append(lines[:h-len(foot)], foot...)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return strings.Join(lines, "\n")
}

// table is the header and as many process rows as fit in n lines, scrolled
// so the selected one shows.
func (m *monit) table(w, n int) []string {
	const spark = monitHistory
	nameW := max(w-(4+1+1+8+1+5+1+spark+1+6+1+spark+1+3+1+6), 6)
	row := func(id, name, st, cpu, cpuH, mem, memH, rs, up string) string {
		return fmt.Sprintf("%4s %-*s %-8s %5s %s %6s %s %3s %6s", id, nameW, ansi.Truncate(name, nameW, "…"), st, cpu, cpuH, mem, memH, rs, up)
	}
	out := []string{stHead.Render(row("ID", "NAME", "STATUS", "CPU", pad("", spark), "MEM", pad("", spark), "↺", "UPTIME"))}
	rows := n - 1
	sel := max(slices.IndexFunc(m.procs, func(p tools.ProcessMetrics) bool { return p.ID == m.selID }), 0)
	first := max(0, min(sel-rows+1, len(m.procs)-rows))
	for i := first; i < len(m.procs) && i < first+rows; i++ {
		p := m.procs[i]
		st := fmt.Sprintf("%-8s", p.Status)
		if s, ok := stByStatus[p.Status]; ok && p.ID != m.selID {
			st = s.Render(st)
		}
		id := strconv.Itoa(p.ID)
		if p.ID == m.selID {
			id = "›" + id // visible without colour (NO_COLOR) too
		}
		r := row(id, p.Name, st, render.Percent(p.CPU), sparkline(m.cpu[p.ID], false), render.Bytes(p.Memory),
			sparkline(m.mem[p.ID], true), strconv.Itoa(p.Restarts), render.Duration(time.Duration(p.UptimeMS)*time.Millisecond))
		if p.ID == m.selID {
			r = stSel.Render(pad(r, w))
		}
		out = append(out, r)
	}
	if len(m.procs) == 0 {
		out = append(out, stDim.Render("  no processes — velos start <script> to add one"))
	}
	return out
}

// details describes the selected process in a few lines.
func (m *monit) details(w int) []string {
	p := m.selected()
	if p == nil {
		return nil
	}
	out := []string{stDim.Render(strings.Repeat("─", w))}
	fds := "?"
	if p.FDs >= 0 {
		fds = strconv.Itoa(p.FDs)
	}
	out = append(out,
		fmt.Sprintf("%s  %s · pid %d · procs %d · threads %d · fds %s · up %s · ↺ %d", stTitle.Render(p.Name), p.Status,
			p.PID, p.Procs, p.Threads, fds, render.Duration(time.Duration(p.UptimeMS)*time.Millisecond), p.Restarts),
		fmt.Sprintf("1m: cpu avg %s max %s · mem avg %s max %s · trend %s", render.Percent(p.CPUAvg), render.Percent(p.CPUMax),
			render.Bytes(p.MemAvg), render.Bytes(p.MemMax), firstNonEmpty(p.MemTrend, "?")))
	if d := m.detail; d != nil {
		out = append(out, "cmd "+strings.Join(d.Command, " ")+stDim.Render("  in "+d.Cwd))
		if b := d.Balancer; b != nil {
			l := fmt.Sprintf("balancer: %d conns open, %d made", b.Active, b.Total)
			if b.Requests > 0 {
				l += fmt.Sprintf(" · %.1f req/s · p50 %.1f ms · p99 %.1f ms", b.RequestRate, b.LatencyP50, b.LatencyP99)
			}
			if !b.InRotation {
				l += " · out of rotation"
			}
			out = append(out, l)
		}
		if g := d.EventLoopLag; g != nil {
			out = append(out, fmt.Sprintf("event loop lag: p50 %.1f ms · p99 %.1f ms · max %.1f ms", g.P50, g.P99, g.Max))
		}
		if n := len(d.History); n > 0 {
			r := d.History[n-1]
			out = append(out, fmt.Sprintf("last restart %s: %s", r.Time.Local().Format("15:04:05"), r.Cause))
		} else if d.LastExit != nil {
			out = append(out, "last exit: "+d.LastExit.String())
		}
	}
	return out
}

// logPane is the last n-1 log lines of the selected process under a rule.
func (m *monit) logPane(n int) []string {
	if n <= 0 {
		return nil
	}
	title := "logs"
	if p := m.selected(); p != nil {
		title = "logs " + p.Name
		if m.follow {
			title += " (following · f or esc to go back)"
		}
	}
	out := []string{stDim.Render("── " + title + " " + strings.Repeat("─", max(0, m.width-len(title)-4)))}
	ls := m.logLines
	if len(ls) > n-1 {
		ls = ls[len(ls)-(n-1):]
	}
	for _, l := range ls {
		t := strings.ReplaceAll(l.text, "\t", "    ")
		stamp := ""
		if ts, err := time.Parse(time.RFC3339Nano, l.stamp); err == nil {
			stamp = stDim.Render(ts.Local().Format("15:04:05")) + " "
		}
		if l.stderr {
			t = stErr.Render(t)
		}
		out = append(out, stamp+t)
	}
	return out
}

func (m *monit) helpScreen() []string {
	return []string{
		"",
		"  ↑ ↓ or k j   select a process",
		"  r            restart it (graceful stop, then start)",
		"  l            reload it (a restart until velos has zero-downtime reload)",
		"  s            stop it",
		"  f            follow its logs full screen (f or esc to go back)",
		"  ? h          this help",
		"  q esc ctrl+c quit",
		"",
		"  CPU is % of one core and MEM the resident memory, summed over the",
		"  process and its children; sparklines show the last " + strconv.Itoa(monitHistory) + " refreshes.",
	}
}

// tailLogs merges the ends of the stdout and stderr files in time order and
// keeps the last n lines.
func (m *monit) tailLogs(out, errPath string, n int) []logLine {
	var all []logLine
	for _, f := range []struct {
		path   string
		stderr bool
	}{{out, false}, {errPath, true}} {
		b, err := m.readFile(f.path)
		if err != nil {
			continue
		}
		all = append(all, parseRecords(b, f.stderr)...)
	}
	slices.SortStableFunc(all, func(a, b logLine) int { return strings.Compare(a.stamp, b.stamp) })
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all
}

// parseRecords reads log store records ("<30-byte stamp> <text>", see
// package logs); a first partial line (the tail began mid-record) and
// continuation records are skipped.
func parseRecords(b []byte, stderr bool) []logLine {
	var out []logLine
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		if len(l) < 31 || l[30] != ' ' || l[4] != '-' || l[10] != 'T' {
			continue
		}
		out = append(out, logLine{stamp: string(l[:30]), text: logs.StripANSI(string(l[31:])), stderr: stderr})
	}
	return out
}

// tailFile reads at most the last 32 KiB of path: enough for a screen of
// lines without reading a large log.
func tailFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const max = 32 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// sparkline draws the values right-aligned in monitHistory cells. CPU
// (relative false) is drawn from 0 to 100% of a core or the highest value;
// memory (relative true) from the lowest to the highest value, so growth
// shows, and flat when they differ by under 1%.
func sparkline(vals []float64, relative bool) string {
	levels := []rune("▁▂▃▄▅▆▇█")
	lo, hi := 0.0, 100.0
	if relative && len(vals) > 0 {
		lo, hi = vals[0], vals[0]
	}
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	if relative && hi-lo < 0.01*hi {
		lo = hi // flat
	}
	var b strings.Builder
	for range monitHistory - len(vals) {
		b.WriteByte(' ')
	}
	for _, v := range vals {
		i := 0
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(len(levels)-1))
		}
		b.WriteRune(levels[min(max(i, 0), len(levels)-1)])
	}
	return stSpark.Render(b.String())
}

func pad(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
