package models

import (
	"slices"

	"gorm.io/gorm"
)

// auditAccountSave records, inside SaveAccount's transaction,
// account_create or account_update (with what changed) and, when the
// secrets changed, credential_change with the old and new fingerprints:
// never the secrets themselves. prev is the account before (nil: created).
func (s *Store) auditAccountSave(tx *gorm.DB, by Actor, prev, a *MerchantAccount) error {
	now := map[string]any{"name": a.Name, "api_kind": a.APIKind, "base_url": a.BaseURL,
		"gateway_base_url": a.GatewayBaseURL, "sandbox": a.Sandbox, "time_zone": a.TimeZone}
	oldFP := ""
	if prev == nil {
		details := map[string]any{"account_id": a.ID, "mids": MidIDs(a.Mids), "fingerprint": a.CredentialsFingerprint}
		for k, v := range now {
			details[k] = v
		}
		if err := s.writeAudit(tx, by, AuditAccountCreate, a.Name, "", details); err != nil {
			return err
		}
	} else {
		oldFP = prev.CredentialsFingerprint
		was := map[string]any{"name": prev.Name, "api_kind": prev.APIKind, "base_url": prev.BaseURL,
			"gateway_base_url": prev.GatewayBaseURL, "sandbox": prev.Sandbox, "time_zone": prev.TimeZone}
		changes := map[string]any{}
		for k, v := range now {
			if was[k] != v {
				changes[k] = map[string]any{"from": was[k], "to": v}
			}
		}
		added, removed := DiffMids(prev.Mids, a.Mids)
		if len(added) > 0 {
			changes["mids_added"] = added
		}
		if len(removed) > 0 {
			changes["mids_removed"] = removed
		}
		if len(changes) > 0 {
			if err := s.writeAudit(tx, by, AuditAccountUpdate, a.Name, "", map[string]any{"account_id": a.ID, "changes": changes}); err != nil {
				return err
			}
		}
	}
	if a.CredentialsFingerprint != oldFP {
		return s.writeAudit(tx, by, AuditCredentialChange, a.Name, "", map[string]any{"account_id": a.ID, "old": oldFP, "new": a.CredentialsFingerprint})
	}
	return nil
}

// MidIDs lists the numbers of ms, sorted.
func MidIDs(ms []Mid) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Mid)
	}
	slices.Sort(out)
	return out
}

// DiffMids lists the mids in after but not before (added) and in before
// but not after (removed), sorted.
func DiffMids(before, after []Mid) (added, removed []string) {
	b, a := MidIDs(before), MidIDs(after)
	for _, m := range a {
		if !slices.Contains(b, m) {
			added = append(added, m)
		}
	}
	for _, m := range b {
		if !slices.Contains(a, m) {
			removed = append(removed, m)
		}
	}
	return added, removed
}
