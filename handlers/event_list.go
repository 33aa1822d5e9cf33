package handlers

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// OperationsReader is what the event log, the sync page and the drift page read.
type OperationsReader interface {
	ListNotifications(ctx context.Context, f models.NotificationFilter) ([]models.NotificationRow, string, error)
	SyncJobs(ctx context.Context, mids []string, limit int) ([]models.SyncJob, error)
	DriftReport(ctx context.Context, f models.DriftFilter) (*models.DriftReport, error)
	Accounts(ctx context.Context) ([]models.MerchantAccount, error)
}

// eventsPageSize is the number of notifications per page of the event log.
const eventsPageSize = 50

// EventList handles GET /m/:mid/events: the notifications received for the
// mid's orders (and those of its account that did not verify, which name
// no trusted mid), newest first, filtered by valid/invalid, one keyset page
// at a time (?after=). Owners on /m/all also see notifications sent to no
// known account. htmx requests get only the table.
func (h *Handler) EventList(c *fiber.Ctx) error {
	c.Vary("HX-Request")
	sc := ScopeOf(c)
	mids := sc.Mids()
	accounts := accountsOf(sc.Access, mids)
	loc := h.zoneFor(sc.Access, mids...)
	vm := views.EventsVM{TimeZone: loc.String(), Action: "/m/" + sc.Mid + "/events"}
	f := models.NotificationFilter{Mids: mids, AccountIDs: accounts, UnknownAccounts: sc.All && sc.Access.Owner,
		After: c.Query("after"), Limit: eventsPageSize}
	switch c.Query("valid") {
	case "yes":
		vm.Valid, f.Valid = "yes", ptr(true)
	case "no":
		vm.Valid, f.Valid = "no", ptr(false)
	}
	rows, next, err := h.ops.ListNotifications(c.UserContext(), f)
	if err != nil {
		return err
	}
	for _, n := range rows {
		vm.Rows = append(vm.Rows, eventRow(n, h.eventZone(sc.Access, n, loc)))
	}
	if next != "" {
		vm.NextURL = eventsURL(vm, next)
	}
	if f.After != "" {
		vm.NewestURL = eventsURL(vm, "")
	}
	if isPartial(c) {
		// htmx pushes this request's URL: the header's switcher follows it.
		vm.Mid, vm.Switcher = sc.Mid, switcher(c, sc.Access, sc)
		return render(c, fiber.StatusOK, views.EventsTable(vm))
	}
	return render(c, fiber.StatusOK, views.EventsPage(h.layout(c, "events.title"), vm))
}

// eventZone is the zone of a notification's row: its mid's account's, or
// for one that names only its account that account's, else the page's.
func (h *Handler) eventZone(access models.Access, n models.NotificationRow, page *time.Location) *time.Location {
	if access.Held(n.Mid) != nil {
		return h.midZone(access, n.Mid)
	}
	if n.AccountID != nil {
		return h.accountZone(access, *n.AccountID, page)
	}
	return page
}

func eventRow(n models.NotificationRow, loc *time.Location) views.EventRow {
	r := views.EventRow{ID: n.ID, Time: views.Moment{T: n.ReceivedAt, Zone: loc}, API: n.APIKind, Valid: n.Valid, Mid: n.Mid,
		MchOrderNo: n.MchOrderNo, Status: n.Status, Changed: n.Changed, Replay: n.Replay,
		Unhandled: n.Valid && !n.Replay && n.HandledAt == nil, RemoteIP: n.RemoteIP, Method: n.Method}
	if !n.Valid {
		code, detail, _ := strings.Cut(n.Error, ": ")
		if !slices.Contains(hookErrCodes, code) {
			code, detail = "other", n.Error
		}
		r.ErrorCode, r.ErrorDetail = code, detail
	}
	if n.OrderID != nil && n.OrderMid != "" {
		r.OrderURL = orderURL(&models.Order{ID: *n.OrderID, Mid: n.OrderMid})
	}
	return r
}

// hookErrCodes are the refusal codes the event log words.
var hookErrCodes = []string{string(models.HookUnknownAccount), string(models.HookWrongAPI), string(models.HookAccountConfig),
	string(models.HookTooLarge), string(models.HookBadRequest), string(models.HookBadSignature)}

func eventsURL(vm views.EventsVM, after string) string {
	q := url.Values{}
	if vm.Valid != "" {
		q.Set("valid", vm.Valid)
	}
	if after != "" {
		q.Set("after", after)
	}
	if len(q) == 0 {
		return vm.Action
	}
	return vm.Action + "?" + q.Encode()
}

func ptr[T any](v T) *T { return &v }
