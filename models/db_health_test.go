package models_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgserver"
)

func TestUnavailableClassifiesDatabaseErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, dialErr := pgx.Connect(ctx, "host=/nonexistent-ksherdash-socket-dir user=postgres dbname=x sslmode=disable")
	if dialErr == nil {
		t.Fatal("connecting to a socket directory that does not exist succeeded")
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connect error", fmt.Errorf("store: %w", dialErr), true},
		{"08006 connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"57P01 admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"57P02 crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"57P03 cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"bad conn", fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{"conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"reset", &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}, true},
		{"23505 duplicate key", &pgconn.PgError{Code: "23505"}, false},
		{"57014 query cancelled", &pgconn.PgError{Code: "57014"}, false},
		{"Ksher refused the connection", &gateway.Error{Kind: gateway.KindTransport, Err: syscall.ECONNREFUSED}, false},
		{"a request's own deadline", context.DeadlineExceeded, false},
		{"other", errors.New("boom"), false},
		{"nil", nil, false},
	} {
		if got := models.Unavailable(tc.err); got != tc.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if code := models.ErrorCode(dialErr); code != models.EUNAVAILABLE {
		t.Errorf("ErrorCode(connect error) = %q, want %q", code, models.EUNAVAILABLE)
	}
	if id := models.ErrorMessageID(dialErr); id != "error.unavailable" {
		t.Errorf("ErrorMessageID(connect error) = %q, want error.unavailable", id)
	}
}

// lineLog is a slog destination whose lines a test can count.
type lineLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPrivateServer runs a Postgres of the test's own, which it may stop:
// not pgtest's shared one.
func startPrivateServer(t *testing.T) *pgserver.Server {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "outage-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := pgserver.Start(t.Context(), pgserver.Options{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

// TestHealthMonitorLogsOutageOnce stops the database under an open store:
// queries fail with EUNAVAILABLE, one line says the database is unreachable
// (without the DSN's password), one says it is back once it answers, and
// the store works again without being reopened. The periodic ping notices
// an outage and its end without any query.
func TestHealthMonitorLogsOutageOnce(t *testing.T) {
	srv := startPrivateServer(t)
	var out lineLog
	log := slog.New(slog.NewTextHandler(&out, nil))
	ctx := t.Context()
	store, err := models.Open(ctx, srv.DSN("postgres")+" password=sekrit-pw-77", log)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CountLiveAccounts(ctx); err != nil {
		t.Fatal(err)
	}

	if err := srv.Suspend(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := store.CountLiveAccounts(ctx)
		if code := models.ErrorCode(err); code != models.EUNAVAILABLE {
			t.Fatalf("query with the database stopped: code %q (%v), want %q", code, err, models.EUNAVAILABLE)
		}
	}
	_ = store.Ping(ctx)
	if n := out.count("Database unreachable."); n != 1 {
		t.Errorf("%d lines say the database is unreachable after 4 failures, want 1:\n%s", n, out.String())
	}
	if store.Health().Up() {
		t.Error("Health().Up() = true with the database stopped")
	}
	if strings.Contains(out.String(), "sekrit-pw-77") {
		t.Errorf("the log holds the DSN's password:\n%s", out.String())
	}

	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CountLiveAccounts(ctx); err != nil {
		t.Fatalf("query once the database is back: %v", err)
	}
	_, _ = store.CountLiveAccounts(ctx)
	if n := out.count("Database reachable again."); n != 1 {
		t.Errorf("%d lines say the database is back, want 1:\n%s", n, out.String())
	}
	if !store.Health().Up() {
		t.Error("Health().Up() = false once the database answers")
	}

	// No query at all: the periodic ping notices both transitions.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go store.WatchHealth(wctx, 50*time.Millisecond)
	if err := srv.Suspend(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the ping logged the second outage", func() bool { return out.count("Database unreachable.") == 2 })
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the ping logged the second recovery", func() bool { return out.count("Database reachable again.") == 2 })
	t.Logf("log:\n%s", out.String())
}
