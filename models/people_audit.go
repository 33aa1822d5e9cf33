package models

import (
	"reflect"

	"gorm.io/gorm"
)

// How changes to people are written in the audit log. Each is called inside
// the transaction of the change it records (people.go), so the change and
// its entries commit together or not at all.

// grantDetails is how a grant is written in the audit log: the role, and
// the support limits in minor units when set.
func grantDetails(g *Grant) map[string]any {
	if g == nil {
		return nil
	}
	d := map[string]any{"role": g.Role}
	if g.RefundCap != nil {
		d["refund_cap"] = *g.RefundCap
	}
	if g.SameDayOnly {
		d["same_day_only"] = true
	}
	return d
}

// auditPerson records a whole-person action once per mid of the person
// (so it shows in each mid's audit log), or once without a mid for a person
// with none.
func (s *Store) auditPerson(tx *gorm.DB, by Actor, action string, p *Person, details map[string]any) error {
	if len(p.Grants) == 0 {
		return s.writeAudit(tx, by, action, p.Email, "", details)
	}
	for _, g := range p.Grants {
		if err := s.writeAudit(tx, by, action, p.Email, g.Mid, details); err != nil {
			return err
		}
	}
	return nil
}

// auditPersonCreate records a new person: one entry per mid with its
// grant, and one without a mid for an owner or a person with no mid.
func (s *Store) auditPersonCreate(tx *gorm.DB, by Actor, p *Person) error {
	for _, g := range p.Grants {
		if err := s.writeAudit(tx, by, AuditPersonCreate, p.Email, g.Mid, grantDetails(&g)); err != nil {
			return err
		}
	}
	if len(p.Grants) == 0 || p.IsOwner {
		return s.writeAudit(tx, by, AuditPersonCreate, p.Email, "", map[string]any{"owner": p.IsOwner})
	}
	return nil
}

// auditPersonChange records one role_change per mid whose grant changed
// (roles before and after), the owner flag, and a renaming.
func (s *Store) auditPersonChange(tx *gorm.DB, by Actor, ch *PersonChange) error {
	before, after := map[string]*Grant{}, map[string]*Grant{}
	var mids []string
	for i, g := range ch.Before.Grants {
		before[g.Mid] = &ch.Before.Grants[i]
		mids = append(mids, g.Mid)
	}
	for i, g := range ch.After.Grants {
		after[g.Mid] = &ch.After.Grants[i]
		if before[g.Mid] == nil {
			mids = append(mids, g.Mid)
		}
	}
	email := ch.After.Email
	for _, mid := range mids {
		b, a := grantDetails(before[mid]), grantDetails(after[mid])
		if reflect.DeepEqual(b, a) {
			continue
		}
		if err := s.writeAudit(tx, by, AuditRoleChange, email, mid, map[string]any{"before": b, "after": a}); err != nil {
			return err
		}
	}
	if ch.Before.IsOwner != ch.After.IsOwner {
		if err := s.writeAudit(tx, by, AuditRoleChange, email, "", map[string]any{
			"before": map[string]any{"owner": ch.Before.IsOwner}, "after": map[string]any{"owner": ch.After.IsOwner}}); err != nil {
			return err
		}
	}
	if ch.Before.Name != ch.After.Name {
		return s.auditPerson(tx, by, AuditPersonUpdate, ch.After, map[string]any{
			"before": map[string]any{"name": ch.Before.Name}, "after": map[string]any{"name": ch.After.Name}})
	}
	return nil
}
