package models

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// SavedView is a named orders-list query of one person: the list's query
// string (filters, sort, page size), replayed by opening
// /m/{mid}/orders?{Query}.
type SavedView struct {
	ID        int64
	UserID    int64
	Name      string
	Query     string
	CreatedAt time.Time
}

// Limits of saved views.
const (
	MaxSavedViews         = 50
	MaxSavedViewName      = 60   // characters
	MaxSavedViewQueryText = 2000 // bytes
)

// SavedViews returns a person's saved views by name.
func (s *Store) SavedViews(ctx context.Context, userID int64) ([]SavedView, error) {
	var vs []SavedView
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("lower(name), id").Find(&vs).Error
	return vs, err
}

// SavedViewInput is the form that saves the list's query under a name.
type SavedViewInput struct {
	Name, Query string
}

// Validate trims the name and returns its problem: the form has one field,
// so a query too long to save is the name's problem too.
func (in *SavedViewInput) Validate() Problems {
	errs := Problems{}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		errs.Add("name", "saved_view.error.name_required", nil)
	case utf8.RuneCountInString(in.Name) > MaxSavedViewName:
		errs.Add("name", "saved_view.error.name_long", nil)
	case len(in.Query) > MaxSavedViewQueryText:
		errs.Add("name", "saved_view.error.query_long", nil)
	}
	return errs
}

// SaveView stores a view under name for the person, replacing the query of
// a view of the same name. *InvalidInput (EINVALID) for an empty or too long
// name or query, or when the person already has MaxSavedViews others.
func (s *Store) SaveView(ctx context.Context, userID int64, name, query string) (*SavedView, error) {
	in := SavedViewInput{Name: name, Query: query}
	if err := in.Validate().Err(); err != nil {
		return nil, err
	}
	name = in.Name
	var count int64
	if err := s.db.WithContext(ctx).Model(&SavedView{}).Where("user_id = ? AND name <> ?", userID, name).Count(&count).Error; err != nil {
		return nil, err
	}
	if count >= MaxSavedViews {
		return nil, invalid("name", "saved_view.error.too_many")
	}
	v := SavedView{UserID: userID, Name: name, Query: query, CreatedAt: s.now()}
	err := s.db.WithContext(ctx).Raw(`INSERT INTO saved_views (user_id, name, query, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, name) DO UPDATE SET query = EXCLUDED.query RETURNING id, created_at`,
		v.UserID, v.Name, v.Query, v.CreatedAt).Row().Scan(&v.ID, &v.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("store: save view: %w", err)
	}
	return &v, nil
}

// DeleteSavedView removes one of the person's views; ENOTFOUND when they
// have no view with that id (someone else's included).
func (s *Store) DeleteSavedView(ctx context.Context, userID, id int64) error {
	res := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&SavedView{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "saved_view.error.not_found")
	}
	return nil
}
