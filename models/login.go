package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// LoginPolicy limits failed sign-ins, per account and per client IP, within
// a sliding window.
type LoginPolicy struct {
	Window     time.Duration // default 15 min
	PerAccount int           // failures per email within Window before refusing (default 5)
	PerIP      int           // failures per IP within Window before refusing (default 20)
}

// DefaultLoginPolicy is the policy used unless configured otherwise.
var DefaultLoginPolicy = LoginPolicy{Window: 15 * time.Minute, PerAccount: 5, PerIP: 20}

// LoginAttempt records one sign-in attempt.
type LoginAttempt struct {
	ID        int64
	Email     string
	IP        string
	Success   bool
	CreatedAt time.Time
}

// ErrBadCredentials is returned for an unknown email, a wrong password or a
// disabled person alike, so the answer does not tell which.
var ErrBadCredentials = &Error{Code: EUNAUTHORIZED, Message: "Wrong email or password."}

// Authenticate checks a sign-in attempt under the throttling policy and
// records it. Returns ETOOMANYREQUEST when throttled (without checking the
// password), ErrBadCredentials, or the person.
func (s *Store) Authenticate(ctx context.Context, email, password, ip string, p LoginPolicy) (*User, error) {
	email = strings.TrimSpace(email)
	since := s.now().Add(-p.Window)
	var perAccount, perIP int64
	db := s.db.WithContext(ctx).Model(&LoginAttempt{})
	if err := db.Where("lower(email) = lower(?) AND NOT success AND created_at > ?", email, since).Count(&perAccount).Error; err != nil {
		return nil, fmt.Errorf("store: count attempts: %w", err)
	}
	if err := s.db.WithContext(ctx).Model(&LoginAttempt{}).Where("ip = ? AND NOT success AND created_at > ?", ip, since).Count(&perIP).Error; err != nil {
		return nil, fmt.Errorf("store: count attempts: %w", err)
	}
	if perAccount >= int64(p.PerAccount) || perIP >= int64(p.PerIP) {
		return nil, Errorf(ETOOMANYREQUEST, "Too many failed sign-ins. Wait %d minutes and try again.", int(p.Window.Minutes()))
	}
	u, err := s.FindUserByEmail(ctx, email)
	ok := false
	switch {
	case err == nil:
		ok = u.CheckPassword(password) && u.DisabledAt == nil
	case ErrorCode(err) == ENOTFOUND:
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) // same cost as a real check
	default:
		return nil, err
	}
	rec := LoginAttempt{Email: email, IP: ip, Success: ok, CreatedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(&rec).Error; err != nil {
		return nil, fmt.Errorf("store: record attempt: %w", err)
	}
	if !ok {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// IsThrottled reports whether err is a throttling refusal.
func IsThrottled(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ETOOMANYREQUEST
}
