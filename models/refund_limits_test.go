package models_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// Acceptance: a support person cannot refund above their cap or an order
// of an earlier day: 403, audited as refused, nothing sent.
func TestRefundSupportLimits(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{})
	o := e.paid(t, models.APIv3, "truemoney", 10000)
	sup := e.steppedUp(t, e.person(t, "support@example.com", models.RoleSupport))
	cap := int64(2000)
	if err := e.store.ExecForBench(ctx, "UPDATE memberships SET refund_cap = 2000, same_day_only = true WHERE user_id = "+itoa(sup.user.ID)); err != nil {
		t.Fatal(err)
	}
	a := e.access(t, sup.user, o.Mid)
	if a.RefundCap == nil || *a.RefundCap != cap || !a.SameDayOnly {
		t.Fatalf("access = %+v", a)
	}
	e.sb.ResetCalls()
	_, err := e.submit(sup, a, o, e.form(t, sup, o).RefundNo, "20.01")
	if models.ErrorCode(err) != models.EFORBIDDEN || models.ErrorMessageID(err) != "refund.above_cap" {
		t.Fatalf("above the cap: %v, want EFORBIDDEN refund.above_cap", err)
	}
	// An order paid yesterday (in the account's zone).
	if err := e.store.ExecForBench(ctx, "UPDATE orders SET paid_at = now() - interval '1 day', created_at = now() - interval '1 day' WHERE id = "+itoa(o.ID)); err != nil {
		t.Fatal(err)
	}
	o, _ = e.store.FindOrder(ctx, []string{o.Mid}, o.ID)
	p := e.form(t, sup, o)
	if !p.AfterDay {
		t.Error("panel does not warn that the refund comes from the merchant's balance")
	}
	_, err = e.submit(sup, a, o, p.RefundNo, "10.00")
	if models.ErrorCode(err) != models.EFORBIDDEN || models.ErrorMessageID(err) != "refund.same_day_only" {
		t.Fatalf("earlier day: %v, want EFORBIDDEN refund.same_day_only", err)
	}
	refused, _ := e.store.AuditLog(ctx, models.AuditFilter{Action: models.AuditRefundRefused, Limit: 10})
	if len(refused) != 2 || refused[0].ActorEmail != "support@example.com" {
		t.Errorf("refused audit entries = %+v, want 2 by the support person", refused)
	}
	if rs, _ := e.store.OrderRefunds(ctx, o.ID); len(rs) != 0 {
		t.Errorf("refund rows = %d, want none", len(rs))
	}
	if n := e.sb.Calls("order_refund"); n != 0 {
		t.Errorf("sandbox refund calls = %d, want 0", n)
	}
	// A manager has no such limits.
	mgr := e.steppedUp(t, e.person(t, "manager@example.com", models.RoleManager))
	rf, err := e.submit(mgr, e.access(t, mgr.user, o.Mid), o, e.form(t, mgr, o).RefundNo, "30.00")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.settled(t, rf.ID, false); got.Status != models.RefundSucceeded {
		t.Errorf("manager's refund = %s, want succeeded", got.Status)
	}
}

