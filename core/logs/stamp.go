package logs

import "time"

// stampLen is the width of the timestamp that starts every record:
// "2006-01-02T15:04:05.000000000Z". Fixed width lets readers find the text
// at a known offset and compare stamps without parsing a layout.
const stampLen = 30

// recordOverhead is the number of bytes a record adds to its text: the
// stamp, the separator byte and the final newline.
const recordOverhead = stampLen + 2

// Separator bytes that follow the stamp.
const (
	sepLine = ' ' // the record starts a new line
	sepCont = '+' // the record continues the previous record's line
)

// stamper formats nanosecond Unix times as fixed-width UTC stamps. It caches
// the part up to the seconds, which changes at most once per second, so the
// hot path only formats nine digits and allocates nothing.
type stamper struct {
	sec    int64
	prefix [20]byte // "2006-01-02T15:04:05."
	valid  bool
}

const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

func (s *stamper) append(dst []byte, ns int64) []byte {
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 { // floor division for times before 1970
		sec--
		frac += 1e9
	}
	if !s.valid || sec != s.sec {
		time.Unix(sec, 0).UTC().AppendFormat(s.prefix[:0], "2006-01-02T15:04:05.")
		s.sec, s.valid = sec, true
	}
	dst = append(dst, s.prefix[:]...)
	var d [10]byte
	d[9] = 'Z'
	for i := 7; i >= 1; i -= 2 { // two digits per division
		q := frac % 100
		frac /= 100
		d[i], d[i+1] = digits2[2*q], digits2[2*q+1]
	}
	d[0] = byte('0' + frac)
	return append(dst, d[:]...)
}

// parseStamp reads the stamp at the start of b. It is strict about the
// layout so that a corrupt or foreign line is recognised as such.
func parseStamp(b []byte) (int64, bool) {
	if len(b) < stampLen || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' ||
		b[16] != ':' || b[19] != '.' || b[29] != 'Z' {
		return 0, false
	}
	num := func(s []byte) (int64, bool) {
		var n int64
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	ns, ok7 := num(b[20:29])
	// Years outside 1678-2261 do not fit in int64 nanoseconds: they would
	// wrap around to a stamp in another century.
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	days := daysFromCivil(y, mo, d)
	return ((days*24+h)*60+mi)*60*1e9 + s*1e9 + ns, true
}

// daysFromCivil returns days since 1970-01-01 (H. Hinnant's algorithm); it
// avoids time.Date on the read path, where every record's stamp is parsed.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
