package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tool/schema"
)

// SchemaFile is what schemas/<tool>.json holds: the tool as MCP clients see
// it in tools/list (name, description, inputSchema, outputSchema,
// annotations), plus its title and CLI names, and resultSchema: every level
// of its output — the structured content and `velos <cmd> --json` — where
// outputSchema says only "an object".
type SchemaFile struct {
	Name         string   `json:"name"`
	Title        string   `json:"title"`
	Description  string   `json:"description"`
	CLI          string   `json:"cli"`
	Aliases      []string `json:"aliases,omitempty"`
	Effect       string   `json:"effect"`
	Annotations  any      `json:"annotations"`
	InputSchema  any      `json:"inputSchema"`
	OutputSchema any      `json:"outputSchema"`
	ResultSchema any      `json:"resultSchema"`
}

// Generated returns every generated file's content by path relative to the
// repository root: schemas/<tool>.json, and the README's reference section
// (key "README.md" holds just the section, see [ReadmeSection]).
func Generated(entries []tool.Entry) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, e := range entries {
		info := e.Info()
		in, err := schema.Input(e)
		if err != nil {
			return nil, err
		}
		out, err := schema.Output(e)
		if err != nil {
			return nil, err
		}
		result, err := schema.Result(e)
		if err != nil {
			return nil, err
		}
		f := SchemaFile{Name: info.Name, Title: info.Title, Description: info.Summary, CLI: info.CLI,
			Aliases: info.Aliases, Effect: info.Effect.String(), Annotations: Annotations(info),
			InputSchema: in, OutputSchema: out, ResultSchema: result}
		b, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", info.Name, err)
		}
		files["schemas/"+info.Name+".json"] = append(b, '\n')
	}
	files["README.md"] = []byte(ReadmeSection(entries))
	return files, nil
}

// The markers around the generated reference in README.md.
const (
	ReadmeBegin = "<!-- BEGIN GENERATED TOOL REFERENCE (make generate) -->"
	ReadmeEnd   = "<!-- END GENERATED TOOL REFERENCE -->"
)

// ReadmeSection is the README's command and tool reference, markers included.
func ReadmeSection(entries []tool.Entry) string {
	var b bytes.Buffer
	b.WriteString(ReadmeBegin + "\n")
	b.WriteString("| CLI | MCP tool | effect | what it does |\n| --- | --- | --- | --- |\n")
	for _, e := range entries {
		i := e.Info()
		cli := "`velos " + i.CLI + "`"
		for _, a := range i.Aliases {
			cli += ", `" + a + "`"
		}
		for _, a := range i.JSONAliases {
			cli += ", `" + a + "` (JSON)"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", cli, i.Name, i.Effect, i.Summary)
	}
	for _, e := range entries {
		i := e.Info()
		fmt.Fprintf(&b, "\n#### `velos %s` — `%s`\n\n%s\n", i.CLI, i.Name, i.Summary)
		rows := inputRows(e.InType())
		if len(rows) > 0 {
			b.WriteString("\n| argument / flag | JSON | description |\n| --- | --- | --- |\n")
			for _, r := range rows {
				fmt.Fprintf(&b, "| %s | `%s` | %s |\n", r[0], r[1], r[2])
			}
		}
	}
	b.WriteString(ReadmeEnd + "\n")
	return b.String()
}

// inputRows lists a tool's inputs as the CLI spells them and as JSON names them.
func inputRows(t reflect.Type) [][3]string {
	var rows [][3]string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && name == "" {
			rows = append(rows, inputRows(sf.Type)...)
			continue
		}
		if !sf.IsExported() || name == "-" {
			continue
		}
		cli := "--" + kebab(sf.Name)
		if n := sf.Tag.Get("name"); n != "" {
			cli = "--" + n
		}
		if _, ok := sf.Tag.Lookup("arg"); ok {
			cli = "<" + kebab(sf.Name) + ">"
		}
		if s := sf.Tag.Get("short"); s != "" {
			cli = "-" + s + ", " + cli
		}
		help := strings.ReplaceAll(tool.Help(sf), "|", "\\|")
		if e := sf.Tag.Get("enum"); e != "" {
			help += " One of: " + strings.Trim(e, ",") + "."
		}
		rows = append(rows, [3]string{"`" + cli + "`", name, help})
	}
	return rows
}

// kebab is kong's flag spelling of a field name: KillTimeout → kill-timeout.
func kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 && (rs[i-1] < 'A' || rs[i-1] > 'Z' || (i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z')) {
			b.WriteByte('-')
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
