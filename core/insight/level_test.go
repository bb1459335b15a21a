package insight

import "testing"

func TestClassifyText(t *testing.T) {
	tests := []struct {
		name, line string
		want       Level
	}{
		// Node / pino / bunyan JSON.
		{"pino error", `{"level":50,"time":1700000000000,"pid":1,"hostname":"h","msg":"connect ECONNREFUSED 127.0.0.1:5432"}`, LevelError},
		{"pino info", `{"level":30,"time":1700000000000,"msg":"listening on 3000"}`, LevelInfo},
		{"pino fatal", `{"level":60,"msg":"boom"}`, LevelFatal},
		{"bunyan warn", `{"name":"app","hostname":"h","pid":1,"level":40,"msg":"slow","time":"2024-01-01T00:00:00.000Z","v":0}`, LevelWarn},
		{"pino trace", `{"level":10,"msg":"x"}`, LevelDebug},
		{"winston json", `{"level":"error","message":"db down","timestamp":"2024-01-01T00:00:00Z"}`, LevelError},
		{"severity", `{"severity":"WARNING","message":"quota"}`, LevelWarn},
		{"ecs log.level", `{"@timestamp":"2024-01-01T00:00:00Z","log.level":"error","message":"x"}`, LevelError},
		{"nested log.level", `{"log":{"level":"warn"},"message":"x"}`, LevelWarn},
		{"lvl", `{"lvl":"dbug","msg":"x"}`, LevelDebug},
		{"node error text", `Error: connect ECONNREFUSED 127.0.0.1:5432`, LevelError},
		{"node typeerror", `TypeError: Cannot read properties of undefined (reading 'id')`, LevelError},
		{"node warning", `(node:1234) Warning: Accessing non-existent property`, LevelUnknown},
		// Python logging and tracebacks.
		{"python basic", `ERROR:root:failed to connect`, LevelError},
		{"python warning", `WARNING:urllib3.connectionpool:Retrying`, LevelWarn},
		{"python default fmt", `2024-01-02 10:05:03,120 - app - INFO - started`, LevelInfo},
		{"python critical", `2024-01-02 10:05:03,120 CRITICAL disk full`, LevelFatal},
		{"traceback", `Traceback (most recent call last):`, LevelError},
		{"python exc", `ValueError: invalid literal for int() with base 10: 'x'`, LevelError},
		{"uvicorn", `INFO:     127.0.0.1:5000 - "GET / HTTP/1.1" 200 OK`, LevelInfo},
		// Go log, slog, zap, panics.
		{"go log", `2024/01/02 10:05:03 listening on :8080`, LevelUnknown},
		{"slog text", `time=2024-01-02T10:05:03.000Z level=ERROR msg="query failed" err="timeout"`, LevelError},
		{"slog text warn", `time=2024-01-02T10:05:03.000Z level=WARN msg=slow`, LevelWarn},
		{"slog json", `{"time":"2024-01-02T10:05:03Z","level":"INFO","msg":"ok"}`, LevelInfo},
		{"zap json", `{"level":"error","ts":1700000000.1,"caller":"db/conn.go:42","msg":"dial failed"}`, LevelError},
		{"zap console", "2024-01-02T10:05:03.000Z\tWARN\tserver/http.go:88\tslow request", LevelWarn},
		{"zap dpanic", `{"level":"dpanic","msg":"x"}`, LevelFatal},
		{"go panic", `panic: runtime error: index out of range [3] with length 3`, LevelFatal},
		{"go fatal", `fatal error: all goroutines are asleep - deadlock!`, LevelFatal},
		{"glog", `E0102 10:05:03.123456    1234 server.go:42] failed`, LevelError},
		{"glog warn", `W0102 10:05:03.123456    1234 server.go:42] slow`, LevelWarn},
		// Java / logback / log4j.
		{"logback", `2024-01-02 10:05:03.120 [main] ERROR com.acme.Db - Connection refused`, LevelError},
		{"logback warn", `10:05:03.120 [http-nio-8080-exec-1] WARN  o.s.web.servlet.PageNotFound - No mapping`, LevelWarn},
		{"spring boot", `2024-01-02T10:05:03.120Z  INFO 1 --- [main] c.a.App : Started App in 2.1 seconds`, LevelInfo},
		{"log4j debug", `2024-01-02 10:05:03 DEBUG Foo:12 - value=3`, LevelDebug},
		{"jul severe", `SEVERE: Servlet.service() threw exception`, LevelError},
		{"java exception", `Exception in thread "main" java.lang.NullPointerException`, LevelError},
		{"java exc line", `java.lang.IllegalStateException: boom`, LevelError},
		// nginx / apache.
		{"nginx error", `2024/01/02 10:05:03 [error] 123#0: *1 connect() failed (111: Connection refused) while connecting to upstream`, LevelError},
		{"nginx warn", `2024/01/02 10:05:03 [warn] 123#0: *1 an upstream response is buffered`, LevelWarn},
		{"nginx notice", `2024/01/02 10:05:03 [notice] 1#1: start worker processes`, LevelInfo},
		{"nginx crit", `2024/01/02 10:05:03 [crit] 1#1: *5 open() failed`, LevelFatal},
		{"access 200", `127.0.0.1 - - [02/Jan/2024:10:05:03 +0000] "GET /index.html HTTP/1.1" 200 612 "-" "curl/8.0"`, LevelInfo},
		{"access 404", `127.0.0.1 - - [02/Jan/2024:10:05:03 +0000] "GET /nope HTTP/1.1" 404 153 "-" "curl/8.0"`, LevelWarn},
		{"access 502", `127.0.0.1 - - [02/Jan/2024:10:05:03 +0000] "POST /api HTTP/2.0" 502 0 "-" "curl/8.0"`, LevelError},
		{"apache error", `[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6`, LevelError},
		{"apache 2.4", `[Tue Jan 02 10:05:03.123456 2024] [core:error] [pid 123] AH00126: Invalid URI`, LevelError},
		{"apache notice", `[Sun Dec 04 04:47:44 2005] [notice] jk2_init() Found child 6725`, LevelInfo},
		// Others and non-levels.
		{"rails", `E, [2024-01-02T10:05:03.120 #1234] ERROR -- : boom`, LevelError},
		{"bracket upper", `[WARN] disk 91% full`, LevelWarn},
		{"plain", `listening on port 3000`, LevelUnknown},
		{"err identifier", `code ERR_CONNECTION_REFUSED seen`, LevelUnknown},
		{"lowercase word", `retrying after error in handler`, LevelUnknown},
		{"info first", `INFO retry after ERROR`, LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyText(tt.line); got != tt.want {
				t.Errorf("ClassifyText(%q) = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

func TestClassifyStderrRule(t *testing.T) {
	if got := Classify("err", "listening on 3000", DefaultStderrLevel); got != LevelWarn {
		t.Errorf("stderr without level = %v, want WARN", got)
	}
	if got := Classify("err", "INFO ready", DefaultStderrLevel); got != LevelInfo {
		t.Errorf("stderr with level = %v, want INFO", got)
	}
	if got := Classify("out", "listening", DefaultStderrLevel); got != LevelUnknown {
		t.Errorf("stdout without level = %v, want UNKNOWN", got)
	}
}
