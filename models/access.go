package models

// AllMids is the mid of the /m/all pages: every mid the person holds. As
// the mid of Can it asks "anywhere", which the account-wide pages (people,
// audit, accounts) ask too.
const AllMids = "all"

// Access is what one person may do: whether they are an owner, and the
// mids they hold with their role on each (owners hold every mid, as
// RoleOwner). It is the one access check: the route table, the pages and
// the services ask Can and MidsWith, never the role matrix directly.
type Access struct {
	Owner bool        // User.IsOwner
	Mids  []MidAccess // sorted by mid
}

// Can reports whether the person may take action on mid.
//   - On a mid they hold, their role there decides (the matrix); a mid they
//     do not hold (or that does not exist) allows nothing.
//   - On AllMids ("anywhere"): owners may always, even before any mid
//     exists; anyone else when some mid they hold allows it.
//   - Account-wide actions (ActManageAccounts) are the owners' alone,
//     whatever the mid and whatever role a membership row names.
func (a Access) Can(mid string, action Action) bool {
	if ownerOnly[action] {
		return a.Owner
	}
	if mid == AllMids {
		return a.Owner || len(a.MidsWith(action)) > 0
	}
	m := a.Held(mid)
	return m != nil && RoleCan(m.Role, action)
}

// MidsWith returns the mids where the person may take action, in mid
// order; never nil, so a filter built from it with none matches nothing
// rather than everything.
func (a Access) MidsWith(action Action) []string {
	out := []string{}
	for _, m := range a.Mids {
		if RoleCan(m.Role, action) && (!ownerOnly[action] || a.Owner) {
			out = append(out, m.Mid.Mid)
		}
	}
	return out
}

// Held returns the person's access to mid, or nil when they do not hold it.
func (a Access) Held(mid string) *MidAccess {
	for i := range a.Mids {
		if a.Mids[i].Mid.Mid == mid {
			return &a.Mids[i]
		}
	}
	return nil
}

// Role is the person's role on mid ("" when they do not hold it).
func (a Access) Role(mid string) string {
	if m := a.Held(mid); m != nil {
		return m.Role
	}
	return ""
}
