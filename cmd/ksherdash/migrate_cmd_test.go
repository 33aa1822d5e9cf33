package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/models/pgtest"
)

// `ksherdash migrate` brings up River's job tables with ours: a database
// it migrated can take jobs (the sync's progress rows and River's queue).
func TestMigrateCommandIncludesRiver(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dsn, "DATA_DIR": mustTempDir(t)}
	var out strings.Builder
	if err := run(ctx, []string{"migrate"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &strings.Builder{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err)
	defer conn.Close(ctx)
	var river, ours int
	must(t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM river_migration), (SELECT count(*) FROM schema_migrations)`).Scan(&river, &ours))
	for _, table := range []string{"river_job", "river_leader", "sync_jobs", "drift_resyncs"} {
		var exists bool
		must(t, conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists))
		if !exists {
			t.Errorf("after migrate, table %s is missing", table)
		}
	}
	if river == 0 || ours == 0 || !strings.Contains(out.String(), "up to date") {
		t.Errorf("migrate: %d River versions, %d of ours, output %q", river, ours, out.String())
	}
}
