// Package handlers holds one small HTTP handler per file (<noun>_<verb>.go):
// parse, validate, act through models or gateway, render a view or redirect.
// Rules live in models; the route table and middleware live in web.
package handlers

import (
	"context"
	"log/slog"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// Translators gives the translator for a request's language.

type Translators interface {
	// For returns the translator for the person's choice (may be ""), else
	// the best match of the Accept-Language header.
	For(choice, acceptLanguage string) views.Translator
}

// Config is the part of the configuration the handlers use.

type Config struct {
	Sandbox       bool
	Sessions      models.SessionPolicy
	Logins        models.LoginPolicy
	SessionCookie string
	SecureCookies bool
	Location      *time.Location // TIME_ZONE: for what is about no mid, and a mid whose account names no zone known here
	LoginTokenKey []byte         // signs the code form of two-factor sign-ins (login_2fa.go)
	BaseURL       string         // the public URL (BASE_URL): vip webhooks are signed over it (hook_vip.go)
}

// Handler carries the dependencies of every handler.

type Handler struct {
	log  *slog.Logger
	i18n Translators
	cfg  Config
	// What the pages read and change, each interface declared beside the
	// pages that use it (models.Store satisfies them all).
	signIns    SignInStore      // login.go
	security   SecurityStore    // security_show.go
	people     PeopleStore      // people_list.go
	accounts   AccountStore     // account_list.go
	auditLog   AuditReader      // audit_list.go
	orderReads OrderReader      // order_list.go
	savedViews SavedViewStore   // saved_view.go
	ops        OperationsReader // event_list.go
	scopes     ScopeStore       // scope.go
	health     Pinger           // health.go
	// orderCache asks Ksher about orders under the cache rules.
	orderCache OrderCache
	// hooks receives Ksher's notifications.
	hooks HookReceiver
	// accountTests tests merchant accounts' connections to Ksher.
	accountTests AccountTester
	// syncs queues days of the daily sync; resyncs asks Ksher again about
	// the drift page's orders (their work runs as River jobs).
	syncs   DayPuller
	resyncs DriftResyncer
	// refunds makes refunds (nil: no refund panel); resolver decides
	// unknown ones; refundReads lists them.
	refunds     RefundDesk
	resolver    RefundResolver
	refundReads RefundReader
	// refundSettings: a vip account's partial-refund setting.
	refundSettings AccountRefundSettings
}

// Services are the models services and stores the handlers call.

type Services struct {
	SignIns    SignInStore
	Security   SecurityStore
	People     PeopleStore
	Accounts   AccountStore
	AuditLog   AuditReader
	OrderReads OrderReader
	SavedViews SavedViewStore
	Ops        OperationsReader
	Scopes     ScopeStore
	Health     Pinger

	Orders       OrderCache
	Hooks        HookReceiver
	AccountTests AccountTester
	Sync         DayPuller     // sync_create.go
	Resyncs      DriftResyncer // drift_resync.go
	Refunds      RefundService // refund_panel.go, refund_resolve.go
	RefundReads  RefundReader  // refund_list.go
	// AccountRefunds: a vip account's partial-refund setting (account_refunds.go).
	AccountRefunds AccountRefundSettings
}

// RefundService is models.Refunds as the refund pages use it.
type RefundService interface {
	RefundDesk
	RefundResolver
}

// OrderCache is what the order pages, the search and the hooks need from

// models.Orders.

type OrderCache interface {
	Refresh(ctx context.Context, o *models.Order, force bool) (*models.Order, models.UpstreamNote)
	StartSearch(who models.Actor) *models.LiveSearch
	FindLive(ctx context.Context, a models.MidAccess, id string, search *models.LiveSearch) models.UpstreamNote
	NextAskAt(ctx context.Context, o *models.Order) (time.Time, error)
	Clients() *models.GatewayClients
}

// New returns a Handler. The order cache's service in svc is built on the

// process's one cache of Ksher clients (shared with the background workers,

// so that each client's in-process 10-second query guard covers every

// caller).

func New(log *slog.Logger, tr Translators, cfg Config, svc Services) *Handler {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	h := &Handler{log: log, i18n: tr, cfg: cfg,
		signIns: svc.SignIns, security: svc.Security, people: svc.People, accounts: svc.Accounts, auditLog: svc.AuditLog,
		orderReads: svc.OrderReads, savedViews: svc.SavedViews, ops: svc.Ops, scopes: svc.Scopes, health: svc.Health,
		orderCache: svc.Orders, hooks: svc.Hooks, accountTests: svc.AccountTests, syncs: svc.Sync, resyncs: svc.Resyncs,
		refundReads: svc.RefundReads, refundSettings: svc.AccountRefunds}
	if svc.Refunds != nil {
		h.refunds, h.resolver = svc.Refunds, svc.Refunds
	}
	return h
}

// Keys of request-scoped values in fiber.Ctx.Locals, set by web's middleware.

// Viewer is the signed-in person of a request.

// ViewerOf returns the signed-in person, or nil.

// RequestID returns the id of the request (also in every log line).
