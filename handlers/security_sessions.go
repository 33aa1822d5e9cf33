package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// SecuritySessionRevoke handles POST /account/security/sessions/revoke: ends
// one of one's own sessions (named by its handle). Ending the current one
// signs out.
func (h *Handler) SecuritySessionRevoke(c *fiber.Ctx) error {
	v := ViewerOf(c)
	id, err := h.security.RevokeSessionByHandle(c.UserContext(), actor(c), c.FormValue("session"), v.Session.ID)
	if err != nil {
		return err
	}
	current := id == v.Session.ID
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
	if _, err := h.security.RevokeOtherSessions(c.UserContext(), actor(c), v.Session.ID); err != nil {
		return err
	}
	return redirectAfterPost(c, "/account/security?done=sessions_revoked")
}
