package export

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// doc is one YAML document with the comment lines printed above it.
type doc struct {
	comment []string
	value   any
}

// yamlStream renders docs as one YAML stream (--- between documents), with
// two-space indentation and each document's comment on top.
func yamlStream(docs []doc) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		n, ok := d.value.(*yaml.Node)
		if !ok {
			var err error
			if n, err = yamlNode(d.value); err != nil {
				return "", err
			}
		}
		quoteAmbiguous(n)
		n.HeadComment = strings.Join(d.comment, "\n")
		if err := enc.Encode(n); err != nil {
			return "", fmt.Errorf("yaml: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("yaml: %w", err)
	}
	return b.String(), nil
}

// yamlNode encodes v into a node tree, so comments can be hung on it.
func yamlNode(v any) (*yaml.Node, error) {
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	return n, nil
}

// quoteAmbiguous double-quotes strings that a YAML 1.1 reader (PyYAML, as
// in docker-compose 1.x) would take for a number in base 60, such as the
// port mapping 3000:3000.
func quoteAmbiguous(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Style == 0 &&
		strings.Contains(n.Value, ":") && n.Value[0] >= '0' && n.Value[0] <= '9' {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		quoteAmbiguous(c)
	}
}

// noteLines renders notes as comment lines (without the leading "#").
func noteLines(notes []Note, withProcess bool) []string {
	if len(notes) == 0 {
		return nil
	}
	lines := []string{"Settings without an exact equivalent here, and what was done:"}
	for _, n := range notes {
		what := n.Key
		if n.Value != "" {
			what += " = " + n.Value
		}
		if withProcess {
			what = n.Process + ": " + what
		}
		lines = append(lines, "  "+oneLine(what)+": "+oneLine(n.Done))
	}
	return lines
}

// oneLine keeps a value on one comment line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
