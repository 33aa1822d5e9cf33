package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabaseIsolated(t *testing.T) {
	begin := time.Now()
	a, b := NewDatabase(t), NewDatabase(t)
	t.Logf("two databases created in %v", time.Since(begin))
	if a == b {
		t.Fatalf("NewDatabase twice = %q both times, want different DSNs", a)
	}
	ca, cb := mustConnect(t, a), mustConnect(t, b)

	mustExec(t, ca, "CREATE TABLE items (v text)")
	mustExec(t, ca, "INSERT INTO items VALUES ('only in a')")
	var exists bool
	if err := cb.QueryRow(t.Context(), "SELECT to_regclass('items') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("table items visible in the second database = %v, want %v", exists, false)
	}
	var dbA, dbB string
	ca.QueryRow(t.Context(), "SELECT current_database()").Scan(&dbA)
	cb.QueryRow(t.Context(), "SELECT current_database()").Scan(&dbB)
	if dbA == dbB || !strings.HasPrefix(dbA, "t_testnewdatabaseisolated_") {
		t.Errorf("current_database() = %q and %q, want two names starting with t_testnewdatabaseisolated_", dbA, dbB)
	}
}

func TestNewDatabaseDroppedAtCleanup(t *testing.T) {
	var name string
	t.Run("sub", func(t *testing.T) {
		conn := mustConnect(t, NewDatabase(t))
		if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		// conn stays open until after the drop: WITH (FORCE) must cope.
	})
	admin := mustConnect(t, ServerDSN())
	var n int
	if err := admin.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("databases named %q after the test = %d, want 0", name, n)
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct {
		name     string
		testName string
		want     string
	}{
		{"plain", "TestStore", "t_teststore_42_7"},
		{"subtest", "TestRefund/Over the limit!", "t_testrefund_over_the_limit_42_7"},
		{"too long", "Test" + strings.Repeat("X", 100), "t_test" + strings.Repeat("x", 63-len("t_test")-len("_42_7")) + "_42_7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := databaseName(tt.testName, 42, 7)
			if got != tt.want {
				t.Errorf("databaseName(%q) = %q, want %q", tt.testName, got, tt.want)
			}
			if len(got) > 63 {
				t.Errorf("len(databaseName(%q)) = %d, want <= 63", tt.testName, len(got))
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ name, dsn string }{
		{"url", "postgres://u:p@db.example:6543/admin?sslmode=disable"},
		{"url with dbname param", "postgresql://u@db.example:6543/?dbname=admin&sslmode=disable"},
		{"keyword", "host=db.example port=6543 user=u dbname=admin sslmode=disable"},
		{"keyword without dbname", "host=/tmp/sock port=6543 user=u"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, err := withDatabase(tt.dsn, "t_x_1_2")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := pgx.ParseConfig(dsn)
			if err != nil {
				t.Fatalf("parse %q: %v", dsn, err)
			}
			orig, _ := pgx.ParseConfig(tt.dsn)
			if cfg.Database != "t_x_1_2" {
				t.Errorf("database of %q = %q, want %q", dsn, cfg.Database, "t_x_1_2")
			}
			if cfg.Host != orig.Host || cfg.Port != orig.Port || cfg.User != orig.User {
				t.Errorf("server of %q = %s:%d as %s, want %s:%d as %s", dsn,
					cfg.Host, cfg.Port, cfg.User, orig.Host, orig.Port, orig.User)
			}
		})
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

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestRemoveStale(t *testing.T) {
	stale, err := os.MkdirTemp("/tmp", "testpg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stale) })
	fresh, err := os.MkdirTemp("/tmp", "testpg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(fresh) })
	old := time.Now().Add(-2 * time.Minute)
	for _, dir := range []string{stale, serverDir} {
		if dir == "" {
			continue // TEST_DATABASE_URL: no private server
		}
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
	}

	removeStale()

	tests := []struct {
		name string
		dir  string
		want bool
	}{
		{"stale", stale, false},
		{"just made", fresh, true},
		{"in use", serverDir, true},
	}
	for _, tt := range tests {
		if tt.dir == "" {
			continue
		}
		_, err := os.Stat(tt.dir)
		if got := err == nil; got != tt.want {
			t.Errorf("%s dir %s exists = %v, want %v", tt.name, tt.dir, got, tt.want)
		}
	}
}
