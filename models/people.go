package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Who may manage whom: the rules of the people pages, in one place.
//
//   - Owners see and manage everybody and every mid; only owners make owners.
//   - Anyone else manages people on the mids where their role has
//     ActManagePeople (managers): they see the people holding at least one
//     of those mids, and only those memberships; they never see owners.
//   - Changing a person's roles, disabling, enabling, resetting their
//     password or two-factor sign-in act on the whole person: allowed only
//     when MayManage (permission.go) says so, i.e. for a manager, when on
//     every mid the person holds the manager's role outranks theirs (never
//     a peer manager, never themselves). Others are shown read-only.
//   - Roles given must be below the giver's own on that mid (CanGrant):
//     managers give finance, support or viewer.
//   - No change may leave the account without an enabled owner.

// GrantRoles are the roles that can be granted on one mid (owners are
// owners of every mid).
var GrantRoles = []string{RoleManager, RoleFinance, RoleSupport, RoleViewer}

// Grant is a person's role on one mid, with the support limits (a refund
// cap in the mid's minor units, same-day refunds only).
type Grant struct {
	UserID      int64     `json:"-"`
	Mid         string    `json:"mid"`
	Role        string    `json:"role"`
	RefundCap   *int64    `json:"refund_cap,omitempty"`
	SameDayOnly bool      `json:"same_day_only,omitempty"`
	CreatedAt   time.Time `json:"-"`
}

// TableName maps grants onto memberships.
func (Grant) TableName() string { return "memberships" }

// Person is someone as seen by whoever manages them.
type Person struct {
	User
	// Grants are the person's roles, limited to the mids the viewer
	// manages (every grant for owners), by mid.
	Grants []Grant
	// Manageable: the viewer may change this person's roles, disable,
	// enable and reset their password or two-factor sign-in (MayManage).
	Manageable bool
}

// GrantInput is one row of the people form: a role on a mid, its refund cap
// as typed ("" = no cap) and the same-day rule. An empty Role removes the
// person's role on that mid.
type GrantInput struct {
	Mid         string
	Role        string
	RefundCap   string
	SameDayOnly bool
}

// PersonInput is what the people form submits.
type PersonInput struct {
	Email  string // creation only: an email never changes
	Name   string
	Owner  bool
	Grants []GrantInput
}

// Reasons for refusing people and security forms: the message ids of
// their Problems.
const (
	ReasonEmailInvalid    = "input.email_invalid"
	ReasonEmailTaken      = "input.email_taken"
	ReasonNameLong        = "input.name_long"
	ReasonRoleInvalid     = "input.role_invalid"
	ReasonRoleTooHigh     = "input.role_too_high"
	ReasonMidNotGrantable = "input.mid_not_grantable"
	ReasonCapInvalid      = "input.cap_invalid"
	ReasonNoRole          = "input.no_role"
	ReasonOwnerOnly       = "input.owner_only"
	ReasonLastOwner       = "input.last_owner"
	ReasonSelfReset       = "input.self_reset"
	ReasonSelfTOTPReset   = "input.self_totp_reset"
	ReasonCodeWrong       = "input.code_wrong"
	ReasonPasswordWrong   = "input.password_wrong"
)

// InputReasons lists every reason, for the catalogs' completeness test.
var InputReasons = []string{ReasonEmailInvalid, ReasonEmailTaken, ReasonNameLong, ReasonRoleInvalid,
	ReasonRoleTooHigh, ReasonMidNotGrantable, ReasonCapInvalid, ReasonNoRole, ReasonOwnerOnly, ReasonLastOwner,
	ReasonSelfReset, ReasonSelfTOTPReset, ReasonCodeWrong, ReasonPasswordWrong}

// peopleScope is what an actor may manage.
type peopleScope struct {
	actor *User
	owner bool
	mids  map[string]bool   // mids the actor manages (owners: unused)
	roles map[string]string // the actor's role by mid (owners: unused)
}

func (sc peopleScope) managesMid(mid string) bool { return sc.owner || sc.mids[mid] }

