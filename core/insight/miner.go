package insight

import (
	"strings"
	"time"
)

// MinerConfig holds the template miner's settings. The zero value means
// "use the defaults", which are the one configuration Velos uses for every
// kind of log.
type MinerConfig struct {
	// Similarity is the share of a line's tokens that must equal a
	// template's constant tokens for the line to join that template.
	// Default 0.5.
	Similarity float64
	// Depth is the number of leading tokens used as keys in the parse tree
	// (after the token count). Default 2.
	Depth int
	// MaxChildren bounds the fan-out of a tree node; tokens beyond it share
	// the wildcard child. Default 100.
	MaxChildren int
	// MaxTemplates caps the templates kept; when it is reached the least
	// recently seen template is evicted. Default 5000.
	MaxTemplates int
}

func (c MinerConfig) withDefaults() MinerConfig {
	if c.Similarity <= 0 {
		c.Similarity = 0.5
	}
	if c.Depth <= 0 {
		c.Depth = 2
	}
	if c.MaxChildren <= 0 {
		c.MaxChildren = 100
	}
	if c.MaxTemplates <= 0 {
		c.MaxTemplates = 5000
	}
	return c
}

// cluster is one mined template and its bookkeeping.
type cluster struct {
	id      int
	tokens  []string
	count   int
	first   time.Time
	last    time.Time
	level   Level
	example string
	leaf    *treeNode
	// seq is the miner's sequence number at the last hit, for LRU eviction.
	seq uint64
	// text caches strings.Join(tokens); "" when stale.
	text string
	// dead is set when the template was evicted.
	dead bool
}

func (c *cluster) template() string {
	if c.text == "" {
		c.text = strings.Join(c.tokens, " ")
	}
	return c.text
}

type treeNode struct {
	children map[string]*treeNode
	clusters []*cluster
}

// Miner mines log templates online with a fixed-depth parse tree in the
// style of Drain (He et al., ICWS 2017): lines are masked (see [Mask]),
// routed by token count and their first tokens to a leaf, and joined to the
// most similar template there, or start a new one. Differing positions become
// [Wildcard]. A Miner is not safe for concurrent use.
type Miner struct {
	cfg      MinerConfig
	root     map[int]*treeNode
	clusters map[int]*cluster
	nextID   int
	seq      uint64
	toks     []string
}

// NewMiner returns a Miner with cfg (zero fields take the defaults).
func NewMiner(cfg MinerConfig) *Miner {
	return &Miner{cfg: cfg.withDefaults(), root: map[int]*treeNode{}, clusters: map[int]*cluster{}}
}

// splitTokens splits masked text at single spaces into m.toks (reused).
func (m *Miner) splitTokens(masked string) []string {
	toks := m.toks[:0]
	start := 0
	for k := 0; k <= len(masked); k++ {
		if k == len(masked) || masked[k] == ' ' {
			if k > start {
				toks = append(toks, masked[start:k])
			}
			start = k + 1
		}
	}
	m.toks = toks
	return toks
}

func hasWildcard(tok string) bool { return strings.Contains(tok, Wildcard) }

// addMasked routes already-masked text into the tree and returns its
// cluster, creating one when no template is similar enough.
func (m *Miner) addMasked(masked string) *cluster {
	m.seq++
	toks := m.splitTokens(masked)
	leaf := m.leaf(toks, true)
	c := m.bestMatch(leaf, toks)
	if c == nil {
		m.nextID++
		c = &cluster{id: m.nextID, tokens: cloneTokens(toks), leaf: leaf}
		leaf.clusters = append(leaf.clusters, c)
		m.clusters[c.id] = c
		if len(m.clusters) > m.cfg.MaxTemplates {
			m.evict()
		}
	} else {
		m.merge(c, toks)
	}
	c.seq = m.seq
	return c
}

func cloneTokens(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		// Clone so the cluster does not pin the whole masked line's memory.
		out[i] = strings.Clone(t)
	}
	return out
}

