package handlers

import (
	"context"
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// DayPuller queues a day's pull ("Pull this day"), audited
// (models.Sync.PullDay).
type DayPuller interface {
	PullDay(ctx context.Context, by models.Actor, e models.SyncEnqueue) (*models.SyncJob, error)
}

// SyncCreate handles POST /m/:mid/sync: queue one vip mid's day (the form's
// mid: the URL's, or on /m/all one of the person's vip mids where they may
// re-sync). A day already pulled is pulled again from its first row; a
// failed one resumes where it stopped. Audited.
func (h *Handler) SyncCreate(c *fiber.Ctx) error {
	vm, err := h.syncVM(c)
	if err != nil {
		return err
	}
	sc := ScopeOf(c)
	mid := c.FormValue("mid", sc.Mid)
	var held *models.MidAccess
	offered := slices.ContainsFunc(vm.VIPMids, func(o views.SyncMidOption) bool { return o.Value == mid })
	if offered && (sc.All || mid == sc.Mid) {
		held = sc.Access.Held(mid)
	}
	if held == nil {
		return h.syncInvalid(c, vm, mid, "sync.error.mid")
	}
	loc := h.midZone(sc.Access, mid) // the day is the mid's account's
	day, err := time.ParseInLocation(time.DateOnly, c.FormValue("day"), loc)
	today := time.Now().In(loc)
	todayStart := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	if err != nil || day.After(todayStart) || day.Before(todayStart.AddDate(0, 0, -syncMaxDaysBack)) {
		return h.syncInvalid(c, vm, mid, "sync.error.day")
	}
	j, err := h.syncs.PullDay(c.UserContext(), actor(c), models.SyncEnqueue{AccountID: held.Mid.AccountID, Mid: mid, Day: day})
	if err != nil {
		return err
	}
	return redirectAfterPost(c, vm.Action+"?"+url.Values{"queued": {mid + " " + j.DayString()}}.Encode())
}

// syncInvalid re-renders the page with the form's problem (200, as htmx
// swaps only successful answers).
func (h *Handler) syncInvalid(c *fiber.Ctx, vm views.SyncVM, mid, msgID string) error {
	vm.Mid, vm.Day, vm.Error = mid, c.FormValue("day"), h.T(c, msgID)
	return render(c, fiber.StatusOK, views.SyncPage(h.layout(c, "sync.title"), vm))
}
