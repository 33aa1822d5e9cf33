// Package web builds the Fiber application: middleware, the error handler,
// static files and the single route table.
package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/ksherdash/ksherdash/handlers"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/static"
)

// Deps is everything the web application needs.
type Deps struct {
	Log    *slog.Logger
	Store  *models.Store
	Config Config
	// Sandbox, when set, is the built-in Ksher simulator mounted at /sandbox.
	Sandbox http.Handler
	// Gateways is the process's cache of Ksher clients, shared with the
	// background workers; nil makes one for this app alone.
	Gateways *models.GatewayClients
	// Orders is the order cache's service; nil builds one over Gateways.
	Orders *models.Orders
	// Sync and Resyncs are the services whose work runs on the process's
	// River client (cmd starts it); nil builds them over an engine of this
	// app alone that is never started (jobs are queued, not worked).
	Sync    *models.Sync
	Resyncs *models.DriftResyncs
	// Refunds is the refund service (its send and reconcile jobs run on
	// the process's River client); nil builds one over a private engine
	// that only inserts, like Sync's.
	Refunds *models.Refunds
}

// services returns the handlers' services: d.Orders, or one built over
// d.Gateways (or a private cache of clients), the notifications service
// over it, and d.Sync and d.Resyncs (or ones over a private engine that
// only inserts).
func (d Deps) services() (handlers.Services, error) {
	orders := d.Orders
	if orders == nil {
		gw := d.Gateways
		if gw == nil {
			gw = models.NewGatewayClients(d.Store, d.Log)
		}
		orders = models.NewOrders(d.Store, gw, d.Log)
	}
	st := d.Store // the one store behind every store interface of the handlers
	svc := handlers.Services{SignIns: st, Security: st, People: st, Accounts: st, AuditLog: st, OrderReads: st,
		SavedViews: st, Ops: st, Scopes: st, Health: st, RefundReads: st, AccountRefunds: st,
		Orders: orders, Hooks: models.NewNotifications(d.Store, orders, d.Log),
		AccountTests: models.NewAccounts(d.Store, orders.Clients(), d.Log)}
	syncs, resyncs, refunds := d.Sync, d.Resyncs, d.Refunds
	if syncs == nil || resyncs == nil || refunds == nil {
		jobs, err := models.NewJobs(d.Store, models.JobsConfig{Logger: d.Log})
		if err != nil {
			return svc, err
		}
		if syncs == nil {
			if syncs, err = models.NewSync(d.Store, orders.Clients(), jobs, d.Log, models.SyncConfig{}); err != nil {
				return svc, err
			}
		}
		if resyncs == nil {
			if resyncs, err = models.NewDriftResyncs(d.Store, orders, jobs, d.Log); err != nil {
				return svc, err
			}
		}
		if refunds == nil {
			if refunds, err = models.NewRefunds(d.Store, orders, jobs, d.Log, models.RefundsConfig{Logins: d.Config.Logins}); err != nil {
				return svc, err
			}
		}
	}
	svc.Sync, svc.Resyncs, svc.Refunds = syncs, resyncs, refunds
	return svc, nil
}

// Config is the web part of the configuration.
type Config struct {
	SecretKey      []byte // master secret; subkeys are derived from it
	HTTPS          bool   // BASE_URL is https: secure cookies, HSTS
	BaseURL        string // the public URL, as Ksher calls the notification receivers
	Sandbox        bool
	Location       *time.Location
	Sessions       models.SessionPolicy
	Logins         models.LoginPolicy
	RequestTimeout time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (TRUSTED_PROXIES; see handlers.ResolveClientIP). Empty: none,
	// the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// ExposeAuthz makes authorize mark requests it let through with the
	// header X-Ksd-Authz: ok. Tests only: the route x role matrix test tells
	// "refused by the permission check" from "refused by the handler".
	ExposeAuthz bool
}

