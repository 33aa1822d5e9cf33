package pgserver

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestSupervisedPostgresRestartsAfterKill SIGKILLs the postmaster of a
// supervised server: it comes back at the same DSN, with its data, and
// queries work again.
func TestSupervisedPostgresRestartsAfterKill(t *testing.T) {
	requireBinaries(t)
	s := mustStart(t, Options{DataDir: newDataDir(t), Fast: true, Supervise: true})
	dsn := s.DSN("postgres")
	// CHECKPOINT, after the commit: with Fast, a commit is not flushed at once.
	mustExec(t, dsn, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
	mustExec(t, dsn, "CHECKPOINT")

	old := s.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var v int
	for {
		if err := tryQueryRow(t, dsn, "SELECT v FROM kept", &v); err == nil {
			break
		} else if time.Since(killed) > 30*time.Second {
			t.Fatalf("30 s after the postmaster's SIGKILL, the query still fails: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("postgres back %v after SIGKILL", time.Since(killed).Round(time.Millisecond))
	if v != 7 {
		t.Errorf("row after restart = %d, want 7", v)
	}
	if pid := s.PID(); pid == old || pid == 0 {
		t.Errorf("PID() after restart = %d, want a new process (old %d)", pid, old)
	}
	select {
	case err := <-s.Failed():
		t.Errorf("Failed() reported %v after a successful restart", err)
	default:
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop() after a restart = %v, want nil", err)
	}
}

// TestSupervisedPostgresGivesUp: when postgres cannot start again (its
// cluster is gone), the supervisor tries a bounded number of times and
// reports the failure on Failed.
func TestSupervisedPostgresGivesUp(t *testing.T) {
	requireBinaries(t)
	defer func(n int, d time.Duration) { restartAttempts, restartBackoff = n, d }(restartAttempts, restartBackoff)
	restartAttempts, restartBackoff = 2, 10*time.Millisecond
	dir := newDataDir(t)
	s := mustStart(t, Options{DataDir: dir, Fast: true, Supervise: true})
	// The running postmaster keeps working in its directory; a new one
	// finds no cluster.
	if err := os.Rename(filepath.Join(dir, "data"), filepath.Join(dir, "data-moved")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.Failed():
		t.Logf("Failed(): %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Failed() reported nothing 60 s after postgres was killed with its cluster gone")
	}
}

// TestSuspendResume: Suspend stops postgres (connections fail), Resume
// brings it back at the same DSN; a supervised server does not restart a
// suspended one on its own.
func TestSuspendResume(t *testing.T) {
	requireBinaries(t)
	s := mustStart(t, Options{DataDir: newDataDir(t), Fast: true, Supervise: true})
	dsn := s.DSN("postgres")
	var one int
	if err := s.Suspend(); err != nil {
		t.Fatalf("Suspend() = %v", err)
	}
	time.Sleep(300 * time.Millisecond) // time for a wrong restart
	if err := tryQueryRow(t, dsn, "SELECT 1", &one); err == nil {
		t.Fatal("query after Suspend succeeded, want a connection error")
	}
	if err := s.Resume(t.Context()); err != nil {
		t.Fatalf("Resume() = %v", err)
	}
	if err := tryQueryRow(t, dsn, "SELECT 1", &one); err != nil {
		t.Fatalf("query after Resume: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop() = %v", err)
	}
}

func tryQueryRow(t *testing.T, dsn, sql string, dest ...any) error {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, sql).Scan(dest...)
}
