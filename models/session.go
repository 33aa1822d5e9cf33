package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"gorm.io/gorm"
)

// Session is a signed-in browser. The cookie holds a random token; the table
// holds only its SHA-256 (ID).
type Session struct {
	ID         string
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
	RevokedAt  *time.Time
}

// LogValue keeps the session id out of logs.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("user_id", s.UserID), slog.String("id", "[redacted]"))
}

// SessionPolicy holds the timeouts of sessions.
type SessionPolicy struct {
	Idle     time.Duration // a session unused this long ends (default 30 min)
	Absolute time.Duration // a session ends this long after sign-in (default 12 h)
}

// touchEvery limits last_seen_at writes to one per minute per session, or
// to one per half idle timeout when that is shorter: a session in use is
// then always touched before it could be taken for idle.
func (p SessionPolicy) touchEvery() time.Duration {
	return min(time.Minute, p.Idle/2)
}

// SessionID returns the stored id of a cookie token.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// SignIn starts a session for the person by (signed in from by.IP with
// by.UserAgent) and audits the sign-in (login, with details such as the
// second factor used) in the same transaction. It returns the cookie token.
//
// prevToken is the session cookie the browser sent with the sign-in, if
// any: the session it names, whoever's it is, ends in the same transaction,
// so a second sign-in in one browser leaves no earlier session valid.
func (s *Store) SignIn(ctx context.Context, by Actor, p SessionPolicy, details map[string]any, prevToken string) (string, *Session, error) {
	var token string
	var sess *Session
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if prevToken != "" {
			res := tx.Model(&Session{}).Where("id = ? AND revoked_at IS NULL", SessionID(prevToken)).Update("revoked_at", s.now())
			if res.Error != nil {
				return fmt.Errorf("store: end previous session: %w", res.Error)
			}
			if res.RowsAffected > 0 {
				details = maps.Clone(details)
				if details == nil {
					details = map[string]any{}
				}
				details["ended_previous_session"] = true
			}
		}
		var err error
		if token, sess, err = s.createSession(tx, by.UserID, by.IP, by.UserAgent, p); err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditLogin, by.Email, "", details)
	})
	return token, sess, err
}

// CreateSession starts a session for the user and returns the cookie token.
func (s *Store) CreateSession(ctx context.Context, userID int64, ip, userAgent string, p SessionPolicy) (string, *Session, error) {
	return s.createSession(s.db.WithContext(ctx), userID, ip, userAgent, p)
}

func (s *Store) createSession(tx *gorm.DB, userID int64, ip, userAgent string, p SessionPolicy) (string, *Session, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	userAgent = Storable([]byte(userAgent), 300)
	sess := &Session{ID: SessionID(token), UserID: userID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(p.Absolute), IP: ip, UserAgent: userAgent}
	if err := tx.Create(sess).Error; err != nil {
		return "", nil, fmt.Errorf("store: create session: %w", err)
	}
	return token, sess, nil
}

// ErrSessionEnded is returned by LookupSession for an unknown, revoked,
// expired or idle session, or one whose person is disabled.
var ErrSessionEnded = &Error{Code: EUNAUTHORIZED, Message: "Your session has ended. Please sign in again."}

// LookupSession returns the live session of a cookie token and its person.
// It records activity at most once a minute (more often for an idle
// timeout under two minutes: see touchEvery).
func (s *Store) LookupSession(ctx context.Context, token string, p SessionPolicy) (*Session, *User, error) {
	if token == "" {
		return nil, nil, ErrSessionEnded
	}
	var sess Session
	err := s.db.WithContext(ctx).Where("id = ? AND revoked_at IS NULL", SessionID(token)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrSessionEnded
	} else if err != nil {
		return nil, nil, fmt.Errorf("store: lookup session: %w", err)
	}
	now := s.now()
	if now.After(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > p.Idle {
		return nil, nil, ErrSessionEnded
	}
	u, err := s.FindUser(ctx, sess.UserID)
	if Unavailable(err) {
		return nil, nil, err // an outage is not a sign-out: the page answers 503
	} else if err != nil {
		return nil, nil, ErrSessionEnded
	}
	if u.DisabledAt != nil {
		return nil, nil, ErrSessionEnded
	}
	if now.Sub(sess.LastSeenAt) >= p.touchEvery() {
		sess.LastSeenAt = now
		if err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", sess.ID).Update("last_seen_at", now).Error; err != nil {
			return nil, nil, fmt.Errorf("store: touch session: %w", err)
		}
	}
	return &sess, u, nil
}

// SignOut ends the session id of the person by and audits the sign-out,
// in one transaction.
func (s *Store) SignOut(ctx context.Context, by Actor, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.revokeSession(tx, by.UserID, id); err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditLogout, by.Email, "", nil)
	})
}

// revokeSession ends one session of a person.
func (s *Store) revokeSession(tx *gorm.DB, userID int64, id string) error {
	return tx.Model(&Session{}).
		Where("id = ? AND user_id = ? AND revoked_at IS NULL", id, userID).Update("revoked_at", s.now()).Error
}
