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
	switch {
	case !v.User.CheckPassword(cur):
		errs["current"] = h.T(c, "password.error.current")
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
		return render(c, fiber.StatusUnprocessableEntity, views.PasswordPage(h.layout(c, "password.title"),
			views.PasswordVM{Forced: v.User.MustChangePassword, Errors: errs}))
	}
	if err := h.store.SetPassword(c.UserContext(), v.User.ID, nw, v.Session.ID); err != nil {
		return err
	}
	h.log.Info("Password changed.", "request_id", RequestID(c), "user_id", v.User.ID)
	if err := h.audit(c, models.AuditPasswordChange, v.User.Email, "", nil); err != nil {
		return err
	}
	return redirectAfterPost(c, "/")
}
