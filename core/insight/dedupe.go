package insight

import (
	"fmt"
	"time"
)

// Row is one dedupe row: every line whose message is equal after masking
// (see [Mask]) is counted here.
type Row struct {
	// Text is the masked message shared by the lines.
	Text string `json:"text"`
	// Example is the message of the most recent line, unmasked.
	Example string `json:"example"`
	Count   int    `json:"count"`
	// First and Last are the arrival times of the first and last line.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Level is the most severe level seen on these lines.
	Level Level `json:"level"`
	// PatternID is the id of the mined template the lines belong to.
	PatternID int `json:"pattern_id"`

	seq uint64
	msg *message
}

// String renders the row for people and agents:
//
//	[ERROR] Connection refused (x10847, first: 10:05:03, last: 10:47:22)
//
// A single line shows its own text and time: "[WARN] disk 91% full (10:05:03)".
// Times are shown in their own location as HH:MM:SS.
func (r Row) String() string {
	lvl := r.Level
	if r.Count <= 1 {
		return fmt.Sprintf("[%s] %s (%s)", lvl, r.Example, r.First.Format(time.TimeOnly))
	}
	return fmt.Sprintf("[%s] %s (x%d, first: %s, last: %s)", lvl, r.Text, r.Count,
		r.First.Format(time.TimeOnly), r.Last.Format(time.TimeOnly))
}

// maskQuoted replaces the content of double-quoted strings in already
// masked text with [Wildcard] ("user \"bob\" not found" → "user \"<*>\" not
// found"), for the dedupe key. A quote opens only at the start of a token or
// after '=' or ':', so apostrophes and stray quotes are left alone.
func maskQuoted(dst []byte, masked []byte) []byte {
	for k := 0; k < len(masked); k++ {
		c := masked[k]
		if c == '"' && (k == 0 || masked[k-1] == ' ' || masked[k-1] == '=' || masked[k-1] == ':' || masked[k-1] == '(') {
			end := -1
			for m := k + 1; m < len(masked); m++ {
				if masked[m] == '"' {
					end = m
					break
				}
			}
			if end > k+1 {
				dst = append(dst, '"')
				dst = append(dst, Wildcard...)
				dst = append(dst, '"')
				k = end
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}
