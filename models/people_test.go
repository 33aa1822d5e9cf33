package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// MustPerson creates a person with the given grants (mid -> role).
func MustPerson(tb testing.TB, s *models.Store, email string, owner bool, grants map[string]string) *models.User {
	tb.Helper()
	n := models.NewUser{Email: email, Password: "a long test password", Role: models.RoleOwner}
	if !owner {
		n.Role = models.RoleViewer // replaced below, per mid
		n.Mids = []string{}
		for mid := range grants {
			n.Mids = append(n.Mids, mid)
		}
	}
	u, err := s.CreateUser(context.Background(), models.CommandLine(), n)
	if err != nil {
		tb.Fatal(err)
	}
	if len(grants) > 0 && !owner {
		var in models.PersonInput
		for mid, role := range grants {
			in.Grants = append(in.Grants, models.GrantInput{Mid: mid, Role: role})
		}
		if _, err := s.UpdatePerson(context.Background(), models.ActorOf(mustOwner(tb, s), "", "", ""), u.ID, in); err != nil {
			tb.Fatal(err)
		}
	}
	return u
}

// mustOwner returns an owner to act as, creating one the first time.
func mustOwner(tb testing.TB, s *models.Store) *models.User {
	tb.Helper()
	u, err := s.FindUserByEmail(context.Background(), "root-owner@example.com")
	if err == nil {
		return u
	}
	u, err = s.CreateUser(context.Background(), models.CommandLine(), models.NewUser{Email: "root-owner@example.com", Password: "a long test password", Role: models.RoleOwner})
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func reasonOf(err error, field string) string {
	if bad := models.AsInvalidInput(err); bad != nil {
		return bad.Problems[field].ID
	}
	return ""
}

func emails(ps []models.Person) map[string][]models.Grant {
	out := map[string][]models.Grant{}
	for _, p := range ps {
		out[p.Email] = p.Grants
	}
	return out
}

// A manager sees the people holding one of the mids they manage, only
// those memberships, and nobody else (owners included).
func TestManagerSeesOnlyPeopleOnTheirMids(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "Acme", "mchA", "mchB", "mchC")
	owner := mustOwner(t, s)
	mgr := MustPerson(t, s, "mgr@example.com", false, map[string]string{"mchA": models.RoleManager, "mchB": models.RoleViewer})
	both := MustPerson(t, s, "both@example.com", false, map[string]string{"mchA": models.RoleFinance, "mchC": models.RoleSupport})
	onlyB := MustPerson(t, s, "onlyb@example.com", false, map[string]string{"mchB": models.RoleFinance})
	mine := MustPerson(t, s, "mine@example.com", false, map[string]string{"mchA": models.RoleSupport})

	ps, err := s.People(ctx, mgr)
	if err != nil {
		t.Fatal(err)
	}
	got := emails(ps)
	for _, want := range []string{"mgr@example.com", "both@example.com", "mine@example.com"} {
		if _, ok := got[want]; !ok {
			t.Errorf("manager does not see %s", want)
		}
	}
	for _, hidden := range []string{"onlyb@example.com", owner.Email} {
		if _, ok := got[hidden]; ok {
			t.Errorf("manager sees %s, who holds none of their mids", hidden)
		}
	}
	if g := got["both@example.com"]; len(g) != 1 || g[0].Mid != "mchA" {
		t.Errorf("manager sees grants %+v of both@, want only mchA", g)
	}
	if g := got["mgr@example.com"]; len(g) != 1 || g[0].Mid != "mchA" {
		t.Errorf("manager sees own grants %+v, want only mchA (viewer on mchB is not theirs to manage)", g)
	}
	for _, p := range ps {
		// mgr@ also holds mchB, which they view but do not manage.
		if want := p.Email == "mine@example.com"; p.Manageable != want {
			t.Errorf("%s manageable = %v, want %v", p.Email, p.Manageable, want)
		}
	}
	for _, id := range []int64{onlyB.ID, owner.ID, 999999} {
		if _, err := s.Person(ctx, mgr, id); models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("Person(%d) as manager: err = %v, want ENOTFOUND", id, err)
		}
	}
	if p, err := s.Person(ctx, mgr, both.ID); err != nil || len(p.Grants) != 1 {
		t.Errorf("Person(both) = %+v, %v", p, err)
	}
	// Owners see everyone, with every grant.
	ps, err = s.People(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if got := emails(ps); len(got) != 5 || len(got["both@example.com"]) != 2 {
		t.Errorf("owner sees %v", got)
	}
	grantable, err := s.GrantableMids(ctx, mgr)
	if err != nil || len(grantable) != 1 || grantable[0].Mid != "mchA" {
		t.Errorf("GrantableMids(manager) = %+v, %v; want [mchA]", grantable, err)
	}
	if p, err := s.Person(ctx, mgr, mine.ID); err != nil || !p.Manageable {
		t.Errorf("Person(mine) = %+v, %v; want manageable", p, err)
	}
}

