package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

var bothAPIs = []string{models.APIv3, models.APIVIP}

// Acceptance: 50 concurrent submissions of one refund form (one number: a
// double click, tabs, replays) make one refund row and one refund at Ksher.
func TestRefundFiftySubmissionsOfOneFormMakeOneRefund(t *testing.T) {
	for _, api := range bothAPIs {
		t.Run(api, func(t *testing.T) {
			e := newRefundEnv(t, models.RefundsConfig{})
			o := e.paid(t, api, "truemoney", 10000)
			fin := e.steppedUp(t, e.person(t, "fin-"+api+"@example.com", models.RoleFinance))
			p := e.form(t, fin, o)
			if p.RefundNo == "" || p.Remaining != 10000 || !p.Partial {
				t.Fatalf("panel = %+v", p)
			}
			if again := e.form(t, fin, o); again.RefundNo != p.RefundNo {
				t.Fatalf("a second form (another tab) has number %s, want the open one %s", again.RefundNo, p.RefundNo)
			}
			a := e.access(t, fin.user, o.Mid)
			e.sb.ResetCalls()
			ids := make([]int64, 50)
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rf, err := e.submit(fin, a, o, p.RefundNo, "25.00")
					if err != nil {
						t.Errorf("submission %d: %v", i, err)
						return
					}
					ids[i] = rf.ID
				}()
			}
			wg.Wait()
			for i, id := range ids {
				if id != ids[0] {
					t.Fatalf("submission %d got refund %d, the first %d", i, id, ids[0])
				}
			}
			rf := e.settled(t, ids[0], false)
			if rf.Status != models.RefundSucceeded || rf.Amount != 2500 || rf.KsherRefundNo == "" {
				t.Errorf("refund = %s %d %q, want succeeded 2500 with Ksher's number", rf.Status, rf.Amount, rf.KsherRefundNo)
			}
			if n := e.sb.Calls(refundOp(api)); n != 1 {
				t.Errorf("sandbox refund calls = %d, want 1", n)
			}
			if sum, n := e.sandboxRefunded(t, o.MchOrderNo); sum != 2500 || n != 1 {
				t.Errorf("sandbox holds %d refunds of %d, want one of 2500", n, sum)
			}
			rs, _ := e.store.OrderRefunds(context.Background(), o.ID)
			if len(rs) != 1 {
				t.Errorf("refund rows = %d, want 1", len(rs))
			}
			// The number is used: the next form has a new one, and the
			// old one shows the refund made.
			if next := e.form(t, fin, o); next.RefundNo == p.RefundNo || next.Remaining != 7500 {
				t.Errorf("next form: number %s (old %s), remaining %d; want a new number and 7500", next.RefundNo, p.RefundNo, next.Remaining)
			}
			if again, err := e.submit(fin, a, o, p.RefundNo, "25.00"); err != nil || again.ID != rf.ID {
				t.Errorf("replayed POST = %v, %v; want refund %d", again, err, rf.ID)
			}
			if as, _ := e.store.AuditLog(context.Background(), models.AuditFilter{Action: models.AuditRefund, Limit: 100}); len(as) != 1 {
				t.Errorf("refund audit entries = %d, want 1", len(as))
			}
		})
	}
}

// Acceptance: 50 people refunding parts of one 100.00 THB order at once:
// what succeeds never sums above 100.00, the rest is refused clearly.
func TestRefundFiftyConcurrentPartialsNeverExceedThePaidAmount(t *testing.T) {
	ctx := context.Background()
	e := newRefundEnv(t, models.RefundsConfig{})
	var clerks []clerk
	for i := range 50 {
		clerks = append(clerks, e.person(t, fmt.Sprintf("fin%d@example.com", i), models.RoleFinance))
	}
	// Their step-ups are confirmed (TestRefundStepUp tests the step-up).
	if err := e.store.ExecForBench(ctx, "UPDATE sessions SET stepped_up_at = now()"); err != nil {
		t.Fatal(err)
	}
	for _, api := range bothAPIs {
		t.Run(api, func(t *testing.T) {
			o := e.paid(t, api, "truemoney", 10000)
			type attempt struct {
				c  clerk
				a  models.MidAccess
				no string
			}
			var as []attempt
			for _, c := range clerks {
				as = append(as, attempt{c: c, a: e.access(t, c.user, o.Mid), no: e.form(t, c, o).RefundNo})
			}
			var mu sync.Mutex
			var accepted []int64
			refused := 0
			var wg sync.WaitGroup
			for _, at := range as {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rf, err := e.submit(at.c, at.a, o, at.no, "7.00")
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						ii := models.AsInvalidInput(err)
						if ii == nil || ii.Problems["amount"].ID != "refund.above_remaining" && ii.Problems["amount"].ID != "refund.nothing_left" {
							t.Errorf("refusal = %v, want the amount above the remaining", err)
						}
						refused++
						return
					}
					accepted = append(accepted, rf.ID)
				}()
			}
			wg.Wait()
			if len(accepted) != 14 || refused != 36 {
				t.Errorf("accepted %d, refused %d; want 14 (98.00) and 36", len(accepted), refused)
			}
			var sum int64
			for _, id := range accepted {
				rf := e.settled(t, id, false)
				if rf.Status == models.RefundSucceeded {
					sum += rf.Amount
				}
			}
			if sum > 10000 || sum != 9800 {
				t.Errorf("succeeded refunds sum to %d, want 9800 (never above 10000)", sum)
			}
			if got, n := e.sandboxRefunded(t, o.MchOrderNo); got != sum || n != len(accepted) {
				t.Errorf("sandbox: %d refunds of %d, want %d of %d", n, got, len(accepted), sum)
			}
			after, _ := e.store.FindOrder(ctx, []string{o.Mid}, o.ID)
			if after.Refunded != 9800 || after.Status != models.StatusPartiallyRefunded {
				t.Errorf("order = %s, refunded %d; want partially refunded 9800", after.Status, after.Refunded)
			}
		})
	}
}

