package models

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Two-factor sign-in with TOTP (RFC 6238: 6 digits, 30-second steps, SHA-1,
// what every authenticator app speaks) and single-use recovery codes.
//
// The secret is sealed at rest (AES-GCM, bound to the person's id); it is
// "pending" from BeginTOTP until ConfirmTOTP proves the app has it. A code
// is accepted one step early or late, and never twice (users.totp_last_step).
// Recovery codes are stored as HMACs keyed from SECRET_KEY: a copy of the
// database alone does not allow guessing them offline.

const (
	totpIssuer = "ksherdash"
	totpPeriod = 30
	// RecoveryCodeCount is how many recovery codes a person gets.
	RecoveryCodeCount = 10
	// recoveryAlphabet has no look-alike characters; codes are 10 of them
	// (about 49 bits), shown as xxxxx-xxxxx.
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	recoveryLen      = 10
)

// Second-factor methods, as recorded in the audit log.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

// TOTPSetup is what an authenticator app needs: the base32 secret (typed
// by hand) and the otpauth:// URL (scanned as a QR code).
type TOTPSetup struct {
	Secret string
	URL    string
}

// LogValue keeps the secret out of logs.
func (t TOTPSetup) LogValue() slog.Value { return slog.StringValue("[redacted]") }

func totpAD(userID int64) []byte { return []byte("totp:" + strconv.FormatInt(userID, 10)) }

func (s *Store) lockUser(tx *gorm.DB, id int64) (*User, error) {
	var u User
	if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&u, id).Error; err != nil {
		return nil, notFoundOr(err, "Person")
	}
	return &u, nil
}

func (s *Store) setupOf(u *User) (*TOTPSetup, error) {
	plain, err := s.open(u.TOTPSecret, totpAD(u.ID))
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Secret: plain})
	if err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: key.Secret(), URL: key.URL()}, nil
}

// BeginTOTP starts turning on two-factor sign-in: it stores a new sealed
// secret, pending confirmation, or returns the one already pending.
// ECONFLICT when two-factor sign-in is already on.
func (s *Store) BeginTOTP(ctx context.Context, userID int64) (*TOTPSetup, error) {
	var setup *TOTPSetup
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := s.lockUser(tx, userID)
		if err != nil {
			return err
		}
		if u.TOTPEnabledAt != nil {
			return errorID(ECONFLICT, "error.totp_already_on", "Two-factor sign-in is already on.")
		}
		if u.TOTPSecret != nil {
			if setup, err = s.setupOf(u); err == nil {
				return nil
			}
			// Sealed under another SECRET_KEY: start afresh.
		}
		plain := make([]byte, 20)
		if _, err := rand.Read(plain); err != nil {
			return err
		}
		if u.TOTPSecret, err = s.seal(plain, totpAD(u.ID)); err != nil {
			return err
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("totp_secret", u.TOTPSecret).Error; err != nil {
			return err
		}
		setup, err = s.setupOf(u)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: begin totp: %w", err)
	}
	return setup, nil
}

// PendingTOTP returns the setup waiting for confirmation, or ENOTFOUND.
func (s *Store) PendingTOTP(ctx context.Context, userID int64) (*TOTPSetup, error) {
	u, err := s.FindUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.TOTPSecret == nil || u.TOTPEnabledAt != nil {
		return nil, Errorf(ENOTFOUND, "No two-factor setup is pending.")
	}
	return s.setupOf(u)
}

// ConfirmTOTP turns two-factor sign-in on when code matches the pending
// secret, and returns new recovery codes (shown once; only their HMACs are
// kept). *InvalidInput{"code": code_wrong} for a wrong code; ENOTFOUND when
// nothing is pending; ECONFLICT when already on. In the same transaction
// every other session of the person (by) but keepSessionID ends, and the
// change is audited (totp_enable, with how many sessions ended).
func (s *Store) ConfirmTOTP(ctx context.Context, by Actor, code, keepSessionID string) ([]string, int64, error) {
	userID := by.UserID
	var codes []string
	var ended int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := s.lockUser(tx, userID)
		if err != nil {
			return err
		}
		if u.TOTPEnabledAt != nil {
			return errorID(ECONFLICT, "error.totp_already_on", "Two-factor sign-in is already on.")
		}
		if u.TOTPSecret == nil {
			return Errorf(ENOTFOUND, "No two-factor setup is pending.")
		}
		ok, err := s.useTOTP(tx, u, code)
		if err != nil {
			return err
		}
		if !ok {
			return invalid("code", ReasonCodeWrong)
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("totp_enabled_at", s.now()).Error; err != nil {
			return err
		}
		if codes, err = s.replaceRecoveryCodes(tx, u.ID); err != nil {
			return err
		}
		if ended, err = s.revokeOthers(tx, u.ID, keepSessionID); err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditTOTPEnable, by.Email, "", map[string]any{"other_sessions_ended": ended})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: confirm totp: %w", err)
	}
	return codes, ended, nil
}

