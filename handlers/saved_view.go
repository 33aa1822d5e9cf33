package handlers

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// SavedViewStore keeps a person's saved order list views.
type SavedViewStore interface {
	SavedViews(ctx context.Context, userID int64) ([]models.SavedView, error)
	SaveView(ctx context.Context, userID int64, name, query string) (*models.SavedView, error)
	DeleteSavedView(ctx context.Context, userID, id int64) error
}

// savedViewQuery keeps only the list's filter keys of a posted query, so a
// saved view can never carry a page cursor or anything else.
func savedViewQuery(raw string) url.Values {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return url.Values{}
	}
	out := url.Values{}
	for _, k := range listKeys {
		for _, v := range q[k] {
			// A view saved before bad bytes were refused at the boundary
			// may hold one: it is left out, so the view still opens.
			if utf8.ValidString(v) && !strings.ContainsRune(v, 0) {
				out.Add(k, v)
			}
		}
	}
	return out
}

// SavedViewCreate handles POST /m/:mid/orders/views: saves the list's
// current filter under a name (the same name again replaces it) and opens
// it. A refused name re-renders the list with the problem.
func (h *Handler) SavedViewCreate(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	q := savedViewQuery(c.FormValue("query"))
	query := q.Encode()
	_, err := h.savedViews.SaveView(c.UserContext(), ViewerOf(c).User.ID, c.FormValue("name"), query)
	if bad := models.AsInvalidInput(err); bad != nil {
		return h.renderOrderList(c, q, problemTexts(c, bad.Problems)["name"])
	}
	if err != nil {
		return err
	}
	to := "/m/" + sc.Mid + "/orders"
	if query != "" {
		to += "?" + query
	}
	return redirectAfterPost(c, to)
}

// SavedViewDelete handles POST /m/:mid/orders/views/:id/delete.
func (h *Handler) SavedViewDelete(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	if err := h.savedViews.DeleteSavedView(c.UserContext(), ViewerOf(c).User.ID, id); err != nil {
		return err // another person's view: ENOTFOUND, 404 (web)
	}
	to := "/m/" + sc.Mid + "/orders"
	if q := savedViewQuery(c.FormValue("query")).Encode(); q != "" {
		to += "?" + q
	}
	return redirectAfterPost(c, to)
}

// savedViewsVM lists the person's views on the list page.
func (h *Handler) savedViewsVM(c *fiber.Ctx, vm *views.OrderListVM) error {
	vs, err := h.savedViews.SavedViews(c.UserContext(), ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	base := "/m/" + vm.Mid + "/orders"
	for _, v := range vs {
		u := base
		if v.Query != "" {
			u += "?" + v.Query
		}
		vm.SavedViews = append(vm.SavedViews, views.SavedViewVM{ID: v.ID, Name: v.Name, URL: u,
			DeleteURL: base + "/views/" + strconv.FormatInt(v.ID, 10) + "/delete", Current: v.Query == vm.Query})
	}
	return nil
}
