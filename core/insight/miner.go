package insight

import (
	"sort"
	"strings"
	"time"
)

// MinerConfig holds the template miner's settings. The zero value means
// "use the defaults", which are the one configuration Velos uses for every
// kind of log.
type MinerConfig struct {
	// Similarity is the share of a template's constant tokens that a
	// line must equal to join that template in the online pass (tokens
	// that are variables on both sides are left out). Default 0.6.
	Similarity float64
	// Depth is the number of leading tokens used as keys in the parse tree
	// (after the token count). Default 2.
	Depth int
	// MaxChildren bounds the fan-out of a tree node; tokens beyond it share
	// the wildcard child. Default 100.
	MaxChildren int
	// MaxTemplates caps the online templates kept; when it is reached a
	// least recently seen one is evicted with its messages. Default 5000.
	MaxTemplates int
	// MaxMessages caps the distinct masked messages kept (each with its
	// count); when it is reached a rarely and least recently seen one is
	// evicted. Default 20000.
	MaxMessages int
	// Split holds the thresholds that decide, from the counts of the
	// values a template's variable position takes, whether that position
	// is a constant the online pass merged too eagerly.
	Split SplitConfig
}

// SplitConfig decides when a variable position of an online template is
// really a constant (see [Miner.Groups]). The zero value takes the
// defaults.
type SplitConfig struct {
	// MaxValues is the most distinct values a constant position takes.
	// Default 10.
	MaxValues int
	// LinesPerValue is how many lines each value must cover on average
	// for one position alone to split its template. Default 10.
	LinesPerValue int
	// LinesPerCombination is the same for two or more positions whose
	// values change together. Default 3.
	LinesPerCombination int
	// MaxShare is the largest share of the lines one value of a single
	// position may cover (a dominant value is more likely a variable's
	// common value). Default 0.8.
	MaxShare float64
}

func (c SplitConfig) withDefaults() SplitConfig {
	if c.MaxValues <= 0 {
		c.MaxValues = 10
	}
	if c.LinesPerValue <= 0 {
		c.LinesPerValue = 10
	}
	if c.LinesPerCombination <= 0 {
		c.LinesPerCombination = 3
	}
	if c.MaxShare <= 0 {
		c.MaxShare = 0.8
	}
	return c
}