// sees: owners see everyone; managers see non-owners holding one of their mids.
func (sc peopleScope) sees(u *User, grants []Grant) bool {
	if sc.owner {
		return true
	}
	if u.IsOwner {
		return false
	}
	for _, g := range grants {
		if sc.mids[g.Mid] {
			return true
		}
	}
	return false
}

// mayManage applies the one rule (MayManage) to a person and all their grants.
func (sc peopleScope) mayManage(u *User, grants []Grant) bool {
	return MayManage(sc.owner, sc.roles, u.IsOwner, grants)
}

// mayGrant: the actor may give role on mid (CanGrant; owners are owners
// of every mid).
func (sc peopleScope) mayGrant(mid, role string) bool {
	actor := sc.roles[mid]
	if sc.owner {
		actor = RoleOwner
	}
	return CanGrant(actor, role)
}

func (sc peopleScope) visibleGrants(grants []Grant) []Grant {
	var out []Grant
	for _, g := range grants {
		if sc.managesMid(g.Mid) {
			out = append(out, g)
		}
	}
	return out
}

// scope reads the actor afresh (a demotion takes effect at once) and the
// mids they manage.
func (s *Store) scope(tx *gorm.DB, actor *User) (peopleScope, error) {
	var u User
	if err := tx.Take(&u, actor.ID).Error; err != nil {
		return peopleScope{}, notFoundOr(err, "Person")
	}
	if u.DisabledAt != nil {
		return peopleScope{}, Errorf(EFORBIDDEN, "Your account is disabled.")
	}
	sc := peopleScope{actor: &u, owner: u.IsOwner, mids: map[string]bool{}, roles: map[string]string{}}
	if sc.owner {
		return sc, nil
	}
	var gs []Grant
	if err := tx.Where("user_id = ?", u.ID).Find(&gs).Error; err != nil {
		return sc, err
	}
	for _, g := range gs {
		sc.roles[g.Mid] = g.Role
		if RoleCan(g.Role, ActManagePeople) {
			sc.mids[g.Mid] = true
		}
	}
	return sc, nil
}

