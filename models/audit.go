package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Audited actions. Keep them stable: people filter the audit log by them.
const (
	AuditLogin            = "login"
	AuditLoginFailed      = "login_failed"
	AuditLogout           = "logout"
	AuditMidSwitch        = "mid_switch"
	AuditPasswordChange   = "password_change"
	AuditSessionRevoke    = "session_revoke"
	AuditTOTPEnable       = "totp_enable"
	AuditTOTPDisable      = "totp_disable"
	AuditAccountCreate    = "account_create"
	AuditAccountUpdate    = "account_update"
	AuditCredentialChange = "credential_change"
	AuditAccountTest      = "account_test"
	AuditPersonCreate     = "person_create"
	AuditPersonUpdate     = "person_update"
	AuditPersonDisable    = "person_disable"
	AuditPersonEnable     = "person_enable"
	AuditPasswordReset    = "password_reset"
	AuditTOTPReset        = "totp_reset" // someone turned a person's two-factor sign-in off for them
	AuditRoleChange       = "role_change"
	AuditRefund           = "refund"
	AuditExport           = "export"
	AuditPaymentLink      = "payment_link"
	AuditResync           = "resync"
)

// AuditActions lists every audited action (for the filter).
var AuditActions = []string{AuditLogin, AuditLoginFailed, AuditLogout, AuditMidSwitch, AuditPasswordChange,
	AuditSessionRevoke, AuditTOTPEnable, AuditTOTPDisable, AuditAccountCreate, AuditAccountUpdate,
	AuditCredentialChange, AuditAccountTest, AuditPersonCreate, AuditPersonUpdate, AuditPersonDisable,
	AuditPersonEnable, AuditPasswordReset, AuditTOTPReset, AuditRoleChange, AuditRefund, AuditExport, AuditPaymentLink,
	AuditResync}

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID         int64
	CreatedAt  time.Time
	ActorID    *int64
	ActorEmail string
	Action     string
	Target     string
	Mid        string
	IP         string
	UserAgent  string
	Details    json.RawMessage `gorm:"type:jsonb"`
}

// TableName is the audit table.
func (AuditEntry) TableName() string { return "audit_log" }

// Actor is who did something, and from where.
type Actor struct {
	UserID    int64
	Email     string
	IP        string
	UserAgent string
}

// Audit appends one entry. details must not hold secrets: callers pass
// fingerprints, amounts, names, never keys, tokens or passwords.
func (s *Store) Audit(ctx context.Context, who Actor, action, target, mid string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	if len(who.UserAgent) > 300 {
		who.UserAgent = who.UserAgent[:300]
	}
	e := AuditEntry{CreatedAt: s.now(), ActorEmail: who.Email, Action: action, Target: target, Mid: mid,
		IP: who.IP, UserAgent: who.UserAgent, Details: b}
	if who.UserID != 0 {
		e.ActorID = &who.UserID
	}
	if err := s.db.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// AuditFilter selects audit entries. Mids limits to entries of those mids
// (nil = no limit, for owners); Before is the keyset cursor (an id).
type AuditFilter struct {
	Actor  string // email substring
	Action string
	Mid    string
	From   *time.Time // inclusive, UTC
	To     *time.Time // exclusive, UTC
	Mids   []string
	Before int64
	Limit  int
}

// AuditLog returns entries newest first, one page at a time.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := s.db.WithContext(ctx).Model(&AuditEntry{})
	if f.Actor != "" {
		q = q.Where("actor_email ILIKE ?", "%"+escapeLike(f.Actor)+"%")
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Mid != "" {
		q = q.Where("mid = ?", f.Mid)
	}
	switch {
	case f.Mids == nil:
	case len(f.Mids) == 0:
		q = q.Where("false") // limited to no mid at all: nothing
	default:
		q = q.Where("mid IN ?", f.Mids)
	}
	if f.From != nil {
		q = q.Where("created_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("created_at < ?", *f.To)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var es []AuditEntry
	err := q.Order("id DESC").Limit(f.Limit).Find(&es).Error
	return es, err
}

// escapeLike escapes the LIKE wildcards in s.
func escapeLike(s string) string {
	r := make([]rune, 0, len(s))
	for _, c := range s {
		if c == '%' || c == '_' || c == '\\' {
			r = append(r, '\\')
		}
		r = append(r, c)
	}
	return string(r)
}
