package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// API kinds of a merchant account.
const (
	APIv3  = "v3"  // KsherPay: RSA signatures, one appid and key per mid
	APIVIP = "vip" // *.vip.ksher.net gateway: one HMAC token, mid parameter
)

// MerchantAccount is one set of Ksher credentials with its mids.
type MerchantAccount struct {
	ID                     int64
	Name                   string
	APIKind                string
	BaseURL                string
	GatewayBaseURL         string // v3 only: where gateway_pay lives (gateway.ksher.com)
	Sandbox                bool
	TimeZone               string
	Credentials            []byte `json:"-"` // sealed
	CredentialsFingerprint string
	CreatedAt              time.Time
	UpdatedAt              time.Time
	Mids                   []Mid `gorm:"foreignKey:AccountID"`
}

// Mid is a Ksher sub-merchant (for v3, its appid).
type Mid struct {
	Mid       string `gorm:"primaryKey"`
	AccountID int64
	Name      string
	Currency  string
	CreatedAt time.Time
}

// Label is how the mid is shown: its name and number.
func (m Mid) Label() string {
	if m.Name == "" {
		return m.Mid
	}
	return m.Name + " · " + m.Mid
}

// Credentials are the secrets of an account. They are sealed at rest, never
// rendered back and never logged (LogValue, String).
type Credentials struct {
	// v3: per mid, the merchant's private key (PKCS#1 or PKCS#8 PEM). The mid
	// is the appid.
	PrivateKeys map[string]string `json:"private_keys,omitempty"`
	// v3: Ksher's public key override (PEM); empty = Ksher's published key.
	KsherPublicKey string `json:"ksher_public_key,omitempty"`
	// vip: the HMAC token.
	Token string `json:"token,omitempty"`
}

// LogValue keeps secrets out of logs.
func (c Credentials) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String keeps secrets out of %v.
func (c Credentials) String() string { return "[redacted]" }

// GoString keeps secrets out of %#v.
func (c Credentials) GoString() string { return "[redacted]" }

// Fingerprint identifies credentials without revealing them: the first 12
// hex characters of the SHA-256 of their canonical JSON.
func (c Credentials) Fingerprint() string {
	b, _ := json.Marshal(c) // map keys are sorted by encoding/json
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// AccountInput is what the account form submits.
type AccountInput struct {
	Name           string
	APIKind        string
	BaseURL        string
	GatewayBaseURL string
	Sandbox        bool
	TimeZone       string
	Mids           []Mid        // wanted mids (Mid, Name, Currency)
	Credentials    *Credentials // nil = keep the stored ones
}

// MaxAccountNameLength bounds an account's name (in characters).
const MaxAccountNameLength = 100

var midRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Validate returns the problem of each invalid field. It trims the name and
// defaults the time zone to Asia/Bangkok.
func (in *AccountInput) Validate() Problems {
	errs := Problems{}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		errs["name"] = Problem{ID: "accounts.error.name_required"}
	case utf8.RuneCountInString(in.Name) > MaxAccountNameLength:
		errs["name"] = Problem{ID: "accounts.error.name_long", Data: map[string]any{"Max": MaxAccountNameLength}}
	}
	if in.APIKind != APIv3 && in.APIKind != APIVIP {
		errs["api_kind"] = Problem{ID: "accounts.error.api_kind"}
	}
	for _, f := range []struct{ name, v string }{{"base_url", in.BaseURL}, {"gateway_base_url", in.GatewayBaseURL}} {
		if f.v == "" && f.name == "gateway_base_url" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			errs[f.name] = Problem{ID: "accounts.error.url"}
		}
	}
	if in.TimeZone == "" {
		in.TimeZone = "Asia/Bangkok"
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil || in.TimeZone == "Local" {
		errs["time_zone"] = Problem{ID: "accounts.error.time_zone"}
	}
	if len(in.Mids) == 0 {
		errs["mids"] = Problem{ID: "accounts.error.mids_required"}
	}
	seen := map[string]bool{}
	for _, m := range in.Mids {
		if !midRe.MatchString(m.Mid) {
			errs["mids"] = Problem{ID: "accounts.error.mid_invalid", Data: map[string]any{"Mid": m.Mid}}
		} else if seen[m.Mid] {
			errs["mids"] = Problem{ID: "accounts.error.mid_twice", Data: map[string]any{"Mid": m.Mid}}
		}
		seen[m.Mid] = true
	}
	if c := in.Credentials; c != nil {
		switch in.APIKind {
		case APIVIP:
			if strings.TrimSpace(c.Token) == "" {
				errs["token"] = Problem{ID: "accounts.error.token_required"}
			}
		case APIv3:
			for _, m := range in.Mids {
				if strings.TrimSpace(c.PrivateKeys[m.Mid]) == "" {
					errs["key_"+m.Mid] = Problem{ID: "accounts.error.key_required", Data: map[string]any{"Mid": m.Mid}}
				}
			}
		}
	}
	return errs
}

