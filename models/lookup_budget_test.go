package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// The budget of live lookups against the real sandbox over HTTP, on two
// "replicas": two stores (two connection pools) and two order services
// over one database. The stores share a clock stopped at the start of a
// minute, so no window ends during a test unless it moves the clock.

type budgetEnv struct {
	*syncEnv
	replicas [2]*models.Orders
	stores   [2]*models.Store
}

func newBudgetEnv(t *testing.T, limits models.LookupLimits, mids ...string) *budgetEnv {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	e := &budgetEnv{}
	for i := range e.stores {
		s, err := models.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.SetSecretKey([]byte("test secret key, at least 32 characters"))
		e.stores[i] = s
	}
	if _, err := e.stores[0].Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	e.syncEnv = newSyncEnvOn(t, e.stores[0], mids...)
	e.clock.t = e.clock.t.Truncate(time.Minute).Add(time.Second)
	for i, s := range e.stores {
		s.SetClock(e.clock.Now)
		e.replicas[i] = models.NewOrders(s, models.NewGatewayClients(s, nil, gateway.WithMaxRetries(0), gateway.WithNoSleep()), nil)
		e.replicas[i].LimitLookups(limits)
	}
	return e
}

// searches is how many searches reached Ksher: each unknown number is
// asked first as a redirect order, once per mid.
func (e *budgetEnv) searches() int { return e.sb.Calls("vip.redirect.query") }

// search is one person's search of id over mids on replica r, as the
// search page makes it; it returns the notes of the mids asked.
func (e *budgetEnv) search(r int, who models.Actor, id string, mids ...string) []models.UpstreamNote {
	ls := e.replicas[r].StartSearch(who)
	var notes []models.UpstreamNote
	for _, m := range mids {
		notes = append(notes, e.replicas[r].FindLive(context.Background(), models.MidAccess{Mid: models.Mid{Mid: m, AccountID: e.account.ID}}, id, ls))
	}
	return notes
}

// 30 concurrent searches by one person for distinct unknown numbers, half
// on each replica, with a budget of 7: exactly 7 reach Ksher, the others
// are refused with the person's budget and when it renews. The next
// minute renews it.
func TestLookupBudgetPersonLetsExactlyKThroughAcrossReplicas(t *testing.T) {
	const n, k = 30, 7
	e := newBudgetEnv(t, models.LookupLimits{PerPerson: k}, "mch52001")
	who := models.Actor{UserID: 4201, Email: "fin@example.com"}
	var wg sync.WaitGroup
	notes := make([]models.UpstreamNote, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			notes[i] = e.search(i%2, who, fmt.Sprintf("FLOOD-%02d", i), "mch52001")[0]
		}()
	}
	wg.Wait()
	if got := e.searches(); got != k {
		t.Errorf("searches that reached Ksher = %d, want exactly %d", got, k)
	}
	refused, asked := 0, 0
	windowEnd := e.clock.Now().Truncate(time.Minute).Add(time.Minute)
	for _, up := range notes {
		switch {
		case up.OverBudget != nil:
			refused++
			if ob := up.OverBudget; ob.Scope != models.BudgetPerson || ob.Limit != k || !ob.RetryAt.Equal(windowEnd) || up.Called || up.Err != nil {
				t.Errorf("refusal = %+v (called %v, err %v), want the person's budget of %d until %s", ob, up.Called, up.Err, k, windowEnd)
			}
			if s := up.OverBudget.RetrySeconds(e.clock.Now()); s != 59 {
				t.Errorf("retry in %d s, want 59", s)
			}
		case up.Called && up.Err == nil && !up.Found:
			asked++
		default:
			t.Errorf("note = %+v, want asked (not found) or refused", up)
		}
	}
	if refused != n-k || asked != k {
		t.Errorf("refused %d, asked %d; want %d and %d", refused, asked, n-k, k)
	}
	// Another person has a budget of their own.
	if up := e.search(1, models.Actor{UserID: 4202}, "OTHER-PERSON", "mch52001")[0]; up.OverBudget != nil || !up.Called {
		t.Errorf("another person's search = %+v, want asked", up)
	}
	e.clock.Advance(time.Minute)
	if up := e.search(0, who, "NEXT-MINUTE", "mch52001")[0]; up.OverBudget != nil || !up.Called {
		t.Errorf("search in the next minute = %+v, want asked", up)
	}
	if got := e.searches(); got != k+2 {
		t.Errorf("searches that reached Ksher = %d, want %d", got, k+2)
	}
}

// A search is counted once however many mids it asks: with a budget of 2,
// two searches over two mids reach Ksher on both, the third none.
func TestLookupBudgetCountsSearchesNotCalls(t *testing.T) {
	e := newBudgetEnv(t, models.LookupLimits{PerPerson: 2, PerAccount: 2}, "mch52011", "mch52012")
	who := models.Actor{UserID: 4211}
	for i, want := range []int{2, 4, 4} {
		notes := e.search(0, who, fmt.Sprintf("TWO-MIDS-%d", i), "mch52011", "mch52012")
		if got := e.searches(); got != want {
			t.Fatalf("after search %d: mids asked = %d, want %d (notes %+v)", i+1, got, want, notes)
		}
		if over := notes[0].OverBudget != nil && notes[1].OverBudget != nil; over != (i == 2) {
			t.Errorf("search %d refused = %v, want %v", i+1, over, i == 2)
		}
	}
}

