package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// "Re-sync all" is a River job over its progress row: queued with its row
// and its audit entry in one transaction, worked by River, and idempotent:
// two runs of the one job at once (River's rescue of a slow worker) count
// each order once and ask Ksher about each once.
func TestDriftResyncAllIsAJobThatCountsEachOrderOnce(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	ids := e.paidOrders(t, "mch35618", 4)
	created := time.Now().Add(-time.Hour)
	for _, id := range ids { // paid, and no notification said so; Ksher's amounts are 1000+i: the first agrees
		if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.account.ID, Mid: "mch35618", MchOrderNo: id, Kind: "redirect",
			Status: models.StatusPaid, Amount: 1000, Source: "sync", CreatedAt: &created}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := MustJobs(t, e.store, testJobConfig())
	orders := models.NewOrders(e.store, models.NewGatewayClients(e.store, nil, gateway.WithMaxRetries(0), gateway.WithNoSleep()), nil)
	d, err := models.NewDriftResyncs(e.store, orders, jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	by := models.Actor{UserID: 0, Email: "fin@example.com", IP: "192.0.2.1"}
	f := models.DriftFilter{Mids: []string{"mch35618"}, Limit: 50}
	r, err := d.Start(ctx, by, "mch35618", f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total() != 4 || r.State != models.ResyncQueued {
		t.Fatalf("started = %d orders, %s; want 4 queued", r.Total(), r.State)
	}
	if js := e.riverJobs(t, "drift_resync"); len(js) != 1 || js[0].State != string(rivertype.JobStateAvailable) {
		t.Fatalf("River jobs = %+v, want one available", js)
	}
	if as, _ := e.store.AuditLog(ctx, models.AuditFilter{Action: models.AuditResync, Limit: 10}); len(as) != 1 || as[0].ActorEmail != "fin@example.com" {
		t.Errorf("audit = %+v, want the request's entry", as)
	}
	// Someone else's scope does not see it.
	if _, err := d.Get(ctx, []string{"mch35000"}, r.ID); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("Get from another mid = %v, want ENOTFOUND", err)
	}

	// Two runs of the job at once, with slow answers so they overlap.
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "vip.redirect.query", Kind: sandbox.FaultLatency, LatencyMS: 100}); err != nil {
		t.Fatal(err)
	}
	e.sb.ResetCalls()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.RunForTest(ctx, r.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := d.Get(ctx, f.Mids, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != models.ResyncDone || got.Done != 4 || got.Asked+got.Skipped+got.Failed != 4 || got.Asked != 4 || got.Confirmed != 1 {
		t.Errorf("after two runs: %s, %d done, asked %d skipped %d failed %d confirmed %d; want done, each of 4 asked and counted once, 1 confirmed",
			got.State, got.Done, got.Asked, got.Skipped, got.Failed, got.Confirmed)
	}
	if n := e.sb.Calls("vip.redirect.query"); n != 4 {
		t.Errorf("queries = %d, want 4: each order asked once (the 10-second rule holds across runs)", n)
	}

	// River works the job too: it finds the row done and does nothing more.
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the job to complete", func() bool {
		return e.riverJobs(t, "drift_resync")[0].State == string(rivertype.JobStateCompleted)
	})
	if n := e.sb.Calls("vip.redirect.query"); n != 4 {
		t.Errorf("queries after River's run = %d, want still 4", n)
	}
}
