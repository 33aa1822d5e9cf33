package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// LanguageSet handles GET /lang?to=en|th: remembers the choice (on the
// person when signed in, in a cookie otherwise) and goes back. A GET because
// it is a harmless preference, linked from every page's footer.
func (h *Handler) LanguageSet(c *fiber.Ctx) error {
	to := c.Query("to")
	if to != "en" && to != "th" {
		to = ""
	}
	c.Cookie(&fiber.Cookie{Name: "lang", Value: to, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: h.cfg.SecureCookies, MaxAge: 365 * 24 * 3600})
	if v := ViewerOf(c); v != nil {
		if err := h.store.SetLanguage(c.UserContext(), v.User.ID, to); err != nil {
			return err
		}
	}
	back := "/"
	if ref := c.Get(fiber.HeaderReferer); ref != "" {
		if u, err := parseLocal(ref, c.Hostname()); err == nil {
			back = u
		}
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

// Healthz handles GET /healthz: the process is up.
func (h *Handler) Healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// Readyz handles GET /readyz: the database answers.
func (h *Handler) Readyz(c *fiber.Ctx) error {
	if err := h.store.Ping(c.UserContext()); err != nil {
		h.log.Warn("Database not ready.", "request_id", RequestID(c), slogErr(err))
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable")
	}
	return c.SendString("ready")
}
