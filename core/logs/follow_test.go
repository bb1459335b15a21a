package logs

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"
)

// Subscribe signals within a second of a new line, for the name and for
// "any name", and not for other names.
func TestSubscribe(t *testing.T) {
	s := openStore(t, Options{})
	updates, cancel := s.Subscribe("api")
	defer cancel()
	anyUpdates, cancelAny := s.Subscribe("")
	defer cancelAny()
	other, cancelOther := s.Subscribe("db")
	defer cancelOther()

	pr, pw := io.Pipe()
	done := s.Attach("api", Out, pr, nil)
	for i := 0; i < 3; i++ {
		start := time.Now()
		if _, err := pw.Write([]byte("hello " + strconv.Itoa(i) + "\n")); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []<-chan struct{}{updates, anyUpdates} {
			select {
			case <-ch:
			case <-time.After(time.Second):
				t.Fatalf("no signal within 1 s (write %d)", i)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("signal after %v", d)
		}
		res, err := s.Query(context.Background(), Query{Names: []string{"api"}, Lines: 1})
		if err != nil || len(res.Lines) != 1 || res.Lines[0].Text != "hello "+strconv.Itoa(i) {
			t.Fatalf("line not visible after the signal: %v %v", res.Lines, err)
		}
	}
	select {
	case <-other:
		t.Fatal("signal for another name")
	default:
	}
	pw.Close()
	<-done
	cancel()
	if _, ok := <-updates; ok {
		t.Fatal("channel open after cancel")
	}
}

// A burst of lines gives a few coalesced signals, not one per line.
func TestSubscribeCoalesces(t *testing.T) {
	s := openStore(t, Options{})
	updates, cancel := s.Subscribe("")
	defer cancel()
	pr, pw := io.Pipe()
	done := s.Attach("burst", Out, pr, nil)
	for i := 0; i < 2000; i++ {
		pw.Write([]byte("x\n")) // one read, one flush, one notify per line
	}
	pw.Close()
	<-done
	got := 0
	timeout := time.After(NotifyInterval * 3)
loop:
	for {
		select {
		case <-updates:
			got++
		case <-timeout:
			break loop
		}
	}
	if got == 0 || got > 5 {
		t.Fatalf("%d signals for a burst", got)
	}
}

// Follow emits the last lines, then live ones, in order, until cancelled.
func TestFollow(t *testing.T) {
	s := openStore(t, Options{})
	writeAll(t, s, "f", Out, stringsReader(numbered(0, 100)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan Line, 100)
	ended := make(chan error, 1)
	go func() {
		ended <- s.Follow(ctx, Query{Names: []string{"f"}, Lines: 5}, func(l Line) error {
			lines <- l
			return nil
		})
	}()
	expect := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			select {
			case l := <-lines:
				if l.Text != "line "+strconv.Itoa(i) {
					t.Fatalf("got %q, want line %d", l.Text, i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("line %d not emitted", i)
			}
		}
	}
	expect(95, 100)
	pr, pw := io.Pipe()
	done := s.Attach("f", Out, pr, nil)
	pw.Write([]byte(numbered(100, 103)))
	expect(100, 103)
	pw.Write([]byte(numbered(103, 3000)))
	expect(103, 3000)
	pw.Close()
	<-done
	cancel()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow ended with %v", err)
	}
	select {
	case l := <-lines:
		t.Fatalf("extra line %q", l.Text)
	default:
	}
}

// Follow of a process without logs yet starts from its first line, and
// ends when the store closes.
func TestFollowEmptyThenClose(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan Line, 10)
	ended := make(chan error, 1)
	go func() {
		ended <- s.Follow(context.Background(), Query{Names: []string{"late"}}, func(l Line) error {
			lines <- l
			return nil
		})
	}()
	// Follow may subscribe after the write: then the first query finds it.
	writeAll(t, s, "late", Err, stringsReader("first\nsecond\n"), nil)
	for _, want := range []string{"first", "second"} {
		select {
		case l := <-lines:
			if l.Text != want {
				t.Fatalf("got %q want %q", l.Text, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q not emitted", want)
		}
	}
	s.Close()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("follow after close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end on close")
	}
}