func TestCreatePersonRules(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "Acme", "mchA", "mchB")
	if _, err := s.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "Yen", APIKind: models.APIVIP, BaseURL: "https://x.example",
		Mids: []models.Mid{{Mid: "mchJ", Currency: "JPY"}}}); err != nil {
		t.Fatal(err)
	}
	owner := mustOwner(t, s)
	mgr := MustPerson(t, s, "mgr@example.com", false, map[string]string{"mchA": models.RoleManager, "mchB": models.RoleSupport})
	count := func() int64 {
		n, err := s.CountUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	refused := []struct {
		name         string
		actor        *models.User
		in           models.PersonInput
		field, wants string
	}{
		{"mid the manager does not manage", mgr, models.PersonInput{Email: "x@example.com",
			Grants: []models.GrantInput{{Mid: "mchB", Role: models.RoleViewer}}}, "grants", models.ReasonMidNotGrantable},
		{"unknown mid", owner, models.PersonInput{Email: "x@example.com",
			Grants: []models.GrantInput{{Mid: "nope", Role: models.RoleViewer}}}, "grants", models.ReasonMidNotGrantable},
		{"manager making an owner", mgr, models.PersonInput{Email: "x@example.com", Owner: true,
			Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}}, "owner", models.ReasonOwnerOnly},
		{"owner role per mid", owner, models.PersonInput{Email: "x@example.com",
			Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleOwner}}}, "role_mchA", models.ReasonRoleInvalid},
		{"no role at all", owner, models.PersonInput{Email: "x@example.com"}, "grants", models.ReasonNoRole},
		{"bad email", owner, models.PersonInput{Email: "not an email",
			Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}}, "email", models.ReasonEmailInvalid},
		{"taken email", owner, models.PersonInput{Email: "MGR@example.com",
			Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}}, "email", models.ReasonEmailTaken},
		{"cap with too many decimals", owner, models.PersonInput{Email: "x@example.com",
			Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleSupport, RefundCap: "1.234"}}}, "cap_mchA", models.ReasonCapInvalid},
		{"negative cap", owner, models.PersonInput{Email: "x@example.com",
			Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleSupport, RefundCap: "-1"}}}, "cap_mchA", models.ReasonCapInvalid},
		{"yen cap with decimals", owner, models.PersonInput{Email: "x@example.com",
			Grants: []models.GrantInput{{Mid: "mchJ", Role: models.RoleSupport, RefundCap: "1.5"}}}, "cap_mchJ", models.ReasonCapInvalid},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, pw, err := s.CreatePerson(ctx, models.ActorOf(tt.actor, "", "", ""), tt.in)
			if got := reasonOf(err, tt.field); got != tt.wants {
				t.Errorf("err = %v (%s = %q), want %s = %s", err, tt.field, got, tt.field, tt.wants)
			}
			if models.ErrorCode(err) != models.EINVALID || pw != "" {
				t.Errorf("code = %s, password returned = %v", models.ErrorCode(err), pw != "")
			}
		})
	}
	if n := count(); n != before {
		t.Fatalf("refused creations changed the number of people: %d -> %d", before, n)
	}

	// A manager creates a support person on their mid, with limits.
	p, pw, err := s.CreatePerson(ctx, models.ActorOf(mgr, "", "", ""), models.PersonInput{Email: " sup@example.com ", Name: " Sup ",
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleSupport, RefundCap: "1,234.50", SameDayOnly: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "sup@example.com" || p.Name != "Sup" || !p.MustChangePassword || len(pw) < models.MinPasswordLength {
		t.Errorf("created %+v with a %d-character password", p.User, len(pw))
	}
	u, err := s.Authenticate(ctx, "sup@example.com", pw, "10.0.0.1", models.DefaultLoginPolicy)
	if err != nil {
		t.Fatalf("the one-time password does not work: %v", err)
	}
	acc, err := s.Access(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	access := acc.Mids
	if len(access) != 1 || access[0].Mid.Mid != "mchA" || access[0].Role != models.RoleSupport ||
		access[0].RefundCap == nil || *access[0].RefundCap != 123450 || !access[0].SameDayOnly {
		t.Errorf("access = %+v, want support on mchA capped at 123450 satang, same day only", access)
	}
	// Limits bind support only: for another role they are not kept. Yen
	// caps have no decimals.
	p, _, err = s.CreatePerson(ctx, models.ActorOf(owner, "", "", ""), models.PersonInput{Email: "fin@example.com", Grants: []models.GrantInput{
		{Mid: "mchA", Role: models.RoleFinance, RefundCap: "5", SameDayOnly: true},
		{Mid: "mchJ", Role: models.RoleSupport, RefundCap: "1,500"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range p.Grants {
		switch g.Mid {
		case "mchA":
			if g.RefundCap != nil || g.SameDayOnly {
				t.Errorf("finance grant kept support limits: %+v", g)
			}
		case "mchJ":
			if g.RefundCap == nil || *g.RefundCap != 1500 {
				t.Errorf("yen cap = %v, want 1500", g.RefundCap)
			}
		}
	}
	// Owners make owners.
	if p, _, err := s.CreatePerson(ctx, models.ActorOf(owner, "", "", ""), models.PersonInput{Email: "o2@example.com", Owner: true}); err != nil || !p.IsOwner {
		t.Errorf("owner creating an owner: %+v, %v", p, err)
	}
}

// A manager changes only people who work on their mids alone; someone who
// also works on another mid is theirs to see (that mid hidden), not to
// change.
func TestManagerUpdateKeepsOtherMids(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "Acme", "mchA", "mchB", "mchC")
	owner := mustOwner(t, s)
	mgr := MustPerson(t, s, "mgr@example.com", false, map[string]string{"mchA": models.RoleManager})
	both := MustPerson(t, s, "both@example.com", false, map[string]string{"mchA": models.RoleFinance, "mchC": models.RoleSupport})
	onlyA := MustPerson(t, s, "onlya@example.com", false, map[string]string{"mchA": models.RoleFinance})
	onlyC := MustPerson(t, s, "onlyc@example.com", false, map[string]string{"mchC": models.RoleFinance})

	grantsOf := func(u *models.User) map[string]string {
		p, err := s.Person(ctx, owner, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, g := range p.Grants {
			out[g.Mid] = g.Role
		}
		return out
	}
	_, err := s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), both.ID, models.PersonInput{Name: "Both",
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}})
	if models.ErrorCode(err) != models.EFORBIDDEN {
		t.Errorf("update a person who also works on another mid: err = %v, want EFORBIDDEN", err)
	}
	if g := grantsOf(both); g["mchA"] != models.RoleFinance || g["mchC"] != models.RoleSupport || len(g) != 2 {
		t.Errorf("a refused update changed grants: %v", g)
	}
	if p, _ := s.Person(ctx, owner, both.ID); p.Name != "" {
		t.Errorf("a refused update changed the name to %q", p.Name)
	}
	// Granting on a mid they do not manage is refused and changes nothing.
	_, err = s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), onlyA.ID, models.PersonInput{Name: "Changed",
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}, {Mid: "mchC", Role: models.RoleViewer}}})
	if reasonOf(err, "grants") != models.ReasonMidNotGrantable {
		t.Errorf("err = %v, want mid_not_grantable", err)
	}
	if g := grantsOf(onlyA); g["mchA"] != models.RoleFinance || len(g) != 1 {
		t.Errorf("a refused update changed grants: %v", g)
	}
	if p, _ := s.Person(ctx, owner, onlyA.ID); p.Name != "" {
		t.Errorf("a refused update changed the name to %q", p.Name)
	}
	// On their own mid the change goes through.
	ch, err := s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), onlyA.ID, models.PersonInput{Name: "A",
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Before.Grants) != 1 || ch.Before.Grants[0].Role != models.RoleFinance || len(ch.After.Grants) != 1 || ch.After.Grants[0].Role != models.RoleViewer {
		t.Errorf("change = %+v -> %+v", ch.Before.Grants, ch.After.Grants)
	}
	if g := grantsOf(onlyA); g["mchA"] != models.RoleViewer || len(g) != 1 {
		t.Errorf("grants after the manager's update = %v, want viewer on mchA", g)
	}
	// Whole-person actions need every mid: refused for both@ (holds mchC).
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(mgr, "", "", ""), both.ID, true); models.ErrorCode(err) != models.EFORBIDDEN {
		t.Errorf("disable a person on another mid: err = %v, want EFORBIDDEN", err)
	}
	if _, _, err := s.ResetPersonPassword(ctx, models.ActorOf(mgr, "", "", ""), both.ID); models.ErrorCode(err) != models.EFORBIDDEN {
		t.Errorf("reset a person on another mid: err = %v, want EFORBIDDEN", err)
	}
	// Someone the manager cannot see: not found, whatever the action.
	if _, err := s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), onlyC.ID, models.PersonInput{}); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("update invisible person: err = %v, want ENOTFOUND", err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(mgr, "", "", ""), onlyC.ID, true); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("disable invisible person: err = %v, want ENOTFOUND", err)
	}
	if _, err := s.UpdatePerson(ctx, models.ActorOf(mgr, "", "", ""), owner.ID, models.PersonInput{Owner: false}); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("manager updating an owner: err = %v, want ENOTFOUND", err)
	}
	// Removing the manager's role on their last mid takes away their power at once.
	if _, err := s.UpdatePerson(ctx, models.ActorOf(owner, "", "", ""), mgr.ID, models.PersonInput{Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleViewer}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Person(ctx, mgr, both.ID); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("a demoted manager still sees people: %v", err)
	}
}

