package models

import "slices"

// Action is something a person may or may not do on a mid. The matrix below
// is the one place that decides; Access applies it to a person, and web
// enforces it per route.
type Action string

// Actions, from reading to managing.
const (
	ActView            Action = "view"             // the mid's dashboard, orders, order detail
	ActSearch          Action = "search"           // the search box
	ActRefreshOrder    Action = "refresh_order"    // ask Ksher again about an order
	ActViewSettlements Action = "view_settlements" // settlements and reports
	ActExport          Action = "export"           // order exports
	ActCreateLink      Action = "create_link"      // payment links and counter payments
	ActCancelLink      Action = "cancel_link"
	ActRefund          Action = "refund"
	ActViewEvents      Action = "view_events" // notification event log, sync progress, drift
	ActResync          Action = "resync"      // re-sync from the drift page
	ActViewAudit       Action = "view_audit"
	ActManagePeople    Action = "manage_people"
	// ActManageAccounts is account-wide: merchant accounts and credentials.
	// Only owners have it (ownerOnly).
	ActManageAccounts Action = "manage_accounts"
)

// Actions lists every action, for tests and documentation.
var Actions = []Action{ActView, ActSearch, ActRefreshOrder, ActViewSettlements, ActExport, ActCreateLink,
	ActCancelLink, ActRefund, ActViewEvents, ActResync, ActViewAudit, ActManagePeople, ActManageAccounts}

// matrix: role -> actions it may take on a mid it holds. Owners hold every
// mid as RoleOwner (Store.Access).
var matrix = map[string][]Action{
	RoleOwner: Actions,
	RoleManager: {ActView, ActSearch, ActRefreshOrder, ActViewSettlements, ActExport, ActCreateLink, ActCancelLink,
		ActRefund, ActViewEvents, ActResync, ActViewAudit, ActManagePeople},
	RoleFinance: {ActView, ActSearch, ActRefreshOrder, ActViewSettlements, ActExport, ActCreateLink, ActCancelLink,
		ActRefund, ActViewEvents, ActResync},
	// Support: answers customers, makes links, refunds within its limits.
	RoleSupport: {ActView, ActSearch, ActRefreshOrder, ActCreateLink, ActRefund},
	RoleViewer:  {ActView, ActSearch, ActViewSettlements},
}

// ownerOnly are the account-wide actions of the matrix: about the merchant
// accounts themselves, not one mid, so no role held on a mid gives them;
// only being an owner (User.IsOwner) does. A membership row naming the
// owner role on one mid does not make its holder an owner.
var ownerOnly = map[Action]bool{ActManageAccounts: true}

// RoleCan reports whether role permits action on a mid held with it: the
// matrix itself, for the rules of this package and for tests. Whether a
// person may do something is Access.Can.
func RoleCan(role string, a Action) bool {
	return slices.Contains(matrix[role], a)
}

// Managing people. Who may change whom is decided here, with the matrix;
// the people store (people.go) applies it to every change it makes.

// rank orders roles for managing people: owner > manager > finance,
// support, viewer (those three are peers).
func rank(role string) int {
	switch role {
	case RoleOwner:
		return 3
	case RoleManager:
		return 2
	case RoleFinance, RoleSupport, RoleViewer:
		return 1
	}
	return 0
}

// Outranks reports whether someone holding role actor on a mid may manage
// someone holding role target on the same mid: actor's role must have
// ActManagePeople and rank strictly higher. A manager manages finance,
// support and viewers there, never another manager.
func Outranks(actor, target string) bool {
	return RoleCan(actor, ActManagePeople) && rank(actor) > rank(target)
}

// CanGrant reports whether someone holding role actor on a mid may give
// role on it: only roles strictly below their own (a manager gives finance,
// support or viewer; owners any of GrantRoles).
func CanGrant(actor, role string) bool {
	return slices.Contains(GrantRoles, role) && Outranks(actor, role)
}

// GrantableRoles lists the roles someone holding role actor on a mid may
// give on it, most powerful first.
func GrantableRoles(actor string) []string {
	var out []string
	for _, r := range GrantRoles {
		if CanGrant(actor, r) {
			out = append(out, r)
		}
	}
	return out
}

// MayManage is the rule for acting on a person: changing their roles,
// disabling or enabling them, resetting their password or two-factor
// sign-in. An owner may manage anyone (the store still refuses a change
// that would leave no enabled owner). Anyone else may manage a person only
// when that person is not an owner, holds at least one mid, and on every
// mid they hold the actor's role there (actorRoles: mid -> role) outranks
// theirs. So a manager cannot touch a peer manager, an owner, themselves,
// or someone who also works on a mid the manager does not hold.
func MayManage(actorIsOwner bool, actorRoles map[string]string, targetIsOwner bool, targetGrants []Grant) bool {
	if actorIsOwner {
		return true
	}
	if targetIsOwner || len(targetGrants) == 0 {
		return false
	}
	for _, g := range targetGrants {
		if !Outranks(actorRoles[g.Mid], g.Role) {
			return false
		}
	}
	return true
}
