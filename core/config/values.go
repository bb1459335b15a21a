package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/velos-pm/velos/core/spec"
)

// ParseSize reads a byte size: a plain number of bytes ("1048576") or a
// number with a unit, "100K", "512M", "1.5G", "2T". Units are 1024-based
// (K = 1024, M = 1024², …) whatever their spelling: "K", "KB" and "KiB" all
// mean 1024, because memory and log sizes are read in binary units by the
// tools people compare them with (top, ps, ls -lh). Case does not matter.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits(unit)
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size (want e.g. \"512M\", \"1G\", \"100K\" or a number of bytes)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (want e.g. \"512M\", \"1G\", \"100K\" or a number of bytes)", s)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v), nil
}

// sizeUnits maps an upper-cased unit to its multiplier.
func sizeUnits(unit string) (int64, bool) {
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "B"), "I")
	switch unit {
	case "":
		return 1, true
	case "K":
		return 1 << 10, true
	case "M":
		return 1 << 20, true
	case "G":
		return 1 << 30, true
	case "T":
		return 1 << 40, true
	}
	return 0, false
}

// FormatSize renders n bytes in the largest 1024-based unit that keeps it
// short, the inverse of [ParseSize] up to rounding ("1G", "1.5G", "512M").
func FormatSize(n int64) string {
	units := []string{"T", "G", "M", "K"}
	for i, u := range units {
		m := int64(1) << (10 * (len(units) - i))
		if n >= m {
			v := float64(n) / float64(m)
			return strconv.FormatFloat(v, 'f', -1, 64) + u
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseDuration reads a Go duration ("500ms", "5s", "1m30s"). Negative
// durations are refused: every duration in a process is a wait or a window.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. \"500ms\", \"5s\", \"2m\", \"1h\")", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// cronParser accepts what gocron accepts when a job is created with
// gocron.CronJob(expr, true): 5 fields, or 6 with seconds first, and
// descriptors such as "@daily" and "@every 1h".
func cronParser() cron.Parser {
	return cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// CheckCron reports whether expr is a cron expression Velos can schedule: 5
// fields (minute hour day-of-month month day-of-week), or 6 with seconds
// first, or a descriptor ("@hourly", "@every 10m"). The scheduler must create
// the job with gocron.CronJob(expr, true), which takes both forms.
func CheckCron(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return errors.New("empty cron expression")
	}
	// robfig/cron (under gocron) slices past the zone up to the first
	// space and panics when there is none: "TZ=" alone crashed the parse.
	if (strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=")) && !strings.Contains(expr, " ") {
		return fmt.Errorf("%q: a time zone needs a cron expression after it, e.g. \"TZ=Europe/Paris 0 3 * * *\"", expr)
	}
	sched, err := parseCron(expr)
	if err != nil {
		return fmt.Errorf("%q is not a cron expression (want 5 fields like \"0 3 * * *\", or 6 with seconds first): %w", expr, err)
	}
	// gocron refuses a schedule with no next run when the job is created
	// (the daemon would only log it): "0 0 30 2 *" (February 30th) parses
	// but never fires. The parser looks five years ahead.
	if sched.Next(time.Now()).IsZero() {
		return fmt.Errorf("%q never fires: no date matches it", expr)
	}
	return nil
}

// parseCron parses with the scheduler's parser. A panic in that parser (a
// library we did not write) is an error for this expression, not a crash of
// the daemon or CLI judging it.
func parseCron(expr string) (_ cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the cron parser failed: %v", r)
		}
	}()
	return cronParser().Parse(expr)
}

// enumCheck returns an error naming the allowed values (and the closest one)
// when s is not among them.
func enumCheck(s string, allowed ...string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	msg := fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", "))
	if best := suggest(s, allowed); best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return errors.New(msg)
}

// MaxInstances bounds the instances key.
const MaxInstances = 1024

// parseInstances reads the instances key: "" (one), a number ≥ 0, "max"
// (one per CPU, as given by ncpu) or, as in PM2, a negative number: that
// many fewer than the CPUs (-1 on 8 CPUs is 7), at least one.
func parseInstances(s string, ncpu int) (int, error) {
	switch strings.TrimSpace(s) {
	case "":
		return 0, nil
	case "max":
		return ncpu, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or \"max\"", s)
	}
	if n < 0 {
		if n < -MaxInstances {
			return 0, fmt.Errorf("%d is below the limit of -%d", n, MaxInstances)
		}
		return max(ncpu+n, 1), nil
	}
	if n > MaxInstances { // a typo must not become a fork bomb
		return 0, fmt.Errorf("%d is above the limit of %d", n, MaxInstances)
	}
	return n, nil
}

// checkString validates the text of one string-typed key, by the key's
// declared format (the velos struct tag). It is the single place where a
// value's format is judged, so a file, a flag and config_set all get the
// same message.
func checkString(format, s string) error {
	if s == "" {
		return nil // unset: the documented default applies
	}
	switch format {
	case "duration":
		_, err := ParseDuration(s)
		return err
	case "size":
		_, err := ParseSize(s)
		return err
	case "cron":
		return CheckCron(s)
	case "mode":
		return enumCheck(s, "fork", "cluster")
	case "autorestart":
		return enumCheck(s, string(spec.Always), string(spec.OnFailure), string(spec.Never))
	case "signal":
		_, err := spec.ParseSignal(s)
		return err
	case "instances":
		_, err := parseInstances(s, 1)
		return err
	case "balance":
		return enumCheck(s, "socket", "round-robin", "least-conn")
	case "address":
		_, err := ParseAddress(s)
		return err
	case "url":
		return checkURL(s)
	}
	return nil
}

// ParseAddress reads a TCP address to listen on or probe: a port ("3000"),
// ":3000" or "HOST:PORT". The port may be $PORT or ${PORT}, the instance's
// own port, expanded when the process starts. It returns the address in
// HOST:PORT form (host empty for every interface).
func ParseAddress(s string) (string, error) {
	t := strings.TrimSpace(s)
	if _, err := strconv.Atoi(t); err == nil {
		t = ":" + t
	}
	host, port, err := net.SplitHostPort(t)
	if err != nil {
		return "", fmt.Errorf("%q is not an address (want a port like 3000, or HOST:PORT like 127.0.0.1:3000)", s)
	}
	if port != "$PORT" && port != "${PORT}" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q: port %q is not a number from 1 to 65535 (or $PORT)", s, port)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// checkURL accepts an http or https URL with a host; $PORT may stand for the
// port.
func checkURL(s string) error {
	u, err := url.Parse(strings.NewReplacer("${PORT}", "1", "$PORT", "1").Replace(strings.TrimSpace(s)))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL (want e.g. http://127.0.0.1:$PORT/health)", s)
	}
	return nil
}
