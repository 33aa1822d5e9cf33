package models_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/models"
)

// failAudit makes every insert into audit_log raise, as a full disk or a
// broken constraint would.
func failAudit(tb testing.TB, s *models.Store) {
	tb.Helper()
	err := s.ExecForBench(context.Background(), `
		CREATE FUNCTION test_audit_fails() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit insert refused by the test'; END $$;
		CREATE TRIGGER test_audit_fails BEFORE INSERT ON audit_log
			FOR EACH ROW EXECUTE FUNCTION test_audit_fails();`)
	if err != nil {
		tb.Fatal(err)
	}
}

// An audited change and its audit entry commit together or not at all: when
// the entry cannot be written, the change is rolled back.
func TestAuditedChangesRollBackWhenTheAuditFails(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	owner := mustOwner(t, s)
	by := models.ActorOf(owner, "192.0.2.1", "test", "req-1")
	acct := MustAccount(t, s, "Shop", "mch1")
	fin, err := s.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "fin@example.com", Password: "a long test password",
		Role: models.RoleFinance, Mids: []string{"mch1"}})
	if err != nil {
		t.Fatal(err)
	}
	failAudit(t, s)

	t.Run("person rename", func(t *testing.T) {
		in := models.PersonInput{Name: "Renamed", Grants: []models.GrantInput{{Mid: "mch1", Role: models.RoleFinance}}}
		if _, err := s.UpdatePerson(ctx, by, fin.ID, in); err == nil {
			t.Fatal("UpdatePerson succeeded with the audit failing")
		}
		p, err := s.Person(ctx, owner, fin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != fin.Name {
			t.Errorf("name = %q after a failed audit, want %q", p.Name, fin.Name)
		}
	})
	t.Run("person disable", func(t *testing.T) {
		if _, err := s.SetPersonDisabled(ctx, by, fin.ID, true); err == nil {
			t.Fatal("SetPersonDisabled succeeded with the audit failing")
		}
		p, err := s.Person(ctx, owner, fin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.DisabledAt != nil {
			t.Error("the person is disabled though the audit failed")
		}
	})
	t.Run("account rename", func(t *testing.T) {
		in := models.AccountInput{Name: "Shop renamed", APIKind: acct.APIKind, BaseURL: acct.BaseURL, Mids: acct.Mids}
		if _, err := s.SaveAccount(ctx, by, acct.ID, in); err == nil {
			t.Fatal("SaveAccount succeeded with the audit failing")
		}
		a, err := s.Account(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Shop" {
			t.Errorf("account name = %q after a failed audit, want Shop", a.Name)
		}
	})
	t.Run("own password", func(t *testing.T) {
		if err := s.SetPassword(ctx, models.ActorOf(fin, "", "", ""), "a brand new password", ""); err == nil {
			t.Fatal("SetPassword succeeded with the audit failing")
		}
		u, err := s.FindUser(ctx, fin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !u.CheckPassword("a long test password") {
			t.Error("the password changed though the audit failed")
		}
	})
	t.Run("command line user create", func(t *testing.T) {
		_, err := s.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "new@example.com", Password: "a long test password",
			Role: models.RoleViewer, Mids: []string{"mch1"}})
		if err == nil {
			t.Fatal("CreateUser succeeded with the audit failing")
		}
		if _, err := s.FindUserByEmail(ctx, "new@example.com"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("FindUserByEmail err = %v, want ENOTFOUND: the person exists without an audit entry", err)
		}
	})
}

// The entries a change writes carry the actor, the request and typed values.
func TestAuditEntryCarriesActorAndRequest(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	owner := mustOwner(t, s)
	MustAccount(t, s, "Shop", "mch1")
	by := models.ActorOf(owner, "192.0.2.7", "Mozilla/5.0 test", "req-42")
	p, _, err := s.CreatePerson(ctx, by, models.PersonInput{Email: "sup@example.com",
		Grants: []models.GrantInput{{Mid: "mch1", Role: models.RoleSupport, RefundCap: "1,000.50"}}})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := s.AuditLog(ctx, models.AuditFilter{Action: models.AuditPersonCreate, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got *models.AuditEntry
	for i := range entries {
		if entries[i].Target == p.Email {
			got = &entries[i]
		}
	}
	if got == nil {
		t.Fatalf("no person_create entry for %s in %d entries", p.Email, len(entries))
	}
	if got.ActorID == nil || *got.ActorID != owner.ID || got.ActorEmail != owner.Email {
		t.Errorf("actor = %v %q, want %d %q", got.ActorID, got.ActorEmail, owner.ID, owner.Email)
	}
	if got.IP != "192.0.2.7" || got.RequestID != "req-42" || got.Mid != "mch1" {
		t.Errorf("ip, request, mid = %q %q %q", got.IP, got.RequestID, got.Mid)
	}
	var d struct {
		Role      string `json:"role"`
		RefundCap *int64 `json:"refund_cap"`
	}
	if err := json.Unmarshal(got.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.Role != models.RoleSupport || d.RefundCap == nil || *d.RefundCap != 100050 {
		t.Errorf("details = %s, want role support and refund_cap 100050 (minor units)", got.Details)
	}
	// `ksherdash user create` is audited as the command line.
	if _, err := s.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "cli@example.com", Password: "a long test password",
		Role: models.RoleViewer, Mids: []string{"mch1"}}); err != nil {
		t.Fatal(err)
	}
	cli, err := s.AuditLog(ctx, models.AuditFilter{Actor: "command line", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range cli {
		found = found || (e.Target == "cli@example.com" && e.Action == models.AuditPersonCreate && e.ActorID == nil)
	}
	if !found {
		t.Errorf("no person_create by the command line for cli@example.com in %d entries", len(cli))
	}
}

// What a person typed is made storable before it is recorded: a sign-in
// with a 100,000-character or NUL-holding "email" is refused as wrong
// credentials (not an internal error), and its audit entry is written,
// bounded.
func TestUnstorableInputIsRecordedBounded(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	for _, email := range []string{strings.Repeat("a", 100000) + "@example.com", "fin@example.com\x00", "fin\xff@example.com"} {
		if _, err := s.Authenticate(ctx, email, "a password", "192.0.2.1", models.DefaultLoginPolicy); err != models.ErrBadCredentials {
			t.Errorf("Authenticate(%.20q…) err = %v, want ErrBadCredentials", email, err)
		}
		if err := s.Audit(ctx, models.Actor{Email: email, UserAgent: "ua\x00" + strings.Repeat("x", 5000)}, models.AuditLoginFailed, email, "", nil); err != nil {
			t.Errorf("Audit(%.20q…) = %v, want it written", email, err)
		}
	}
	es, err := s.AuditLog(ctx, models.AuditFilter{Action: models.AuditLoginFailed, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatalf("%d entries, want 3", len(es))
	}
	for _, e := range es {
		if len(e.ActorEmail) > models.MaxEmail || len(e.UserAgent) > 300 || strings.ContainsRune(e.ActorEmail+e.UserAgent, 0) {
			t.Errorf("entry %d: email %d bytes, user agent %d bytes, or a NUL kept", e.ID, len(e.ActorEmail), len(e.UserAgent))
		}
	}
}
