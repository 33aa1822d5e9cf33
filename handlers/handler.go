// Package handlers holds one small HTTP handler per file (<noun>_<verb>.go):
// parse, validate, act through models or gateway, render a view or redirect.
// Rules live in models; the route table and middleware live in web.
package handlers

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// Store is what the handlers need from models.Store.
type Store interface {
	Ping(ctx context.Context) error
	Authenticate(ctx context.Context, email, password, ip string, p models.LoginPolicy) (*models.User, error)
	SignIn(ctx context.Context, by models.Actor, p models.SessionPolicy, details map[string]any) (string, *models.Session, error)
	SignOut(ctx context.Context, by models.Actor, id string) error
	SetPassword(ctx context.Context, by models.Actor, pw string, keepSessionID string) error
	SetLanguage(ctx context.Context, userID int64, lang string) error
	Memberships(ctx context.Context, userID int64) ([]models.Membership, error)
	Access(ctx context.Context, u *models.User) (models.Access, error)
	SetLastMid(ctx context.Context, by models.Actor, mid, auditMid string) error
	OrderStatsSince(ctx context.Context, mids []string, since time.Time) (*models.OrderStats, error)
	Audit(ctx context.Context, who models.Actor, action, target, mid string, details map[string]any) error
	// People (models/people.go): every rule about who may manage whom is in models.
	People(ctx context.Context, actor *models.User) ([]models.Person, error)
	Person(ctx context.Context, actor *models.User, id int64) (*models.Person, error)
	GrantableMids(ctx context.Context, actor *models.User) ([]models.Mid, error)
	CreatePerson(ctx context.Context, by models.Actor, in models.PersonInput) (*models.Person, string, error)
	UpdatePerson(ctx context.Context, by models.Actor, id int64, in models.PersonInput) (*models.PersonChange, error)
	SetPersonDisabled(ctx context.Context, by models.Actor, id int64, disabled bool) (*models.Person, error)
	ResetPersonPassword(ctx context.Context, by models.Actor, id int64) (*models.Person, string, error)
	ResetPersonTOTP(ctx context.Context, by models.Actor, id int64) (*models.Person, error)
	// One's own sign-ins (models/security.go, models/totp.go).
	FindUser(ctx context.Context, id int64) (*models.User, error)
	LiveSessions(ctx context.Context, userID int64, p models.SessionPolicy) ([]models.Session, error)
	RevokeSessionByHandle(ctx context.Context, by models.Actor, handle, currentID string) (string, error)
	RevokeOtherSessions(ctx context.Context, by models.Actor, keepID string) (int64, error)
	BeginTOTP(ctx context.Context, userID int64) (*models.TOTPSetup, error)
	PendingTOTP(ctx context.Context, userID int64) (*models.TOTPSetup, error)
	ConfirmTOTP(ctx context.Context, by models.Actor, code, keepSessionID string) ([]string, int64, error)
	DisableTOTP(ctx context.Context, by models.Actor, password, code, keepSessionID string, p models.LoginPolicy) (int64, error)
	VerifySecondFactor(ctx context.Context, userID int64, code, ip string, p models.LoginPolicy) (*models.User, string, error)
	RecoveryCodesLeft(ctx context.Context, userID int64) (int64, error)
	// Merchant accounts and the audit log.
	Accounts(ctx context.Context) ([]models.MerchantAccount, error)
	Account(ctx context.Context, id int64) (*models.MerchantAccount, error)
	SaveAccount(ctx context.Context, by models.Actor, id int64, in models.AccountInput) (*models.MerchantAccount, error)
	AccountCredentials(a *models.MerchantAccount) (*models.Credentials, error)
	AuditLog(ctx context.Context, f models.AuditFilter) ([]models.AuditEntry, error)
	// Orders and operations, declared next to their pages.
	OrderStore
	OperationsStore
}

// models.Store is the one Store.
var _ Store = (*models.Store)(nil)

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
	log   *slog.Logger
	store Store
	i18n  Translators
	cfg   Config
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
}

// Services are the models services the handlers call.
type Services struct {
	Orders       OrderCache
	Hooks        HookReceiver
	AccountTests AccountTester
	Sync         DayPuller     // sync_create.go
	Resyncs      DriftResyncer // drift_resync.go
}

// OrderCache is what the order pages, the search and the hooks need from
// models.Orders.
type OrderCache interface {
	Refresh(ctx context.Context, o *models.Order, force bool) (*models.Order, models.UpstreamNote)
	FindLive(ctx context.Context, a models.MidAccess, id string) models.UpstreamNote
	NextAskAt(ctx context.Context, o *models.Order) (time.Time, error)
	Clients() *models.GatewayClients
}

// New returns a Handler. The order cache's service in svc is built on the
// process's one cache of Ksher clients (shared with the background workers,
// so that each client's in-process 10-second query guard covers every
// caller).
func New(log *slog.Logger, store Store, tr Translators, cfg Config, svc Services) *Handler {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Handler{log: log, store: store, i18n: tr, cfg: cfg, orderCache: svc.Orders, hooks: svc.Hooks, accountTests: svc.AccountTests,
		syncs: svc.Sync, resyncs: svc.Resyncs}
}

// OrderStore is what the search and order pages read from models.Store.
type OrderStore interface {
	FindOrder(ctx context.Context, mids []string, id int64) (*models.Order, error)
	FindOrdersByAnyID(ctx context.Context, mids []string, id string) ([]models.OrderHit, error)
	ListOrdersPage(ctx context.Context, f models.OrderFilter) (*models.OrderPage, error)
	OrderEvents(ctx context.Context, orderID int64) ([]models.OrderEvent, error)
	OrderRefunds(ctx context.Context, orderID int64) ([]models.OrderRefund, error)
	AddOrderEvent(ctx context.Context, orderID int64, kind, summary string, ok bool, latency time.Duration, detail any) error
	Account(ctx context.Context, id int64) (*models.MerchantAccount, error)
	SavedViews(ctx context.Context, userID int64) ([]models.SavedView, error)
	SaveView(ctx context.Context, userID int64, name, query string) (*models.SavedView, error)
	DeleteSavedView(ctx context.Context, userID, id int64) error
}

// orders is the store's order part (Store embeds OrderStore).
func (h *Handler) orders() OrderStore { return h.store }

// Keys of request-scoped values in fiber.Ctx.Locals, set by web's middleware.
const (
	LocalRequestID = "request_id"
	LocalClientIP  = "client_ip" // see ClientIP
	LocalCSRF      = "csrf"
	LocalViewer    = "viewer"
)

// Viewer is the signed-in person of a request.
type Viewer struct {
	User    *models.User
	Session *models.Session
}

// ViewerOf returns the signed-in person, or nil.
func ViewerOf(c *fiber.Ctx) *Viewer {
	v, _ := c.Locals(LocalViewer).(*Viewer)
	return v
}

// RequestID returns the id of the request (also in every log line).
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(LocalRequestID).(string)
	return id
}