func TestLastOwnerIsKept(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "Acme", "mchA")
	o1 := mustOwner(t, s)
	if _, err := s.UpdatePerson(ctx, models.ActorOf(o1, "", "", ""), o1.ID, models.PersonInput{Owner: false,
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleManager}}}); reasonOf(err, "person") != models.ReasonLastOwner {
		t.Errorf("last owner demoting themselves: err = %v, want last_owner", err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(o1, "", "", ""), o1.ID, true); reasonOf(err, "person") != models.ReasonLastOwner {
		t.Errorf("last owner disabling themselves: err = %v, want last_owner", err)
	}
	if u, _ := s.FindUser(ctx, o1.ID); !u.IsOwner || u.DisabledAt != nil {
		t.Fatalf("refusals changed the owner: %+v", u)
	}
	// With a second owner, one may step down; then the other is the last.
	p2, _, err := s.CreatePerson(ctx, models.ActorOf(o1, "", "", ""), models.PersonInput{Email: "o2@example.com", Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePerson(ctx, models.ActorOf(o1, "", "", ""), o1.ID, models.PersonInput{Owner: false,
		Grants: []models.GrantInput{{Mid: "mchA", Role: models.RoleManager}}}); err != nil {
		t.Fatalf("demote with another owner: %v", err)
	}
	o2 := &p2.User
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(o2, "", "", ""), o2.ID, true); reasonOf(err, "person") != models.ReasonLastOwner {
		t.Errorf("the new last owner disabling themselves: err = %v", err)
	}
	// A disabled owner does not count.
	p3, _, err := s.CreatePerson(ctx, models.ActorOf(o2, "", "", ""), models.PersonInput{Email: "o3@example.com", Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(o2, "", "", ""), p3.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(o2, "", "", ""), o2.ID, true); reasonOf(err, "person") != models.ReasonLastOwner {
		t.Errorf("last enabled owner (another one disabled): err = %v", err)
	}
}

// Two owners disabling each other at the same moment: one wins, and an
// enabled owner remains.
func TestOwnersDisablingEachOtherConcurrently(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	o1 := mustOwner(t, s)
	p2, _, err := s.CreatePerson(ctx, models.ActorOf(o1, "", "", ""), models.PersonInput{Email: "o2@example.com", Owner: true})
	if err != nil {
		t.Fatal(err)
	}
	o2 := &p2.User
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]*models.User{{o1, o2}, {o2, o1}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.SetPersonDisabled(ctx, models.ActorOf(pair[0], "", "", ""), pair[1].ID, true)
			}()
		}
		wg.Wait()
		enabled := 0
		for _, u := range []*models.User{o1, o2} {
			if got, _ := s.FindUser(ctx, u.ID); got.DisabledAt == nil {
				enabled++
			}
		}
		if enabled != 1 {
			t.Fatalf("round %d: %d enabled owners left (errors %v)", round, enabled, errs)
		}
		for _, err := range errs {
			if err != nil && models.ErrorCode(err) == models.EINTERNAL {
				t.Errorf("round %d: internal error %v", round, err)
			}
		}
		// Re-enable both through the winner for the next round.
		for _, u := range []*models.User{o1, o2} {
			if _, err := s.SetPersonDisabled(ctx, models.ActorOf(u, "", "", ""), o1.ID, false); err == nil {
				_, _ = s.SetPersonDisabled(ctx, models.ActorOf(u, "", "", ""), o2.ID, false)
				break
			}
		}
	}
}

