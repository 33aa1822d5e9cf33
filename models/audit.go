package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
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
	AuditRefund           = "refund"         // a refund asked for
	AuditRefundRefused    = "refund_refused" // a refund refused by a support limit
	AuditRefundOutcome    = "refund_outcome" // what became of a refund: Ksher's answer, the reconciler, a person
	AuditExport           = "export"
	AuditPaymentLink      = "payment_link"
	AuditResync           = "resync"
	AuditSyncPull         = "sync_pull" // a day of the daily sync queued by hand ("Pull this day")
)

// AuditActions lists every audited action (for the filter).
var AuditActions = []string{AuditLogin, AuditLoginFailed, AuditLogout, AuditMidSwitch, AuditPasswordChange,
	AuditSessionRevoke, AuditTOTPEnable, AuditTOTPDisable, AuditAccountCreate, AuditAccountUpdate,
	AuditCredentialChange, AuditAccountTest, AuditPersonCreate, AuditPersonUpdate, AuditPersonDisable,
	AuditPersonEnable, AuditPasswordReset, AuditTOTPReset, AuditRoleChange, AuditRefund, AuditRefundRefused, AuditRefundOutcome, AuditExport, AuditPaymentLink,
	AuditResync, AuditSyncPull}

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
	RequestID  string
	Details    json.RawMessage `gorm:"type:jsonb"`
}

// TableName is the audit table.
func (AuditEntry) TableName() string { return "audit_log" }

// Actor is who did something, and from where. Every service method that
// changes something takes one and writes its audit row inside the same
// transaction as the change (STYLE §12).
type Actor struct {
	UserID    int64 // 0: nobody signed in (a failed sign-in, the command line)
	Email     string
	IP        string
	UserAgent string
	RequestID string
	// User is the signed-in person, when there is one: services that
	// decide by the actor's roles (people) read it.
	User *User
}

// CommandLine is the actor of `ksherdash` subcommands run on the server.
func CommandLine() Actor { return Actor{Email: "command line"} }

// FirstStart is the actor of what the first start creates (the owner).
func FirstStart() Actor { return Actor{Email: "first start"} }

// BackgroundJob is the actor of what a background job records on its own
// (a refund's outcome from Ksher's answer, the reconciler's decision).
func BackgroundJob() Actor { return Actor{Email: "background job"} }

// SandboxSetup is the actor of the demo accounts that sandbox mode creates
// and points at the built-in simulator on every start.
func SandboxSetup() Actor { return Actor{Email: "sandbox setup"} }

// ActorOf is the actor for a signed-in person.
func ActorOf(u *User, ip, userAgent, requestID string) Actor {
	a := Actor{IP: ip, UserAgent: userAgent, RequestID: requestID, User: u}
	if u != nil {
		a.UserID, a.Email = u.ID, u.Email
	}
	return a
}

// Audit appends one entry on its own, for what changes nothing else (a
// sign-in attempt, a test of a connection). A change and its entry are
// written together by the service that makes the change (writeAudit).
// details must not hold secrets: callers pass fingerprints, amounts in
// minor units with their currency, ids and names, never keys, tokens or
// passwords.
func (s *Store) Audit(ctx context.Context, who Actor, action, target, mid string, details map[string]any) error {
	return s.writeAudit(s.db.WithContext(ctx), who, action, target, mid, details)
}

// writeAudit appends one entry through tx: inside a service's transaction,
// the entry commits with the change or neither does.
func (s *Store) writeAudit(tx *gorm.DB, who Actor, action, target, mid string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	// What a person typed or their browser sent is made storable and
	// bounded here, so an entry can always be written (the append-only log
	// must never lose one to a NUL byte or a 100,000-character "email").
	e := AuditEntry{CreatedAt: s.now(), ActorEmail: Storable([]byte(who.Email), MaxEmail), Action: action,
		Target: Storable([]byte(target), 300), Mid: Storable([]byte(mid), 64), IP: Storable([]byte(who.IP), 64),
		UserAgent: Storable([]byte(who.UserAgent), 300), RequestID: Storable([]byte(who.RequestID), 64), Details: b}
	if who.UserID != 0 {
		e.ActorID = &who.UserID
	}
	if err := tx.Create(&e).Error; err != nil {
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