// leaf walks (and with create, grows) the tree for toks.
func (m *Miner) leaf(toks []string, create bool) *treeNode {
	n := m.root[len(toks)]
	if n == nil {
		if !create {
			return nil
		}
		n = &treeNode{}
		m.root[len(toks)] = n
	}
	for d := 0; d < m.cfg.Depth && d < len(toks); d++ {
		key := toks[d]
		if hasWildcard(key) {
			key = Wildcard
		}
		next := n.children[key]
		if next == nil {
			if n.children == nil {
				n.children = map[string]*treeNode{}
			}
			if len(n.children) >= m.cfg.MaxChildren && key != Wildcard {
				key = Wildcard
				next = n.children[key]
			}
			if next == nil {
				next = &treeNode{}
				n.children[key] = next
			}
		}
		n = next
	}
	return n
}

// similarity is the share of positions where the template's token equals
// the line's, and the number of wildcard positions (the tie-breaker: fewer
// wildcards is a more specific template).
func similarity(tmpl, toks []string) (float64, int) {
	same, wild := 0, 0
	for i, t := range tmpl {
		if t == Wildcard {
			wild++
			continue
		}
		if t == toks[i] {
			same++
		}
	}
	return float64(same) / float64(len(toks)), wild
}

func (m *Miner) bestMatch(leaf *treeNode, toks []string) *cluster {
	var best *cluster
	bestSim, bestWild := -1.0, 0
	for _, c := range leaf.clusters {
		s, w := similarity(c.tokens, toks)
		if s > bestSim || (s == bestSim && w > bestWild) {
			best, bestSim, bestWild = c, s, w
		}
	}
	if best == nil || bestSim < m.cfg.Similarity {
		if best != nil && len(toks) > 0 && allWildOrEqual(best.tokens, toks) {
			return best
		}
		return nil
	}
	return best
}

// allWildOrEqual: a line that fits a template exactly (every constant equal)
// belongs to it even when the template is mostly wildcards.
func allWildOrEqual(tmpl, toks []string) bool {
	for i, t := range tmpl {
		if t != Wildcard && t != toks[i] {
			return false
		}
	}
	return true
}

func (m *Miner) merge(c *cluster, toks []string) {
	for i, t := range c.tokens {
		if t != toks[i] && t != Wildcard {
			c.tokens[i] = Wildcard
			c.text = ""
		}
	}
}

// evict drops a least recently seen template. Like Redis's approximate
// LRU it looks at a sample of evictionSample templates (Go's map order is
// random), so eviction costs O(1) even when every line is a new template.
func (m *Miner) evict() {
	var old *cluster
	k := 0
	for _, c := range m.clusters {
		if old == nil || c.seq < old.seq {
			old = c
		}
		if k++; k == evictionSample {
			break
		}
	}
	if old == nil {
		return
	}
	old.dead = true
	delete(m.clusters, old.id)
	cs := old.leaf.clusters
	for i, c := range cs {
		if c == old {
			old.leaf.clusters = append(cs[:i], cs[i+1:]...)
			break
		}
	}
}

// evictionSample is how many entries an eviction looks at.
const evictionSample = 16

// Len returns the number of templates kept.
func (m *Miner) Len() int { return len(m.clusters) }

// Add masks text, mines it and returns the id of its template.
func (m *Miner) Add(text string) int {
	b, _ := appendMasked(nil, text)
	return m.addMasked(string(b)).id
}

// Template returns the current template text of the template with id, and
// whether it is still kept.
func (m *Miner) Template(id int) (string, bool) {
	c := m.clusters[id]
	if c == nil {
		return "", false
	}
	return c.template(), true
}

// Templates mines lines as one batch and returns, for each line, the final
// text of its template (the template as it stands after all lines were
// seen, so lines of one group always get the same text). This is the
// per-line API for arbitrary files; the default configuration is used.
//
// Because the whole batch is known, Templates refines the online result:
// within a template, a wildcard position that takes only a few distinct
// word values, each repeated (see [splitByFewValues]), is a constant that the
// online pass merged too eagerly ("VM Started" / "VM Stopped"), and the
// template is split by it.
func Templates(lines []string) []string {
	m := NewMiner(MinerConfig{MaxTemplates: len(lines) + 1})
	of := make([]*cluster, len(lines))
	masked := make([]string, len(lines))
	var buf []byte
	for i, l := range lines {
		buf, _ = appendMasked(buf[:0], l)
		masked[i] = string(buf)
		of[i] = m.addMasked(masked[i])
	}
	members := map[*cluster][]int{}
	var order []*cluster
	for i, c := range of {
		if members[c] == nil {
			order = append(order, c)
		}
		members[c] = append(members[c], i)
	}
	out := make([]string, len(lines))
	for _, c := range order {
		idx := members[c]
		toks := make([][]string, len(idx))
		for k, i := range idx {
			toks[k] = strings.Split(masked[i], " ")
		}
		for _, g := range splitByFewValues(c.tokens, toks) {
			t := groupTemplate(toks, g)
			for _, k := range g {
				out[idx[k]] = t
			}
		}
	}
	return out
}

