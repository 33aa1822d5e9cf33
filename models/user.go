package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Roles a person can hold on a mid, from most to least powerful.
const (
	RoleOwner   = "owner"
	RoleManager = "manager"
	RoleFinance = "finance"
	RoleSupport = "support"
	RoleViewer  = "viewer"
)

// Roles lists every role in order of decreasing power.
var Roles = []string{RoleOwner, RoleManager, RoleFinance, RoleSupport, RoleViewer}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// bcryptCost balances login latency on 2 cores (~80 ms) against brute force.
const bcryptCost = 11

// User is a person who signs in to ksherdash.
type User struct {
	ID                 int64
	Email              string
	Name               string
	PasswordHash       string `json:"-"`
	IsOwner            bool
	MustChangePassword bool
	Language           string
	TimeZone           string
	LastMid            string
	TOTPSecret         []byte `json:"-"`
	TOTPEnabledAt      *time.Time
	DisabledAt         *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Membership gives a user a role on one mid.
type Membership struct {
	UserID    int64
	Mid       string
	Role      string
	CreatedAt time.Time
}

// NewUser is what is needed to create a person.
type NewUser struct {
	Email              string
	Name               string
	Password           string
	Role               string   // RoleOwner makes an account-wide owner; other roles need Mids
	Mids               []string // the mids the role applies to
	MustChangePassword bool
}

// Validate returns a message per invalid field, keyed by field name.
func (n *NewUser) Validate() map[string]string {
	errs := map[string]string{}
	n.Email = strings.TrimSpace(n.Email)
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email {
		errs["email"] = "Enter a valid email address."
	}
	if msg := PasswordProblem(n.Password); msg != "" {
		errs["password"] = msg
	}
	if !slices.Contains(Roles, n.Role) {
		errs["role"] = "Role must be one of " + strings.Join(Roles, ", ") + "."
	} else if n.Role != RoleOwner && len(n.Mids) == 0 {
		errs["mids"] = "A " + n.Role + " needs at least one mid."
	}
	return errs
}

// PasswordProblem explains why a password is not acceptable, or returns "".
func PasswordProblem(pw string) string {
	if len([]rune(pw)) < MinPasswordLength {
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	}
	if len(pw) > 72 { // bcrypt's limit: longer input would be silently truncated
		return "Use at most 72 bytes."
	}
	return ""
}

// HashPassword hashes pw with bcrypt.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	return string(h), err
}

// dummyHash is compared against when an email is unknown, so that the time a
// login takes does not tell whether the account exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-real-password"), bcryptCost)

// CheckPassword reports whether pw matches the user's hash.
func (u *User) CheckPassword(pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) == nil
}

// CreateUser creates a person and their memberships in one transaction,
// with their audit entries (person_create, one per mid, or one without a
// mid for an owner): `ksherdash user create` passes CommandLine().
// Returns EINVALID (with the first problem) or ECONFLICT for a taken email.
func (s *Store) CreateUser(ctx context.Context, by Actor, n NewUser) (*User, error) {
	if errs := n.Validate(); len(errs) > 0 {
		for _, k := range []string{"email", "password", "role", "mids"} {
			if m, ok := errs[k]; ok {
				return nil, Errorf(EINVALID, "%s: %s", k, m)
			}
		}
	}
	hash, err := HashPassword(n.Password)
	if err != nil {
		return nil, err
	}
	u := &User{Email: n.Email, Name: n.Name, PasswordHash: hash, IsOwner: n.Role == RoleOwner,
		MustChangePassword: n.MustChangePassword}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(u).Error; err != nil {
			return notFoundOr(err, "A person with this email")
		}
		p := &Person{User: *u}
		for _, mid := range n.Mids {
			m := Membership{UserID: u.ID, Mid: strings.TrimSpace(mid), Role: n.Role}
			if err := tx.Create(&m).Error; err != nil {
				return notFoundOr(err, "Membership")
			}
			p.Grants = append(p.Grants, Grant{UserID: u.ID, Mid: m.Mid, Role: m.Role})
		}
		return s.auditPersonCreate(tx, by, p)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

// CountUsers returns the number of people.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

// FindUserByEmail returns the person with this email (case-insensitive), or ENOTFOUND.
func (s *Store) FindUserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("lower(email) = lower(?)", strings.TrimSpace(email)).Take(&u).Error
	if err != nil {
		return nil, notFoundOr(err, "Person")
	}
	return &u, nil
}

// FindUser returns the person with this id, or ENOTFOUND.
func (s *Store) FindUser(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Take(&u, id).Error; err != nil {
		return nil, notFoundOr(err, "Person")
	}
	return &u, nil
}

// SetPassword replaces the password of the person by and clears the
// must-change flag. Every other session of theirs is revoked. Audited
// (password_change) in the same transaction.
func (s *Store) SetPassword(ctx context.Context, by Actor, pw string, keepSessionID string) error {
	userID := by.UserID
	if msg := PasswordProblem(pw); msg != "" {
		return Errorf(EINVALID, "%s", msg)
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{
			"password_hash": hash, "must_change_password": false, "updated_at": s.now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return Errorf(ENOTFOUND, "Person not found.")
		}
		if _, err := s.revokeOthers(tx, userID, keepSessionID); err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditPasswordChange, by.Email, "", nil)
	})
}

// SetLanguage stores a person's language choice ("en", "th" or "" for the browser's).
func (s *Store) SetLanguage(ctx context.Context, userID int64, lang string) error {
	return s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).Update("language", lang).Error
}

// RandomPassword returns a readable random password of 16 characters from
// an alphabet without look-alike characters.
func RandomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ErrNotFirstStart is returned by EnsureOwner when people already exist.
var ErrNotFirstStart = errors.New("people already exist")

// EnsureOwner creates the first owner with a one-time password when there is
// nobody yet, and returns that password. It returns ErrNotFirstStart when
// people exist. Concurrent replicas are serialised by an advisory lock.
func (s *Store) EnsureOwner(ctx context.Context, email string) (string, error) {
	var pw string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(727002)`).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&User{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrNotFirstStart
		}
		pw = RandomPassword()
		hash, err := HashPassword(pw)
		if err != nil {
			return err
		}
		u := User{Email: email, Name: "Owner", PasswordHash: hash, IsOwner: true, MustChangePassword: true}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		return s.auditPersonCreate(tx, FirstStart(), &Person{User: u})
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// Memberships returns a person's roles per mid, ordered by mid.
func (s *Store) Memberships(ctx context.Context, userID int64) ([]Membership, error) {
	var ms []Membership
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("mid").Find(&ms).Error
	return ms, err
}
