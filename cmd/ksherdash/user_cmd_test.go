package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

func TestUserCreateCommand(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dsn, "DATA_DIR": mustTempDir(t)}
	getenv := func(k string) string { return env[k] }
	runUser := func(stdin string, args ...string) (string, error) {
		var out strings.Builder
		err := run(ctx, append([]string{"user", "create"}, args...), getenv, strings.NewReader(stdin), &out, &strings.Builder{})
		return out.String(), err
	}

	out, err := runUser("a strong password\n", "--email", "boss@example.com", "--role", "owner", "--password-stdin")
	if err != nil || !strings.Contains(out, "created user") {
		t.Fatalf("create owner: %q, %v", out, err)
	}
	// Bad input: one clear error, a usage error (exit 2), nothing created.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "x@example.com", "--role", "cashier", "--password-stdin"}, "role"},
		{[]string{"--email", "not-an-email", "--role", "owner", "--password-stdin"}, "email"},
		{[]string{"--email", "s@example.com", "--role", "support", "--password-stdin"}, "mid"},
		{[]string{"--email", "s@example.com", "--role", "support", "--mid", "mch404", "--password-stdin"}, "mid"},
		{[]string{"--email", "BOSS@example.com", "--role", "owner", "--password-stdin"}, "exists"},
		{[]string{"--bogus"}, "bogus"},
	} {
		_, err := runUser("a strong password\n", tc.args...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err = %v, want a one-line usage error mentioning %q", tc.args, err, tc.want)
		}
	}
	if _, err := runUser("short\n", "--email", "y@example.com", "--role", "owner", "--password-stdin"); err == nil {
		t.Errorf("a short password was accepted")
	}
	// Without --password-stdin a one-time password is printed.
	out, err = runUser("", "--email", "v@example.com", "--role", "owner")
	if err != nil || !strings.Contains(out, "one-time password:") {
		t.Fatalf("create with generated password: %q, %v", out, err)
	}

	store, err := models.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if n, _ := store.CountUsers(ctx); n != 2 {
		t.Errorf("people = %d, want 2 (refused commands created nobody)", n)
	}
	if _, err := store.Authenticate(ctx, "boss@example.com", "a strong password", "127.0.0.1", models.DefaultLoginPolicy); err != nil {
		t.Errorf("the created owner cannot sign in: %v", err)
	}
}