// The account's budget is everyone's: five people with budgets of their
// own make 20 concurrent searches on one account whose budget is 5, and 5
// reach Ksher. The refusals name the account.
func TestLookupBudgetAccountIsSharedByEveryone(t *testing.T) {
	const people, each, k = 5, 4, 5
	e := newBudgetEnv(t, models.LookupLimits{PerPerson: 100, PerAccount: k}, "mch52021")
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	for p := range people {
		for i := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				up := e.search((p+i)%2, models.Actor{UserID: int64(4300 + p)}, fmt.Sprintf("ACCT-%d-%d", p, i), "mch52021")[0]
				mu.Lock()
				defer mu.Unlock()
				if ob := up.OverBudget; ob != nil {
					refused++
					if ob.Scope != models.BudgetAccount || ob.AccountID != e.account.ID || ob.Account != e.account.Name || ob.Limit != k {
						t.Errorf("refusal = %+v, want account %d (%s), %d a minute", ob, e.account.ID, e.account.Name, k)
					}
				}
			}()
		}
	}
	wg.Wait()
	if got := e.searches(); got != k || refused != people*each-k {
		t.Errorf("searches that reached Ksher = %d, refused %d; want %d and %d", got, refused, k, people*each-k)
	}
	// A refusal by the account spent nothing of the person's budget: the
	// people's counts add up to the searches that reached Ksher.
	var spent []int
	if err := e.stores[1].ScanForTest(context.Background(), &spent, `SELECT spent FROM lookup_budgets WHERE scope = 'person'`); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range spent {
		total += n
	}
	if total != k {
		t.Errorf("person budgets spent = %v (total %d), want %d in all", spent, total, k)
	}
}

// What does not reach Ksher spends nothing: a number asked moments ago is
// answered from that answer, even when the budget is spent.
func TestLookupBudgetSpendsOnlyWhatReachesKsher(t *testing.T) {
	e := newBudgetEnv(t, models.LookupLimits{PerPerson: 1}, "mch52031")
	who := models.Actor{UserID: 4401}
	if up := e.search(0, who, "ASKED-ONCE", "mch52031")[0]; !up.Called || up.OverBudget != nil {
		t.Fatalf("first search = %+v, want asked", up)
	}
	if up := e.search(1, who, "ASKED-ONCE", "mch52031")[0]; up.Called || up.OverBudget != nil || up.At.IsZero() {
		t.Errorf("same number again = %+v, want the answer of moments ago, not refused", up)
	}
	if up := e.search(1, who, "ASKED-TWICE", "mch52031")[0]; up.OverBudget == nil {
		t.Errorf("a new number = %+v, want refused", up)
	}
	if got := e.searches(); got != 1 {
		t.Errorf("searches that reached Ksher = %d, want 1", got)
	}
}

// A budget that cannot be read refuses the lookup, and records no call: once
// the table is back, the same number is asked at once.
func TestLookupBudgetUnreadableAsksNobody(t *testing.T) {
	ctx := context.Background()
	e := newBudgetEnv(t, models.DefaultLookupLimits, "mch52041")
	if err := e.stores[0].ExecForBench(ctx, `ALTER TABLE lookup_budgets RENAME TO lookup_budgets_away`); err != nil {
		t.Fatal(err)
	}
	up := e.search(0, models.Actor{UserID: 4501}, "NO-BUDGET", "mch52041")[0]
	if !errors.Is(up.Err, models.ErrLookupBudget) || up.Called || e.searches() != 0 {
		t.Fatalf("search without a budget table = %+v (err %v), %d searches reached Ksher; want ErrLookupBudget and none", up, up.Err, e.searches())
	}
	if err := e.stores[0].ExecForBench(ctx, `ALTER TABLE lookup_budgets_away RENAME TO lookup_budgets`); err != nil {
		t.Fatal(err)
	}
	if up := e.search(1, models.Actor{UserID: 4501}, "NO-BUDGET", "mch52041")[0]; !up.Called || up.Err != nil {
		t.Errorf("same number once the budget is back = %+v, want asked at once", up)
	}
}

// A nil search (a webhook's check of an unknown order) spends no budget.
func TestLookupBudgetNilSearchIsNotLimited(t *testing.T) {
	e := newBudgetEnv(t, models.LookupLimits{PerPerson: 1, PerAccount: 1}, "mch52051")
	for i := range 3 {
		up := e.replicas[0].FindLive(context.Background(), models.MidAccess{Mid: models.Mid{Mid: "mch52051", AccountID: e.account.ID}}, fmt.Sprintf("HOOK-%d", i), nil)
		if up.OverBudget != nil || !up.Called {
			t.Errorf("unbudgeted lookup %d = %+v, want asked", i, up)
		}
	}
}
