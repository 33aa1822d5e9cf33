package models_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ksherdash/ksherdash/models"
)

// granted is the permission matrix as the product states it, written out
// here on its own so that a change to the matrix in code is a change to
// this table too.
var granted = map[string][]models.Action{
	models.RoleOwner: models.Actions,
	models.RoleManager: {models.ActView, models.ActSearch, models.ActRefreshOrder, models.ActViewSettlements, models.ActExport,
		models.ActCreateLink, models.ActCancelLink, models.ActRefund, models.ActViewEvents, models.ActResync, models.ActViewAudit,
		models.ActManagePeople},
	models.RoleFinance: {models.ActView, models.ActSearch, models.ActRefreshOrder, models.ActViewSettlements, models.ActExport,
		models.ActCreateLink, models.ActCancelLink, models.ActRefund, models.ActViewEvents, models.ActResync},
	models.RoleSupport: {models.ActView, models.ActSearch, models.ActRefreshOrder, models.ActCreateLink, models.ActRefund},
	models.RoleViewer:  {models.ActView, models.ActSearch, models.ActViewSettlements},
}

// TestAccessCan asks every role, for every action, about a mid the person
// holds, a mid they do not (foreign), AllMids and no mid at all: the role
// decides on a held mid, a foreign mid allows nothing, AllMids allows what
// some held mid allows (owners: everything), and manage_accounts is the
// owners' alone, also for someone whose membership row names the owner
// role without their being an owner.
func TestAccessCan(t *testing.T) {
	const own, foreign = "mch1", "mch9"
	for _, role := range models.Roles {
		for _, owner := range []bool{false, true} {
			if owner && role != models.RoleOwner {
				continue // owners hold every mid as RoleOwner
			}
			acc := models.Access{Owner: owner, Mids: []models.MidAccess{{Mid: models.Mid{Mid: own}, Role: role}}}
			for _, a := range models.Actions {
				inMatrix := slices.Contains(granted[role], a)
				if a == models.ActManageAccounts {
					inMatrix = owner
				}
				for _, tt := range []struct {
					mid  string
					want bool
				}{
					{own, inMatrix},
					{foreign, inMatrix && a == models.ActManageAccounts}, // account-wide: no mid needed
					{models.AllMids, inMatrix || owner},
					{"", inMatrix && a == models.ActManageAccounts},
				} {
					if got := acc.Can(tt.mid, a); got != tt.want {
						t.Errorf("%s (owner %v) Can(%q, %s) = %v, want %v", role, owner, tt.mid, a, got, tt.want)
					}
				}
				wantMids := []string{}
				if inMatrix {
					wantMids = []string{own}
				}
				if got := acc.MidsWith(a); !slices.Equal(got, wantMids) {
					t.Errorf("%s (owner %v) MidsWith(%s) = %v, want %v", role, owner, a, got, wantMids)
				}
			}
		}
	}
}

// A person with several mids: MidsWith lists exactly those whose role has
// the action, in order; Held and Role find a mid; nobody with no mids may
// do anything anywhere, except an owner before the first account exists.
func TestAccessMidsWith(t *testing.T) {
	acc := models.Access{Mids: []models.MidAccess{
		{Mid: models.Mid{Mid: "mchA"}, Role: models.RoleViewer},
		{Mid: models.Mid{Mid: "mchB"}, Role: models.RoleManager},
		{Mid: models.Mid{Mid: "mchC"}, Role: models.RoleFinance},
		{Mid: models.Mid{Mid: "mchD"}, Role: models.RoleOwner}, // a membership row, not an owner
	}}
	for _, tt := range []struct {
		name   string
		action models.Action
		want   []string
	}{
		{"everyone views", models.ActView, []string{"mchA", "mchB", "mchC", "mchD"}},
		{"re-sync: finance and up", models.ActResync, []string{"mchB", "mchC", "mchD"}},
		{"audit: managers and up", models.ActViewAudit, []string{"mchB", "mchD"}},
		{"accounts: owners only", models.ActManageAccounts, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := acc.MidsWith(tt.action); !slices.Equal(got, tt.want) {
				t.Errorf("MidsWith(%s) = %v, want %v", tt.action, got, tt.want)
			}
		})
	}
	if acc.Can("mchD", models.ActManageAccounts) || acc.Can(models.AllMids, models.ActManageAccounts) {
		t.Error("an owner membership row gives manage_accounts")
	}
	if m := acc.Held("mchC"); m == nil || m.Role != models.RoleFinance || acc.Role("mchC") != models.RoleFinance {
		t.Errorf("Held(mchC) = %+v, Role = %q", m, acc.Role("mchC"))
	}
	if acc.Held("mchZ") != nil || acc.Role("mchZ") != "" {
		t.Error("a mid not held is found")
	}

	var nobody models.Access
	if nobody.Can(models.AllMids, models.ActView) || nobody.MidsWith(models.ActView) == nil {
		t.Errorf("no mids: Can(all, view) = true or MidsWith = nil")
	}
	first := models.Access{Owner: true}
	if !first.Can(models.AllMids, models.ActManagePeople) || !first.Can("", models.ActManageAccounts) || first.Can("mchA", models.ActView) {
		t.Error("an owner without mids: want people and accounts, no mid")
	}
}

// Store.Access names the owner flag and the role per mid: every mid as
// owner for owners, memberships for the others.
func TestStoreAccess(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	MustAccount(t, s, "A", "mchA1", "mchA2")
	owner := mustOwner(t, s)
	sup := MustPerson(t, s, "sup@example.com", false, map[string]string{"mchA2": models.RoleSupport})
	for _, tt := range []struct {
		name  string
		user  *models.User
		owner bool
		mids  []string
		role  string
	}{
		{"owner", owner, true, []string{"mchA1", "mchA2"}, models.RoleOwner},
		{"support", sup, false, []string{"mchA2"}, models.RoleSupport},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acc, err := s.Access(ctx, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if acc.Owner != tt.owner || !slices.Equal(acc.MidsWith(models.ActView), tt.mids) || acc.Role(tt.mids[0]) != tt.role {
				t.Errorf("access = %+v, want owner %v on %v as %s", acc, tt.owner, tt.mids, tt.role)
			}
			if acc.Held(tt.mids[0]).TimeZone == "" {
				t.Error("no account zone")
			}
		})
	}
}
