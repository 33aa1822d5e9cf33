package models

import (
	"context"
	"fmt"
	"regexp"

	"gorm.io/gorm"
)

// What a person sees and does about their own sign-ins: live sessions,
// and the throttling shared by every check of a password or code.

// SessionHandle is how a session is named in forms: the first 16 hex
// characters of its id. The id itself (a hash of the cookie) stays out of
// pages, URLs and logs.
func SessionHandle(id string) string {
	if len(id) < 16 {
		return id
	}
	return id[:16]
}

var handleRe = regexp.MustCompile(`^[0-9a-f]{16}$`)

// LiveSessions returns a person's sessions that have not ended (revoked,
// past their absolute or idle timeout), most recently used first.
func (s *Store) LiveSessions(ctx context.Context, userID int64, p SessionPolicy) ([]Session, error) {
	now := s.now()
	var ss []Session
	err := s.db.WithContext(ctx).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_seen_at > ?",
		userID, now, now.Add(-p.Idle)).Order("last_seen_at DESC, created_at DESC").Find(&ss).Error
	if err != nil {
		return nil, fmt.Errorf("store: live sessions: %w", err)
	}
	return ss, nil
}

// RevokeSessionByHandle ends one of the sessions of the person by, named
// by its handle, and returns its id; audited (session_revoke, saying
// whether it was currentID, the session of the request). ENOTFOUND when
// the person has no such live session.
func (s *Store) RevokeSessionByHandle(ctx context.Context, by Actor, handle, currentID string) (string, error) {
	if !handleRe.MatchString(handle) {
		return "", Errorf(ENOTFOUND, "Session not found.")
	}
	var sess Session
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("user_id = ? AND revoked_at IS NULL AND left(id, 16) = ?", by.UserID, handle).Take(&sess).Error
		if err != nil {
			return notFoundOr(err, "Session")
		}
		if err := s.revokeSession(tx, by.UserID, sess.ID); err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditSessionRevoke, by.Email, "", map[string]any{"current": sess.ID == currentID})
	})
	if err != nil {
		return "", err
	}
	return sess.ID, nil
}

// RevokeOtherSessions ends every session of the person by but keepID, says
// how many ended, and audits it (session_revoke with the count).
func (s *Store) RevokeOtherSessions(ctx context.Context, by Actor, keepID string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if n, err = s.revokeOthers(tx, by.UserID, keepID); err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditSessionRevoke, by.Email, "", map[string]any{"others": n})
	})
	return n, err
}

// revokeOthers ends every session of userID but keepID.
func (s *Store) revokeOthers(tx *gorm.DB, userID int64, keepID string) (int64, error) {
	res := tx.Model(&Session{}).Where("user_id = ? AND id <> ? AND revoked_at IS NULL", userID, keepID).
		Update("revoked_at", s.now())
	return res.RowsAffected, res.Error
}

// reserveAttempt records an attempt as failed before its password or code
// is checked, then counts the failures within the policy's window,
// including it: of any number of attempts arriving at once, each sees those
// recorded before it, so no more are checked than the policy allows (a
// count taken first and a record written after the check would let a
// burst through). A refused attempt (ETOOMANYREQUEST) checked nothing and
// is removed again. settleAttempt records the outcome.
func (s *Store) reserveAttempt(ctx context.Context, email, ip string, p LoginPolicy) (int64, error) {
	rec := LoginAttempt{Email: email, IP: ip, Success: false, CreatedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(&rec).Error; err != nil {
		return 0, fmt.Errorf("store: record attempt: %w", err)
	}
	since := s.now().Add(-p.Window)
	var perAccount, perIP int64
	if err := s.db.WithContext(ctx).Model(&LoginAttempt{}).
		Where("lower(email) = lower(?) AND NOT success AND created_at > ?", email, since).Count(&perAccount).Error; err != nil {
		return 0, fmt.Errorf("store: count attempts: %w", err)
	}
	if err := s.db.WithContext(ctx).Model(&LoginAttempt{}).
		Where("ip = ? AND NOT success AND created_at > ?", ip, since).Count(&perIP).Error; err != nil {
		return 0, fmt.Errorf("store: count attempts: %w", err)
	}
	if perAccount > int64(p.PerAccount) || perIP > int64(p.PerIP) {
		if err := s.db.WithContext(ctx).Delete(&LoginAttempt{}, rec.ID).Error; err != nil {
			return 0, fmt.Errorf("store: drop refused attempt: %w", err)
		}
		return 0, Errorf(ETOOMANYREQUEST, "Too many failed attempts. Wait %d minutes and try again.", int(p.Window.Minutes()))
	}
	return rec.ID, nil
}

// settleAttempt records the outcome of a reserved attempt: it stays a
// failure unless ok.
func (s *Store) settleAttempt(ctx context.Context, id int64, ok bool) error {
	if !ok {
		return nil
	}
	if err := s.db.WithContext(ctx).Model(&LoginAttempt{}).Where("id = ?", id).Update("success", true).Error; err != nil {
		return fmt.Errorf("store: record attempt: %w", err)
	}
	return nil
}