// CredentialsUpdate is what the account form submitted for the secrets.
// Empty fields keep what is stored.
type CredentialsUpdate struct {
	// SharedPrivateKey (v3) is used for every mid given no key of its own.
	SharedPrivateKey string
	// PrivateKeys (v3) per mid.
	PrivateKeys map[string]string
	// KsherPublicKey (v3) overrides Ksher's published response key.
	KsherPublicKey string
	// ClearKsherPublicKey (v3) drops a stored override.
	ClearKsherPublicKey bool
	// Token (vip) is the HMAC token.
	Token string
}

// LogValue keeps secrets out of logs.
func (u CredentialsUpdate) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String keeps secrets out of %v.
func (u CredentialsUpdate) String() string { return "[redacted]" }

// GoString keeps secrets out of %#v.
func (u CredentialsUpdate) GoString() string { return "[redacted]" }

// Apply computes the credentials to store for an account of kind with mids:
// the stored ones (nil on create) overlaid with u, keeping only what kind
// uses and the keys of the listed mids. It returns nil credentials when the
// result equals what is stored (keep them), and the problems otherwise
// found (a mid without any key, vip without a token). Changing the API kind
// needs the new kind's secrets: stored ones of the other kind do not carry
// over.
func (u CredentialsUpdate) Apply(stored *Credentials, kind string, mids []Mid) (*Credentials, Problems) {
	probs := Problems{}
	if stored == nil {
		stored = &Credentials{}
	}
	next := &Credentials{}
	switch kind {
	case APIVIP:
		if next.Token = strings.TrimSpace(u.Token); next.Token == "" {
			next.Token = stored.Token
		}
		if next.Token == "" {
			probs["token"] = Problem{ID: "accounts.error.token_required"}
		}
	case APIv3:
		next.PrivateKeys = map[string]string{}
		for _, m := range mids {
			k := strings.TrimSpace(u.PrivateKeys[m.Mid])
			if k == "" {
				k = strings.TrimSpace(u.SharedPrivateKey)
			}
			if k == "" {
				k = stored.PrivateKeys[m.Mid]
			}
			if k == "" {
				probs["key_"+m.Mid] = Problem{ID: "accounts.error.key_required", Data: map[string]any{"Mid": m.Mid}}
				continue
			}
			next.PrivateKeys[m.Mid] = k
		}
		if next.KsherPublicKey = strings.TrimSpace(u.KsherPublicKey); next.KsherPublicKey == "" && !u.ClearKsherPublicKey {
			next.KsherPublicKey = stored.KsherPublicKey
		}
	default:
		return nil, probs // Validate reports the kind
	}
	if len(probs) > 0 {
		return nil, probs
	}
	if next.Fingerprint() == stored.Fingerprint() {
		return nil, probs
	}
	return next, probs
}

