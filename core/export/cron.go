package export

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads cron_restart as velos's scheduler does (5 fields, or 6
// with seconds first, and descriptors); config checks the same way.
func cronParser() cron.Parser {
	return cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// starBit marks a field written as * (or ?) in robfig/cron's bitmasks.
const starBit = 1 << 63

// timer is a systemd timer schedule: OnCalendar=, or for @every a
// monotonic interval.
type timer struct {
	calendar string
	every    time.Duration
}

// systemdTimer converts a cron expression into a timer, or says why it
// cannot. systemd's calendar needs both day fields to match where cron
// matches either when both are restricted: that form is refused.
func systemdTimer(expr string) (timer, string) {
	s, err := cronParser().Parse(expr)
	if err != nil {
		return timer{}, err.Error()
	}
	switch s := s.(type) {
	case cron.ConstantDelaySchedule:
		return timer{every: s.Delay}, ""
	case *cron.SpecSchedule:
		return specCalendar(s)
	}
	return timer{}, fmt.Sprintf("%q has no systemd calendar form", expr)
}

func specCalendar(s *cron.SpecSchedule) (timer, string) {
	if s.Dom&starBit == 0 && s.Dow&starBit == 0 {
		return timer{}, "cron runs when either day-of-month or day-of-week matches, a systemd calendar only when both do: restrict one of them only"
	}
	var b strings.Builder
	if s.Dow&starBit == 0 {
		names := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
		var days []string
		for d := 0; d < 7; d++ {
			if s.Dow&(1<<d) != 0 {
				days = append(days, names[d])
			}
		}
		b.WriteString(strings.Join(days, ",") + " ")
	}
	fmt.Fprintf(&b, "*-%s-%s %s:%s:%s",
		calField(s.Month, 1, 12), calField(s.Dom, 1, 31),
		calField(s.Hour, 0, 23), calField(s.Minute, 0, 59), calField(s.Second, 0, 59))
	if s.Location != nil && s.Location != time.Local {
		b.WriteString(" " + s.Location.String())
	}
	return timer{calendar: b.String()}, ""
}

// calField renders one field's bitmask: *, a value, start/step when the
// values step evenly to the end of the range, or a list.
func calField(mask uint64, lo, hi int) string {
	if mask&starBit != 0 {
		return "*"
	}
	var vals []int
	for v := lo; v <= hi; v++ {
		if mask&(1<<v) != 0 {
			vals = append(vals, v)
		}
	}
	if len(vals) == hi-lo+1 {
		return "*"
	}
	pad := func(v int) string {
		s := strconv.Itoa(v)
		if len(s) < 2 {
			s = "0" + s
		}
		return s
	}
	if len(vals) == 1 {
		return pad(vals[0])
	}
	step := vals[1] - vals[0]
	even := true
	for i := 2; i < len(vals); i++ {
		even = even && vals[i]-vals[i-1] == step
	}
	// start/step repeats to the end of the range: only when the last value
	// is the last step that fits.
	if even && vals[len(vals)-1]+step > hi && bits.OnesCount64(mask) > 2 {
		return pad(vals[0]) + "/" + strconv.Itoa(step)
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = pad(v)
	}
	return strings.Join(parts, ",")
}