// Acceptance: a refund made outside the dashboard (in Ksher's portal: here
// straight at the sandbox), seen by the daily sync, lowers the remaining.
func TestRefundOutsideTheDashboardLowersTheRemaining(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{})
	o := e.paid(t, models.APIVIP, "truemoney", 10000)
	id := o.MchOrderNo
	if _, err := e.clients[models.APIVIP].Refunds.Create(ctx, &gateway.RefundCreateParams{Mid: refundVIPMid, MerchantOrderID: &id,
		RefundID: "PORTAL-1", Amount: 4000}); err != nil {
		t.Fatal(err)
	}
	j, err := e.sync.PullDay(ctx, models.Actor{Email: "fin@example.com"}, models.SyncEnqueue{AccountID: e.accts[models.APIVIP].ID, Mid: refundVIPMid, Day: time.Now().In(gateway.ICT)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, _ := e.store.FindOrder(ctx, []string{o.Mid}, o.ID)
		if got.Refunded == 4000 {
			o = got
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the sync (job %d) the order is %s, refunded %d; want 4000", j.ID, got.Status, got.Refunded)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fin := e.steppedUp(t, e.person(t, "fin@example.com", models.RoleFinance))
	p := e.form(t, fin, o)
	if p.Remaining != 6000 {
		t.Errorf("remaining = %d, want 6000", p.Remaining)
	}
	_, err = e.submit(fin, e.access(t, fin.user, o.Mid), o, p.RefundNo, "60.01")
	if ii := models.AsInvalidInput(err); ii == nil || ii.Problems["amount"].ID != "refund.above_remaining" {
		t.Errorf("60.01 of 60.00 left: %v, want refund.above_remaining", err)
	}
}

// The step-up: a wrong password refuses and creates nothing; a right one
// holds for the session for StepUpValidity, so the next refund asks
// nothing; with two-factor on, a current code is needed too.
func TestRefundStepUp(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{})
	o := e.paid(t, models.APIv3, "truemoney", 10000)
	fin := e.person(t, "fin@example.com", models.RoleFinance)
	a := e.access(t, fin.user, o.Mid)
	p := e.form(t, fin, o)
	if p.StepUpValid {
		t.Fatal("a new session is stepped up")
	}
	_, err := e.refunds.Create(ctx, fin.actor, a, models.RefundRequest{OrderID: o.ID, RefundNo: p.RefundNo, Amount: "10.00", Reason: "r",
		StepUp: models.StepUp{SessionID: fin.session, Password: "wrong password here"}})
	if ii := models.AsInvalidInput(err); ii == nil || ii.Problems["password"].ID != models.ReasonPasswordWrong {
		t.Fatalf("wrong password: %v", err)
	}
	if rs, _ := e.store.OrderRefunds(ctx, o.ID); len(rs) != 0 {
		t.Fatalf("a refund was made with a wrong password")
	}
	rf, err := e.submit(fin, a, o, p.RefundNo, "10.00")
	if err != nil {
		t.Fatal(err)
	}
	// Within the validity no password is needed.
	p2 := e.form(t, fin, o)
	if !p2.StepUpValid {
		t.Error("the step-up did not hold")
	}
	if _, err := e.refunds.Create(ctx, fin.actor, a, models.RefundRequest{OrderID: o.ID, RefundNo: p2.RefundNo, Amount: "5.00", Reason: "r",
		StepUp: models.StepUp{SessionID: fin.session}}); err != nil {
		t.Errorf("second refund within the step-up: %v", err)
	}
	// Another session of the same person is not stepped up.
	other := fin
	_, sess, _ := e.store.CreateSession(ctx, fin.user.ID, "192.0.2.9", "test", models.SessionPolicy{Idle: time.Hour, Absolute: time.Hour})
	other.session = sess.ID
	if _, err := e.refunds.Create(ctx, other.actor, a, models.RefundRequest{OrderID: o.ID, RefundNo: e.form(t, other, o).RefundNo, Amount: "5.00",
		Reason: "r", StepUp: models.StepUp{SessionID: other.session}}); models.AsInvalidInput(err) == nil {
		t.Errorf("another session without a password: %v, want the password asked", err)
	}
	e.settled(t, rf.ID, false)
}

// An attempt whose answer was never recorded (the process stopped during
// the call) makes the refund unknown: it is never sent again; the
// reconciler decides.
func TestRefundLostAttemptIsNeverSentAgain(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{})
	o := e.paid(t, models.APIv3, "truemoney", 10000)
	fin := e.steppedUp(t, e.person(t, "fin@example.com", models.RoleFinance))
	// Ksher makes the refund, then the answer never arrives and nothing is
	// recorded: as if the process died in the call.
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "order_refund", Kind: sandbox.FaultTimeout, Processed: true, LatencyMS: 3000, Next: 1}); err != nil {
		t.Fatal(err)
	}
	e.sb.ResetCalls()
	rf, err := e.submit(fin, e.access(t, fin.user, o.Mid), o, e.form(t, fin, o).RefundNo, "12.00")
	if err != nil {
		t.Fatal(err)
	}
	got := e.settled(t, rf.ID, false)
	if got.Status != models.RefundSucceeded || got.Attempts != 1 {
		t.Errorf("refund = %s after %d sends, want succeeded after 1", got.Status, got.Attempts)
	}
	// Left in flight by a dead process: the next run sends nothing.
	if err := e.store.ExecForBench(ctx, "UPDATE refunds SET status = 'pending', in_flight = true, decided_at = NULL WHERE id = "+itoa(rf.ID)); err != nil {
		t.Fatal(err)
	}
	if err := e.refunds.SendForTest(ctx, rf.ID); err != nil {
		t.Fatal(err)
	}
	var after models.Refund
	_ = e.store.ScanForTest(ctx, &after, "SELECT * FROM refunds WHERE id = ?", rf.ID)
	if after.Status != models.RefundUnknown && after.Status != models.RefundSucceeded {
		t.Errorf("state after a lost attempt = %s, want unknown (then the reconciler's answer)", after.Status)
	}
	if n := e.sb.Calls("order_refund"); n != 1 {
		t.Errorf("refund sends = %d, want 1", n)
	}
	if sum, n := e.sandboxRefunded(t, o.MchOrderNo); sum != 1200 || n != 1 {
		t.Errorf("sandbox holds %d refunds of %d, want one of 1200", n, sum)
	}
}

