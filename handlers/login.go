package handlers

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// SignInStore is what signing in and out, the second step, one's password and language need from models.Store.
type SignInStore interface {
	Authenticate(ctx context.Context, email, password, ip string, p models.LoginPolicy) (*models.User, error)
	SignIn(ctx context.Context, by models.Actor, p models.SessionPolicy, details map[string]any, prevToken string) (string, *models.Session, error)
	SignOut(ctx context.Context, by models.Actor, id string) error
	FindUser(ctx context.Context, id int64) (*models.User, error)
	VerifyLoginStep(ctx context.Context, userID int64, step string, expires time.Time, code, ip string, p models.LoginPolicy) (*models.User, string, error)
	Audit(ctx context.Context, who models.Actor, action, target, mid string, details map[string]any) error
	SetPassword(ctx context.Context, by models.Actor, pw string, keepSessionID string) error
	SetLanguage(ctx context.Context, userID int64, lang string) error
}

// LoginShow handles GET /login.
func (h *Handler) LoginShow(c *fiber.Ctx) error {
	if ViewerOf(c) != nil {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	return render(c, fiber.StatusOK, views.LoginPage(h.layout(c, "login.title"), views.LoginVM{Next: safeNext(c.Query("next"))}))
}

// LoginCreate handles POST /login: checks the password under throttling,
// starts a session and sets its cookie.
func (h *Handler) LoginCreate(c *fiber.Ctx) error {
	email, next := c.FormValue("email"), safeNext(c.FormValue("next"))
	u, err := h.signIns.Authenticate(c.UserContext(), email, c.FormValue("password"), ClientIP(c), h.cfg.Logins)
	if err != nil {
		vm := views.LoginVM{Email: email, Next: next, Error: h.T(c, "login.error.credentials")}
		status := fiber.StatusUnauthorized
		switch {
		case models.IsThrottled(err):
			vm.Error, status = h.T(c, "login.error.throttled"), fiber.StatusTooManyRequests
		case models.ErrorCode(err) != models.EUNAUTHORIZED:
			return err
		}
		h.log.Info("Sign-in refused.", "request_id", RequestID(c), "ip", ClientIP(c), "throttled", status == fiber.StatusTooManyRequests)
		who := actor(c)
		// What was typed as the email is recorded only when it looks like
		// one: people sometimes type their password into the wrong field.
		if a, err := mail.ParseAddress(email); err == nil && a.Address == strings.TrimSpace(email) {
			who.Email = a.Address
		} else {
			who.Email = "(not an email address)"
		}
		if err := h.signIns.Audit(c.UserContext(), who, models.AuditLoginFailed, who.Email, "",
			map[string]any{"throttled": status == fiber.StatusTooManyRequests}); err != nil {
			return err
		}
		return render(c, status, views.LoginPage(h.layout(c, "login.title"), vm))
	}
	if u.TOTPEnabledAt != nil {
		// The password was right; the session starts after the code (login_2fa.go).
		return h.showSecondFactor(c, fiber.StatusOK, signLoginToken(h.cfg.LoginTokenKey, u, time.Now()), next, "")
	}
	return h.startSession(c, u, next, nil)
}

// startSession signs u in: a new session, its cookie, the audit entry, and
// on to the password page (one-time password) or next. The session cookie
// the browser sent, if any, names its previous session: that one ends in
// the same transaction, whoever it belonged to (one browser, one session).
func (h *Handler) startSession(c *fiber.Ctx, u *models.User, next string, details map[string]any) error {
	who := models.ActorOf(u, ClientIP(c), c.Get(fiber.HeaderUserAgent), RequestID(c))
	token, _, err := h.signIns.SignIn(c.UserContext(), who, h.cfg.Sessions, details, c.Cookies(h.cfg.SessionCookie))
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: h.cfg.SessionCookie, Value: token, Path: "/", HTTPOnly: true,
		Secure: h.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
	h.log.Info("Signed in.", "request_id", RequestID(c), "user_id", u.ID)
	if u.MustChangePassword {
		return redirectAfterPost(c, "/account/password")
	}
	return redirectAfterPost(c, next)
}

// LogoutCreate handles POST /logout.
func (h *Handler) LogoutCreate(c *fiber.Ctx) error {
	if v := ViewerOf(c); v != nil {
		if err := h.signIns.SignOut(c.UserContext(), actor(c), v.Session.ID); err != nil {
			return err
		}
		h.log.Info("Signed out.", "request_id", RequestID(c), "user_id", v.User.ID)
	}
	h.clearSessionCookie(c)
	return redirectAfterPost(c, "/login")
}

// clearSessionCookie tells the browser to drop the session cookie. The
// deletion must carry the cookie's own Path and Secure (fiber's ClearCookie
// sends neither): a browser ignores a __Host- cookie without them, and
// without Path=/ deletes only a cookie of the request's directory.
func (h *Handler) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: h.cfg.SessionCookie, Value: "", Path: "/", HTTPOnly: true,
		Secure: h.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0)})
}
