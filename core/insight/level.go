package insight

// Level is the severity of a log line. The zero value is [LevelUnknown].
// Levels are ordered: a higher value is more severe.
type Level uint8

// Levels, from least to most severe.
const (
	LevelUnknown Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)
