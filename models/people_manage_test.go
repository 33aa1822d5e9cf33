package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// The rule of who may manage whom, as a table: owner > manager >
// finance, support, viewer; on every mid of the person; owners anyone.
func TestMayManage(t *testing.T) {
	g := func(pairs ...string) []models.Grant {
		var out []models.Grant
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, models.Grant{Mid: pairs[i], Role: pairs[i+1]})
		}
		return out
	}
	mgrA := map[string]string{"A": models.RoleManager}
	mgrAB := map[string]string{"A": models.RoleManager, "B": models.RoleManager}
	tests := []struct {
		name        string
		actorOwner  bool
		actorRoles  map[string]string
		targetOwner bool
		target      []models.Grant
		want        bool
	}{
		{"owner manages an owner", true, nil, true, nil, true},
		{"owner manages a manager", true, nil, false, g("A", models.RoleManager), true},
		{"manager manages support on their mid", false, mgrA, false, g("A", models.RoleSupport), true},
		{"manager manages finance and viewer on their mids", false, mgrAB, false, g("A", models.RoleFinance, "B", models.RoleViewer), true},
		{"manager does not manage a peer manager", false, mgrA, false, g("A", models.RoleManager), false},
		{"manager does not manage a peer manager on one of two mids", false, mgrAB, false, g("A", models.RoleViewer, "B", models.RoleManager), false},
		{"manager does not manage an owner", false, mgrA, true, nil, false},
		{"manager does not manage someone on a mid they do not hold", false, mgrA, false, g("A", models.RoleSupport, "B", models.RoleSupport), false},
		{"viewer on the other mid is not enough", false, map[string]string{"A": models.RoleManager, "B": models.RoleViewer}, false, g("B", models.RoleViewer), false},
		{"finance manages nobody", false, map[string]string{"A": models.RoleFinance}, false, g("A", models.RoleViewer), false},
		{"nobody but owners manages a person without mids", false, mgrA, false, nil, false},
	}
	for _, tt := range tests {
		if got := models.MayManage(tt.actorOwner, tt.actorRoles, tt.targetOwner, tt.target); got != tt.want {
			t.Errorf("%s: MayManage = %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		actor string
		want  []string
	}{
		{models.RoleOwner, []string{models.RoleManager, models.RoleFinance, models.RoleSupport, models.RoleViewer}},
		{models.RoleManager, []string{models.RoleFinance, models.RoleSupport, models.RoleViewer}},
		{models.RoleFinance, nil},
		{"", nil},
	} {
		if got := models.GrantableRoles(tt.actor); len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("GrantableRoles(%q) = %v, want %v", tt.actor, got, tt.want)
		}
	}
}

