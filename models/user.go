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

// Validate returns the problem of each invalid field (email, password,
// role, mids).
func (n *NewUser) Validate() Problems {
	errs := Problems{}
	n.Email = strings.TrimSpace(n.Email)
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email {
		errs.Add("email", ReasonEmailInvalid, nil)
	}
	if id := PasswordProblem(n.Password); id != "" {
		errs.Add("password", id, nil)
	}
	if !slices.Contains(Roles, n.Role) {
		errs.Add("role", "input.role_unknown", map[string]any{"Roles": strings.Join(Roles, ", ")})
	} else if n.Role != RoleOwner && len(n.Mids) == 0 {
		errs.Add("mids", "input.mids_required", map[string]any{"Role": n.Role})
	}
	return errs
}

// PasswordProblem returns the message id of why a password is not
// acceptable, or "".
func PasswordProblem(pw string) string {
	if len([]rune(pw)) < MinPasswordLength {
		return "password.error.short"
	}
	if len(pw) > 72 { // bcrypt's limit: longer input would be silently truncated
		return "password.error.long"
	}
	return ""
}

// PasswordChange is the password page's form: the current password, the
// new one and its confirmation.
type PasswordChange struct {
	Current, New, Confirm string
}

// Validate returns the problem of the new password (new, confirm). The
// current password is checked like a sign-in, by its handler.
func (p *PasswordChange) Validate() Problems {
	errs := Problems{}
	switch {
	case PasswordProblem(p.New) != "":
		errs.Add("new", PasswordProblem(p.New), nil)
	case p.New != p.Confirm:
		errs.Add("confirm", "password.error.mismatch", nil)
	case p.New == p.Current:
		errs.Add("new", "password.error.same", nil)
	}
	return errs
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
	if err := n.Validate().Err(); err != nil {
		return nil, err
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
	if id := PasswordProblem(pw); id != "" {
		return invalid("password", id)
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
