package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// SecuritySessionRevoke handles POST /account/security/sessions/revoke: ends
// one of one's own sessions (named by its handle). Ending the current one
// signs out.
func (h *Handler) SecuritySessionRevoke(c *fiber.Ctx) error {
	v := ViewerOf(c)
	id, err := h.store.RevokeSessionByHandle(c.UserContext(), v.User.ID, c.FormValue("session"))
	if err != nil {
		return err
	}
	current := id == v.Session.ID
	if err := h.audit(c, models.AuditSessionRevoke, v.User.Email, "", map[string]any{"current": current}); err != nil {
		return err
	}
	h.log.Info("Session revoked.", "request_id", RequestID(c), "user_id", v.User.ID, "current", current)
	if current {
		h.clearSessionCookie(c)
		return redirectAfterPost(c, "/login")
	}
	return redirectAfterPost(c, "/account/security?done=session_revoked")
}

// SecuritySessionsRevokeOthers handles POST
// /account/security/sessions/revoke-others: signs out every other browser.
func (h *Handler) SecuritySessionsRevokeOthers(c *fiber.Ctx) error {
	v := ViewerOf(c)
	n, err := h.store.RevokeOtherSessions(c.UserContext(), v.User.ID, v.Session.ID)
	if err != nil {
		return err
	}
	if err := h.audit(c, models.AuditSessionRevoke, v.User.Email, "", map[string]any{"others": n}); err != nil {
		return err
	}
	return redirectAfterPost(c, "/account/security?done=sessions_revoked")
}
