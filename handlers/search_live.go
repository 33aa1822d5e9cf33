package handlers

import (
	"slices"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// liveTry is what the search page says of one mid's live lookup.
func liveTry(mid string, up models.UpstreamNote, loc *time.Location) views.LiveTryVM {
	t := views.LiveTryVM{Mid: mid, API: up.API, Tried: up.Tried, Called: up.Called, Found: up.Found,
		At: views.Moment{T: up.At, Zone: loc}, OverBudget: up.OverBudget != nil}
	if up.Err != nil {
		t.Error, t.Timeout = models.GatewayErrorCode(up.Err), models.ErrorCode(up.Err) == models.EGATEWAYTIMEOUT
		t.ErrorID, t.ErrorData = models.ErrorMessageID(up.Err), models.ErrorData(up.Err)
	}
	return t
}

// addBudgetNotice adds the notice of a spent lookup budget, once per
// budget: the page then shows what the cache has.
func addBudgetNotice(vm *views.SearchVM, ob *models.OverBudget) {
	n := views.BudgetNoticeVM{Scope: ob.Scope, Account: ob.Account, Limit: ob.Limit, Seconds: ob.RetrySeconds(time.Now())}
	if !slices.ContainsFunc(vm.OverBudget, func(o views.BudgetNoticeVM) bool { return o.Scope == n.Scope && o.Account == n.Account }) {
		vm.OverBudget = append(vm.OverBudget, n)
	}
}