// DisableTOTP turns two-factor sign-in off. It needs the person's password
// and a current code (or an unused recovery code, for a lost phone).
// Failures count as failed sign-ins (throttled like them): returns
// ETOOMANYREQUEST, or *InvalidInput with "password" or "code". In the same
// transaction every other session of the person (by) but keepSessionID
// ends, and the change is audited (totp_disable); it returns how many
// sessions ended.
func (s *Store) DisableTOTP(ctx context.Context, by Actor, password, code, keepSessionID string, p LoginPolicy) (int64, error) {
	userID := by.UserID
	u, err := s.FindUser(ctx, userID)
	if err != nil {
		return 0, err
	}
	attempt, err := s.reserveAttempt(ctx, u.Email, by.IP, p)
	if err != nil {
		return 0, err
	}
	var ended int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := s.lockUser(tx, userID)
		if err != nil {
			return err
		}
		if u.TOTPEnabledAt == nil {
			return errorID(ECONFLICT, "error.totp_already_off", "Two-factor sign-in is already off.")
		}
		if !u.CheckPassword(password) {
			return invalid("password", ReasonPasswordWrong)
		}
		if _, ok, err := s.useSecondFactor(tx, u, code); err != nil {
			return err
		} else if !ok {
			return invalid("code", ReasonCodeWrong)
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"totp_secret": nil, "totp_enabled_at": nil, "totp_last_step": 0, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&recoveryCode{}).Error; err != nil {
			return err
		}
		if ended, err = s.revokeOthers(tx, u.ID, keepSessionID); err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditTOTPDisable, by.Email, "", map[string]any{"other_sessions_ended": ended})
	})
	// Only a wrong password or code counts as a failure.
	if rerr := s.settleAttempt(ctx, attempt, AsInvalidInput(err) == nil); rerr != nil {
		return 0, rerr
	}
	if err != nil {
		return 0, fmt.Errorf("store: disable totp: %w", err)
	}
	return ended, nil
}

// VerifySecondFactor checks the second step of a sign-in: a TOTP code or an
// unused recovery code (which is then used up). It is throttled and
// recorded like Authenticate. Returns the person and the method, or
// ETOOMANYREQUEST (without checking the code), or *InvalidInput{"code"}.
// It uses up no sign-in step: the sign-in itself goes through VerifyLoginStep.
func (s *Store) VerifySecondFactor(ctx context.Context, userID int64, code, ip string, p LoginPolicy) (*User, string, error) {
	return s.verifySecondFactor(ctx, userID, "", time.Time{}, code, ip, p)
}

// ErrLoginStepUsed is returned by VerifyLoginStep for a sign-in step token
// that already completed a sign-in.
var ErrLoginStepUsed = &Error{Code: EUNAUTHORIZED, Message: "This sign-in step was already used. Please sign in again."}

// VerifyLoginStep is VerifySecondFactor for the code form of a sign-in: the
// form's token (step, valid until expires) is used up in the same
// transaction that accepts the code, so it completes one sign-in only, on
// any replica. A token already used gives ErrLoginStepUsed, and the code is
// then not used up.
func (s *Store) VerifyLoginStep(ctx context.Context, userID int64, step string, expires time.Time, code, ip string, p LoginPolicy) (*User, string, error) {
	if step == "" {
		return nil, "", ErrLoginStepUsed
	}
	return s.verifySecondFactor(ctx, userID, step, expires, code, ip, p)
}

func (s *Store) verifySecondFactor(ctx context.Context, userID int64, step string, expires time.Time, code, ip string, p LoginPolicy) (*User, string, error) {
	u, err := s.FindUser(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	attempt, err := s.reserveAttempt(ctx, u.Email, ip, p)
	if err != nil {
		return nil, "", err
	}
	if step != "" {
		// Rows of tokens past their expiry are no longer needed. The
		// handler checks expiry on the wall clock (not the store's clock),
		// so that is the clock here, with a minute's grace for replicas'
		// clocks that differ a little.
		if err := s.db.WithContext(ctx).Exec("DELETE FROM login_steps_used WHERE expires_at < ?",
			time.Now().Add(-time.Minute)).Error; err != nil {
			return nil, "", fmt.Errorf("store: forget old sign-in steps: %w", err)
		}
	}
	method, ok, used := "", false, false
	if u.DisabledAt == nil && u.TOTPEnabledAt != nil {
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var err error
			if method, ok, err = s.useSecondFactor(tx, u, code); err != nil || !ok || step == "" {
				return err
			}
			if used, err = s.useLoginStep(tx, step, expires); err == nil && used {
				ok = false
				return ErrLoginStepUsed // rolls back the code's use
			}
			return err
		})
		if err != nil && !used {
			return nil, "", fmt.Errorf("store: verify second factor: %w", err)
		}
	}
	if err := s.settleAttempt(ctx, attempt, ok); err != nil {
		return nil, "", err
	}
	if used {
		return nil, "", ErrLoginStepUsed
	}
	if !ok {
		return nil, "", invalid("code", ReasonCodeWrong)
	}
	return u, method, nil
}

