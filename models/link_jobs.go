package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ksherdash/ksherdash/gateway"
)

// LinkResolveArgs is the job that finds out what Ksher made of a link
// still creating (its create's answer lost, or the process stopped
// mid-call), by asking for its number: never by creating it again.
// Inserted with the link, scheduled ResolveAfter later; unique per link.
type LinkResolveArgs struct {
	LinkID  int64  `json:"link_id" river:"unique"`
	OrderNo string `json:"order_no"`
}

// Kind is the job's kind in river_job.
func (LinkResolveArgs) Kind() string { return "link_resolve" }

// LinkExpireArgs is the periodic job that expires links past their expiry.
type LinkExpireArgs struct{}

// Kind is the job's kind in river_job.
func (LinkExpireArgs) Kind() string { return "link_expire" }

// LinkCloseArgs is the job that closes an expired link at Ksher (v3
// cancel_order, vip DELETE), once per link while unfinished.
type LinkCloseArgs struct {
	LinkID  int64  `json:"link_id" river:"unique"`
	OrderNo string `json:"order_no"`
}

// Kind is the job's kind in river_job.
func (LinkCloseArgs) Kind() string { return "link_close" }

// LinkExpiry is the actor of what the expiry job records.
func LinkExpiry() Actor { return Actor{Email: "link expiry"} }

type linkResolveWorker struct {
	river.WorkerDefaults[LinkResolveArgs]
	links *Links
}

func (w *linkResolveWorker) Work(ctx context.Context, job *river.Job[LinkResolveArgs]) error {
	var l Link
	err := w.links.store.db.WithContext(ctx).Where("id = ?", job.Args.LinkID).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil || l.State != LinkCreating {
		return err
	}
	client, _, err := w.links.clients.For(ctx, l.AccountID)
	if err != nil {
		return err
	}
	_, err = w.links.resolve(ctx, client, l.ID)
	var unclear *unclearError
	if errors.As(err, &unclear) {
		// Ask again once Ksher's 10-second rule allows (the client's guard
		// says when), or QueryGap after a failed call.
		wait := QueryGap
		var ge *gateway.Error
		if errors.As(err, &ge) && ge.Kind == gateway.KindRateLimited && ge.RetryAfter > 0 {
			wait = ge.RetryAfter + 100*time.Millisecond
		}
		return river.JobSnooze(wait)
	}
	return err
}

type linkExpireWorker struct {
	river.WorkerDefaults[LinkExpireArgs]
	links *Links
}

func (w *linkExpireWorker) Work(ctx context.Context, _ *river.Job[LinkExpireArgs]) error {
	_, err := w.links.ExpireDue(ctx)
	return err
}

type linkCloseWorker struct {
	river.WorkerDefaults[LinkCloseArgs]
	links *Links
}

func (w *linkCloseWorker) Work(ctx context.Context, job *river.Job[LinkCloseArgs]) error {
	return w.links.closeExpired(ctx, job.Args.LinkID)
}

// register adds the service's workers and its periodic expiry to jobs.
func (s *Links) register(jobs *Jobs) error {
	if err := addWorker(jobs, &linkResolveWorker{links: s}); err != nil {
		return err
	}
	if err := addWorker(jobs, &linkExpireWorker{links: s}); err != nil {
		return err
	}
	if err := addWorker(jobs, &linkCloseWorker{links: s}); err != nil {
		return err
	}
	if s.cfg.ExpireEvery < 0 {
		return nil
	}
	byPeriod := max(s.cfg.ExpireEvery, time.Second)
	return jobs.addPeriodic(river.NewPeriodicJob(river.PeriodicInterval(s.cfg.ExpireEvery),
		func() (river.JobArgs, *river.InsertOpts) {
			return LinkExpireArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: byPeriod}}
		}, &river.PeriodicJobOpts{ID: "link_expire", RunOnStart: true}))
}

// expireBatch bounds one run of the expiry job; the next run takes the rest.
const expireBatch = 200

// ExpireDue marks the available links past their expiry as expired, each
// in its own transaction with its audit entry and the job that closes it
// at Ksher, and returns how many it expired. A vip link is flagged
// KsherMayAccept until its DELETE succeeds: vip links have no expiry at
// Ksher. A v3 link was sent with expire_time, so Ksher closes it itself.
func (s *Links) ExpireDue(ctx context.Context) (int, error) {
	var ids []int64
	if err := s.store.db.WithContext(ctx).Model(&Link{}).Where("state = ? AND expires_at <= ?", LinkAvailable, s.now()).
		Order("expires_at").Limit(expireBatch).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("links: due: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var l Link
			if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&l).Error; err != nil {
				return err
			}
			now := s.now()
			if l.State != LinkAvailable || now.Before(l.ExpiresAt) {
				return nil
			}
			if err := tx.Model(&l).Updates(map[string]any{"state": LinkExpired, "closed_at": now,
				"ksher_may_accept": l.APIKind == APIVIP, "updated_at": now}).Error; err != nil {
				return err
			}
			if err := s.store.writeAudit(tx, LinkExpiry(), AuditPaymentLink, l.MchOrderNo, l.Mid, linkAudit(&l, "expired")); err != nil {
				return err
			}
			n++
			_, err := s.jobs.InsertTx(ctx, tx, LinkCloseArgs{LinkID: l.ID, OrderNo: l.MchOrderNo},
				&river.InsertOpts{UniqueOpts: UniqueWhileUnfinished(), MaxAttempts: 8})
			return err
		})
		if err != nil {
			return n, fmt.Errorf("links: expire %d: %w", id, err)
		}
	}
	return n, nil
}

// closeExpired closes expired link id at Ksher. Closed: the flag is
// cleared and the order records it. Refused: the refusal is kept on the
// link (Ksher may have closed it already; a payment that still comes is
// recorded, with the drift flag). No answer: an error, for River to retry.
func (s *Links) closeExpired(ctx context.Context, id int64) error {
	var l Link
	err := s.store.db.WithContext(ctx).Where("id = ?", id).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil || l.State != LinkExpired {
		return err
	}
	client, _, err := s.clients.For(ctx, l.AccountID)
	if err != nil {
		return err
	}
	gl, cerr := s.closeAtKsher(ctx, client, &l)
	if cerr != nil && !createRefused(cerr) {
		return cerr
	}
	return s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur Link
		if err := lockLinkTx(tx, id, &cur); err != nil {
			return err
		}
		if cur.State != LinkExpired {
			return nil
		}
		if cerr != nil {
			return tx.Model(&cur).Updates(map[string]any{"error_code": Storable([]byte(GatewayErrorCode(cerr)), 100),
				"error": Storable([]byte(cerr.Error()), 500), "updated_at": s.now()}).Error
		}
		if err := tx.Model(&cur).Updates(map[string]any{"ksher_may_accept": false, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return s.closedAtKsherTx(tx, &cur, gl, "payment link expired")
	})
}
