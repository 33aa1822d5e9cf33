package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/handlers"
	"github.com/ksherdash/ksherdash/models"
)

// routes registers every route of the dashboard, each with the permission it
// needs: this table plus models' role matrix decide who may do what.
// Mutations are POST so that plain forms work without JavaScript.
func routes(r *router, h *handlers.Handler) {
	// Public
	r.public(fiber.MethodGet, "/login", h.LoginShow)
	r.public(fiber.MethodPost, "/login", h.LoginCreate)
	r.public(fiber.MethodPost, "/login/2fa", h.LoginTwoFactorCreate)
	r.public(fiber.MethodPost, "/lang", h.LanguageSet) // the footer's language buttons, signed in or not

	// Ksher's notifications: public, CSRF-exempt (/hooks/), each verified by
	// its signature with the keys of the account named in the URL.
	r.public(fiber.MethodPost, "/hooks/ksher/v3/:account", h.HookV3Create)
	r.public(fiber.MethodGet, "/hooks/ksher/vip/:account", h.HookVIPShow)

	// Signed in, about oneself
	r.signedIn(fiber.MethodGet, "/", h.HomeShow)
	r.signedIn(fiber.MethodPost, "/logout", h.LogoutCreate)
	r.signedIn(fiber.MethodGet, "/account/password", h.PasswordShow)
	r.signedIn(fiber.MethodPost, "/account/password", h.PasswordUpdate)
	r.signedIn(fiber.MethodGet, "/account/security", h.SecurityShow)
	r.signedIn(fiber.MethodPost, "/account/security/sessions/revoke", h.SecuritySessionRevoke)
	r.signedIn(fiber.MethodPost, "/account/security/sessions/revoke-others", h.SecuritySessionsRevokeOthers)
	r.signedIn(fiber.MethodPost, "/account/security/totp", h.SecurityTOTPBegin)
	r.signedIn(fiber.MethodPost, "/account/security/totp/confirm", h.SecurityTOTPConfirm)
	r.signedIn(fiber.MethodPost, "/account/security/totp/disable", h.SecurityTOTPDisable)

	// Merchant accounts and their credentials (owners only: ActManageAccounts)
	r.global(fiber.MethodGet, "/accounts", models.ActManageAccounts, h.AccountList)
	r.global(fiber.MethodGet, "/accounts/new", models.ActManageAccounts, h.AccountNew)
	r.global(fiber.MethodPost, "/accounts", models.ActManageAccounts, h.AccountCreate)
	r.global(fiber.MethodGet, "/accounts/:id", models.ActManageAccounts, h.AccountShow)
	r.global(fiber.MethodPost, "/accounts/:id", models.ActManageAccounts, h.AccountUpdate)
	r.global(fiber.MethodPost, "/accounts/:id/test", models.ActManageAccounts, h.AccountCheck)
	r.global(fiber.MethodPost, "/accounts/:id/refunds", models.ActManageAccounts, h.AccountRefundsUpdate)

	// Audit log (owners: everything; others: the mids where they may view it)
	r.global(fiber.MethodGet, "/audit", models.ActViewAudit, h.AuditList)

	// People (owners: everyone; managers: the people on their mids, rules in models)
	r.global(fiber.MethodGet, "/people", models.ActManagePeople, h.PeopleList)
	r.global(fiber.MethodGet, "/people/new", models.ActManagePeople, h.PeopleNew)
	r.global(fiber.MethodPost, "/people", models.ActManagePeople, h.PeopleCreate)
	r.global(fiber.MethodGet, "/people/:id", models.ActManagePeople, h.PersonShow)
	r.global(fiber.MethodPost, "/people/:id", models.ActManagePeople, h.PersonUpdate)
	r.global(fiber.MethodPost, "/people/:id/disable", models.ActManagePeople, h.PersonDisable)
	r.global(fiber.MethodPost, "/people/:id/enable", models.ActManagePeople, h.PersonEnable)
	r.global(fiber.MethodPost, "/people/:id/password", models.ActManagePeople, h.PersonPasswordReset)
	r.global(fiber.MethodPost, "/people/:id/totp/reset", models.ActManagePeople, h.PersonTOTPReset)

	// One mid (/m/{mid}/...) or every mid the person may see (/m/all/...)
	r.mid(fiber.MethodGet, "/m/:mid", models.ActView, allowAll, h.DashboardShow)

	// Search and orders: the search box, lists with saved views, detail and refresh
	r.mid(fiber.MethodGet, "/m/:mid/search", models.ActSearch, allowAll, h.SearchShow)
	r.mid(fiber.MethodGet, "/m/:mid/orders", models.ActView, allowAll, h.OrderList)
	r.mid(fiber.MethodGet, "/m/:mid/orders/:id", models.ActView, allowAll, h.OrderShow)
	r.mid(fiber.MethodPost, "/m/:mid/orders/:id/refresh", models.ActRefreshOrder, oneMid, h.OrderRefresh)
	r.mid(fiber.MethodPost, "/m/:mid/orders/:id/refunds", models.ActRefund, oneMid, h.RefundCreate)
	r.mid(fiber.MethodPost, "/m/:mid/orders/views", models.ActView, allowAll, h.SavedViewCreate)
	r.mid(fiber.MethodPost, "/m/:mid/orders/views/:id/delete", models.ActView, allowAll, h.SavedViewDelete)

	// Refunds: the lists, each refund's page, deciding an unknown one by hand
	r.mid(fiber.MethodGet, "/m/:mid/refunds", models.ActView, allowAll, h.RefundList)
	r.mid(fiber.MethodGet, "/m/:mid/refunds/:id", models.ActView, allowAll, h.RefundShow)
	r.mid(fiber.MethodPost, "/m/:mid/refunds/:id/resolve", models.ActRefund, oneMid, h.RefundResolve)

	// Operations: the notification event log, the daily sync, drift
	r.mid(fiber.MethodGet, "/m/:mid/events", models.ActViewEvents, allowAll, h.EventList)
	r.mid(fiber.MethodGet, "/m/:mid/sync", models.ActViewEvents, allowAll, h.SyncShow)
	r.mid(fiber.MethodPost, "/m/:mid/sync", models.ActResync, allowAll, h.SyncCreate)
	r.mid(fiber.MethodGet, "/m/:mid/drift", models.ActViewEvents, allowAll, h.DriftShow)
	r.mid(fiber.MethodPost, "/m/:mid/drift/resync", models.ActResync, allowAll, h.DriftResyncAll)
	r.mid(fiber.MethodPost, "/m/:mid/drift/:id/resync", models.ActResync, allowAll, h.DriftResyncOne)
}

