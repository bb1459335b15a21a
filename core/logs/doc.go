// Package logs captures, stores, rotates and queries the output of managed
// processes. It is a library: the supervisor attaches pipes with
// [Store.Attach], tools and the CLI read with [Store.Query],
// [Store.Follow] and [Store.Subscribe].
//
// # Files
//
// One directory ([Options.Dir], normally $VELOS_HOME/logs) holds, for each
// process name (an instance of a cluster has its own name, e.g. "api-2"):
//
//	<name>-out.log              stdout, being written
//	<name>-err.log              stderr, being written
//	<name>-out.000042.log       a rotated file (the number only grows)
//	<name>-out.000041.log.gz    a rotated file compressed in the background
//
// Rotated files are never renamed again, so a reader that opened one keeps a
// valid view; compression writes <file>.gz.tmp, renames it to <file>.gz and
// then deletes <file>. When both exist, readers use the plain file. The
// gzip header's comment holds "velos-logs first=<ns> last=<ns>", the file's
// first and last stamps, so queries pick gzipped files without
// decompressing them.
//
// # Record format
//
// A file is a sequence of records, one per line of output:
//
//	2026-11-27T01:26:31.123456789Z GET /health 200
//	2026-11-27T01:26:31.123456790Z+…rest of a line longer than 64 KiB…
//
// Bytes 0-29 are the arrival time: UTC, RFC 3339 with exactly nine
// fraction digits, so the text always starts at byte 31 and `sort`,
// `grep '^2026-11-27T01:2'` and bisection all work on the raw file. Byte 30
// is the separator: ' ' starts a line, '+' marks a continuation record (see
// below). The text follows as raw bytes up to the record's '\n'.
//
// Stamps are strictly increasing within a file and across its rotations:
// all the lines delivered by one read of the pipe carry that read's
// arrival time, plus 1 ns per line; a clock that goes backwards (or an
// earlier file from before a restart) is clamped the same way. A stamp is
// therefore a position: cursors are (stamp, source) pairs that stay valid
// across rotation, compression and restarts.
//
// What is stored for the app's bytes:
//   - "\n" ends a line; "\r\n" too (the "\r" is dropped). A lone "\r"
//     (progress bars) stays in the text.
//   - Text is raw: invalid UTF-8 and ANSI colour codes are kept in files and
//     in [Line.Text]; [StripANSI] removes the codes for agent output.
//   - A line longer than [MaxLineBytes] (64 KiB) is split into records of
//     that size; every record after the first has the '+' separator and
//     [Line.Continued] set. Concatenating the texts gives the line back.
//     (A "\r\n" cut exactly at a split leaves an empty continuation record.)
//   - A last line without a newline (the app exited mid-line) is stored as
//     a normal record; the file still ends with '\n'.
//   - An empty line is an empty record.
//
// A record whose stamp does not parse (a file from elsewhere, a torn write
// after a crash) is skipped by readers; on open, a file not ending in '\n'
// gets one so the torn record cannot swallow the next.
//
// # Guarantees
//
//   - The app is never blocked by the logger beyond the pipe's own buffer:
//     each Attach has its own goroutine reading into one reused 128 KiB
//     buffer; the hot path takes one lock and one clock reading per read
//     and allocates nothing per line. Records are buffered (whole records
//     only) and written when the read was short (the pipe had no more data
//     ready), when the buffer is full, or after [Options.FlushInterval].
//     There is no fsync; write errors go to [Options.OnError].
//   - A full disk (or any write error) drops lines instead of blocking the
//     app: the file keeps whole records only (a short write is cut back to
//     the last one), the loss is reported as a [WriteError] once per
//     [Options.ErrorInterval] with the count of lines dropped, and writing
//     resumes by itself once a write works again ([Store.WriteErrors] says
//     which streams are failing now).
//   - Nothing lost: the channel returned by Attach closes only after every
//     byte read from the pipe is written to the file, including a last
//     partial line. [Store.Close] writes everything buffered; pipes that
//     support read deadlines (os.File) are read for a short grace first.
//   - Rotation (by size, [Options.MaxSize] default 10 MiB, keeping
//     [Options.Keep] default 5 rotated files, optionally gzipped; per
//     process with [RotateOptions]) happens between two records on the
//     writer's goroutine: no line is split across files, lost or
//     duplicated. Compression runs on one background goroutine that exists
//     only while there is work.
//   - Queries see every line stamped before they started: they write the
//     selected processes' buffers first.
//
// # Queries
//
// [Store.Query] merges the selected sources (process × stream) by stamp.
// Time bounds are found by bisection on byte offsets in each file (files
// are picked by their first and last stamps), so a one-hour window of a
// 1 GiB file costs a few dozen small reads, not a scan. "Last N lines"
// reads backward from the end. Results are bounded by MaxLines/MaxBytes;
// a cut result has Truncated set and a Cursor that continues it without
// gap or repeat. Follow emits the tail and then live lines; Subscribe gives
// a coalesced signal (at most one per [NotifyInterval]) for MCP
// resources/updated notifications.
package logs