func TestDisableAndResetEndSessions(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "Acme", "mchA")
	owner := mustOwner(t, s)
	p := MustPerson(t, s, "sup@example.com", false, map[string]string{"mchA": models.RoleSupport})
	policy := models.SessionPolicy{Idle: time.Hour, Absolute: 12 * time.Hour}
	token, _, err := s.CreateSession(ctx, p.ID, "10.0.0.1", "test", policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(owner, "", "", ""), p.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LookupSession(ctx, token, policy); !errors.Is(err, models.ErrSessionEnded) {
		t.Errorf("session of a disabled person: err = %v, want ErrSessionEnded", err)
	}
	if _, err := s.Authenticate(ctx, "sup@example.com", "a long test password", "10.0.0.1", models.DefaultLoginPolicy); err == nil {
		t.Errorf("a disabled person signed in")
	}
	if _, err := s.SetPersonDisabled(ctx, models.ActorOf(owner, "", "", ""), p.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LookupSession(ctx, token, policy); !errors.Is(err, models.ErrSessionEnded) {
		t.Errorf("enabling brought back an old session: err = %v", err)
	}

	token, _, err = s.CreateSession(ctx, p.ID, "10.0.0.1", "test", policy)
	if err != nil {
		t.Fatal(err)
	}
	got, pw, err := s.ResetPersonPassword(ctx, models.ActorOf(owner, "", "", ""), p.ID)
	if err != nil || got.ID != p.ID {
		t.Fatal(err)
	}
	if _, _, err := s.LookupSession(ctx, token, policy); !errors.Is(err, models.ErrSessionEnded) {
		t.Errorf("session after a password reset: err = %v, want ErrSessionEnded", err)
	}
	if _, err := s.Authenticate(ctx, "sup@example.com", "a long test password", "10.0.0.2", models.DefaultLoginPolicy); err == nil {
		t.Errorf("the old password still works")
	}
	u, err := s.Authenticate(ctx, "sup@example.com", pw, "10.0.0.2", models.DefaultLoginPolicy)
	if err != nil || !u.MustChangePassword {
		t.Errorf("new one-time password: %+v, %v (must change it)", u, err)
	}
	if _, _, err := s.ResetPersonPassword(ctx, models.ActorOf(owner, "", "", ""), owner.ID); reasonOf(err, "person") != models.ReasonSelfReset {
		t.Errorf("resetting one's own password: err = %v, want self_reset", err)
	}
}
