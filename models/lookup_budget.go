package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// The budget of live Ksher lookups: how many searches may reach Ksher per
// person and per merchant account in a minute (LOOKUP_BUDGET_PERSON,
// LOOKUP_BUDGET_ACCOUNT). Without it, 200 concurrent searches for distinct
// unknown numbers by five people made 726 Ksher calls in 1.6 s.
//
//   - A search is what is counted, not a call: one person's query, however
//     many mids and questions it fans out to, spends one from the person's
//     budget and one from the budget of each account it asks Ksher about
//     (LiveSearch remembers what it has spent).
//   - Only a search that is about to ask Ksher spends: the charge is made
//     inside the "find" lease of Store.Upstream, after it has checked that
//     nobody answered the question moments ago. A cache hit, or an answer
//     another search just got, spends nothing. A refused charge asks nobody
//     and records no call (notAsked), so the next caller of the key may ask.
//   - The counts live in Postgres (lookup_budgets), so every replica spends
//     the same budget. One conditional upsert per subject counts and checks
//     at once: Postgres locks the row, so N concurrent searches with a
//     budget of K let exactly K through. The person's and the account's
//     charges are one transaction: a search the account refuses does not
//     spend the person's budget.
//   - Fixed windows of one minute on the store's clock (replicas keep their
//     clocks in sync, as for Upstream). A window is one row per subject,
//     reset in place when a new window starts: the count is exact, the table
//     never outgrows the number of people and accounts, and nothing needs
//     cleaning up. A sliding log would need a row per search, a two-window
//     estimate would not be exact; the price of fixed windows is that up to
//     twice the limit can pass around a window's boundary, which is enough
//     to stop a flood.
//   - Fail safe: a budget that cannot be read or written (the database is
//     down) refuses the lookup with ErrLookupBudget, never lets it through.

// LookupWindow is the window live lookups are counted over.
const LookupWindow = time.Minute

// LookupLimits are the budgets of live lookups per LookupWindow. Zero turns
// a budget off (no limit).
type LookupLimits struct {
	PerPerson  int // searches that reach Ksher, per person
	PerAccount int // searches that reach Ksher about one merchant account's mids, by everyone
}

// DefaultLookupLimits are the budgets when none are configured.
var DefaultLookupLimits = LookupLimits{PerPerson: 30, PerAccount: 300}

// The scopes of a budget.
const (
	BudgetPerson  = "person"
	BudgetAccount = "account"
)

// OverBudget is a search refused because a budget is spent: Ksher was not
// asked.
type OverBudget struct {
	Scope     string // BudgetPerson or BudgetAccount
	Limit     int    // searches per LookupWindow
	AccountID int64  // BudgetAccount: the account
	Account   string // its name
	RetryAt   time.Time
}

func (e *OverBudget) Error() string {
	if e.Scope == BudgetAccount {
		return fmt.Sprintf("the live lookup budget of account %d is spent (%d a minute)", e.AccountID, e.Limit)
	}
	return fmt.Sprintf("the person's live lookup budget is spent (%d a minute)", e.Limit)
}

// RetrySeconds is how many whole seconds from now a new window starts (at
// least 1).
func (e *OverBudget) RetrySeconds(now time.Time) int {
	d := e.RetryAt.Sub(now)
	return max(1, int((d+time.Second-1)/time.Second))
}

// ErrLookupBudget wraps a failure to read or spend a budget.
var ErrLookupBudget = errors.New("the live lookup budget cannot be read")

// LiveSearch is one person's search as the budget sees it. Made by
// Orders.StartSearch for each search and passed to every FindLive of it; a
// nil *LiveSearch is not a person's search and spends no budget. Safe for
// concurrent use.
type LiveSearch struct {
	store  *Store
	limits LookupLimits
	person int64

	mu       sync.Mutex
	spent    bool                  // the person's budget is spent for this search
	accounts map[int64]bool        // accounts this search has spent on
	refused  map[int64]*OverBudget // by account; key 0: the person's refusal
}

