package handlers

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// syncMaxDaysBack is how far back a day may be queued by hand.
const syncMaxDaysBack = 90

// SyncShow handles GET /m/:mid/sync: per mid and day, the pull of Ksher's
// daily transactions report (status, rows fetched of the total, the last
// error) and a form to queue a day. v3 mids are named with the reason they
// have none. htmx polling gets only the table.
func (h *Handler) SyncShow(c *fiber.Ctx) error {
	c.Vary("HX-Request")
	vm, err := h.syncVM(c)
	if err != nil {
		return err
	}
	vm.Queued = strings.TrimSpace(c.Query("queued"))
	if isPartial(c) {
		return render(c, fiber.StatusOK, views.SyncTable(vm))
	}
	return render(c, fiber.StatusOK, views.SyncPage(h.layout(c, "sync.title"), vm))
}

// syncVM builds the page for the request's scope.
func (h *Handler) syncVM(c *fiber.Ctx) (views.SyncVM, error) {
	sc := ScopeOf(c)
	ctx := c.UserContext()
	mids := sc.Mids()
	loc := h.zoneFor(sc.Access, mids...)
	vm := views.SyncVM{TimeZone: loc.String(),
		Action: "/m/" + sc.Mid + "/sync", CSRF: csrfToken(c)}
	kinds, err := h.apiKinds(c)
	if err != nil {
		return vm, err
	}
	for _, mid := range mids {
		a := sc.Access.Held(mid)
		switch kinds[a.Mid.AccountID] {
		case models.APIv3:
			vm.V3Mids = append(vm.V3Mids, mid)
		case models.APIVIP:
			if sc.Access.Can(mid, models.ActResync) {
				vm.VIPMids = append(vm.VIPMids, views.SyncMidOption{Value: mid, Label: a.Mid.Label()})
			}
		}
	}
	vm.CanEnqueue = len(vm.VIPMids) > 0
	today := time.Now().In(loc)
	vm.Day, vm.MaxDay = today.Format(time.DateOnly), today.Format(time.DateOnly)
	vm.MinDay = today.AddDate(0, 0, -syncMaxDaysBack).Format(time.DateOnly)
	if len(vm.VIPMids) > 0 {
		vm.Mid = vm.VIPMids[0].Value
	}
	jobs, err := h.ops.SyncJobs(ctx, mids, 60)
	if err != nil {
		return vm, err
	}
	for _, j := range jobs {
		row := views.SyncJobRow{Mid: j.Mid, Day: j.DayString(), Status: j.Status, Fetched: j.Fetched, Error: j.Error,
			Attempts: j.Attempts, Updated: views.Moment{T: j.UpdatedAt, Zone: h.midZone(sc.Access, j.Mid)}}
		if j.Total != nil && *j.Total > 0 {
			row.Total = *j.Total
			row.Percent = min(100, j.Fetched*100/row.Total)
		}
		vm.Active = vm.Active || j.Status == models.SyncQueued || j.Status == models.SyncRunning
		vm.Jobs = append(vm.Jobs, row)
	}
	return vm, nil
}

// apiKinds maps each merchant account to its Ksher API.
func (h *Handler) apiKinds(c *fiber.Ctx) (map[int64]string, error) {
	accounts, err := h.ops.Accounts(c.UserContext())
	if err != nil {
		return nil, err
	}
	kinds := make(map[int64]string, len(accounts))
	for _, a := range accounts {
		kinds[a.ID] = a.APIKind
	}
	return kinds, nil
}
