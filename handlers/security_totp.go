package handlers

import (
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/skip2/go-qrcode"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// SecurityTOTPBegin handles POST /account/security/totp: shows a new (or
// the pending) secret as a QR code and text, and asks for a first code and
// the password. It is a POST because it stores the pending secret; nothing
// is on until SecurityTOTPConfirm.
func (h *Handler) SecurityTOTPBegin(c *fiber.Ctx) error {
	setup, err := h.security.BeginTOTP(c.UserContext(), ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return h.renderTOTPSetup(c, fiber.StatusOK, setup, views.TOTPSetupVM{})
}

// renderTOTPSetup shows setup with the messages of errs (Error,
// PasswordError, FormError).
func (h *Handler) renderTOTPSetup(c *fiber.Ctx, status int, setup *models.TOTPSetup, errs views.TOTPSetupVM) error {
	png, err := qrcode.Encode(setup.URL, qrcode.Medium, 240)
	if err != nil {
		return err
	}
	vm := errs
	vm.Secret, vm.URL = groupBy4(setup.Secret), setup.URL
	vm.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	noStore(c)
	return render(c, status, views.TOTPSetupPage(h.layout(c, "security.setup_title"), vm))
}

// renderPendingTOTP shows the pending setup again with what was wrong.
func (h *Handler) renderPendingTOTP(c *fiber.Ctx, status int, errs views.TOTPSetupVM) error {
	setup, err := h.security.PendingTOTP(c.UserContext(), ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return h.renderTOTPSetup(c, status, setup, errs)
}

// groupBy4 makes a base32 secret easier to type: "ABCD EFGH ...".
func groupBy4(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SecurityTOTPConfirm handles POST /account/security/totp/confirm: the
// person's password and a right code turn two-factor sign-in on and show
// the recovery codes, once; every other session of theirs ends (this one
// stays), so a browser signed in before cannot go on without the second
// factor. A wrong password changes nothing and spends no code.
func (h *Handler) SecurityTOTPConfirm(c *fiber.Ctx) error {
	v := ViewerOf(c)
	ctx := c.UserContext()
	// The password is checked like a sign-in (throttled and recorded), as
	// on the password page, so an open session is no way to turn it on.
	if _, err := h.security.Authenticate(ctx, v.User.Email, c.FormValue("password"), ClientIP(c), h.cfg.Logins); err != nil {
		switch {
		case models.IsThrottled(err):
			return h.renderPendingTOTP(c, fiber.StatusTooManyRequests, views.TOTPSetupVM{FormError: h.T(c, "login.error.throttled")})
		case models.ErrorCode(err) == models.EUNAUTHORIZED:
			return h.renderPendingTOTP(c, fiber.StatusOK, views.TOTPSetupVM{PasswordError: h.T(c, models.ReasonPasswordWrong)})
		}
		return err
	}
	codes, ended, err := h.security.ConfirmTOTP(ctx, actor(c), c.FormValue("code"), v.Session.ID)
	if bad := models.AsInvalidInput(err); bad != nil {
		return h.renderPendingTOTP(c, fiber.StatusOK, views.TOTPSetupVM{Error: problemTexts(c, bad.Problems)["code"]})
	}
	if err != nil {
		return err
	}
	h.log.Info("Two-factor sign-in turned on.", "request_id", RequestID(c), "user_id", v.User.ID, "other_sessions_ended", ended)
	noStore(c)
	return render(c, fiber.StatusOK, views.RecoveryCodesPage(h.layout(c, "security.codes_title"), views.RecoveryCodesVM{Codes: codes}))
}

// SecurityTOTPDisable handles POST /account/security/totp/disable: needs
// the password and a code (or a recovery code). Failures are throttled
// like sign-ins. Every other session of the person ends (this one stays).
func (h *Handler) SecurityTOTPDisable(c *fiber.Ctx) error {
	v := ViewerOf(c)
	ended, err := h.security.DisableTOTP(c.UserContext(), actor(c), c.FormValue("password"), c.FormValue("code"), v.Session.ID, h.cfg.Logins)
	if bad, throttled := models.AsInvalidInput(err), models.IsThrottled(err); bad != nil || throttled {
		vm, verr := h.securityVM(c)
		if verr != nil {
			return verr
		}
		status := fiber.StatusOK
		if throttled {
			status, vm.Errors = fiber.StatusTooManyRequests, map[string]string{"form": h.T(c, "login.error.throttled")}
		} else {
			vm.Errors = problemTexts(c, bad.Problems)
		}
		return render(c, status, views.SecurityPage(h.layout(c, "security.title"), vm))
	}
	if err != nil {
		return err
	}
	h.log.Info("Two-factor sign-in turned off.", "request_id", RequestID(c), "user_id", v.User.ID, "other_sessions_ended", ended)
	return redirectAfterPost(c, "/account/security?done=totp_disabled")
}