// A manager cannot change, disable, reset the password or two-factor
// sign-in of a peer manager (nor see an owner); each refusal changes
// nothing in the database. A support person on their mid they manage.
func TestManagerCannotManagePeers(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "Acme", "mchA", "mchB")
	now := time.Now().UTC()
	s.SetClock(func() time.Time { return now })
	owner := mustOwner(t, s)
	mgr := MustPerson(t, s, "mgr@example.com", false, map[string]string{"mchA": models.RoleManager})
	peer := MustPerson(t, s, "peer@example.com", false, map[string]string{"mchA": models.RoleManager})
	sup := MustPerson(t, s, "sup@example.com", false, map[string]string{"mchA": models.RoleSupport})
	MustTOTP(t, s, peer, now)
	policy := models.SessionPolicy{Idle: time.Hour, Absolute: 12 * time.Hour}
	token, _, err := s.CreateSession(ctx, peer.ID, "10.0.0.1", "test", policy)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.FindUser(ctx, peer.ID)
	if err != nil {
		t.Fatal(err)
	}

	if p, err := s.Person(ctx, mgr, peer.ID); err != nil || p.Manageable {
		t.Errorf("Person(peer) as manager = %+v, %v; want visible, not manageable", p, err)
	}
	if p, err := s.Person(ctx, mgr, mgr.ID); err != nil || p.Manageable {
		t.Errorf("Person(self) as manager = %+v, %v; want visible, not manageable", p, err)
	}
	refusals := map[string]error{}
	_, refusals["update"] = s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), peer.ID, models.PersonInput{Name: "Demoted",
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}})
	_, refusals["disable"] = s.SetPersonDisabled(ctx, models.ActorOf(mgr, "", "", ""), peer.ID, true)
	_, _, refusals["reset password"] = s.ResetPersonPassword(ctx, models.ActorOf(mgr, "", "", ""), peer.ID)
	_, refusals["reset two-factor"] = s.ResetPersonTOTP(ctx, models.ActorOf(mgr, "", "", ""), peer.ID)
	_, refusals["demote self"] = s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), mgr.ID, models.PersonInput{
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}})
	for what, err := range refusals {
		if models.ErrorCode(err) != models.EFORBIDDEN {
			t.Errorf("manager: %s of a peer: err = %v, want EFORBIDDEN", what, err)
		}
	}
	after, err := s.FindUser(ctx, peer.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Name != before.Name || after.DisabledAt != nil || after.PasswordHash != before.PasswordHash ||
		after.MustChangePassword || after.TOTPEnabledAt == nil {
		t.Errorf("refusals changed the peer: %+v", after)
	}
	if ms, _ := s.Memberships(ctx, peer.ID); len(ms) != 1 || ms[0].Role != models.RoleManager {
		t.Errorf("refusals changed the peer's roles: %+v", ms)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, peer.ID); n != models.RecoveryCodeCount {
		t.Errorf("refusals used up recovery codes: %d left", n)
	}
	if _, _, err := s.LookupSession(ctx, token, policy); err != nil {
		t.Errorf("refusals ended the peer's session: %v", err)
	}
	for what, err := range map[string]error{
		"update": func() error {
			_, err := s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), owner.ID, models.PersonInput{})
			return err
		}(),
		"disable": func() error {
			_, err := s.SetPersonDisabled(ctx, models.ActorOf(mgr, "", "", ""), owner.ID, true)
			return err
		}(),
		"reset": func() error {
			_, _, err := s.ResetPersonPassword(ctx, models.ActorOf(mgr, "", "", ""), owner.ID)
			return err
		}(),
		"2fa": func() error { _, err := s.ResetPersonTOTP(ctx, models.ActorOf(mgr, "", "", ""), owner.ID); return err }(),
	} {
		if models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("manager: %s of an owner: err = %v, want ENOTFOUND (owners are hidden from managers)", what, err)
		}
	}

	// Managers give only roles below their own, on creation and on update.
	n, _ := s.CountUsers(ctx)
	for _, role := range []string{models.RoleManager, models.RoleOwner} {
		_, _, err := s.CreatePerson(ctx, models.ActorOf(mgr, "", "", ""), models.PersonInput{Email: "new@example.com",
			Grants: []models.GrantInput{{Mid: "mchA", Role: role}}})
		if models.AsInvalidInput(err) == nil {
			t.Errorf("manager creating a %s: err = %v, want a refused form", role, err)
		}
	}
	if _, err := s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), sup.ID, models.PersonInput{
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleManager}}}); reasonOf(err, "role_mchA") != models.ReasonRoleTooHigh {
		t.Errorf("manager promoting to manager: err = %v, want role_too_high", err)
	}
	if m, _ := s.CountUsers(ctx); m != n {
		t.Errorf("refused creations made people: %d -> %d", n, m)
	}
	if ms, _ := s.Memberships(ctx, sup.ID); len(ms) != 1 || ms[0].Role != models.RoleSupport {
		t.Errorf("a refused promotion changed roles: %+v", ms)
	}

	// The support person on their mid is theirs to manage.
	if _, err := s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), sup.ID, models.PersonInput{Name: "Sup",
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleFinance}}}); err != nil {
		t.Errorf("manager updating support: %v", err)
	}
	if _, _, err := s.ResetPersonPassword(ctx, models.ActorOf(mgr, "", "", ""), sup.ID); err != nil {
		t.Errorf("manager resetting support's password: %v", err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(mgr, "", "", ""), sup.ID, true); err != nil {
		t.Errorf("manager disabling support: %v", err)
	}
	// Owners manage peer owners (the last enabled owner is still kept).
	p2, _, err := s.CreatePerson(ctx, models.ActorOf(owner, "", "", ""), models.PersonInput{Email: "o2@example.com", Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ResetPersonPassword(ctx, models.ActorOf(owner, "", "", ""), p2.ID); err != nil {
		t.Errorf("owner resetting another owner's password: %v", err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(owner, "", "", ""), p2.ID, true); err != nil {
		t.Errorf("owner disabling another owner: %v", err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(owner, "", "", ""), owner.ID, true); reasonOf(err, "person") != models.ReasonLastOwner {
		t.Errorf("last enabled owner disabling themselves: err = %v, want last_owner", err)
	}
}

func TestResetPersonTOTP(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "Acme", "mchA")
	now := time.Now().UTC()
	s.SetClock(func() time.Time { return now })
	owner := mustOwner(t, s)
	mgr := MustPerson(t, s, "mgr@example.com", false, map[string]string{"mchA": models.RoleManager})
	sup := MustPerson(t, s, "sup@example.com", false, map[string]string{"mchA": models.RoleSupport})
	_, codes := MustTOTP(t, s, sup, now)
	policy := models.SessionPolicy{Idle: time.Hour, Absolute: 12 * time.Hour}
	var tokens []string
	for range 2 {
		token, _, err := s.CreateSession(ctx, sup.ID, "10.0.0.1", "test", policy)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, token)
	}

	p, err := s.ResetPersonTOTP(ctx, models.ActorOf(owner, "", "", ""), sup.ID)
	if err != nil || p.ID != sup.ID || p.TOTPEnabledAt != nil {
		t.Fatalf("ResetPersonTOTP = %+v, %v", p, err)
	}
	got, _ := s.FindUser(ctx, sup.ID)
	if got.TOTPEnabledAt != nil || got.TOTPSecret != nil {
		t.Errorf("two-factor still on after a reset: %+v", got)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, sup.ID); n != 0 {
		t.Errorf("%d recovery codes left after a reset", n)
	}
	for i, token := range tokens {
		if _, _, err := s.LookupSession(ctx, token, policy); !errors.Is(err, models.ErrSessionEnded) {
			t.Errorf("session %d after a two-factor reset: err = %v, want ErrSessionEnded", i, err)
		}
	}
	if _, _, err := s.VerifySecondFactor(ctx, sup.ID, codes[0], "10.0.0.1", models.DefaultLoginPolicy); err == nil {
		t.Errorf("a recovery code passed after the reset")
	}
	if _, err := s.Authenticate(ctx, "sup@example.com", "a long test password", "10.0.0.1", models.DefaultLoginPolicy); err != nil {
		t.Errorf("the password alone after the reset: %v", err)
	}
	// Nothing to reset: a conflict, not a second audit-worthy reset.
	if _, err := s.ResetPersonTOTP(ctx, models.ActorOf(owner, "", "", ""), sup.ID); models.ErrorCode(err) != models.ECONFLICT {
		t.Errorf("reset when off: err = %v, want ECONFLICT", err)
	}
	// A manager resets someone they manage; nobody resets their own here.
	later := now.Add(time.Minute)
	s.SetClock(func() time.Time { return later })
	MustTOTP(t, s, sup, later)
	if _, err := s.ResetPersonTOTP(ctx, models.ActorOf(mgr, "", "", ""), sup.ID); err != nil {
		t.Errorf("manager resetting support's two-factor: %v", err)
	}
	MustTOTP(t, s, owner, later)
	if _, err := s.ResetPersonTOTP(ctx, models.ActorOf(owner, "", "", ""), owner.ID); reasonOf(err, "person") != models.ReasonSelfTOTPReset {
		t.Errorf("resetting one's own two-factor: err = %v, want self_totp_reset", err)
	}
	if u, _ := s.FindUser(ctx, owner.ID); u.TOTPEnabledAt == nil {
		t.Errorf("a refused self reset turned two-factor off")
	}
}
