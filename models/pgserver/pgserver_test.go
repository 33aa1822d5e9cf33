package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartStop(t *testing.T) {
	requireBinaries(t)
	dir := newDataDir(t)

	begin := time.Now()
	s := mustStart(t, Options{DataDir: dir, Fast: true})
	t.Logf("fast start from nothing: %v", time.Since(begin))

	var one int
	mustQueryRow(t, s.DSN("postgres"), "SELECT 1", &one)
	if one != 1 {
		t.Errorf("SELECT 1 = %d, want 1", one)
	}
	if fi, err := os.Stat(s.sockDir); err != nil {
		t.Fatal(err)
	} else if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("socket dir mode = %v, want %v", got, os.FileMode(0o700))
	}
	if n := len(filepath.Join(s.sockDir, ".s.PGSQL.5432")); n >= 100 {
		t.Errorf("socket path length = %d, want < 100", n)
	}

	begin = time.Now()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop() = %v, want nil", err)
	}
	t.Logf("stop: %v", time.Since(begin))
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop() = %v, want nil", err)
	}
	if _, err := os.Stat(s.sockDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket dir after Stop: stat error = %v, want %v", err, os.ErrNotExist)
	}
	if _, err := pgx.Connect(t.Context(), s.DSN("postgres")); err == nil {
		t.Errorf("connect after Stop: error = nil, want an error")
	}
}

// TestRestartKeepsData uses the durable settings of the embedded default.
func TestRestartKeepsData(t *testing.T) {
	requireBinaries(t)
	dir := newDataDir(t)

	begin := time.Now()
	s := mustStart(t, Options{DataDir: dir})
	t.Logf("durable start from nothing (initdb with sync): %v", time.Since(begin))
	mustExec(t, s.DSN("postgres"), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')")
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop() = %v, want nil", err)
	}

	begin = time.Now()
	s = mustStart(t, Options{DataDir: dir})
	t.Logf("durable restart of an existing cluster: %v", time.Since(begin))
	var v string
	mustQueryRow(t, s.DSN("postgres"), "SELECT v FROM kept", &v)
	if v != "hello" {
		t.Errorf("kept.v = %q, want %q", v, "hello")
	}
}

func TestSecondStartLocked(t *testing.T) {
	requireBinaries(t)
	dir := newDataDir(t)
	mustStart(t, Options{DataDir: dir, Fast: true})

	begin := time.Now()
	s, err := Start(t.Context(), Options{DataDir: dir, Fast: true})
	elapsed := time.Since(begin)
	if err == nil {
		s.Stop()
		t.Fatalf("second Start() error = nil, want %v", ErrLocked)
	}
	t.Logf("second Start() error after %v: %v", elapsed, err)
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Start() error = %v, want %v", err, ErrLocked)
	}
	want := fmt.Sprintf("another ksherdash is already using DATA_DIR %s (pid %d)", dir, os.Getpid())
	if err.Error() != want {
		t.Errorf("second Start() error = %q, want %q", err, want)
	}
	// Not a speed target: a refused start must not wait for the lock (or for the
	// first server) to go away, so anything near the lock-wait scale is a hang.
	if elapsed > 15*time.Second {
		t.Errorf("second Start() took %v: it waited instead of refusing", elapsed)
	}
}

func TestStartReportsPostgresFailure(t *testing.T) {
	requireBinaries(t)
	dir := newDataDir(t)
	s := mustStart(t, Options{DataDir: dir, Fast: true})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// An unknown setting makes postgres exit at once: Start must say why.
	conf := filepath.Join(dir, "data", "postgresql.auto.conf")
	if err := os.WriteFile(conf, []byte("no_such_setting = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Start(t.Context(), Options{DataDir: dir, Fast: true})
	if err == nil {
		s.Stop()
		t.Fatalf("Start() error = nil, want an error")
	}
	t.Logf("Start() error: %v", err)
	if !strings.Contains(err.Error(), "no_such_setting") {
		t.Errorf("Start() error = %q, want it to quote the log line about no_such_setting", err)
	}
	// The failed Start released the lock.
	f, _, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after failed Start: %v", err)
	}
	unlock(f)
}

func TestStartUnreachableDataDir(t *testing.T) {
	requireBinaries(t)
	if os.Geteuid() != 0 {
		t.Skip("only root runs postgres as another user")
	}
	closed := newDataDir(t)
	if err := os.Chmod(closed, 0o700); err != nil { // root-owned, closed to postgres
		t.Fatal(err)
	}
	dir := filepath.Join(closed, "pg")
	s, err := Start(t.Context(), Options{DataDir: dir, Fast: true})
	if err == nil {
		s.Stop()
		t.Fatalf("Start() error = nil, want an error")
	}
	t.Logf("Start() error: %v", err)
	for _, want := range []string{closed + " (mode", "DATA_DIR " + dir, "under /tmp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start() error = %q, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Start() error = %q, want one line", err)
	}
}

