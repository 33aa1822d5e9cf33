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
	cur, nw, confirm := c.FormValue("current"), c.FormValue("new"), c.FormValue("confirm")
	errs := map[string]string{}
	// The current password is checked like a sign-in (throttled and
	// recorded), so a session left open is no way to guess it.
	status := fiber.StatusUnprocessableEntity
	if _, err := h.store.Authenticate(c.UserContext(), v.User.Email, cur, ClientIP(c), h.cfg.Logins); err != nil {
		switch {
		case models.IsThrottled(err):
			status, errs["current"] = fiber.StatusTooManyRequests, h.T(c, "login.error.throttled")
		case models.ErrorCode(err) == models.EUNAUTHORIZED:
			errs["current"] = h.T(c, "password.error.current")
		default:
			return err
		}
	}
	switch {
	case len(errs) > 0:
	case len([]rune(nw)) < models.MinPasswordLength:
		errs["new"] = h.T(c, "password.error.short")
	case models.PasswordProblem(nw) != "":
		errs["new"] = h.T(c, "password.error.long")
	case nw != confirm:
		errs["confirm"] = h.T(c, "password.error.mismatch")
	case nw == cur:
		errs["new"] = h.T(c, "password.error.same")
	}
	if len(errs) > 0 {
		return render(c, status, views.PasswordPage(h.layout(c, "password.title"),
			views.PasswordVM{Forced: v.User.MustChangePassword, Errors: errs}))
	}
	if err := h.store.SetPassword(c.UserContext(), actor(c), nw, v.Session.ID); err != nil {
		return err
	}
	h.log.Info("Password changed.", "request_id", RequestID(c), "user_id", v.User.ID)
	return redirectAfterPost(c, "/")
}
