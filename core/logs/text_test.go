package logs

import (
	"strings"
	"testing"
	"time"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func TestParseTime(t *testing.T) {
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2024-01-15 10:00":          time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC),
		"2024-01-15 10:00:05":       time.Date(2024, 1, 15, 10, 0, 5, 0, time.UTC),
		"2024-01-15":                time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
		"2024-01-15T10:00:05Z":      time.Date(2024, 1, 15, 10, 0, 5, 0, time.UTC),
		"2024-01-15T10:00:05+02:00": time.Date(2024, 1, 15, 8, 0, 5, 0, time.UTC),
		"2024-01-15T10:00:05.5Z":    time.Date(2024, 1, 15, 10, 0, 5, 5e8, time.UTC),
		"30m":                       now.Add(-30 * time.Minute),
		"1h":                        now.Add(-time.Hour),
		"2d":                        now.Add(-48 * time.Hour),
		"1w":                        now.Add(-7 * 24 * time.Hour),
		"1h30m":                     now.Add(-90 * time.Minute),
		" 45s ":                     now.Add(-45 * time.Second),
		"10:00":                     time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC),
		"09:30:15":                  time.Date(2024, 1, 15, 9, 30, 15, 0, time.UTC),
	} {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5m", "2024-13-01", "5x", "25:00", "NaNd", "Infw", "1e3d", "0x10d", "99999999d"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
	// Local forms use now's location.
	loc := time.FixedZone("X", 3600)
	got, _ := ParseTime("2024-01-15 10:00", now.In(loc))
	if !got.Equal(time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("local time: %v", got)
	}
}

func TestStripANSI(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                                    "plain",
		"\x1b[31mred\x1b[0m":                       "red",
		"\x1b[1;38;5;196mbold\x1b[m end":           "bold end",
		"\x1b]0;title\x07text":                     "text",
		"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\": "link",
		"a\x1b[2Kb\x1bMc":                          "abc",
		"\xff\x1b[0m\xfe":                          "\xff\xfe",
		"tail\x1b[":                                "tail",
	} {
		if got := StripANSI(in); got != want {
			t.Errorf("StripANSI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultClassify(t *testing.T) {
	for _, c := range []struct {
		l    Line
		want string
	}{
		{Line{Text: "2024 ERROR db down"}, LevelError},
		{Line{Text: "panic: nil map"}, LevelError},
		{Line{Text: "WARN slow"}, LevelWarn},
		{Line{Text: "DEBUG x"}, LevelDebug},
		{Line{Text: "INFO started", Stream: Err}, LevelInfo},
		{Line{Text: "listening", Stream: Err}, LevelError},
		{Line{Text: "listening", Stream: Out}, LevelInfo},
	} {
		if got := DefaultClassify(c.l); got != c.want {
			t.Errorf("%q: %s, want %s", c.l.Text, got, c.want)
		}
	}
}

func TestStamp(t *testing.T) {
	var st stamper
	for _, tm := range []time.Time{testBase, testBase.Add(123456789), time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.UTC), time.Date(2100, 3, 1, 0, 0, 0, 1, time.UTC)} {
		b := st.append(nil, tm.UnixNano())
		if string(b) != tm.UTC().Format("2006-01-02T15:04:05.000000000Z") {
			t.Errorf("format %v: %s", tm, b)
		}
		ns, ok := parseStamp(b)
		if !ok || ns != tm.UnixNano() {
			t.Errorf("parse %s: %d %v", b, ns, ok)
		}
	}
	// Years whose nanoseconds overflow int64 would wrap to another century.
	for _, far := range []string{"1000-01-01T00:00:00.000000000Z", "2262-04-12T00:00:00.000000000Z", "0000-01-01T00:00:00.000000000Z"} {
		if ns, ok := parseStamp([]byte(far)); ok {
			t.Errorf("parseStamp(%s) = %v", far, time.Unix(0, ns).UTC())
		}
	}
	if _, ok := parseStamp([]byte("2026-11-27 01:26:31.123456789Z")); ok {
		t.Error("accepted a bad stamp")
	}
}
