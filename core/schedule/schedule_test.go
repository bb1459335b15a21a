package schedule

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
)

func info(name, cron string) supervisor.Info {
	return supervisor.Info{Name: name, Spec: supervisor.Spec{Name: name, CronRestart: cron}}
}

func TestEverySecondFiresUntilRemoved(t *testing.T) {
	fired := make(chan string, 10)
	s := New(Options{Restart: func(_ context.Context, name string) error {
		fired <- name
		return nil
	}})
	defer s.Close()
	if s.Running() {
		t.Fatal("a scheduler runs before any job")
	}
	s.Sync([]supervisor.Info{info("api", "* * * * * *"), info("api", "* * * * * *"), info("db", "")})
	if !s.Running() {
		t.Fatal("no scheduler after a job was set")
	}
	if got := s.Names(); !slices.Equal(got, []string{"api"}) {
		t.Fatalf("jobs = %v, want [api]", got)
	}
	next, ok := s.Next("api")
	if !ok || next.Before(time.Now().Add(-time.Second)) || next.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("next run = %v %v, want within a second", next, ok)
	}
	if _, ok := s.Next("db"); ok {
		t.Fatal("db has a next run without a cron")
	}
	select {
	case n := <-fired:
		if n != "api" {
			t.Fatalf("fired for %q", n)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the every-second job did not fire within 3s")
	}
	s.Sync(nil) // api is gone
	if len(s.Names()) != 0 {
		t.Fatalf("jobs after the process went: %v", s.Names())
	}
	for len(fired) > 0 { // a run that started before the removal
		<-fired
	}
	select {
	case n := <-fired:
		t.Fatalf("fired for %q after its job was removed", n)
	case <-time.After(1500 * time.Millisecond):
	}
}

func TestSetKeepsOrChangesTheJob(t *testing.T) {
	s := New(Options{Restart: func(context.Context, string) error { return nil }, Location: time.UTC})
	defer s.Close()
	if err := s.Set("api", "0 3 * * *"); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Next("api")
	if first.Hour() != 3 || first.Minute() != 0 {
		t.Fatalf("next = %v, want 03:00 UTC", first)
	}
	if err := s.Set("api", "0 3 * * *"); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Next("api"); !again.Equal(first) {
		t.Fatalf("same expression moved the next run: %v → %v", first, again)
	}
	if err := s.Set("api", "@hourly"); err != nil {
		t.Fatal(err)
	}
	if next, _ := s.Next("api"); next.Minute() != 0 || time.Until(next) > time.Hour {
		t.Fatalf("after @hourly next = %v", next)
	}
	if err := s.Set("api", "61 * * * *"); err == nil {
		t.Fatal("a bad expression was accepted")
	}
	if _, ok := s.Next("api"); !ok {
		t.Fatal("a bad expression dropped the previous schedule")
	}
	if err := s.Set("api", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Next("api"); ok {
		t.Fatal("a cleared job still has a next run")
	}
}

func TestCloseCancelsAndRefuses(t *testing.T) {
	started := make(chan struct{})
	ended := make(chan error, 1)
	s := New(Options{Restart: func(ctx context.Context, _ string) error {
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return ctx.Err()
	}})
	if err := s.Set("api", "* * * * * *"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(3 * time.Second):
		t.Fatal("job did not start")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("restart context not cancelled")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not cancel the running restart")
	}
	if err := s.Set("db", "@hourly"); err == nil {
		t.Fatal("Set after Close succeeded")
	}
	s.Sync([]supervisor.Info{info("db", "@hourly")}) // must not panic or add
	if len(s.Names()) != 0 {
		t.Fatal("Sync after Close added jobs")
	}
}