// GrantableMids returns the mids on which actor may grant roles, by mid.
func (s *Store) GrantableMids(ctx context.Context, actor *User) ([]Mid, error) {
	db := s.db.WithContext(ctx)
	sc, err := s.scope(db, actor)
	if err != nil {
		return nil, err
	}
	var ms []Mid
	q := db.Order("mid")
	if !sc.owner {
		q = q.Where("mid IN ?", append(keys(sc.mids), ""))
	}
	err = q.Find(&ms).Error
	return ms, err
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// People returns the people actor may see, owners first, then by email,
// with only the grants on mids actor manages.
func (s *Store) People(ctx context.Context, actor *User) ([]Person, error) {
	db := s.db.WithContext(ctx)
	sc, err := s.scope(db, actor)
	if err != nil {
		return nil, err
	}
	var users []User
	q := db.Order("is_owner DESC, lower(email)")
	if !sc.owner {
		q = q.Where("NOT is_owner AND id IN (SELECT user_id FROM memberships WHERE mid IN ?)", append(keys(sc.mids), ""))
	}
	if err := q.Find(&users).Error; err != nil {
		return nil, fmt.Errorf("store: people: %w", err)
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	var grants []Grant
	if err := db.Where("user_id IN ?", append(ids, 0)).Order("mid").Find(&grants).Error; err != nil {
		return nil, fmt.Errorf("store: people: %w", err)
	}
	byUser := map[int64][]Grant{}
	for _, g := range grants {
		byUser[g.UserID] = append(byUser[g.UserID], g)
	}
	out := make([]Person, 0, len(users))
	for _, u := range users {
		gs := byUser[u.ID]
		if !sc.sees(&u, gs) {
			continue
		}
		out = append(out, Person{User: u, Grants: sc.visibleGrants(gs), Manageable: sc.mayManage(&u, gs)})
	}
	return out, nil
}

// Person returns one person as actor sees them, or ENOTFOUND when actor
// may not see them (so the answer does not tell that they exist).
func (s *Store) Person(ctx context.Context, actor *User, id int64) (*Person, error) {
	db := s.db.WithContext(ctx)
	sc, err := s.scope(db, actor)
	if err != nil {
		return nil, err
	}
	p, _, err := s.loadPerson(db, sc, id, false)
	return p, err
}

// loadPerson loads a person visible to sc (optionally locking the row) and
// returns them as sc sees them plus all their grants.
func (s *Store) loadPerson(tx *gorm.DB, sc peopleScope, id int64, lock bool) (*Person, []Grant, error) {
	var u User
	q := tx
	if lock {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	if err := q.Take(&u, id).Error; err != nil {
		return nil, nil, notFoundOr(err, "Person")
	}
	var gs []Grant
	if err := tx.Where("user_id = ?", id).Order("mid").Find(&gs).Error; err != nil {
		return nil, nil, err
	}
	if !sc.sees(&u, gs) {
		return nil, nil, Errorf(ENOTFOUND, "Person not found.")
	}
	return &Person{User: u, Grants: sc.visibleGrants(gs), Manageable: sc.mayManage(&u, gs)}, gs, nil
}

// validate checks a form against sc and returns the grants it asks for.
// mids are the mids that exist, by mid.
func (in *PersonInput) validate(sc peopleScope, mids map[string]Mid, creating bool) ([]Grant, *InvalidInput) {
	errs := Problems{}
	in.Name = strings.TrimSpace(in.Name)
	if creating {
		in.Email = strings.TrimSpace(in.Email)
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
			errs["email"] = Problem{ID: ReasonEmailInvalid}
		}
	}
	if len([]rune(in.Name)) > 100 {
		errs["name"] = Problem{ID: ReasonNameLong}
	}
	if in.Owner && !sc.owner {
		errs["owner"] = Problem{ID: ReasonOwnerOnly}
	}
	var grants []Grant
	seen := map[string]bool{}
	for _, g := range in.Grants {
		m, exists := mids[g.Mid]
		if !exists || !sc.managesMid(g.Mid) || seen[g.Mid] {
			errs["grants"] = Problem{ID: ReasonMidNotGrantable}
			continue
		}
		seen[g.Mid] = true
		if g.Role == "" {
			continue
		}
		if !slices.Contains(GrantRoles, g.Role) {
			errs["role_"+g.Mid] = Problem{ID: ReasonRoleInvalid}
			continue
		}
		if !sc.mayGrant(g.Mid, g.Role) {
			errs["role_"+g.Mid] = Problem{ID: ReasonRoleTooHigh}
			continue
		}
		gr := Grant{Mid: g.Mid, Role: g.Role}
		// Limits bind support people only; for other roles they are cleared.
		if g.Role == RoleSupport {
			gr.SameDayOnly = g.SameDayOnly
			if strings.TrimSpace(g.RefundCap) != "" {
				v, err := ParseMinor(g.RefundCap, m.Currency)
				if err != nil {
					errs["cap_"+g.Mid] = Problem{ID: ReasonCapInvalid}
					continue
				}
				gr.RefundCap = &v
			}
		}
		grants = append(grants, gr)
	}
	if len(errs) > 0 {
		return nil, &InvalidInput{Problems: errs}
	}
	return grants, nil
}

// knownMids returns every mid by its number.
func knownMids(tx *gorm.DB) (map[string]Mid, error) {
	var ms []Mid
	if err := tx.Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make(map[string]Mid, len(ms))
	for _, m := range ms {
		out[m.Mid] = m
	}
	return out, nil
}

// CreatePerson creates a person with a one-time password (returned, shown
// once) that must be changed at the first sign-in. Returns *InvalidInput
// for a bad form (nothing is created).
func (s *Store) CreatePerson(ctx context.Context, by Actor, in PersonInput) (*Person, string, error) {
	pw := RandomPassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return nil, "", err
	}
	var p *Person
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		sc, err := s.scope(tx, by.User)
		if err != nil {
			return err
		}
		mids, err := knownMids(tx)
		if err != nil {
			return err
		}
		grants, bad := in.validate(sc, mids, true)
		if bad != nil {
			return bad
		}
		if !in.Owner && len(grants) == 0 {
			return invalid("grants", ReasonNoRole)
		}
		now := s.now()
		u := User{Email: in.Email, Name: in.Name, PasswordHash: hash, IsOwner: in.Owner, MustChangePassword: true,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return invalid("email", ReasonEmailTaken)
			}
			return err
		}
		for i := range grants {
			grants[i].UserID, grants[i].CreatedAt = u.ID, now
		}
		if len(grants) > 0 {
			if err := tx.Create(&grants).Error; err != nil {
				return err
			}
		}
		p = &Person{User: u, Grants: grants, Manageable: true}
		return s.auditPersonCreate(tx, by, p)
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: create person: %w", err)
	}
	return p, pw, nil
}

