package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// MustStore returns a migrated store over a fresh database.
func MustStore(tb testing.TB) *models.Store {
	tb.Helper()
	s, err := models.Open(context.Background(), pgtest.NewDatabase(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background(), migrations.FS); err != nil {
		tb.Fatal(err)
	}
	s.SetSecretKey([]byte("test secret key, at least 32 characters"))
	return s
}

// MustAccount creates a vip account with the given mids.
func MustAccount(tb testing.TB, s *models.Store, name string, mids ...string) *models.MerchantAccount {
	tb.Helper()
	in := models.AccountInput{Name: name, APIKind: models.APIVIP, BaseURL: "https://sandbox.vip.ksher.net",
		Credentials: &models.Credentials{Token: "tok-" + name}}
	for _, m := range mids {
		in.Mids = append(in.Mids, models.Mid{Mid: m})
	}
	a, err := s.SaveAccount(context.Background(), models.SandboxSetup(), 0, in)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestMigrateIsIdempotentAndRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	applied, err := s.Migrate(ctx, migrations.FS)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, err %v; want nothing", applied, err)
	}
	newer := fstest.MapFS{"9999_future.sql": {Data: []byte("CREATE TABLE future (id int);")}}
	for name, f := range mustReadAll(t) {
		newer[name] = f
	}
	if _, err := s.Migrate(ctx, newer); err != nil {
		t.Fatalf("apply newer: %v", err)
	}
	// The old binary (without 9999) must now refuse the schema.
	if _, err := s.Migrate(ctx, migrations.FS); !errors.Is(err, models.ErrSchemaTooNew) {
		t.Errorf("err = %v, want ErrSchemaTooNew", err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	bad := mustReadAll(t)
	bad["0900_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE half (id int); SELECT no_such_function();")}
	if _, err := s.Migrate(ctx, bad); err == nil {
		t.Fatal("a failing migration reported success")
	}
	good := mustReadAll(t)
	good["0900_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE half (id int);")}
	if _, err := s.Migrate(ctx, good); err != nil {
		t.Errorf("the failed file left something behind: %v", err)
	}
}

func TestMigrateRefusesDuplicateVersions(t *testing.T) {
	s := MustStore(t)
	dup := mustReadAll(t)
	dup["0001_again.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;")}
	if _, err := s.Migrate(context.Background(), dup); err == nil {
		t.Error("two migrations numbered 0001 were accepted")
	}
}

func mustReadAll(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	entries, err := migrations.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := migrations.FS.ReadFile(e.Name())
		m[e.Name()] = &fstest.MapFile{Data: b}
	}
	return m
}

func TestCreateUserValidatesAndRejectsDuplicates(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	tests := []struct {
		name string
		n    models.NewUser
		code string
	}{
		{"bad email", models.NewUser{Email: "nope", Password: "long enough pw", Role: models.RoleOwner}, models.EINVALID},
		{"short password", models.NewUser{Email: "a@example.com", Password: "short", Role: models.RoleOwner}, models.EINVALID},
		{"bad role", models.NewUser{Email: "a@example.com", Password: "long enough pw", Role: "cashier"}, models.EINVALID},
		{"support without mid", models.NewUser{Email: "a@example.com", Password: "long enough pw", Role: models.RoleSupport}, models.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.CreateUser(ctx, models.CommandLine(), tt.n); models.ErrorCode(err) != tt.code {
				t.Errorf("code = %q (%v), want %q", models.ErrorCode(err), err, tt.code)
			}
		})
	}
	n := models.NewUser{Email: "sup@example.com", Password: "long enough pw", Role: models.RoleSupport, Mids: []string{"mch1", "mch9"}}
	if _, err := s.CreateUser(ctx, models.CommandLine(), n); models.ErrorCode(err) != models.EINVALID {
		t.Errorf("unknown mid: code = %q, want invalid", models.ErrorCode(err))
	}
	MustAccount(t, s, "A", "mch1", "mch2")
	n.Mids = []string{"mch1", "mch2"}
	u, err := s.CreateUser(ctx, models.CommandLine(), n)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Memberships(ctx, u.ID)
	if err != nil || len(ms) != 2 || ms[0].Role != models.RoleSupport {
		t.Errorf("memberships = %+v, %v", ms, err)
	}
	n.Email = "SUP@example.com"
	if _, err := s.CreateUser(ctx, models.CommandLine(), n); models.ErrorCode(err) != models.ECONFLICT {
		t.Errorf("duplicate email (other case): code = %q, want conflict", models.ErrorCode(err))
	}
	if c, _ := s.CountUsers(ctx); c != 1 {
		t.Errorf("users = %d after a refused duplicate, want 1", c)
	}
}

func TestEnsureOwnerOnlyOnceUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	var wg sync.WaitGroup
	passwords := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw, err := s.EnsureOwner(ctx, "owner@example.com")
			if err == nil {
				passwords <- pw
			} else if !errors.Is(err, models.ErrNotFirstStart) {
				t.Errorf("EnsureOwner: %v", err)
			}
		}()
	}
	wg.Wait()
	close(passwords)
	var got []string
	for pw := range passwords {
		got = append(got, pw)
	}
	if len(got) != 1 {
		t.Fatalf("owners created = %d, want 1", len(got))
	}
	u, err := s.Authenticate(ctx, "owner@example.com", got[0], "127.0.0.1", models.DefaultLoginPolicy)
	if err != nil || !u.IsOwner || !u.MustChangePassword {
		t.Errorf("owner = %+v, %v; want an owner who must change the password", u, err)
	}
}

func TestSetPasswordRevokesOtherSessions(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u, err := s.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "o@example.com", Password: "first password", Role: models.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	p := models.SessionPolicy{Idle: 30 * 60e9, Absolute: 12 * 3600e9}
	keep, ks, _ := s.CreateSession(ctx, u.ID, "1.2.3.4", "ua", p)
	other, _, _ := s.CreateSession(ctx, u.ID, "1.2.3.4", "ua", p)
	if err := s.SetPassword(ctx, models.ActorOf(u, "", "", ""), "second password", ks.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LookupSession(ctx, keep, p); err != nil {
		t.Errorf("current session ended: %v", err)
	}
	if _, _, err := s.LookupSession(ctx, other, p); err == nil {
		t.Errorf("other session survived a password change")
	}
	if _, err := s.Authenticate(ctx, "o@example.com", "second password", "1.2.3.4", models.DefaultLoginPolicy); err != nil {
		t.Errorf("new password refused: %v", err)
	}
}

func TestParseMinorIsAnInvalidInputError(t *testing.T) {
	if _, err := models.ParseMinor("1.234", "THB"); models.ErrorCode(err) != models.EINVALID {
		t.Errorf("code = %q, want invalid", models.ErrorCode(err))
	}
	if v, err := models.ParseMinor("1,234.50", "THB"); err != nil || v != 123450 {
		t.Errorf("ParseMinor = %d, %v", v, err)
	}
}
