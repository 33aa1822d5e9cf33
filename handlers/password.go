package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// PasswordShow handles GET /account/password.
func (h *Handler) PasswordShow(c *fiber.Ctx) error {
	v := ViewerOf(c)
	return render(c, fiber.StatusOK, views.PasswordPage(h.layout(c, "password.title"),
		views.PasswordVM{Forced: v.User.MustChangePassword}))
}

// PasswordUpdate handles POST /account/password. A wrong current password or
// an unacceptable new one re-renders the form and changes nothing.
func (h *Handler) PasswordUpdate(c *fiber.Ctx) error {
	v := ViewerOf(c)
	in := models.PasswordChange{Current: c.FormValue("current"), New: c.FormValue("new"), Confirm: c.FormValue("confirm")}
	probs := models.Problems{}
	// The current password is checked like a sign-in (throttled and
	// recorded), so a session left open is no way to guess it.
	status := fiber.StatusOK
	if _, err := h.signIns.Authenticate(c.UserContext(), v.User.Email, in.Current, ClientIP(c), h.cfg.Logins); err != nil {
		switch {
		case models.IsThrottled(err):
			status = fiber.StatusTooManyRequests
			probs.Add("current", "login.error.throttled", nil)
		case models.ErrorCode(err) == models.EUNAUTHORIZED:
			probs.Add("current", "password.error.current", nil)
		default:
			return err
		}
	} else {
		probs = in.Validate()
	}
	if len(probs) > 0 {
		return render(c, status, views.PasswordPage(h.layout(c, "password.title"),
			views.PasswordVM{Forced: v.User.MustChangePassword, Errors: problemTexts(c, probs)}))
	}
	if err := h.signIns.SetPassword(c.UserContext(), actor(c), in.New, v.Session.ID); err != nil {
		return err
	}
	h.log.Info("Password changed.", "request_id", RequestID(c), "user_id", v.User.ID)
	return redirectAfterPost(c, "/")
}