// New returns the configured Fiber application.
func New(d Deps) (*fiber.App, error) {
	tr, err := newTranslators()
	if err != nil {
		return nil, err
	}
	if d.Config.RequestTimeout == 0 {
		d.Config.RequestTimeout = 30 * time.Second
	}
	cookiePrefix := ""
	if d.Config.HTTPS {
		cookiePrefix = "__Host-" // bound to this exact host, https only
	}
	svc, err := d.services()
	if err != nil {
		return nil, err
	}
	h := handlers.New(d.Log, tr, handlers.Config{
		Sandbox:       d.Config.Sandbox,
		Sessions:      d.Config.Sessions,
		Logins:        d.Config.Logins,
		SessionCookie: cookiePrefix + "ksd_session",
		SecureCookies: d.Config.HTTPS,
		Location:      d.Config.Location,
		LoginTokenKey: deriveKey(d.Config.SecretKey, "login-2fa"),
		BaseURL:       d.Config.BaseURL,
	}, svc)
	m := &middleware{
		log:           d.Log,
		store:         d.Store,
		h:             h,
		sessions:      d.Config.Sessions,
		sessionCookie: cookiePrefix + "ksd_session",
		csrfCookie:    cookiePrefix + "ksd_csrf",
		csrfKey:       deriveKey(d.Config.SecretKey, "csrf"),
		https:         d.Config.HTTPS,
		timeout:       d.Config.RequestTimeout,
		exposeAuthz:   d.Config.ExposeAuthz,
		proxies:       d.Config.TrustedProxies,
	}
	app := fiber.New(fiber.Config{
		AppName:               "ksherdash",
		DisableStartupMessage: true,
		ErrorHandler:          m.errorHandler,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          5 * time.Minute, // large exports stream for a while
		IdleTimeout:           2 * time.Minute,
		BodyLimit:             4 << 20,
		// Not Fiber's ProxyHeader: its c.IP() takes the leftmost
		// X-Forwarded-For entry, which the client writes. handlers.ClientIP.
		ProxyHeader: "",
	})
	app.Use(m.requestID, m.clientIP, m.accessLog, m.securityHeaders)

	// Probes and static files come before sessions: they never touch them.
	app.Get("/healthz", h.Healthz)
	app.Get("/readyz", h.Readyz)
	assets, err := fs.Sub(static.FS, ".")
	if err != nil {
		return nil, err
	}
	app.Use("/static", func(c *fiber.Ctx) error {
		// Names carry a content hash (?v=), so they can be cached for a year.
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(assets)}))
	if d.Sandbox != nil {
		// One guard for every path under /sandbox: Fiber matches routes on
		// the raw path, so a route for /sandbox/_sandbox* alone would miss
		// /sandbox/%5Fsandbox/..., which the simulator decodes and serves.
		sb := sandboxHandler(d.Sandbox)
		app.All("/sandbox", m.sandboxControl, sb)
		app.All("/sandbox/*", m.sandboxControl, sb)
	}
	app.Use(m.cleanInput, m.timeoutContext, m.loadViewer, m.csrf, h.Localize)
	r := &router{app: app, m: m}
	routes(r, h)
	routeTables.Store(app, r.rules)
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app, nil
}

// routeTables remembers each app's route table, for RouteTable.
var routeTables sync.Map

// RouteTable returns the rules app was built with (for tests and docs).
func RouteTable(app *fiber.App) []Rule {
	rules, _ := routeTables.Load(app)
	r, _ := rules.([]Rule)
	return r
}