// An unknown refund the reconciler cannot decide is left to a person after
// ReconcileFor; it holds its amount until a person decides it with a
// reason, audited.
func TestRefundUnknownGoesToAPerson(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{ReconcileFor: time.Millisecond, NotFoundAfter: time.Hour})
	o := e.paid(t, models.APIv3, "promptpay", 10000) // no refund_query: the order is asked
	fin := e.steppedUp(t, e.person(t, "fin@example.com", models.RoleFinance))
	p := e.form(t, fin, o)
	if p.Partial || !p.QueryByOrder || p.PartialBy != models.PartialByChannel {
		t.Errorf("PromptPay panel: partial %v by %s, query by order %v; want no partial (channel), asked by order", p.Partial, p.PartialBy, p.QueryByOrder)
	}
	a := e.access(t, fin.user, o.Mid)
	if _, err := e.submit(fin, a, o, p.RefundNo, "50.00"); models.AsInvalidInput(err) == nil || models.AsInvalidInput(err).Problems["amount"].ID != "refund.partial_not_allowed" {
		t.Errorf("PromptPay partial: %v, want refund.partial_not_allowed", err)
	}
	// The answer is lost and Ksher did nothing (a 5xx): the order still
	// reads paid, which is not "failed" before NotFoundAfter (an hour).
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "order_refund", Kind: sandbox.Fault5xx, Status: 502, Next: 1}); err != nil {
		t.Fatal(err)
	}
	rf, err := e.refunds.Create(ctx, fin.actor, a, models.RefundRequest{OrderID: o.ID, RefundNo: p.RefundNo, Full: true, Reason: "r",
		StepUp: models.StepUp{SessionID: fin.session}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var got models.Refund
	for {
		_ = e.store.ScanForTest(ctx, &got, "SELECT * FROM refunds WHERE id = ?", rf.ID)
		if got.NeedsPerson || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Status != models.RefundUnknown || !got.NeedsPerson || got.Amount != 10000 {
		t.Fatalf("refund = %s, needs a person %v, amount %d; want unknown, left to a person, 10000", got.Status, got.NeedsPerson, got.Amount)
	}
	list, _ := e.store.UnknownRefunds(ctx, []string{o.Mid}, 10)
	if len(list) != 1 || list[0].ID != rf.ID {
		t.Errorf("drift list = %+v, want the refund", list)
	}
	// While it is unknown it holds the amount.
	if p := e.form(t, fin, o); p.Remaining != 0 || p.Blocked != "refund.nothing_left" {
		t.Errorf("remaining while unknown = %d (%s), want 0", p.Remaining, p.Blocked)
	}
	if _, err := e.refunds.Resolve(ctx, fin.actor, a, rf.ID, models.RefundFailed, ""); models.AsInvalidInput(err) == nil {
		t.Errorf("resolve without a reason: %v", err)
	}
	if _, err := e.refunds.Resolve(ctx, fin.actor, a, rf.ID, models.RefundFailed, "Ksher's portal shows no refund"); err != nil {
		t.Fatal(err)
	}
	_ = e.store.ScanForTest(ctx, &got, "SELECT * FROM refunds WHERE id = ?", rf.ID)
	if got.Status != models.RefundFailed || got.ResolvedBy == nil || *got.ResolvedBy != fin.user.ID {
		t.Errorf("after resolving: %s by %v", got.Status, got.ResolvedBy)
	}
	outcomes, _ := e.store.AuditLog(ctx, models.AuditFilter{Action: models.AuditRefundOutcome, Limit: 10})
	if len(outcomes) == 0 || outcomes[0].ActorEmail != "fin@example.com" {
		t.Errorf("outcome audit = %+v, want the person's decision first", outcomes)
	}
	if p := e.form(t, fin, o); p.Remaining != 10000 {
		t.Errorf("remaining after the failed refund = %d, want 10000 released", p.Remaining)
	}
	if _, err := e.refunds.Resolve(ctx, fin.actor, a, rf.ID, models.RefundSucceeded, "again"); models.ErrorCode(err) != models.ECONFLICT {
		t.Errorf("resolving a decided refund: %v, want ECONFLICT", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A vip order cached from the daily sync has no family (the report does
// not say): the refund looks it up first, and sends to the family's path.
func TestRefundOfASyncedVIPOrderLooksItUpFirst(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{})
	id := e.paidAtKsher(t, models.APIVIP, "truemoney", 5000)
	// As the sync caches it: a report line names no family.
	o, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.accts[models.APIVIP].ID, Mid: refundVIPMid, MchOrderNo: id,
		Status: models.StatusPaid, Amount: 5000, Currency: "THB", Channel: "truemoney", Source: "sync", Event: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	fin := e.steppedUp(t, e.person(t, "fin@example.com", models.RoleFinance))
	p := e.form(t, fin, o)
	if !p.NeedsLookup {
		t.Fatalf("panel of a family-less vip order: %+v, want NeedsLookup", p)
	}
	e.sb.ResetCalls()
	rf, err := e.submit(fin, e.access(t, fin.user, o.Mid), o, p.RefundNo, "50.00")
	if err != nil {
		t.Fatal(err)
	}
	if rf.TargetField != "redirect" || rf.TargetID != o.MchOrderNo {
		t.Errorf("target = %s %s, want redirect %s", rf.TargetField, rf.TargetID, o.MchOrderNo)
	}
	if got := e.settled(t, rf.ID, false); got.Status != models.RefundSucceeded {
		t.Errorf("refund = %s (%s), want succeeded", got.Status, got.Error)
	}
	if n := e.sb.Calls("vip.redirect.refund"); n != 1 {
		t.Errorf("redirect refund calls = %d, want 1", n)
	}
}

// Ksher saying an order is refunded (a refresh here; a vip "Order
// Refunded" webhook's query, the sync) sends the reconciler to the order's
// unknown refunds at once, whatever backoff it was waiting out.
func TestRefundSeenOnTheOrderWakesTheReconciler(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{NotFoundAfter: time.Hour})
	o := e.paid(t, models.APIv3, "promptpay", 10000)
	fin := e.steppedUp(t, e.person(t, "fin@example.com", models.RoleFinance))
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "order_refund", Kind: sandbox.Fault5xx, Status: 502, Next: 1}); err != nil {
		t.Fatal(err)
	}
	rf, err := e.refunds.Create(ctx, fin.actor, e.access(t, fin.user, o.Mid), models.RefundRequest{OrderID: o.ID,
		RefundNo: e.form(t, fin, o).RefundNo, Full: true, Reason: "r", StepUp: models.StepUp{SessionID: fin.session}})
	if err != nil {
		t.Fatal(err)
	}
	// Unknown, checked once (the order still reads paid), waiting its backoff.
	deadline := time.Now().Add(15 * time.Second)
	var got models.Refund
	for got.Checks == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		_ = e.store.ScanForTest(ctx, &got, "SELECT * FROM refunds WHERE id = ?", rf.ID)
	}
	if got.Status != models.RefundUnknown || got.Checks != 1 {
		t.Fatalf("refund = %s after %d checks, want unknown after 1", got.Status, got.Checks)
	}
	// Ksher made the refund after all (late), and a refresh sees the order refunded.
	id := o.MchOrderNo
	if _, err := e.clients[models.APIv3].Refunds.Create(ctx, &gateway.RefundCreateParams{Mid: refundV3Mid, MerchantOrderID: &id,
		RefundID: rf.MchRefundNo, Amount: 10000, OrderAmount: 10000}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(models.QueryGap) // Ksher's 10 seconds since the reconciler asked
	if _, up := e.orders.Refresh(ctx, o, true); up.Err != nil || !up.Called {
		t.Fatalf("refresh: %+v", up)
	}
	start := time.Now()
	got = e.settled(t, rf.ID, false)
	if got.Status != models.RefundSucceeded {
		t.Errorf("refund = %s, want succeeded", got.Status)
	}
	// Woken and decided from the refresh's answer: not after its backoff
	// (20 s from its check, 10 s from now) nor Ksher's next 10 seconds.
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("the reconciler took %v after the refresh", waited)
	}
}
