// Package insight is Velos's smart log engine: it classifies log lines by
// level, groups stack traces with their head line, collapses duplicates,
// mines templates ("patterns"), flags anomalies and summarises a range of
// lines into a [Digest]. It also redacts secrets from text meant for an
// agent. It is a pure library: no I/O, no goroutines, no global mutable
// state; callers feed it lines.
//
// # Entry points
//
//   - [Analyzer]: feed [Line]s with [Analyzer.Add]; read [Analyzer.Rows]
//     (dedupe), [Analyzer.Patterns], [Analyzer.Anomalies],
//     [Analyzer.Digest]. [Summarize] does all of it for a slice of lines.
//   - [Templates] / [PerLine]: the template of every line of a file.
//   - [ClassifyText], [Classify], [Grouper], [Mask], [Miner]: the parts.
//   - [Redact] and [RedactionRules].
//
// # Level rules
//
// A JSON line (starting with '{') is read with gjson in one pass. The level
// comes from the first of the keys level, severity, lvl, levelname,
// loglevel, @l, log.level (dotted key or nested "log":{"level":…}). String
// values are names (see [ParseLevel]); numbers are pino/bunyan levels: 10
// trace and 20 debug → DEBUG, 30 INFO, 40 WARN, 50 ERROR, 60 FATAL.
//
// A text line is scanned over its first 256 bytes; the leftmost match wins:
//   - glog/klog "E0102 10:05:03…" and Ruby Logger "E, [" prefixes (I W E F);
//   - an upper-case level word as a whole word: TRACE DEBUG FINE INFO
//     NOTICE WARN WARNING ERROR ERR SEVERE FATAL PANIC CRITICAL CRIT ALERT
//     EMERG (so "ERROR:root:msg", "[WARN]", "10:05 INFO x", logback,
//     log4j, zap console, Spring Boot). A word glued to '_' or a digit is an
//     identifier (ERR_CONNECTION_REFUSED) and does not count;
//   - a level word in any case when framed as a level: "[error]",
//     "[core:error]", "<warn>", "|info|", "level=error", or first in the
//     line followed by ':' ("error: …", "panic: …", "fatal error: …");
//   - "Traceback", "Exception", or a CamelCase word ending in Error or
//     Exception ("TypeError: …", "java.lang.NullPointerException") → ERROR;
//   - web access logs (nginx/apache combined): the status after the
//     request: 5xx ERROR, 4xx WARN, else INFO.
//
// Names map as: trace/debug/fine/verbose → DEBUG; info/notice → INFO;
// warn/warning → WARN; error/err/severe → ERROR; fatal/panic/dpanic/
// critical/crit/alert/emerg → FATAL. A line from stderr (stream "err") that
// states no level gets [DefaultStderrLevel], WARN (configurable through
// [Options]); a stdout line without a level is UNKNOWN.
//
// An event's level is its head line's, raised to ERROR for a Java/Node
// stack trace or a Python traceback and to FATAL for a Go panic.
//
// # Multi-line events
//
// [Grouper] joins to the open event of the same stream, within 2 s of its
// previous line: blank and indented lines (stack frames), "Caused by:",
// "Suppressed:", Python's chained-exception connectors and the final
// "ValueError: …" of a traceback, a Java exception line after a log line,
// and a Go panic's goroutine dump. Events keep at most [MaxEventLines]
// lines. [Event.Message] is the line that says what happened (the
// exception line of a Python traceback); [Event.Location] is "file:line"
// of the most relevant frame.
//
// # Masking rules
//
// Dedupe and mining work on a line's message: a JSON line's msg/message
// (plus ": " and its err/error field), a logfmt line's msg= value and the
// pairs after it, or a text line without its leading timestamps and level
// word. [Mask] then normalises whitespace and, per whitespace-separated
// token, replaces with <*>:
//   - paths ("/a/b", "./a", "~/a") and URLs ("scheme://…");
//   - the value of key=value (the key is kept: "user=<*>");
//   - every punctuation-separated segment holding a digit: numbers, hex,
//     IPs and ports, UUIDs, ids like blk_-42, durations, timestamps;
//     "10.0.0.1:5432" is one <*>;
//   - a unit after a number ("512 KB", "30 ms") and month/weekday names
//     next to a number (so a whole timestamp is one <*>);
//   - then adjacent <*> tokens merge into one.
//
// For the dedupe key, double-quoted strings are also masked. Lines equal
// after masking are one [Row], rendered by [Row.String] as
// "[ERROR] Connection refused (x10847, first: 10:05:03, last: 10:47:22)".
//
// # Pattern mining
//
// [Miner] is a Drain-style online miner (He et al. 2017) with one default
// configuration: masked tokens are routed by token count and the first two
// tokens to a leaf, and join the most similar template there when at least
// half the tokens equal its constants; differing positions become <*>.
// [Templates] additionally splits, within each mined template, by wildcard
// positions that take only word values (no digits), 2–10 of them, and not
// right after an entity noun like "user" or "host": these are constants the
// online pass merged ("VM Started" / "VM Stopped"). Two or more such
// positions split when their value combinations repeat (at least 3 lines
// per combination on average); a single one only when each value covers 10
// lines on average and none covers 90% of them. On the Loghub 2k benchmark
// (10 systems) this reaches an average grouping accuracy of 0.960 (the
// online miner alone 0.908); see TestLoghubAccuracy.
//
// # Anomalies
//
// Per source (one Analyzer), errors (ERROR and FATAL events) and warnings
// are counted per minute. When a minute closes it is a spike if its count is
// at least [AnomalyConfig.MinCount] (10) and above
// median + max(6 × 1.4826 × MAD, median, 1) of the previous 60 minutes
// (quiet minutes count as zero), once 5 minutes of history exist. A spike
// lists the three patterns with most events in that minute. After the same
// 5-minute warm-up, an error whose pattern was never seen is flagged as
// [KindNewError]. A steady rate never crosses the threshold.
//
// # Redaction rules
//
// [Redact] applies, in order (see [RedactionRules] for the exact list):
// private_key (PEM private key blocks), url_password
// (scheme://user:password@), bearer_token (Bearer/Basic/Token credentials),
// jwt, secret_pair (values of password=, passwd, pwd, secret:, token=,
// api_key, access_key, private_key, client_secret, credentials, auth,
// session_id, cookie pairs, also as JSON "key":"value"), openai_key (sk-…),
// github_token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), gitlab_token
// (glpat-), aws_access_key (AKIA…, ASIA…), slack_token (xox?- and webhook
// URLs), stripe_key (sk_live_…), google_api_key (AIza…). Each match becomes
// [Redacted].
//
// # Bounds
//
// Dedupe rows ([Options.MaxRows], default 10000) and templates
// ([MinerConfig.MaxTemplates], default 5000) are capped; when full, a
// sampled least-recently (and, for rows, least-often) seen entry is
// evicted, in O(1). Anomalies keep the last 100.
package insight