// useLoginStep records the sign-in step token step as used and reports
// whether it already was. Concurrent uses of one token serialise on the
// primary key: the second waits for the first to commit, then finds it.
func (s *Store) useLoginStep(tx *gorm.DB, step string, expires time.Time) (bool, error) {
	sum := sha256.Sum256([]byte(step))
	res := tx.Exec("INSERT INTO login_steps_used (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
		hex.EncodeToString(sum[:]), expires)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 0, nil
}

// RecoveryCodesLeft counts a person's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&recoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return n, err
}

// useSecondFactor accepts a TOTP code (6 digits) or a recovery code.
func (s *Store) useSecondFactor(tx *gorm.DB, u *User, code string) (string, bool, error) {
	c := normalizeCode(code)
	switch {
	case len(c) == 6 && allDigits(c):
		ok, err := s.useTOTP(tx, u, c)
		return MethodTOTP, ok, err
	case len(c) == recoveryLen:
		ok, err := s.useRecoveryCode(tx, u.ID, c)
		return MethodRecoveryCode, ok, err
	}
	return "", false, nil
}

func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, code)
}

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// useTOTP accepts code for the current step, one before or one after, and
// only for a step later than the last one used: the conditional UPDATE makes
// a replay (or a race of two requests with one code) fail.
func (s *Store) useTOTP(tx *gorm.DB, u *User, code string) (bool, error) {
	code = normalizeCode(code)
	if len(code) != 6 || !allDigits(code) || u.TOTPSecret == nil {
		return false, nil
	}
	plain, err := s.open(u.TOTPSecret, totpAD(u.ID))
	if err != nil {
		return false, err
	}
	secret := b32(plain)
	now := s.now().Unix() / totpPeriod
	for _, step := range []int64{now, now - 1, now + 1} {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
		if err != nil {
			return false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		res := tx.Model(&User{}).Where("id = ? AND totp_last_step < ?", u.ID, step).Update("totp_last_step", step)
		return res.RowsAffected == 1, res.Error
	}
	return false, nil
}

func b32(plain []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(plain)
}

// randomString draws n characters of alphabet uniformly (rejecting the
// bytes that would favour its first characters).
func randomString(alphabet string, n int) ([]byte, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 1)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		if int(buf[0]) < limit {
			out = append(out, alphabet[int(buf[0])%len(alphabet)])
		}
	}
	return out, nil
}

// recoveryCode is a row of recovery_codes.
type recoveryCode struct {
	UserID   int64
	CodeHash string
	UsedAt   *time.Time
}

func (recoveryCode) TableName() string { return "recovery_codes" }

func (s *Store) recoveryHash(code string) (string, error) {
	if s.sealKey == nil {
		return "", errNoSealKey
	}
	k := hmac.New(sha256.New, s.sealKey)
	k.Write([]byte("ksherdash/recovery-codes"))
	mac := hmac.New(sha256.New, k.Sum(nil))
	mac.Write([]byte(code))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

func (s *Store) useRecoveryCode(tx *gorm.DB, userID int64, code string) (bool, error) {
	h, err := s.recoveryHash(code)
	if err != nil {
		return false, err
	}
	res := tx.Model(&recoveryCode{}).Where("user_id = ? AND code_hash = ? AND used_at IS NULL", userID, h).
		Update("used_at", s.now())
	return res.RowsAffected == 1, res.Error
}

// replaceRecoveryCodes drops a person's codes and makes new ones.
func (s *Store) replaceRecoveryCodes(tx *gorm.DB, userID int64) ([]string, error) {
	if err := tx.Where("user_id = ?", userID).Delete(&recoveryCode{}).Error; err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	rows := make([]recoveryCode, RecoveryCodeCount)
	for i := range codes {
		b, err := randomString(recoveryAlphabet, recoveryLen)
		if err != nil {
			return nil, err
		}
		h, err := s.recoveryHash(string(b))
		if err != nil {
			return nil, err
		}
		codes[i] = string(b[:5]) + "-" + string(b[5:])
		rows[i] = recoveryCode{UserID: userID, CodeHash: h}
	}
	if err := tx.Create(&rows).Error; err != nil {
		return nil, err
	}
	return codes, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