// SaveAccount creates (id 0) or updates an account with its mids and, when
// given, new credentials (sealed with the store's secret key). Problems come
// back as *InvalidInput: EINVALID for invalid input, ECONFLICT for a taken
// name or a mid of another account; ENOTFOUND for an unknown id.
//
// The change is audited in the same transaction (account_create or
// account_update with what changed, credential_change with the old and new
// fingerprints: never the secrets).
func (s *Store) SaveAccount(ctx context.Context, by Actor, id int64, in AccountInput) (*MerchantAccount, error) {
	if err := in.Validate().Err(); err != nil {
		return nil, err
	}
	a := &MerchantAccount{ID: id}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var prev *MerchantAccount
		if id != 0 {
			if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(a, id).Error; err != nil {
				return notFoundOr(err, "Account")
			}
			was := *a
			if err := tx.Where("account_id = ?", id).Order("mid").Find(&was.Mids).Error; err != nil {
				return err
			}
			prev = &was
		}
		a.Name, a.APIKind, a.BaseURL, a.GatewayBaseURL = in.Name, in.APIKind, in.BaseURL, in.GatewayBaseURL
		a.Sandbox, a.TimeZone, a.UpdatedAt = in.Sandbox, in.TimeZone, s.now()
		if id == 0 {
			a.CreatedAt = s.now()
			if err := tx.Omit("Mids").Create(a).Error; err != nil {
				return nameTakenOr(err)
			}
		}
		if in.Credentials != nil {
			plain, err := json.Marshal(in.Credentials)
			if err != nil {
				return err
			}
			if a.Credentials, err = s.seal(plain, []byte(strconv.FormatInt(a.ID, 10))); err != nil {
				return err
			}
			a.CredentialsFingerprint = in.Credentials.Fingerprint()
		}
		if err := tx.Omit("Mids", "CreatedAt").Save(a).Error; err != nil {
			return nameTakenOr(err)
		}
		if err := s.syncMids(tx, a.ID, in.Mids); err != nil {
			return err
		}
		a.Mids = in.Mids
		return s.auditAccountSave(tx, by, prev, a)
	})
	if err != nil {
		return nil, fmt.Errorf("store: save account: %w", err)
	}
	return s.Account(ctx, a.ID)
}

func nameTakenOr(err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return &InvalidInput{Code: ECONFLICT, Problems: Problems{"name": {ID: "accounts.error.name_taken"}}}
	}
	return notFoundOr(err, "Account")
}

func (s *Store) syncMids(tx *gorm.DB, accountID int64, want []Mid) error {
	keep := make([]string, 0, len(want))
	for _, m := range want {
		keep = append(keep, m.Mid)
		var other Mid
		err := tx.Where("mid = ?", m.Mid).Take(&other).Error
		if err == nil && other.AccountID != accountID {
			return &InvalidInput{Code: ECONFLICT, Problems: Problems{"mids": {ID: "accounts.error.mid_taken", Data: map[string]any{"Mid": m.Mid}}}}
		}
		if m.Currency == "" {
			m.Currency = "THB"
		}
		row := Mid{Mid: m.Mid, AccountID: accountID, Name: m.Name, Currency: m.Currency, CreatedAt: s.now()}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "mid"}},
			DoUpdates: clause.AssignmentColumns([]string{"name", "currency"})}).Create(&row).Error; err != nil {
			return err
		}
	}
	return tx.Where("account_id = ? AND mid NOT IN ?", accountID, keep).Delete(&Mid{}).Error
}

// Account returns one account with its mids, or ENOTFOUND.
func (s *Store) Account(ctx context.Context, id int64) (*MerchantAccount, error) {
	var a MerchantAccount
	err := s.db.WithContext(ctx).Preload("Mids", func(db *gorm.DB) *gorm.DB { return db.Order("mid") }).Take(&a, id).Error
	if err != nil {
		return nil, notFoundOr(err, "Account")
	}
	return &a, nil
}

