package handlers

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// ScopeStore is what the mid scope of every signed-in page needs: the person's access and their last mid.
type ScopeStore interface {
	Access(ctx context.Context, u *models.User) (models.Access, error)
	SetLastMid(ctx context.Context, by models.Actor, mid, auditMid string) error
}

// LocalScope is the Locals key of the request's *Scope.
const LocalScope = "scope"

// Scope is what web's authorize middleware decided for a request.
type Scope struct {
	Mid    string        // the mid of the URL, or "all"
	All    bool          // /m/all
	Access models.Access // what the person may do, on every mid they may see
	Action models.Action // the route's
}

// ScopeOf returns the request's scope, or nil outside scoped routes.
func ScopeOf(c *fiber.Ctx) *Scope {
	s, _ := c.Locals(LocalScope).(*Scope)
	return s
}

// Mids returns the mids the request covers: the one mid, or for /m/all
// every mid where the person may take the route's action.
func (s *Scope) Mids() []string {
	if s.All {
		return s.Access.MidsWith(s.Action)
	}
	return []string{s.Mid}
}

// Can reports whether the person may take action on the request's mid (on
// /m/all: on some mid they hold).
func (s *Scope) Can(action models.Action) bool {
	return s != nil && s.Access.Can(s.Mid, action)
}

// actor is who does what, for the audit log.
func actor(c *fiber.Ctx) models.Actor {
	var u *models.User
	if v := ViewerOf(c); v != nil {
		u = v.User
	}
	return models.ActorOf(u, ClientIP(c), c.Get(fiber.HeaderUserAgent), RequestID(c))
}

// audit records an entry; a failure to audit fails the request, because an
// action that matters must not happen unrecorded.
func (h *Handler) audit(c *fiber.Ctx, action, target, mid string, details map[string]any) error {
	return h.signIns.Audit(c.UserContext(), actor(c), action, target, mid, details)
}

// RememberMid records that the person switched to mid (their home page
// opens there next time) and audits the switch.
func (h *Handler) RememberMid(c *fiber.Ctx, mid string) error {
	if err := h.scopes.SetLastMid(c.UserContext(), actor(c), mid, midOrEmpty(mid)); err != nil {
		return err
	}
	ViewerOf(c).User.LastMid = mid
	return nil
}

func midOrEmpty(mid string) string {
	if mid == "all" {
		return ""
	}
	return mid
}

// switcher builds the header's mid switcher: each entry keeps the current
// page and its query string, with only the mid changed. Outside mid pages,
// entries open the mid's home.
func switcher(c *fiber.Ctx, access models.Access, sc *Scope) []views.MidOption {
	if len(access.Mids) == 0 {
		return nil
	}
	path, query := c.Path(), string(c.Request().URI().QueryString())
	rest := ""
	if sc != nil && strings.HasPrefix(path, "/m/"+sc.Mid) {
		rest = strings.TrimPrefix(path, "/m/"+sc.Mid)
	}
	link := func(mid string) string {
		u := "/m/" + mid + rest
		if rest != "" && query != "" {
			u += "?" + query
		}
		return u
	}
	var opts []views.MidOption
	if len(access.Mids) > 1 {
		opts = append(opts, views.MidOption{Mid: models.AllMids, URL: link(models.AllMids)})
	}
	for _, a := range access.Mids {
		opts = append(opts, views.MidOption{Mid: a.Mid.Mid, Label: a.Mid.Label(), URL: link(a.Mid.Mid)})
	}
	return opts
}