// StartSearch begins a search by who, against this service's budgets.
func (s *Orders) StartSearch(who Actor) *LiveSearch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &LiveSearch{store: s.store, limits: s.limits, person: who.UserID,
		accounts: map[int64]bool{}, refused: map[int64]*OverBudget{}}
}

// LimitLookups sets the budgets of the searches started from now on.
func (s *Orders) LimitLookups(l LookupLimits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
}

// refusal is the refusal this search already met for account (or the
// person), so the account's other mids are not charged again.
func (ls *LiveSearch) refusal(accountID int64) *OverBudget {
	if ls == nil {
		return nil
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if r := ls.refused[0]; r != nil {
		return r
	}
	return ls.refused[accountID]
}

// spend charges the search to the person's budget (once per search) and
// account's (once per account), just before Ksher is asked. It returns
// *OverBudget when a budget is spent, an error wrapping ErrLookupBudget
// when the budgets cannot be read, and nil to go ahead.
func (ls *LiveSearch) spend(ctx context.Context, a *MerchantAccount) error {
	if ls == nil {
		return nil
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if r := ls.refused[0]; r != nil {
		return r
	}
	if r := ls.refused[a.ID]; r != nil {
		return r
	}
	var charges []budgetCharge
	if !ls.spent && ls.limits.PerPerson > 0 {
		charges = append(charges, budgetCharge{BudgetPerson, ls.person, ls.limits.PerPerson})
	}
	if !ls.accounts[a.ID] && ls.limits.PerAccount > 0 {
		charges = append(charges, budgetCharge{BudgetAccount, a.ID, ls.limits.PerAccount})
	}
	window := ls.store.now().UTC().Truncate(LookupWindow)
	refused, err := ls.store.spendLookups(ctx, window, charges)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLookupBudget, err)
	}
	if refused != nil {
		r := &OverBudget{Scope: refused.scope, Limit: refused.limit, RetryAt: window.Add(LookupWindow)}
		key := int64(0)
		if r.Scope == BudgetAccount {
			r.AccountID, r.Account, key = a.ID, a.Name, a.ID
		}
		ls.refused[key] = r
		return r
	}
	ls.spent = true
	ls.accounts[a.ID] = true
	return nil
}

// budgetCharge is one search spent from one subject's budget.
type budgetCharge struct {
	scope   string
	subject int64
	limit   int
}

// spendLookups spends one search from each charge's budget in the window
// starting at window, all or none: it returns the first charge whose budget
// is spent (nothing is spent then), or nil when all were.
func (s *Store) spendLookups(ctx context.Context, window time.Time, charges []budgetCharge) (*budgetCharge, error) {
	if len(charges) == 0 {
		return nil, nil
	}
	var refused *budgetCharge
	errRefused := errors.New("refused")
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i, c := range charges {
			// A row of an earlier window starts the new one at 1; a row of
			// this window counts on while under the limit. A replica whose
			// clock is behind counts in the row's (later) window. No row
			// comes back when the budget is spent.
			var spent []int
			err := tx.Raw(`INSERT INTO lookup_budgets AS b (scope, subject, window_start, spent) VALUES (?, ?, ?, 1)
				ON CONFLICT (scope, subject) DO UPDATE SET
					window_start = GREATEST(b.window_start, EXCLUDED.window_start),
					spent = CASE WHEN EXCLUDED.window_start > b.window_start THEN 1 ELSE b.spent + 1 END
				WHERE EXCLUDED.window_start > b.window_start OR b.spent < ?
				RETURNING spent`, c.scope, c.subject, window, c.limit).Scan(&spent).Error
			if err != nil {
				return err
			}
			if len(spent) == 0 {
				refused = &charges[i]
				return errRefused // rolls back what this search spent before
			}
		}
		return nil
	})
	if refused != nil {
		return refused, nil
	}
	return nil, err
}