// sandboxControl guards the simulator's control endpoints (/_sandbox/...:
// fault injection, webhook target, paying orders) when it is mounted in the
// dashboard: they are for the tests and the developer on this machine, so
// only loopback clients reach them, and a browser only from this site (a
// cross-site form could otherwise repoint the webhook: SSRF). Ksher's own
// API paths stay open, like Ksher's. The client, not the TCP peer: behind a
// reverse proxy on this machine every peer is loopback.
//
// The decision is made on the path as the simulator will read it: decoded
// once (as net/http does) and cleaned, compared without regard to case (as
// Fiber routes), so no spelling (%5F, _%73andbox, ./, //, x/..) slips by. A
// path that does not decode is refused. The simulator checks again itself
// (sandbox.Config.LocalControlOnly), on the client handed over by
// sandboxHandler.
func (m *middleware) sandboxControl(c *fiber.Ctx) error {
	p, err := url.PathUnescape(c.Path())
	if err != nil {
		return fiber.ErrBadRequest
	}
	if !isSandboxControl(p) {
		return c.Next()
	}
	if ip, err := netip.ParseAddr(handlers.ClientIP(c)); err != nil || !ip.IsLoopback() {
		return fiber.ErrNotFound
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead && (crossSite(c) || !m.sameOrigin(c)) {
		return fiber.ErrForbidden
	}
	return c.Next()
}

// isSandboxControl: the decoded path p names a control endpoint of the
// mounted simulator (or something spelled like one: refused alike).
func isSandboxControl(p string) bool {
	return strings.HasPrefix(strings.ToLower(path.Clean("/"+p)), "/sandbox/_sandbox")
}

// crossSite: the browser says the request comes from another site.
func crossSite(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return false
	}
	return true
}

// sandboxHandler serves the simulator behind Fiber. The simulator is told
// the client (handlers.ClientIP, not the proxy in front) as RemoteAddr, so
// its own control guard judges the same caller as sandboxControl.
func sandboxHandler(sb http.Handler) fiber.Handler {
	return dropOnAbort(func(c *fiber.Ctx) error {
		return adaptor.HTTPHandler(detached(sb, handlers.ClientIP(c)))(c)
	})
}

// detached gives h a request that owns its memory. Fiber's adaptor builds
// the net/http request over fasthttp's buffers (unsafe string views of the
// URL, Host, headers and body), which fasthttp reuses for the next request;
// the simulator keeps what it is told (order ids, paths) in its state. Its
// RemoteAddr is client (port 0) when that is an address.
func detached(h http.Handler, client string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		r2 := r.Clone(r.Context())
		r2.Method, r2.Host, r2.RequestURI = strings.Clone(r.Method), strings.Clone(r.Host), strings.Clone(r.RequestURI)
		r2.RemoteAddr = strings.Clone(r.RemoteAddr)
		if ip, err := netip.ParseAddr(client); err == nil {
			r2.RemoteAddr = netip.AddrPortFrom(ip.Unmap(), 0).String()
		}
		if u, err := url.ParseRequestURI(r2.RequestURI); err == nil {
			r2.URL = u
		}
		for k, vs := range r2.Header {
			cp := make([]string, len(vs))
			for i, v := range vs {
				cp[i] = strings.Clone(v)
			}
			r2.Header[strings.Clone(k)] = cp
		}
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		h.ServeHTTP(w, r2)
	})
}

// dropOnAbort gives net/http's way of dropping a connection without an
// answer, panic(http.ErrAbortHandler) (the simulator's timeout fault), its
// meaning behind Fiber's adaptor, where nothing recovers it and it would
// end the process: the connection is closed and nothing is sent.
func dropOnAbort(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v != http.ErrAbortHandler {
				panic(v)
			}
			c.Context().HijackSetNoResponse(true)
			c.Context().Hijack(func(conn net.Conn) { _ = conn.Close() })
			err = nil
		}()
		return h(c)
	}
}

// deriveKey derives an independent key for one purpose from the master secret.
func deriveKey(secret []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("ksherdash/" + purpose))
	return mac.Sum(nil)
}

// isExemptFromCSRF: Ksher's notifications and the simulator (which Ksher's
// own SDKs call) are machine-to-machine endpoints with their own signatures.
func isExemptFromCSRF(path string) bool {
	return strings.HasPrefix(path, "/hooks/") || path == "/sandbox" || strings.HasPrefix(path, "/sandbox/")
}
