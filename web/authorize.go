package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/handlers"
	"github.com/ksherdash/ksherdash/models"
)

// authorize is the one middleware that enforces the permission matrix:
//   - a :mid the person does not hold (or that does not exist) is 404, so the
//     answer does not reveal that it exists;
//   - a role without the route's action is 403;
//   - /m/all is served only by routes that allow it, over the mids where the
//     person's role has the action.
func (m *middleware) authorize(rule Rule) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v := handlers.ViewerOf(c)
		access, err := m.store.Access(c.UserContext(), v.User)
		if err != nil {
			return err
		}
		sc := &handlers.Scope{Access: access, Action: rule.Action}
		switch rule.Kind {
		case kindGlobal:
			// Owners always; others when some mid they hold allows the
			// action; account-wide actions owners only (all in Can).
			if !access.Can(models.AllMids, rule.Action) {
				return fiber.ErrForbidden
			}
		case kindMid:
			mid := c.Params("mid")
			if mid == models.AllMids {
				if !rule.AllowAll || len(access.Mids) == 0 {
					return fiber.ErrNotFound
				}
				if !access.Can(models.AllMids, rule.Action) {
					return fiber.ErrForbidden
				}
				sc.Mid, sc.All = models.AllMids, true
				break
			}
			if access.Held(mid) == nil {
				return fiber.ErrNotFound
			}
			if !access.Can(mid, rule.Action) {
				return fiber.ErrForbidden
			}
			sc.Mid = mid
		}
		c.Locals(handlers.LocalScope, sc)
		if m.exposeAuthz {
			c.Set("X-Ksd-Authz", "ok")
		}
		if rule.Kind == kindMid && c.Method() == fiber.MethodGet && sc.Mid != v.User.LastMid && isOwnNavigation(c) {
			if err := m.h.RememberMid(c, sc.Mid); err != nil {
				return err
			}
		}
		return c.Next()
	}
}

// isOwnNavigation reports whether a GET may count as the person's own move
// to a mid (remembered in users.last_mid, audited as mid_switch). GETs carry
// no CSRF token, so any other site could otherwise link, redirect or embed
// an image to /m/<mid> and write the person's last mid and audit log. The
// browser says where a request comes from in Sec-Fetch-Site: "cross-site"
// (another site) and "same-site" (another origin of the same site, e.g. a
// sibling subdomain) are not ours; "same-origin" (our own pages) and "none"
// (typed, bookmarked) are. Browsers without Fetch Metadata, and clients
// that are not browsers, send nothing and are trusted as before. The page
// itself is still served: only the remembering is skipped.
func isOwnNavigation(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	return true
}
