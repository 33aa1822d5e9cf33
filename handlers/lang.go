package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// LanguageSet handles POST /lang (form field "to": en or th, anything else
// goes back to the browser's language): remembers the choice (on the person
// when signed in, in a cookie always) and goes back to the page it came from.
// A POST, behind the CSRF check, because it writes to the person's record:
// the footer of every page, the sign-in page included, holds the form.
func (h *Handler) LanguageSet(c *fiber.Ctx) error {
	to := c.FormValue("to")
	if to != "en" && to != "th" {
		to = ""
	}
	c.Cookie(&fiber.Cookie{Name: "lang", Value: to, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: h.cfg.SecureCookies, MaxAge: 365 * 24 * 3600})
	if v := ViewerOf(c); v != nil {
		if err := h.signIns.SetLanguage(c.UserContext(), v.User.ID, to); err != nil {
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
