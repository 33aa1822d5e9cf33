package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// Sign-in with two-factor: after a correct password, no session yet; the
// code form carries a short-lived token that names the person and is
// signed with a key derived from SECRET_KEY (so any replica accepts it and
// nothing is stored). The signature also covers the person's password hash
// and when two-factor was turned on: a password reset or a new TOTP setup
// voids pending tokens. A token completes one sign-in only: the store
// records it as used in the transaction that accepts the code
// (models.Store.VerifyLoginStep), so a replayed POST is refused on any replica.

const loginTokenTTL = 5 * time.Minute

func loginTokenMAC(key []byte, payload string, u *models.User) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("login-2fa|" + payload + "|" + u.PasswordHash + "|"))
	if u.TOTPEnabledAt != nil {
		mac.Write([]byte(strconv.FormatInt(u.TOTPEnabledAt.UnixNano(), 10)))
	}
	return mac.Sum(nil)
}

// signLoginToken returns "<user id>.<expiry unix>.<nonce>.<mac>". The
// random nonce makes every sign-in step's token its own, so using one up
// (single-use) never voids another issued in the same second.
func signLoginToken(key []byte, u *models.User, now time.Time) string {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		panic("login token: no randomness: " + err.Error())
	}
	payload := strconv.FormatInt(u.ID, 10) + "." + strconv.FormatInt(now.Add(loginTokenTTL).Unix(), 10) +
		"." + base64.RawURLEncoding.EncodeToString(nonce)
	return payload + "." + base64.RawURLEncoding.EncodeToString(loginTokenMAC(key, payload, u))
}

// loginTokenUser returns the user id a token names, before it is checked.
func loginTokenUser(token string) (int64, bool) {
	id, _, ok := strings.Cut(token, ".")
	n, err := strconv.ParseInt(id, 10, 64)
	return n, ok && err == nil && n > 0
}

// checkLoginToken reports whether token was signed for u and has not
// expired, and if so when it expires.
func checkLoginToken(key []byte, token string, u *models.User, now time.Time) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != strconv.FormatInt(u.ID, 10) {
		return time.Time{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.Unix() > exp {
		return time.Time{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || !hmac.Equal(got, loginTokenMAC(key, parts[0]+"."+parts[1]+"."+parts[2], u)) {
		return time.Time{}, false
	}
	return time.Unix(exp, 0), true
}

// showSecondFactor renders the code form for u.
func (h *Handler) showSecondFactor(c *fiber.Ctx, status int, token, next, errMsg string) error {
	return render(c, status, views.LoginTwoFactorPage(h.layout(c, "login2fa.title"),
		views.LoginTwoFactorVM{Token: token, Next: next, Error: errMsg}))
}

// LoginTwoFactorCreate handles POST /login/2fa: a TOTP code or an unused
// recovery code completes the sign-in. Failures are throttled like
// passwords. An expired or forged token starts over at the password.
func (h *Handler) LoginTwoFactorCreate(c *fiber.Ctx) error {
	token, next := c.FormValue("token"), safeNext(c.FormValue("next"))
	expired := func() error {
		return render(c, fiber.StatusUnauthorized, views.LoginPage(h.layout(c, "login.title"),
			views.LoginVM{Next: next, Error: h.T(c, "login2fa.expired")}))
	}
	id, ok := loginTokenUser(token)
	if !ok {
		return expired()
	}
	u, err := h.signIns.FindUser(c.UserContext(), id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return expired()
	} else if err != nil {
		return err
	}
	expires, ok := checkLoginToken(h.cfg.LoginTokenKey, token, u, time.Now())
	if !ok {
		return expired()
	}
	pending := u
	u, method, err := h.signIns.VerifyLoginStep(c.UserContext(), id, token, expires, c.FormValue("code"), ClientIP(c), h.cfg.Logins)
	if errors.Is(err, models.ErrLoginStepUsed) {
		// Replayed: the token already completed a sign-in.
		h.log.Info("Second factor refused: sign-in step already used.", "request_id", RequestID(c), "ip", ClientIP(c), "user_id", id)
		who := actor(c)
		who.UserID, who.Email = pending.ID, pending.Email
		if err := h.signIns.Audit(c.UserContext(), who, models.AuditLoginFailed, pending.Email, "",
			map[string]any{"second_factor": true, "step_reused": true}); err != nil {
			return err
		}
		return expired()
	}
	if err != nil {
		status, msg := fiber.StatusUnauthorized, h.T(c, "login2fa.wrong")
		switch {
		case models.IsThrottled(err):
			status, msg = fiber.StatusTooManyRequests, h.T(c, "login.error.throttled")
		case models.AsInvalidInput(err) == nil:
			return err
		}
		h.log.Info("Second factor refused.", "request_id", RequestID(c), "ip", ClientIP(c), "user_id", id,
			"throttled", status == fiber.StatusTooManyRequests)
		who := actor(c)
		who.UserID, who.Email = pending.ID, pending.Email
		if err := h.signIns.Audit(c.UserContext(), who, models.AuditLoginFailed, pending.Email, "",
			map[string]any{"second_factor": true, "throttled": status == fiber.StatusTooManyRequests}); err != nil {
			return err
		}
		return h.showSecondFactor(c, status, token, next, msg)
	}
	return h.startSession(c, u, next, map[string]any{"second_factor": method})
}
