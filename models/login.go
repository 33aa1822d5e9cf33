package models

import (
	"context"
	"errors"
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
	// An email is at most MaxEmail bytes (RFC 5321); a longer or unstorable
	// one is recorded cut and made storable, and matches nobody.
	email = Storable([]byte(strings.TrimSpace(email)), MaxEmail+1)
	attempt, err := s.reserveAttempt(ctx, email, Storable([]byte(ip), 64), p)
	if err != nil {
		return nil, err
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
	if err := s.settleAttempt(ctx, attempt, ok); err != nil {
		return nil, err
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