func TestFindBinaries(t *testing.T) {
	fake := t.TempDir()
	for _, v := range []string{"9.6", "16", "15", "beta"} {
		mustFakeBinaries(t, filepath.Join(fake, v, "bin"))
	}
	bogus := filepath.Join(t.TempDir(), "nothing-here")
	tests := []struct {
		name    string
		pgBin   string
		libDir  string
		want    string
		wantErr error
	}{
		{name: "bogus PG_BIN, empty PATH", pgBin: bogus, libDir: fake, wantErr: ErrNoBinaries},
		{name: "no PG_BIN, nothing installed", libDir: bogus, wantErr: ErrNoBinaries},
		{name: "PG_BIN wins", pgBin: filepath.Join(fake, "9.6", "bin"), libDir: fake, want: filepath.Join(fake, "9.6", "bin")},
		{name: "newest version, numerically", libDir: fake, want: filepath.Join(fake, "16", "bin")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PG_BIN", tt.pgBin)
			t.Setenv("PATH", "")
			old := libDir
			libDir = tt.libDir
			t.Cleanup(func() { libDir = old })

			got, err := FindBinaries()
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("FindBinaries() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("FindBinaries() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFindBinariesOnPath(t *testing.T) {
	real := filepath.Join(t.TempDir(), "17", "bin")
	mustFakeBinaries(t, real)
	onPath := t.TempDir()
	if err := os.Symlink(filepath.Join(real, "initdb"), filepath.Join(onPath, "initdb")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PG_BIN", "")
	t.Setenv("PATH", onPath)

	got, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries() error = %v, want nil", err)
	}
	if want, _ := filepath.EvalSymlinks(real); got != want {
		t.Errorf("FindBinaries() = %q, want %q", got, want)
	}
}

func TestErrNoBinariesMessage(t *testing.T) {
	msg := ErrNoBinaries.Error()
	for _, want := range []string{"apt-get install postgresql", "DATABASE_URL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("ErrNoBinaries = %q, want it to mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("ErrNoBinaries = %q, want one paragraph", msg)
	}
}

func TestDSNQuoting(t *testing.T) {
	s := &Server{sockDir: "/tmp/ksherdash-sock-1", port: 5432}
	tests := []struct{ db, want string }{
		{"app", "host=/tmp/ksherdash-sock-1 port=5432 user=postgres dbname=app sslmode=disable"},
		{"my db", "host=/tmp/ksherdash-sock-1 port=5432 user=postgres dbname='my db' sslmode=disable"},
		{`it's`, `host=/tmp/ksherdash-sock-1 port=5432 user=postgres dbname='it\'s' sslmode=disable`},
	}
	for _, tt := range tests {
		if got := s.DSN(tt.db); got != tt.want {
			t.Errorf("DSN(%q) = %q, want %q", tt.db, got, tt.want)
		}
		cfg, err := pgx.ParseConfig(s.DSN(tt.db))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Database != tt.db {
			t.Errorf("parsed dbname = %q, want %q", cfg.Database, tt.db)
		}
	}
}

// requireBinaries fails the test when PostgreSQL is missing, unless the
// developer deliberately uses an external server (TEST_DATABASE_URL), in
// which case these tests of the private server are skipped.
func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := FindBinaries(); err != nil {
		if os.Getenv("TEST_DATABASE_URL") != "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
}

// newDataDir returns a fresh directory under /tmp (not $TMPDIR: as root,
// postgres must be able to reach it), removed after the test.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "pgserver-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func mustStart(t *testing.T, o Options) *Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func mustExec(t *testing.T, dsn, sql string) {
	t.Helper()
	conn := mustConnect(t, dsn)
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func mustQueryRow(t *testing.T, dsn, sql string, dest ...any) {
	t.Helper()
	conn := mustConnect(t, dsn)
	if err := conn.QueryRow(t.Context(), sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func mustConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustFakeBinaries(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// testWriter sends slog output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestRemove(t *testing.T) {
	requireBinaries(t)
	dir := newDataDir(t)
	s := mustStart(t, Options{DataDir: dir, Fast: true})
	if err := Remove(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("Remove() of a running server's dir = %v, want %v", err, ErrLocked)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	// Pretend the last server was killed: its socket dir is still there.
	as, err := lookupRunAs()
	if err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("/tmp", sockDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	if err := as.chown(sockDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ksherdash.lock"), []byte("999999\n"+sockDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := Remove(dir); err != nil {
		t.Fatalf("Remove() = %v, want nil", err)
	}
	for _, d := range []string{dir, sockDir} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Remove: stat error = %v, want %v", d, err, os.ErrNotExist)
		}
	}
	if err := Remove(dir); err != nil {
		t.Errorf("Remove() of a missing dir = %v, want nil", err)
	}
}

// TestStartWithStalePostmasterPid: a crash can leave postmaster.pid behind;
// postgres itself sees that its pid is gone and starts anyway.
func TestStartWithStalePostmasterPid(t *testing.T) {
	requireBinaries(t)
	dir := newDataDir(t)
	s := mustStart(t, Options{DataDir: dir, Fast: true})
	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	stale, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidFile, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	as, _ := lookupRunAs()
	if err := as.chown(pidFile); err != nil {
		t.Fatal(err)
	}

	s = mustStart(t, Options{DataDir: dir, Fast: true})
	var one int
	mustQueryRow(t, s.DSN("postgres"), "SELECT 1", &one)
	if one != 1 {
		t.Errorf("SELECT 1 = %d, want 1", one)
	}
}
