// Package schemas holds the generated schema files of every tool
// (schemas/<tool>.json, written by make generate and checked by its test)
// and hands the daemon their input and output schemas, so that registering
// the tools reads JSON instead of reflecting over every input and output
// type at each start.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
)

//go:embed *.json
var files embed.FS

// Tool returns the input and output schemas of the tool called name, as
// compact JSON; ok is false when no file describes it.
func Tool(name string) (in, out json.RawMessage, ok bool, err error) {
	b, err := files.ReadFile(name + ".json")
	if err != nil {
		return nil, nil, false, nil
	}
	var f struct {
		InputSchema  json.RawMessage `json:"inputSchema"`
		OutputSchema json.RawMessage `json:"outputSchema"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, false, fmt.Errorf("schemas/%s.json: %w", name, err)
	}
	var ci, co bytes.Buffer
	if err := json.Compact(&ci, f.InputSchema); err != nil {
		return nil, nil, false, fmt.Errorf("schemas/%s.json: inputSchema: %w", name, err)
	}
	if err := json.Compact(&co, f.OutputSchema); err != nil {
		return nil, nil, false, fmt.Errorf("schemas/%s.json: outputSchema: %w", name, err)
	}
	return ci.Bytes(), co.Bytes(), true, nil
}