// PersonChange is what an update did, for the audit log.
type PersonChange struct {
	Before, After *Person
}

// UpdatePerson changes a person's name, owner flag (owners only) and their
// roles on the mids actor manages; roles on other mids are kept as they
// are. Returns ENOTFOUND for a person actor may not see, EFORBIDDEN for one
// they may see but not manage (MayManage), *InvalidInput for a bad form or
// a change that would leave no enabled owner.
func (s *Store) UpdatePerson(ctx context.Context, by Actor, id int64, in PersonInput) (*PersonChange, error) {
	var ch PersonChange
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockPeople(tx); err != nil {
			return err
		}
		sc, err := s.scope(tx, by.User)
		if err != nil {
			return err
		}
		before, all, err := s.loadPerson(tx, sc, id, true)
		if err != nil {
			return err
		}
		if !before.Manageable {
			return errNotManageable
		}
		mids, err := knownMids(tx)
		if err != nil {
			return err
		}
		if !sc.owner {
			in.Owner = before.IsOwner // never visible to managers anyway
		}
		grants, bad := in.validate(sc, mids, false)
		if bad != nil {
			return bad
		}
		if before.IsOwner && !in.Owner {
			if err := s.keepAnOwner(tx, id); err != nil {
				return err
			}
		}
		now := s.now()
		if err := tx.Model(&User{}).Where("id = ?", id).
			Updates(map[string]any{"name": in.Name, "is_owner": in.Owner, "updated_at": now}).Error; err != nil {
			return err
		}
		managed := []string{""}
		for _, g := range all {
			if sc.managesMid(g.Mid) {
				managed = append(managed, g.Mid)
			}
		}
		if err := tx.Where("user_id = ? AND mid IN ?", id, managed).Delete(&Grant{}).Error; err != nil {
			return err
		}
		for i := range grants {
			grants[i].UserID, grants[i].CreatedAt = id, now
			for _, old := range all {
				if old.Mid == grants[i].Mid {
					grants[i].CreatedAt = old.CreatedAt
				}
			}
		}
		if len(grants) > 0 {
			if err := tx.Create(&grants).Error; err != nil {
				return err
			}
		}
		after := *before
		after.Name, after.IsOwner, after.Grants = in.Name, in.Owner, grants
		ch = PersonChange{Before: before, After: &after}
		return s.auditPersonChange(tx, by, &ch)
	})
	if err != nil {
		return nil, fmt.Errorf("store: update person: %w", err)
	}
	return &ch, nil
}

// lockPeople serialises changes to people for the transaction: with rows
// locked in different orders (the person, then every owner), two owners
// demoting each other would otherwise deadlock.
func lockPeople(tx *gorm.DB) error {
	return tx.Exec(`SELECT pg_advisory_xact_lock(727003)`).Error
}

// keepAnOwner refuses a change that takes away the last enabled owner
// (other than id). It locks every owner row, so two owners demoting each
// other at the same moment cannot both succeed.
func (s *Store) keepAnOwner(tx *gorm.DB, id int64) error {
	var ids []int64
	err := tx.Raw(`SELECT id FROM users WHERE is_owner AND disabled_at IS NULL ORDER BY id FOR UPDATE`).Scan(&ids).Error
	if err != nil {
		return err
	}
	for _, o := range ids {
		if o != id {
			return nil
		}
	}
	return invalid("person", ReasonLastOwner)
}

// errNotManageable refuses acting on a person the actor may see but not
// manage (MayManage).
var errNotManageable = &Error{Code: EFORBIDDEN,
	Message: "You may not change this person: on some sub-merchant their role is not below yours."}