// The fault rows of refunds: each sandbox fault on the refund call ends in
// the right state, and no fault makes a second refund at Ksher, in both of
// the sandbox's answers to a repeated number.
func TestRefundSendFaults(t *testing.T) {
	type row struct {
		name      string
		fault     sandbox.Fault
		want      string // the state once settled
		refunded  int64  // what the sandbox holds refunded
		unknownOn bool   // the send's own verdict was unknown (the reconciler decided)
	}
	rows := []row{
		{"timeout after Ksher refunded", sandbox.Fault{Kind: sandbox.FaultTimeout, Processed: true, LatencyMS: 3000, Next: 1}, models.RefundSucceeded, 3000, true},
		{"timeout before Ksher refunded", sandbox.Fault{Kind: sandbox.FaultTimeout, LatencyMS: 3000, Next: 1}, models.RefundFailed, 0, true},
		{"5xx after Ksher refunded", sandbox.Fault{Kind: sandbox.Fault5xx, Status: 502, Processed: true, Next: 1}, models.RefundSucceeded, 3000, true},
		{"5xx before Ksher refunded", sandbox.Fault{Kind: sandbox.Fault5xx, Status: 503, Next: 1}, models.RefundFailed, 0, true},
		{"malformed answer", sandbox.Fault{Kind: sandbox.FaultMalformed, Next: 1}, models.RefundSucceeded, 3000, true},
		{"bad signature", sandbox.Fault{Kind: sandbox.FaultBadSignature, Next: 1}, models.RefundSucceeded, 3000, true},
		{"rate limited, then sent again", sandbox.Fault{Kind: sandbox.FaultRateLimit, Next: 1}, models.RefundSucceeded, 3000, false},
	}
	for _, mode := range []string{sandbox.RepeatSameRefund, sandbox.RepeatRefused} {
		for _, api := range bothAPIs {
			t.Run(mode+"/"+api, func(t *testing.T) {
				t.Parallel() // each waits Ksher's 10 s once (the rate-limit row)
				e := newRefundEnv(t, models.RefundsConfig{})
				if err := e.sb.SetRepeatedRefunds(mode); err != nil {
					t.Fatal(err)
				}
				fin := e.steppedUp(t, e.person(t, "fin@example.com", models.RoleFinance))
				for _, r := range rows {
					t.Run(r.name, func(t *testing.T) {
						o := e.paid(t, api, "truemoney", 10000)
						e.sb.ClearFaults()
						f := r.fault
						f.Op = refundOp(api)
						if _, err := e.sb.AddFault(f); err != nil {
							t.Fatal(err)
						}
						e.sb.ResetCalls()
						rf, err := e.submit(fin, e.access(t, fin.user, o.Mid), o, e.form(t, fin, o).RefundNo, "30.00")
						if err != nil {
							t.Fatal(err)
						}
						got := e.settled(t, rf.ID, false)
						if got.Status != r.want {
							t.Errorf("state = %s (%s %s), want %s", got.Status, got.ErrorCode, got.Error, r.want)
						}
						if sum, _ := e.sandboxRefunded(t, o.MchOrderNo); sum != r.refunded {
							t.Errorf("sandbox refunded %d, want %d", sum, r.refunded)
						}
						sends := e.sb.Calls(refundOp(api))
						if r.unknownOn && (sends != 1 || got.Checks == 0) {
							t.Errorf("sends = %d, reconciler checks = %d; want 1 send and the reconciler deciding", sends, got.Checks)
						}
						if !r.unknownOn && sends != 2 {
							t.Errorf("sends = %d, want 2 (the same number again after Ksher's rate limit)", sends)
						}
					})
				}
			})
		}
	}
}
