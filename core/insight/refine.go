package insight

import (
	"sort"
	"strings"
)

// Group is one mined pattern: the distinct messages that share a template.
type Group struct {
	// ID is stable while the pattern's first message is kept.
	ID int
	// Template is the text with each variable part as [Wildcard].
	Template string
	// Count is the number of lines.
	Count int
	msgs  []*message
	// split: the group is a part of an online template split by its
	// values (a constant there, which no merge undoes).
	split bool
}

// Groups returns the patterns of everything mined so far, in the order
// their first message arrived. The online templates are refined here,
// from the distinct messages and their counts: see the package
// documentation. The answer is cached until the next line.
func (m *Miner) Groups() []*Group {
	if !m.dirty && m.groups != nil {
		return m.groups
	}
	ids := make([]int, 0, len(m.clusters))
	for id := range m.clusters {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var gs []*Group
	for _, id := range ids {
		c := m.clusters[id]
		if len(c.msgs) == 0 {
			continue
		}
		parts := splitByFewValues(c.tokens, c.msgs, m.cfg.Split)
		for _, part := range parts {
			gs = append(gs, &Group{msgs: part, split: len(parts) > 1})
		}
	}
	gs = mergeManyValued(gs, m.cfg.Split)
	gs = mergeCollapsed(gs)
	for _, g := range gs {
		g.finish()
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
	m.groups, m.dirty = gs, false
	return gs
}

// finish sets the group's id, count, template and its messages' group.
func (g *Group) finish() {
	g.ID, g.Count = 0, 0
	for _, msg := range g.msgs {
		g.Count += msg.count
		if g.ID == 0 || msg.id < g.ID {
			g.ID = msg.id
		}
		msg.g = g
	}
	g.Template = templateOf(g.msgs)
}

// templateOf is the template of msgs: equal tokens are kept, differing
// ones become wildcards. Messages of different lengths (a variable that
// spans several tokens, an optional part) are written as the template of
// the length most lines have, with its runs of variables collapsed.
func templateOf(msgs []*message) string {
	byLen := map[int][]*message{}
	weight := map[int]int{}
	best := -1
	for _, msg := range msgs {
		n := len(msg.toks)
		byLen[n] = append(byLen[n], msg)
		weight[n] += msg.count
	}
	for n, w := range weight {
		if best < 0 || w > weight[best] || w == weight[best] && n < best {
			best = n
		}
	}
	t := sameLengthTemplate(byLen[best])
	if len(byLen) > 1 {
		return strings.Join(collapse(t), " ")
	}
	return strings.Join(t, " ")
}

func sameLengthTemplate(msgs []*message) []string {
	t := make([]string, len(msgs[0].toks))
	copy(t, msgs[0].toks)
	for _, msg := range msgs[1:] {
		for p, tok := range msg.toks {
			if t[p] != tok {
				t[p] = mergeToken(t[p], tok)
			}
		}
	}
	return t
}

// mergeToken is the template token for two different values: the part
// before the first and after the last punctuation they share is kept
// ("user=root", "user=bob" → "user=<*>"; "(42)", "(7)" → "(<*>)"), the rest
// is a variable.
func mergeToken(a, b string) string {
	pre := 0
	for k := 0; k < len(a) && k < len(b) && a[k] == b[k]; k++ {
		if isBoundary(a[k]) && !inWildcard(a, k) {
			pre = k + 1
		}
	}
	suf := 0
	for k := 1; k <= len(a)-pre && k <= len(b)-pre && a[len(a)-k] == b[len(b)-k]; k++ {
		if isBoundary(a[len(a)-k]) && !inWildcard(a, len(a)-k) {
			suf = k
		}
	}
	if pre == 0 && suf == 0 {
		return Wildcard
	}
	return a[:pre] + Wildcard + a[len(a)-suf:]
}

// isBoundary: the punctuation a template token keeps around a variable
// (key=, brackets, quotes), not the dots and slashes inside names.
func isBoundary(c byte) bool { return c != '/' && c != '<' && c != '>' && isSegSep(c) }

// inWildcard reports whether a[k] is part of a "<*>".
func inWildcard(a string, k int) bool {
	for j := max(0, k-2); j <= k; j++ {
		if strings.HasPrefix(a[j:], Wildcard) {
			return true
		}
	}
	return false
}

// isVariableToken: a token with a variable and no letter ("<*>",
// "(<*>)", "<*>,<*>") says nothing but "a value here".
func isVariableToken(tok string) bool {
	if !hasWildcard(tok) {
		return false
	}
	for k := 0; k < len(tok); k++ {
		if isAlpha(tok[k]) {
			return false
		}
	}
	return true
}

// collapse rewrites a template so that variables of different widths
// compare equal: a variable token becomes [Wildcard], and a run of them,
// or one right after a token ending in a variable, is one.
func collapse(t []string) []string {
	out := make([]string, 0, len(t))
	for _, tok := range t {
		v := isVariableToken(tok)
		if v {
			tok = Wildcard
		}
		if v && len(out) > 0 && strings.HasSuffix(out[len(out)-1], Wildcard) {
			continue
		}
		out = append(out, tok)
	}
	return out
}

// skeleton is a template's words: its tokens without the variable ones.
func skeleton(tmpl string) string {
	var b strings.Builder
	for _, tok := range strings.Fields(tmpl) {
		if !isVariableToken(tok) {
			b.WriteString(tok)
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// mergeCollapsed joins groups whose templates have the same words: the
// same event with a variable that took different widths, or an optional
// variable part ("sent 12 bytes (1.2 KB)", "sent 3 bytes").
func mergeCollapsed(gs []*Group) []*Group {
	byKey := map[string]*Group{}
	out := gs[:0]
	for _, g := range gs {
		key := skeleton(templateOf(g.msgs))
		if h := byKey[key]; h != nil {
			h.msgs = append(h.msgs, g.msgs...)
			continue
		}
		byKey[key] = g
		out = append(out, g)
	}
	return out
}

// splitByFewValues groups the messages of one online template by the
// values at its "few-valued" wildcard positions (rules in the package
// documentation). It returns the groups in first-seen order.
func splitByFewValues(tmpl []string, msgs []*message, cfg SplitConfig) [][]*message {
	type cand struct {
		pos    int
		strict bool // passes the single-position ratio and is not skewed
	}
	var cands []cand
	n := 0
	for _, msg := range msgs {
		n += msg.count
	}
	seen := map[string]int{}
	for p, t := range tmpl {
		if t != Wildcard || (p > 0 && isEntityNoun(tmpl[p-1])) || entityValues(msgs, p) {
			continue
		}
		clear(seen)
		ok := true
		for _, msg := range msgs {
			v := msg.toks[p]
			if hasWildcard(v) {
				ok = false
				break
			}
			seen[v] += msg.count
			if len(seen) > cfg.MaxValues {
				ok = false
				break
			}
		}
		if !ok || len(seen) < 2 || len(seen)*cfg.LinesPerCombination > n {
			continue
		}
		top := 0
		for _, c := range seen {
			top = max(top, c)
		}
		// A dominant value is more likely a variable's common value (user
		// root among a few others), except when there is one other: a
		// rare constant variant ("… to FAILED" beside "… to RUNNING").
		cands = append(cands, cand{p, len(seen)*cfg.LinesPerValue <= n && (float64(top) <= cfg.MaxShare*float64(n) || len(seen) == 2)})
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
	shapePos := shapePositions(tmpl, msgs)
	if len(keyPos) == 0 && len(shapePos) == 0 {
		return [][]*message{msgs}
	}
	if len(keyPos) == 0 {
		return splitByShape(msgs, shapePos)
	}
	groups := map[string]int{}
	var out [][]*message
	var kb strings.Builder
	for _, msg := range msgs {
		kb.Reset()
		for _, p := range keyPos {
			kb.WriteString(msg.toks[p])
			kb.WriteByte(0)
		}
		g, ok := groups[kb.String()]
		if !ok {
			g = len(out)
			groups[kb.String()] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], msg)
	}
	if len(keyPos) > 1 && len(out)*cfg.LinesPerCombination > n {
		return [][]*message{msgs}
	}
	return out
}

// entityValues reports whether every value at position p is the value of
// a key naming an entity ("user=root", "user=bob").
func entityValues(msgs []*message, p int) bool {
	for _, msg := range msgs {
		if !entityToken(msg.toks[p]) {
			return false
		}
	}
	return true
}

// entityToken: "user=root", a value whose key names an entity.
func entityToken(v string) bool {
	eq := strings.IndexByte(v, '=')
	return eq > 0 && isEntityNoun(v[:eq])
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

// shape is a token's form: a run of letters (with the dots and dashes of
// a dotted name) is 'a', a variable 'V', other bytes stay ("tty=:<*>" →
// "a=:V", "LOGIN(uid=<*>)" → "a(a=V)", "db.example.com:<*>" → "a:V").
func shape(dst []byte, tok string) []byte {
	for k := 0; k < len(tok); k++ {
		switch c := tok[k]; {
		case isAlpha(c) || isDigit(c) || c == '_' || c == '.' || c == '-':
			if len(dst) == 0 || dst[len(dst)-1] != 'a' {
				dst = append(dst, 'a')
			}
		case strings.HasPrefix(tok[k:], Wildcard):
			dst = append(dst, 'V')
			k += len(Wildcard) - 1
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// fits reports whether shape s can be an instance of shape t, where each
// V of t stands for anything.
func fits(s, t string) bool {
	if len(t) == 0 {
		return len(s) == 0
	}
	if t[0] == 'V' {
		for k := 0; k <= len(s); k++ {
			if fits(s[k:], t[1:]) {
				return true
			}
		}
		return false
	}
	return len(s) > 0 && s[0] == t[0] && fits(s[1:], t[1:])
}

func compatible(a, b string) bool { return a == b || fits(a, b) || fits(b, a) }

// shapePositions returns the wildcard positions of tmpl whose values have
// forms that cannot be one another's ("(uid=<*>)" and "LOGIN(uid=<*>)"):
// different constant text around a variable, so different messages. Only
// values with a variable inside count as such evidence (plain words of
// different forms, "(null)" and "com.example", are a variable's values),
// and a position holding a bare variable anywhere is a variable slot.
func shapePositions(tmpl []string, msgs []*message) []int {
	var out []int
	var buf []byte
	for p, t := range tmpl {
		if t != Wildcard {
			continue
		}
		var reps []string
		ok, inner := true, false
		for _, msg := range msgs {
			v := msg.toks[p]
			if isVariableToken(v) {
				ok = false
				break
			}
			inner = inner || hasWildcard(v)
			buf = shape(buf[:0], v)
			found := false
			for _, r := range reps {
				if compatible(string(buf), r) {
					found = true
					break
				}
			}
			if !found {
				reps = append(reps, string(buf))
			}
		}
		if ok && inner && len(reps) > 1 && !anyFitsAll(msgs, p) {
			out = append(out, p)
		}
	}
	return out
}

// anyFitsAll reports whether one value's form at p is compatible with
// every other's (compatibility is not transitive: "(<*>)" fits both
// "(host)" and "()", which do not fit each other).
func anyFitsAll(msgs []*message, p int) bool {
	shapes := map[string]bool{}
	var buf []byte
	for _, msg := range msgs {
		buf = shape(buf[:0], msg.toks[p])
		shapes[string(buf)] = true
	}
	for s := range shapes {
		all := true
		for t := range shapes {
			if !compatible(s, t) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// splitByShape groups msgs by the form class of their values at pos.
func splitByShape(msgs []*message, pos []int) [][]*message {
	var reps [][]string
	var out [][]*message
	var buf []byte
	for _, msg := range msgs {
		key := make([]string, len(pos))
		for i, p := range pos {
			buf = shape(buf[:0], msg.toks[p])
			key[i] = string(buf)
		}
		g := -1
		for k, r := range reps {
			same := true
			for i := range r {
				if !compatible(key[i], r[i]) {
					same = false
					break
				}
			}
			if same {
				g = k
				break
			}
		}
		if g < 0 {
			g = len(out)
			reps = append(reps, key)
			out = append(out, nil)
		}
		out[g] = append(out[g], msg)
	}
	return out
}

// mergeManyValued joins groups of one length whose templates differ at
// one position only, where they hold more distinct words than a constant
// takes (MaxValues): a variable the online pass kept apart because it
// routes lines by their first tokens ("api.example.com resolved in <*>").
// After an entity noun ("user alice") two values are enough, and none when
// a group with a variable there (and equal elsewhere) exists: it joins
// those that differ from it only there.
func mergeManyValued(gs []*Group, cfg SplitConfig) []*Group {
	type tg struct {
		g    *Group
		t    []string
		dead bool
	}
	byLen := map[int][]*tg{}
	var lens []int
	for _, g := range gs {
		n := len(g.msgs[0].toks)
		same := true
		for _, msg := range g.msgs[1:] {
			same = same && len(msg.toks) == n
		}
		if !same {
			continue
		}
		if byLen[n] == nil {
			lens = append(lens, n)
		}
		byLen[n] = append(byLen[n], &tg{g: g, t: sameLengthTemplate(g.msgs)})
	}
	merged := false
	var kb strings.Builder
	for _, n := range lens {
		list := byLen[n]
		if len(list) < 2 {
			continue
		}
		for p := 0; p < n; p++ {
			fam := map[string][]*tg{}
			wild := map[string]*tg{}
			var keys []string
			for _, x := range list {
				if x.dead || hasWildcard(x.t[p]) && x.t[p] != Wildcard {
					continue
				}
				kb.Reset()
				for q, tok := range x.t {
					if q != p {
						kb.WriteString(tok)
					}
					kb.WriteByte(' ')
				}
				k := kb.String()
				if x.t[p] == Wildcard {
					if wild[k] == nil {
						wild[k] = x
					}
					continue
				}
				if fam[k] == nil {
					keys = append(keys, k)
				}
				fam[k] = append(fam[k], x)
			}
			for _, k := range keys {
				f := fam[k]
				head := wild[k]
				for _, x := range f {
					if x.g.split {
						head = nil
					}
				}
				if head != nil {
					// A template with a variable there already holds
					// lines that differ only there: these join it.
					f = append([]*tg{head}, f...)
				} else {
					if len(f) < 2 {
						continue
					}
					entity := p > 0 && isEntityNoun(f[0].t[p-1]) || entityToken(f[0].t[p])
					if len(f) <= cfg.MaxValues && !entity || !hasWordBesides(f[0].t, p) {
						continue
					}
				}
				head = f[0]
				for _, x := range f[1:] {
					head.g.msgs = append(head.g.msgs, x.g.msgs...)
					x.dead = true
				}
				head.t[p] = Wildcard
				merged = true
			}
		}
	}
	if !merged {
		return gs
	}
	dead := map[*Group]bool{}
	for _, list := range byLen {
		for _, x := range list {
			if x.dead {
				dead[x.g] = true
			}
		}
	}
	out := gs[:0]
	for _, g := range gs {
		if !dead[g] {
			out = append(out, g)
		}
	}
	return out
}

// hasWordBesides reports whether template t keeps a constant word when
// position p becomes a variable: a message that is one word ("normal",
// "warning") is a constant, however many such messages there are.
func hasWordBesides(t []string, p int) bool {
	for q, tok := range t {
		if q != p && !isVariableToken(tok) && tok != Wildcard {
			for k := 0; k < len(tok); k++ {
				if isAlpha(tok[k]) {
					return true
				}
			}
		}
	}
	return false
}
