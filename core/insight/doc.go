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
//   - [LineMiner], [Templates], [PerLine]: the template of every line of a file.
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
// [Miner] mines templates online, in bounded memory, and one computation
// serves every caller: the [Analyzer] behind log_summary, `velos logs
// --patterns` and dedupe on a live process, `velos logs --file` and the
// per-line answer ([LineMiner], [Templates]) give the same groups for the
// same messages.
//
// Feeding is cheap. A line's message is masked as above, except that a
// key=value's value is masked by the token rules instead of always
// ("user=root" stays: whether root is a variable is decided from counts).
// A masked text seen before only bumps its count; a new one (a "message")
// joins an online template Drain-style (He et al., ICWS 2017): routed by
// token count and first two tokens to a leaf, it joins the template there
// whose constant tokens it matches best, if it matches at least 60% of
// them (tokens that are variables on both sides are left out), and the
// positions that differ become <*>.
//
// Reading the patterns ([Miner.Groups]) refines the online templates from
// the distinct messages and their line counts, the way Brain (Yu et al.,
// 2023) decides constants from value statistics:
//   - split: a variable position whose values are few words (at most
//     10), each covering 10 lines on average and none 80% of them unless there
//     are only two, is a
//     constant the online pass merged ("VM Started" / "VM Stopped"); so
//     are several word positions whose values change together (3 lines per
//     combination), and a position whose values, one with a variable
//     inside, have forms that cannot be one another's ("(uid=<*>)" /
//     "LOGIN(uid=<*>)", "tty=NODEVssh" / "tty=:<*>"). A position that
//     holds a bare variable in any line, or
//     follows an entity noun ("user", "host", "file"…, also as a key:
//     "user=root"), is a variable;
//   - merge: templates of one length that differ only at one position
//     where they hold more than 10 distinct words (a host name first in
//     the line, which the online routing keeps apart), or after an entity
//     noun, are one pattern, as long as a constant word is left; templates
//     whose words are equal once their variable tokens are dropped are one
//     pattern (an optional value, "sent 12 bytes (1.2 KB)" / "sent 3
//     bytes", or a variable spanning several tokens);
//   - a pattern's text keeps equal tokens, and of differing ones the
//     brackets, quotes and key= they share ("user=<*>", "(<*>)").
//
// The thresholds are [MinerConfig]'s defaults. TestLoghubAccuracy holds
// them to the Loghub 2k benchmark leave-one-system-out: for each of the 10
// systems they are chosen from a grid on the other nine, and the system is
// scored with that choice; the README has the table.
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
// Dedupe rows ([Options.MaxRows], default 10000), the miner's distinct
// messages ([MinerConfig.MaxMessages], default 20000) and online templates
// ([MinerConfig.MaxTemplates], default 5000, evicted with their messages)
// are capped; when full, a sampled least-recently (and, for rows and
// messages, least-often) seen entry is evicted, in O(1). An evicted
// message's lines no longer count in the patterns; the per-line answer
// gives such a line the most frequent pattern whose template it fits. Reading
// the patterns costs time in the number of distinct messages, not lines.
// Anomalies keep the last 100.
package insight
