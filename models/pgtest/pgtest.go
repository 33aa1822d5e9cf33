// Package pgtest gives each test package a private PostgreSQL server and each
// test its own database on it.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestPaymentStore(t *testing.T) {
//		db := MustOpen(t, pgtest.NewDatabase(t))
//		...
//	}
//
// The server is a throw-away models/pgserver with its fast, non-durable
// settings, in a fresh /tmp/testpg-* directory. When TEST_DATABASE_URL is set
// (a URL or a keyword/value DSN), databases are created on that server
// instead, and no server is started.
package pgtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/models/pgserver"
)

var (
	serverDSN string       // set by Main
	serverDir string       // the private server's data directory, if any
	counter   atomic.Int64 // makes database names unique within the process
)

// Main runs the tests of a package against a private PostgreSQL server, or
// the server at TEST_DATABASE_URL when that is set, and exits with their
// status. Call it from TestMain. If the server cannot start, it prints why
// and exits 1 without running the tests.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if dsn := os.Getenv("TEST_DATABASE_URL"); dsn != "" {
		serverDSN = dsn
		return m.Run()
	}
	removeStale()
	// /tmp, not $TMPDIR: as root, the postgres user must reach the
	// directory. pgserver gives it to that user.
	dir, err := os.MkdirTemp("/tmp", "testpg-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverDir = dir

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := pgserver.Start(context.Background(), pgserver.Options{DataDir: dir, Fast: true, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: start PostgreSQL (or set TEST_DATABASE_URL):", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop PostgreSQL:", err)
		}
	}()
	serverDSN = srv.DSN("postgres")
	return m.Run()
}

// removeStale deletes the directories of earlier test binaries that were
// killed (by -timeout, Ctrl-C or SIGKILL) before they could clean up: their
// postgres died with them, but about 40 MB of data stayed. pgserver.Remove
// leaves a directory alone while a server holds its lock; the age check
// spares one that another binary has just made and not yet locked.
func removeStale() {
	dirs, _ := filepath.Glob("/tmp/testpg-*")
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() && time.Since(fi.ModTime()) > time.Minute {
			_ = pgserver.Remove(dir) // in use, or not ours to delete: leave it
		}
	}
}

// ServerDSN returns the connection string of the shared server's
// administrative database: the private server's "postgres" database, or
// TEST_DATABASE_URL as given. It is empty unless Main is running.
func ServerDSN() string {
	return serverDSN
}

// NewDatabase creates an empty database with a unique name derived from
// tb.Name() and returns its connection string (in the form of ServerDSN). The
// database is dropped when the test ends, together with any connections still
// open to it. It fails tb when Main is not running or the database cannot be
// created.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	if serverDSN == "" {
		tb.Fatal("pgtest: NewDatabase needs pgtest.Main: add func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	name := databaseName(tb.Name(), os.Getpid(), counter.Add(1))
	dsn, err := withDatabase(serverDSN, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := adminExec("CREATE DATABASE " + ident); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// FORCE ends the connections a test left open (PostgreSQL 13+).
		if err := adminExec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// adminExec runs one statement on the server's administrative database.
func adminExec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

var notIdent = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName turns a test name into a database name: lowercase letters,
// digits and underscores, at most 63 bytes (PostgreSQL's limit), made unique
// by the process id (packages may share a TEST_DATABASE_URL server) and a
// counter.
func databaseName(testName string, pid int, n int64) string {
	base := strings.Trim(notIdent.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	suffix := fmt.Sprintf("_%d_%d", pid, n)
	base = "t_" + base
	if limit := 63 - len(suffix); len(base) > limit {
		base = strings.TrimRight(base[:limit], "_")
	}
	return base + suffix
}

// withDatabase returns dsn, a postgres:// URL or a keyword/value string,
// with its database set to name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// In a keyword/value string, a later keyword overrides an earlier one.
	// The name holds only [a-z0-9_], so it needs no quoting.
	return dsn + " dbname=" + name, nil
}