// splitByFewValues groups the rows of one template (each row the masked
// tokens of one line) by the values at its "few-valued" wildcard positions
// (rules in the package documentation). It returns the row indices of each
// group, in first-seen order.
func splitByFewValues(tmpl []string, rows [][]string) [][]int {
	type cand struct {
		pos    int
		strict bool // passes the single-position ratio and is not skewed
	}
	var cands []cand
	n := len(rows)
	for p, t := range tmpl {
		if t != Wildcard || (p > 0 && isEntityNoun(tmpl[p-1])) {
			continue
		}
		seen := map[string]int{}
		ok := true
		for _, r := range rows {
			if hasWildcard(r[p]) {
				ok = false
				break
			}
			seen[r[p]]++
			if len(seen) > maxFewValues {
				ok = false
				break
			}
		}
		if !ok || len(seen) < 2 || len(seen)*multiValuesRatio > n {
			continue
		}
		top := 0
		for _, c := range seen {
			top = max(top, c)
		}
		cands = append(cands, cand{p, len(seen)*fewValuesRatio <= n && top*10 <= n*9})
	}
	var keyPos []int
	if len(cands) >= 2 {
		// Several word positions that change together are a different
		// message, even in a small template.
		for _, c := range cands {
			keyPos = append(keyPos, c.pos)
		}
	} else if len(cands) == 1 && cands[0].strict {
		// One position alone: a constant only when few values repeat
		// often and none dominates (a dominant value is more likely a
		// variable's common value, like user root).
		keyPos = []int{cands[0].pos}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if len(keyPos) == 0 {
		return [][]int{all}
	}
	groups := map[string]int{}
	var out [][]int
	var kb strings.Builder
	for i, r := range rows {
		kb.Reset()
		for _, p := range keyPos {
			kb.WriteString(r[p])
			kb.WriteByte(0)
		}
		g, ok := groups[kb.String()]
		if !ok {
			g = len(out)
			groups[kb.String()] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], i)
	}
	if len(keyPos) > 1 && len(out)*multiValuesRatio > n {
		return [][]int{all}
	}
	return out
}

// isEntityNoun reports words that name an entity ("user root", "host
// web1"); the word after one is an identifier, a variable, even when it
// takes few values.
func isEntityNoun(tok string) bool {
	tok = strings.TrimRight(tok, ":=")
	switch strings.ToLower(tok) {
	case "user", "username", "login", "host", "hostname", "name", "file", "filename",
		"account", "group", "domain", "database", "db", "table", "queue", "topic", "key",
		"path", "dir", "directory", "device", "container", "pod", "bucket", "branch":
		return true
	}
	return false
}

const (
	maxFewValues     = 10
	fewValuesRatio   = 10
	multiValuesRatio = 3
)

// groupTemplate is the template of rows g: equal tokens are kept, differing
// ones become wildcards.
func groupTemplate(rows [][]string, g []int) string {
	first := rows[g[0]]
	t := make([]string, len(first))
	copy(t, first)
	for _, k := range g[1:] {
		for p, tok := range rows[k] {
			if t[p] != tok {
				t[p] = Wildcard
			}
		}
	}
	return strings.Join(t, " ")
}

// LineTemplate is one row of the per-line template output
// (`velos logs --file PATH --patterns --per-line --json`).
type LineTemplate struct {
	// Line is the 1-based line number.
	Line     int    `json:"line"`
	Template string `json:"template"`
}

// PerLine returns [Templates] of lines as numbered rows.
func PerLine(lines []string) []LineTemplate {
	ts := Templates(lines)
	out := make([]LineTemplate, len(ts))
	for i, t := range ts {
		out[i] = LineTemplate{Line: i + 1, Template: t}
	}
	return out
}