// routeKind says how a route is guarded.
type routeKind int

const (
	kindPublic   routeKind = iota // anyone
	kindSignedIn                  // any signed-in person
	kindGlobal                    // owners, or anyone holding Action on at least one mid
	kindMid                       // a :mid the person holds with a role that has Action
)

const (
	allowAll = true  // the route also serves /m/all
	oneMid   = false // the route needs one real mid
)

// Rule is one row of the route table.
type Rule struct {
	Method   string
	Path     string
	Kind     routeKind
	Action   models.Action
	AllowAll bool
}

// router registers routes and records each one's rule.
type router struct {
	app   *fiber.App
	m     *middleware
	rules []Rule
}

func (r *router) add(rule Rule, h fiber.Handler) {
	r.rules = append(r.rules, rule)
	handlers := []fiber.Handler{}
	if rule.Kind != kindPublic {
		handlers = append(handlers, r.m.requireUser)
	}
	if rule.Kind == kindGlobal || rule.Kind == kindMid {
		handlers = append(handlers, r.m.authorize(rule))
	}
	r.app.Add(rule.Method, rule.Path, append(handlers, h)...)
}

func (r *router) public(method, path string, h fiber.Handler) {
	r.add(Rule{Method: method, Path: path, Kind: kindPublic}, h)
}

func (r *router) signedIn(method, path string, h fiber.Handler) {
	r.add(Rule{Method: method, Path: path, Kind: kindSignedIn}, h)
}

func (r *router) global(method, path string, a models.Action, h fiber.Handler) {
	r.add(Rule{Method: method, Path: path, Kind: kindGlobal, Action: a}, h)
}

func (r *router) mid(method, path string, a models.Action, all bool, h fiber.Handler) {
	r.add(Rule{Method: method, Path: path, Kind: kindMid, Action: a, AllowAll: all}, h)
}
