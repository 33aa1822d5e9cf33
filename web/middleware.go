package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/handlers"
	"github.com/ksherdash/ksherdash/models"
)

type middleware struct {
	log           *slog.Logger
	store         *models.Store
	h             *handlers.Handler
	sessions      models.SessionPolicy
	sessionCookie string
	csrfCookie    string
	csrfKey       []byte
	https         bool
	timeout       time.Duration
	exposeAuthz   bool
	proxies       []netip.Prefix // TRUSTED_PROXIES
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

// requestID takes a sane X-Request-Id from a proxy or mints one.
func (m *middleware) requestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID.MatchString(id) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Locals(handlers.LocalRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

// clientIP works out, once, who the request comes from (handlers.ClientIP).
func (m *middleware) clientIP(c *fiber.Ctx) error {
	ip := handlers.ResolveClientIP(handlers.PeerIP(c), handlers.ForwardedFor(c), m.proxies)
	c.Locals(handlers.LocalClientIP, ip.String())
	return c.Next()
}

// accessLog logs one line per request: never the query string (it can carry
// signatures from Ksher's webhooks) nor any header.
func (m *middleware) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	path := c.Path()
	if strings.HasPrefix(path, "/static/") || path == "/healthz" {
		return nil
	}
	m.log.Info("Request.", "request_id", c.Locals(handlers.LocalRequestID), "method", c.Method(), "path", path,
		"status", c.Response().StatusCode(), "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// contentSecurityPolicy forbids inline script and style, framing and foreign
// form targets.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (m *middleware) securityHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set(fiber.HeaderPermissionsPolicy, "camera=(), microphone=(), geolocation=(), payment=()")
	if !strings.HasPrefix(c.Path(), "/sandbox") {
		// The simulator's hosted checkout redirects to merchants' own pages
		// after a form post, which form-action 'self' would block.
		c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	}
	if m.https {
		c.Set(fiber.HeaderStrictTransportSecurity, "max-age=63072000; includeSubDomains")
	}
	return c.Next()
}

// timeoutContext bounds everything a request does (DB, gateway) in time.
func (m *middleware) timeoutContext(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), m.timeout)
	defer cancel()
	c.SetUserContext(ctx)
	// Errors are rendered here, while the context (which carries the
	// request's language) is still live.
	if err := c.Next(); err != nil {
		return c.App().ErrorHandler(c, err)
	}
	return nil
}

// loadViewer attaches the signed-in person, if any, to the request.
func (m *middleware) loadViewer(c *fiber.Ctx) error {
	token := c.Cookies(m.sessionCookie)
	if token == "" {
		return c.Next()
	}
	sess, u, err := m.store.LookupSession(c.UserContext(), token, m.sessions)
	switch {
	case err == nil:
		c.Locals(handlers.LocalViewer, &handlers.Viewer{User: u, Session: sess})
		// Signed-in pages hold a merchant's payments: no shared or disk cache
		// keeps them.
		c.Set(fiber.HeaderCacheControl, "no-store")
	case models.ErrorCode(err) == models.EUNAUTHORIZED:
		// With the cookie's own Path and Secure, or the browser keeps it
		// (see handlers' clearSessionCookie).
		c.Cookie(&fiber.Cookie{Name: m.sessionCookie, Value: "", Path: "/", HTTPOnly: true, Secure: m.https,
			SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0)})
	default:
		return err
	}
	return c.Next()
}

// requireUser sends people who are not signed in to the sign-in page (and
// back afterwards), and people with a one-time password to change it.
func (m *middleware) requireUser(c *fiber.Ctx) error {
	v := handlers.ViewerOf(c)
	if v == nil {
		next := c.OriginalURL()
		if c.Get("HX-Request") == "true" {
			if cur := c.Get("HX-Current-URL"); cur != "" {
				if u, err := url.Parse(cur); err == nil {
					next = u.RequestURI()
				}
			}
		}
		to := "/login?next=" + url.QueryEscape(next)
		if c.Get("HX-Request") == "true" {
			c.Set("HX-Redirect", to)
			return c.SendStatus(fiber.StatusUnauthorized)
		}
		return c.Redirect(to, fiber.StatusSeeOther)
	}
	if v.User.MustChangePassword && c.Path() != "/account/password" && c.Path() != "/logout" {
		return c.Redirect("/account/password", fiber.StatusSeeOther)
	}
	return c.Next()
}

// csrf protects every state-changing request. The token is an HMAC of a
// random per-browser seed kept in an HttpOnly cookie: nothing is stored
// server-side, so every replica checks it with the shared SECRET_KEY and no
// GET pays a database write (Fiber's csrf middleware writes its storage on
// every request). Plain forms send it as the "csrf" field, htmx as the
// X-CSRF-Token header (hx-headers on <body>).
func (m *middleware) csrf(c *fiber.Ctx) error {
	seed := c.Cookies(m.csrfCookie)
	if len(seed) < 32 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		seed = base64.RawURLEncoding.EncodeToString(b)
		c.Cookie(&fiber.Cookie{Name: m.csrfCookie, Value: seed, Path: "/", HTTPOnly: true, Secure: m.https,
			SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
		c.Vary(fiber.HeaderCookie)
	}
	want := m.csrfToken(seed)
	c.Locals(handlers.LocalCSRF, want)
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions, fiber.MethodTrace:
		return c.Next()
	}
	if isExemptFromCSRF(c.Path()) {
		return c.Next()
	}
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("csrf")
	}
	if !hmac.Equal([]byte(got), []byte(want)) || !m.sameOrigin(c) {
		return errCSRF
	}
	return c.Next()
}

var errCSRF = &models.Error{Code: models.EFORBIDDEN, Message: "csrf"}

func (m *middleware) csrfToken(seed string) string {
	mac := hmac.New(sha256.New, m.csrfKey)
	mac.Write([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// sameOrigin rejects a cross-site Origin header (defence in depth; browsers
// send it on every POST).
func (m *middleware) sameOrigin(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == "null" {
		return origin == ""
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == string(c.Request().Host())
}