func (c MinerConfig) withDefaults() MinerConfig {
	if c.Similarity <= 0 {
		c.Similarity = 0.6
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
	if c.MaxMessages <= 0 {
		c.MaxMessages = 20000
	}
	c.Split = c.Split.withDefaults()
	return c
}

// message is one distinct masked message: every line whose masked text is
// equal is counted here, with the bookkeeping the patterns report.
type message struct {
	// id numbers messages in arrival order; a pattern's id is its first's.
	id   int
	text string
	toks []string
	c    *cluster
	// at is the index in c.msgs, for O(1) removal.
	at      int
	count   int
	first   time.Time
	last    time.Time
	level   Level
	example string
	seq     uint64
	// g is the group the message was put in by the last [Miner.Groups].
	g *Group
}

// cluster is one online template (Drain's log group) and the distinct
// messages that joined it.
type cluster struct {
	id     int
	tokens []string
	leaf   *treeNode
	msgs   []*message
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

// Miner mines log templates. Feeding it is online and cheap: a line is
// masked (see [Mask]); a masked text seen before only bumps its count, a
// new one is routed Drain-style (He et al., ICWS 2017) by token count and
// first tokens to a leaf of a parse tree and joined to the most similar
// template there, or starts a new one. Reading the patterns
// ([Miner.Groups]) refines that online result from the counts kept: see
// the package documentation. Memory is bounded by
// [MinerConfig.MaxMessages] and [MinerConfig.MaxTemplates]. A Miner is not
// safe for concurrent use.
type Miner struct {
	cfg      MinerConfig
	root     map[int]*treeNode
	clusters map[int]*cluster
	msgs     map[string]*message
	nextID   int
	nextMsg  int
	seq      uint64
	toks     []string
	// groups caches the last Groups answer until a message is added.
	groups []*Group
	dirty  bool
}

// NewMiner returns a Miner with cfg (zero fields take the defaults).
func NewMiner(cfg MinerConfig) *Miner {
	return &Miner{cfg: cfg.withDefaults(), root: map[int]*treeNode{}, clusters: map[int]*cluster{}, msgs: map[string]*message{}}
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

// appendMinable appends the masked form of text that the miner works on:
// [Mask]'s, except that a key=value's value is masked by the token rules,
// not always ("user=root" stays; whether root is a variable is the
// miner's call, from the counts).
func appendMinable(dst []byte, text string) []byte {
	dst, _ = appendMaskedMode(dst, text, true)
	return dst
}

// add counts one line whose masked text is masked (the bytes are not
// kept) and returns its message; created reports a new online template.
func (m *Miner) add(masked []byte) (msg *message, created bool) {
	m.seq++
	msg = m.msgs[string(masked)]
	if msg == nil {
		text := string(masked)
		m.nextMsg++
		msg = &message{id: m.nextMsg, text: text}
		msg.toks = splitAll(text)
		if len(m.msgs) >= m.cfg.MaxMessages {
			m.evictMessage()
		}
		m.msgs[text] = msg
		before := m.nextID
		c := m.route(msg.toks)
		created = c.id > before
		msg.c, msg.at = c, len(c.msgs)
		c.msgs = append(c.msgs, msg)
		m.dirty = true
	}
	msg.count++
	msg.seq = m.seq
	msg.c.seq = m.seq
	if msg.g != nil {
		// Counts move the refinement's thresholds: recompute on read.
		m.dirty = true
	}
	return msg, created
}

// splitAll splits masked text at single spaces into a new slice of
// substrings of text.
func splitAll(text string) []string {
	n := 1
	for k := 0; k < len(text); k++ {
		if text[k] == ' ' {
			n++
		}
	}
	out := make([]string, 0, n)
	start := 0
	for k := 0; k <= len(text); k++ {
		if k == len(text) || text[k] == ' ' {
			if k > start {
				out = append(out, text[start:k])
			}
			start = k + 1
		}
	}
	return out
}

// route finds or creates the online template for toks.
func (m *Miner) route(toks []string) *cluster {
	leaf := m.leaf(toks, true)
	c := m.bestMatch(leaf, toks)
	if c == nil {
		m.nextID++
		c = &cluster{id: m.nextID, tokens: cloneTokens(toks), leaf: leaf, seq: m.seq}
		leaf.clusters = append(leaf.clusters, c)
		m.clusters[c.id] = c
		if len(m.clusters) > m.cfg.MaxTemplates {
			m.evictCluster()
		}
	} else {
		m.merge(c, toks)
	}
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

// routeKey is the tree key of a token: a token holding a variable is
// routed as a variable.
func routeKey(tok string) string {
	if hasWildcard(tok) {
		return Wildcard
	}
	return tok
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
		key := routeKey(toks[d])
		next := n.children[key]
		if next == nil {
			if !create {
				if next = n.children[Wildcard]; next == nil {
					return nil
				}
				n = next
				continue
			}
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
		if t == Wildcard || isVariableToken(t) && isVariableToken(toks[i]) {
			wild++
			continue
		}
		if t == toks[i] {
			same++
		}
	}
	if wild == len(tmpl) {
		return 1, wild
	}
	return float64(same) / float64(len(tmpl)-wild), wild
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

// evictCluster drops a least recently seen template and its messages.
// Like Redis's approximate LRU it looks at a sample of evictionSample
// templates (Go's map order is random), so eviction costs O(1) even when
// every line is a new template.
func (m *Miner) evictCluster() {
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
	for _, msg := range old.msgs {
		delete(m.msgs, msg.text)
	}
	old.msgs = nil
	cs := old.leaf.clusters
	for i, c := range cs {
		if c == old {
			old.leaf.clusters = append(cs[:i], cs[i+1:]...)
			break
		}
	}
	m.dirty = true
}

// evictMessage drops a rarely and least recently seen message, from a
// sample (see evictCluster).
func (m *Miner) evictMessage() {
	var victim *message
	k := 0
	for _, msg := range m.msgs {
		if victim == nil || msg.count < victim.count || (msg.count == victim.count && msg.seq < victim.seq) {
			victim = msg
		}
		if k++; k == evictionSample {
			break
		}
	}
	if victim == nil {
		return
	}
	delete(m.msgs, victim.text)
	c := victim.c
	last := c.msgs[len(c.msgs)-1]
	c.msgs[victim.at], last.at = last, victim.at
	c.msgs = c.msgs[:len(c.msgs)-1]
	m.dirty = true
}

// evictionSample is how many entries an eviction looks at.
const evictionSample = 16

// Len returns the number of online templates kept.
func (m *Miner) Len() int { return len(m.clusters) }

// Add masks text and mines it.
func (m *Miner) Add(text string) { m.add(appendMinable(nil, text)) }

// Template returns the current template text of the pattern with id, and
// whether it is still kept.
func (m *Miner) Template(id int) (string, bool) {
	for _, g := range m.Groups() {
		if g.ID == id {
			return g.Template, true
		}
	}
	return "", false
}

// Templates mines lines as one batch and returns, for each line, the text
// of its pattern once all lines were seen (so the lines of one pattern
// always get the same text). It is [LineMiner]'s two passes over a slice.
func Templates(lines []string) []string {
	return TemplatesWith(MinerConfig{}, lines)
}

// TemplatesWith is [Templates] with a configuration (the accuracy tests
// fit one per held-out system).
func TemplatesWith(cfg MinerConfig, lines []string) []string {
	lm := NewLineMiner(cfg)
	for _, l := range lines {
		lm.Add(l)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = lm.Template(l)
	}
	return out
}

// LineMiner gives every line of a stream its template in two passes, in
// bounded memory: [LineMiner.Add] each line (the first pass mines), then
// [LineMiner.Template] of each line again, in any order (the second pass
// reads the patterns, which no longer change). The line itself is not
// kept: a caller reading a file reads it twice. Like the [Analyzer], it
// mines a line's message (without a leading timestamp and level word; a
// JSON line's msg), so the groups are the ones an Analyzer fed the same
// lines reports, but every line is its own message (no stack-trace
// grouping: a frame gets a template too).
type LineMiner struct {
	m     *Miner
	buf   []byte
	byID  map[int]*message
	byLen map[int][]*Group // for lines whose message was evicted
	done  bool
}

// NewLineMiner returns a LineMiner with cfg (zero fields take the
// defaults).
func NewLineMiner(cfg MinerConfig) *LineMiner { return &LineMiner{m: NewMiner(cfg)} }

// Add mines one line (first pass) and returns the id of its message (its
// masked text), for [LineMiner.GroupOf]. It panics after the second pass
// began.
func (lm *LineMiner) Add(text string) int {
	if lm.done {
		panic("insight: LineMiner.Add after the second pass began")
	}
	lm.buf = appendMinable(lm.buf[:0], messageOf(text))
	msg, _ := lm.m.add(lm.buf)
	return msg.id
}

// GroupOf is the pattern of the message with id (second pass), or nil when
// the miner no longer keeps that message (see [LineMiner.Template]).
func (lm *LineMiner) GroupOf(id int) *Group {
	lm.finish()
	if msg := lm.byID[id]; msg != nil {
		return msg.g
	}
	return nil
}

// finish ends the first pass: the patterns are computed once.
func (lm *LineMiner) finish() {
	if lm.done {
		return
	}
	lm.m.Groups()
	lm.byID = make(map[int]*message, len(lm.m.msgs))
	for _, msg := range lm.m.msgs {
		lm.byID[msg.id] = msg
	}
	lm.done = true
}

// Template returns the template of a line given to Add (second pass). A
// line whose message was evicted (more distinct messages than
// [MinerConfig.MaxMessages]) gets the most frequent pattern of its length
// whose template it fits, or else its own masked text.
func (lm *LineMiner) Template(text string) string {
	g := lm.Group(text)
	if g == nil {
		return string(lm.buf)
	}
	return g.Template
}

// Group is the pattern of a line given to Add (second pass), or nil; see
// [LineMiner.Template].
func (lm *LineMiner) Group(text string) *Group {
	lm.finish()
	lm.buf = appendMinable(lm.buf[:0], messageOf(text))
	if msg := lm.m.msgs[string(lm.buf)]; msg != nil {
		return msg.g
	}
	// The message was evicted: the most frequent pattern of its length
	// whose template it fits.
	toks := lm.m.splitTokens(string(lm.buf))
	if lm.byLen == nil {
		lm.byLen = map[int][]*Group{}
		for _, g := range lm.m.Groups() {
			t := strings.Split(g.Template, " ")
			lm.byLen[len(t)] = append(lm.byLen[len(t)], g)
		}
		for _, gs := range lm.byLen {
			sort.SliceStable(gs, func(i, j int) bool { return gs[i].Count > gs[j].Count })
		}
	}
	for _, g := range lm.byLen[len(toks)] {
		if fitsTemplate(toks, strings.Split(g.Template, " ")) {
			return g
		}
	}
	return nil
}

// fitsTemplate reports whether masked tokens are an instance of template
// tokens, each <*> standing for any text.
func fitsTemplate(toks, tmpl []string) bool {
	for i, t := range tmpl {
		if t != toks[i] && t != Wildcard && !(hasWildcard(t) && globMatch(toks[i], t)) {
			return false
		}
	}
	return true
}

// globMatch matches s against pattern p in which each <*> is any text.
func globMatch(s, p string) bool {
	i := strings.Index(p, Wildcard)
	if i < 0 {
		return s == p
	}
	if !strings.HasPrefix(s, p[:i]) {
		return false
	}
	rest := p[i+len(Wildcard):]
	for k := i; k <= len(s); k++ {
		if globMatch(s[k:], rest) {
			return true
		}
	}
	return false
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