// manageWhole loads a person actor may act on as a whole, locked.
// ENOTFOUND: actor cannot see them; EFORBIDDEN: actor may not manage them
// (MayManage).
func (s *Store) manageWhole(tx *gorm.DB, actor *User, id int64) (*Person, error) {
	if err := lockPeople(tx); err != nil {
		return nil, err
	}
	sc, err := s.scope(tx, actor)
	if err != nil {
		return nil, err
	}
	p, _, err := s.loadPerson(tx, sc, id, true)
	if err != nil {
		return nil, err
	}
	if !p.Manageable {
		return nil, errNotManageable
	}
	return p, nil
}

// SetPersonDisabled disables (ending every session at once) or enables a
// person. Disabling the last enabled owner is refused.
func (s *Store) SetPersonDisabled(ctx context.Context, by Actor, id int64, disabled bool) (*Person, error) {
	var p *Person
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if p, err = s.manageWhole(tx, by.User, id); err != nil {
			return err
		}
		now := s.now()
		if !disabled {
			p.DisabledAt = nil
			if err := tx.Model(&User{}).Where("id = ?", id).Updates(map[string]any{"disabled_at": nil, "updated_at": now}).Error; err != nil {
				return err
			}
			return s.auditPerson(tx, by, AuditPersonEnable, p, nil)
		}
		if p.IsOwner && p.DisabledAt == nil {
			if err := s.keepAnOwner(tx, id); err != nil {
				return err
			}
		}
		if p.DisabledAt == nil {
			p.DisabledAt = &now
		}
		if err := tx.Model(&User{}).Where("id = ?", id).Updates(map[string]any{"disabled_at": p.DisabledAt, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := tx.Model(&Session{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return s.auditPerson(tx, by, AuditPersonDisable, p, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("store: disable person: %w", err)
	}
	return p, nil
}

// ResetPersonPassword gives a person a new one-time password (returned,
// shown once), makes them change it at the next sign-in and ends all their
// sessions. People change their own password on the password page instead.
func (s *Store) ResetPersonPassword(ctx context.Context, by Actor, id int64) (*Person, string, error) {
	if by.UserID == id {
		return nil, "", invalid("person", ReasonSelfReset)
	}
	pw := RandomPassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return nil, "", err
	}
	var p *Person
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if p, err = s.manageWhole(tx, by.User, id); err != nil {
			return err
		}
		now := s.now()
		if err := tx.Model(&User{}).Where("id = ?", id).Updates(map[string]any{
			"password_hash": hash, "must_change_password": true, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := tx.Model(&Session{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return s.auditPerson(tx, by, AuditPasswordReset, p, nil)
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: reset password: %w", err)
	}
	return p, pw, nil
}

// ResetPersonTOTP turns a person's two-factor sign-in off for them (a lost
// phone and no recovery code left): their secret and recovery codes are
// deleted and every session of theirs ends, so they sign in again with
// their password alone. Needs MayManage (EFORBIDDEN otherwise); ECONFLICT
// when two-factor sign-in is not on. People turn off their own on the
// security page, with their password and a code (self_totp_reset).
func (s *Store) ResetPersonTOTP(ctx context.Context, by Actor, id int64) (*Person, error) {
	if by.UserID == id {
		return nil, invalid("person", ReasonSelfTOTPReset)
	}
	var p *Person
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if p, err = s.manageWhole(tx, by.User, id); err != nil {
			return err
		}
		if p.TOTPEnabledAt == nil {
			return errorID(ECONFLICT, "error.person_totp_already_off", "Two-factor sign-in is already off for this person.")
		}
		now := s.now()
		if err := tx.Model(&User{}).Where("id = ?", id).Updates(map[string]any{
			"totp_secret": nil, "totp_enabled_at": nil, "totp_last_step": 0, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", id).Delete(&recoveryCode{}).Error; err != nil {
			return err
		}
		p.TOTPSecret, p.TOTPEnabledAt = nil, nil
		if err := tx.Model(&Session{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return s.auditPerson(tx, by, AuditTOTPReset, p, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("store: reset two-factor: %w", err)
	}
	return p, nil
}
