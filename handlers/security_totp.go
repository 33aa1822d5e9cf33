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
// the pending) secret as a QR code and text, and asks for a first code.
// It is a POST because it stores the pending secret.
func (h *Handler) SecurityTOTPBegin(c *fiber.Ctx) error {
	setup, err := h.store.BeginTOTP(c.UserContext(), ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return h.renderTOTPSetup(c, fiber.StatusOK, setup, "")
}

func (h *Handler) renderTOTPSetup(c *fiber.Ctx, status int, setup *models.TOTPSetup, errMsg string) error {
	png, err := qrcode.Encode(setup.URL, qrcode.Medium, 240)
	if err != nil {
		return err
	}
	noStore(c)
	return render(c, status, views.TOTPSetupPage(h.layout(c, "security.setup_title"), views.TOTPSetupVM{
		Secret: groupBy4(setup.Secret), URL: setup.URL, Error: errMsg,
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)}))
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

// SecurityTOTPConfirm handles POST /account/security/totp/confirm: a right
// code turns two-factor sign-in on and shows the recovery codes, once.
func (h *Handler) SecurityTOTPConfirm(c *fiber.Ctx) error {
	v := ViewerOf(c)
	codes, err := h.store.ConfirmTOTP(c.UserContext(), v.User.ID, c.FormValue("code"))
	if bad := models.AsInvalidInput(err); bad != nil {
		setup, perr := h.store.PendingTOTP(c.UserContext(), v.User.ID)
		if perr != nil {
			return perr
		}
		return h.renderTOTPSetup(c, fiber.StatusUnprocessableEntity, setup, h.inputErrors(c, bad)["code"])
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, models.AuditTOTPEnable, v.User.Email, "", nil); err != nil {
		return err
	}
	h.log.Info("Two-factor sign-in turned on.", "request_id", RequestID(c), "user_id", v.User.ID)
	noStore(c)
	return render(c, fiber.StatusOK, views.RecoveryCodesPage(h.layout(c, "security.codes_title"), views.RecoveryCodesVM{Codes: codes}))
}

// SecurityTOTPDisable handles POST /account/security/totp/disable: needs
// the password and a code (or a recovery code). Failures are throttled
// like sign-ins.
func (h *Handler) SecurityTOTPDisable(c *fiber.Ctx) error {
	v := ViewerOf(c)
	err := h.store.DisableTOTP(c.UserContext(), v.User.ID, c.FormValue("password"), c.FormValue("code"), c.IP(), h.cfg.Logins)
	if bad, throttled := models.AsInvalidInput(err), models.IsThrottled(err); bad != nil || throttled {
		vm, verr := h.securityVM(c)
		if verr != nil {
			return verr
		}
		status := fiber.StatusUnprocessableEntity
		if throttled {
			status, vm.Errors = fiber.StatusTooManyRequests, map[string]string{"form": h.T(c, "login.error.throttled")}
		} else {
			vm.Errors = h.inputErrors(c, bad)
		}
		return render(c, status, views.SecurityPage(h.layout(c, "security.title"), vm))
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, models.AuditTOTPDisable, v.User.Email, "", nil); err != nil {
		return err
	}
	h.log.Info("Two-factor sign-in turned off.", "request_id", RequestID(c), "user_id", v.User.ID)
	return redirectAfterPost(c, "/account/security?done=totp_disabled")
}
