package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// StepUpValidity is how long a confirmed step-up lasts in its session: a
// second refund within it asks nothing again, so it never meets TOTP's
// replay guard (a code is good once), and a double click or two tabs
// confirm once.
const StepUpValidity = 5 * time.Minute

// StepUp is what a person types to confirm a money action: their password,
// and a current TOTP code when two-factor sign-in is on.
type StepUp struct {
	SessionID string // the session it is confirmed in (Session.ID)
	Password  string
	Code      string
}

// SteppedUp reports whether the session's step-up is still valid.
func (s *Store) SteppedUp(ctx context.Context, sessionID string) (bool, error) {
	var at sql.NullTime
	err := s.db.WithContext(ctx).Raw("SELECT stepped_up_at FROM sessions WHERE id = ?", sessionID).Row().Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return at.Valid && s.now().Sub(at.Time) < StepUpValidity, err
}

// ConfirmStepUp confirms by's step-up in the session, unless it is still
// valid there. It is throttled and recorded like a sign-in (a wrong
// password counts against the person's email and IP). The session's row
// is locked while it checks, so concurrent submissions of one form confirm
// once and the rest find it valid. Errors: ETOOMANYREQUEST,
// *InvalidInput{"password"} or {"code"}, EUNAUTHORIZED for a session that
// is not the person's.
func (s *Store) ConfirmStepUp(ctx context.Context, by Actor, st StepUp, p LoginPolicy) error {
	if st.SessionID == "" || by.UserID == 0 {
		return Errorf(EUNAUTHORIZED, "Please sign in again.")
	}
	var attempt int64
	var checked bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var sess Session
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("id = ? AND user_id = ? AND revoked_at IS NULL", st.SessionID, by.UserID).Take(&sess).Error; err != nil {
			return notFoundOr(err, "Session")
		}
		var at sql.NullTime
		if err := tx.Raw("SELECT stepped_up_at FROM sessions WHERE id = ?", st.SessionID).Row().Scan(&at); err != nil {
			return err
		}
		if at.Valid && s.now().Sub(at.Time) < StepUpValidity {
			return nil
		}
		u, err := s.lockUser(tx, by.UserID)
		if err != nil {
			return err
		}
		// The attempt is recorded outside tx (it must stay when tx rolls
		// back), like a sign-in's.
		if attempt, err = s.reserveAttempt(ctx, u.Email, Storable([]byte(by.IP), 64), p); err != nil {
			return err
		}
		checked = true
		if !u.CheckPassword(st.Password) || u.DisabledAt != nil {
			return invalid("password", ReasonPasswordWrong)
		}
		if u.TOTPEnabledAt != nil {
			if ok, err := s.useTOTP(tx, u, st.Code); err != nil {
				return err
			} else if !ok {
				return invalid("code", ReasonCodeWrong)
			}
		}
		return tx.Exec("UPDATE sessions SET stepped_up_at = ? WHERE id = ?", s.now(), st.SessionID).Error
	})
	if checked {
		if rerr := s.settleAttempt(ctx, attempt, err == nil); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(EUNAUTHORIZED, "Please sign in again.")
		}
		return fmt.Errorf("store: step-up: %w", err)
	}
	return nil
}