// Accounts returns every account with its mids, by name.
func (s *Store) Accounts(ctx context.Context) ([]MerchantAccount, error) {
	var as []MerchantAccount
	err := s.db.WithContext(ctx).Preload("Mids", func(db *gorm.DB) *gorm.DB { return db.Order("mid") }).Order("lower(name)").Find(&as).Error
	return as, err
}

// AccountCredentials opens the sealed credentials of an account.
func (s *Store) AccountCredentials(a *MerchantAccount) (*Credentials, error) {
	if len(a.Credentials) == 0 {
		return &Credentials{}, nil
	}
	plain, err := s.open(a.Credentials, []byte(strconv.FormatInt(a.ID, 10)))
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// AllMids returns every mid, ordered.
func (s *Store) AllMids(ctx context.Context) ([]Mid, error) {
	var ms []Mid
	err := s.db.WithContext(ctx).Order("mid").Find(&ms).Error
	return ms, err
}

// FindMid returns one mid, or ENOTFOUND.
func (s *Store) FindMid(ctx context.Context, mid string) (*Mid, error) {
	var m Mid
	if err := s.db.WithContext(ctx).Where("mid = ?", mid).Take(&m).Error; err != nil {
		return nil, notFoundOr(err, "Mid")
	}
	return &m, nil
}

// CountLiveAccounts counts accounts that talk to the real Ksher.
func (s *Store) CountLiveAccounts(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&MerchantAccount{}).Where("NOT sandbox").Count(&n).Error
	return n, err
}

// MidAccess is a person's access to one mid.
type MidAccess struct {
	Mid         Mid
	Role        string
	RefundCap   *int64
	SameDayOnly bool
	TimeZone    string // the mid's account's zone (IANA name), for showing times
}

// Access returns what a person may do: the mids they may see with their
// role on each (every mid, as owner, for owners; else their memberships).
func (s *Store) Access(ctx context.Context, u *User) (Access, error) {
	// One query per request (every signed-in page asks): the account's zone
	// comes along, so pages show times without asking for the account.
	var rows []struct {
		Mid
		Role        string
		RefundCap   *int64
		SameDayOnly bool
		TimeZone    string
	}
	q := s.db.WithContext(ctx).Table("mids AS m").Joins("JOIN merchant_accounts a ON a.id = m.account_id")
	if u.IsOwner {
		q = q.Select("m.mid, m.account_id, m.name, m.currency, m.created_at, ? AS role, a.time_zone", RoleOwner)
	} else {
		q = q.Select("m.mid, m.account_id, m.name, m.currency, m.created_at, ms.role, ms.refund_cap, ms.same_day_only, a.time_zone").
			Joins("JOIN memberships ms ON ms.mid = m.mid").Where("ms.user_id = ?", u.ID)
	}
	if err := q.Order("m.mid").Scan(&rows).Error; err != nil {
		return Access{}, err
	}
	out := make([]MidAccess, len(rows))
	for i, r := range rows {
		out[i] = MidAccess{Mid: r.Mid, Role: r.Role, RefundCap: r.RefundCap, SameDayOnly: r.SameDayOnly, TimeZone: r.TimeZone}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mid.Mid < out[j].Mid.Mid })
	return Access{Owner: u.IsOwner, Mids: out}, nil
}

// SetLastMid remembers the mid a person (by) switched to, so their home
// page opens there next time, and audits the switch (mid_switch, from the
// mid before) in the same transaction. auditMid is the entry's mid ("" for
// the consolidated view).
func (s *Store) SetLastMid(ctx context.Context, by Actor, mid, auditMid string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var from string
		if err := tx.Raw("SELECT last_mid FROM users WHERE id = ? FOR UPDATE", by.UserID).Row().Scan(&from); err != nil {
			return notFoundOr(err, "Person")
		}
		if err := tx.Model(&User{}).Where("id = ?", by.UserID).Update("last_mid", mid).Error; err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditMidSwitch, mid, auditMid, map[string]any{"from": from})
	})
}
