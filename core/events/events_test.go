package events

import (
	"testing"
	"time"
)

func TestBoundedBacklog(t *testing.T) {
	l := New(3, func() time.Time { return time.Unix(0, 0) })
	ch, cancel := l.Subscribe()
	for i := 0; i < 5; i++ {
		l.Add(Event{Kind: Start, Name: "p"})
	}
	select {
	case <-ch:
	default:
		t.Fatal("no signal after Add")
	}
	got := l.Since(0)
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("backlog %+v, want seq 3..5 oldest first", got)
	}
	if got := l.Since(4); len(got) != 1 || got[0].Seq != 5 {
		t.Errorf("Since(4): %+v", got)
	}
	cancel()
	if _, open := <-ch; open {
		t.Error("channel open after cancel")
	}
	ch2, _ := l.Subscribe()
	l.Close()
	if _, open := <-ch2; open {
		t.Error("channel open after Close")
	}
	l.Add(Event{Kind: Start})
	if len(l.Since(0)) != 3 {
		t.Error("Add after Close kept an event")
	}
}
