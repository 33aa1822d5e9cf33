package models

import "slices"

// Action is something a person may or may not do on a mid. The matrix below
// is the one place that decides; web enforces it per route.
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
	// Only owners have it.
	ActManageAccounts Action = "manage_accounts"
)

// Actions lists every action, for tests and documentation.
var Actions = []Action{ActView, ActSearch, ActRefreshOrder, ActViewSettlements, ActExport, ActCreateLink,
	ActCancelLink, ActRefund, ActViewEvents, ActResync, ActViewAudit, ActManagePeople, ActManageAccounts}

// matrix: role -> actions it may take on a mid it holds.
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

// Can reports whether role permits action.
func Can(role string, a Action) bool {
	return slices.Contains(matrix[role], a)
}
