package models

import (
	"errors"
	"sort"
	"strings"
)

// Problem says why one field of a form is not acceptable: ID is a message
// id of the UI's catalogs (views/locales/*/*.json) and Data fills its
// placeholders. Models name problems; views word them.
type Problem struct {
	ID   string
	Data map[string]any
}

// Problems maps the fields of a form (by their input names) to their
// problem; empty when the input is acceptable. It is the one validation
// pattern: every form's input type has a Validate() Problems (or its
// service returns them in an *InvalidInput), and the handler re-renders
// the form with them, status 200 (STYLE §6), changing nothing.
type Problems map[string]Problem

// Add records field's problem unless the field has one already: the first
// problem found stands.
func (p Problems) Add(field, id string, data map[string]any) {
	if _, ok := p[field]; !ok {
		p[field] = Problem{ID: id, Data: data}
	}
}

// Merge adds q's problems of the fields that have none yet.
func (p Problems) Merge(q Problems) {
	for f, pr := range q {
		if _, ok := p[f]; !ok {
			p[f] = pr
		}
	}
}

// Err returns nil when there is no problem, else an *InvalidInput (EINVALID)
// holding them.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &InvalidInput{Problems: p}
}

// fields returns p's fields in order.
func (p Problems) fields() []string {
	fs := make([]string, 0, len(p))
	for f := range p {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return fs
}

// InvalidInput is the error of input that a form must show again: the
// problem of each field. Its chain holds an *Error with code Code (EINVALID
// when empty; ECONFLICT for a name already taken) and the message of its
// first problem, so one that no form handles still maps to a status and
// reads in the reader's language.
type InvalidInput struct {
	Problems Problems
	Code     string
}

func (e *InvalidInput) Error() string {
	var parts []string
	for _, f := range e.Problems.fields() {
		parts = append(parts, f+"="+e.Problems[f].ID)
	}
	return "invalid input: " + strings.Join(parts, ", ")
}

// Unwrap makes ErrorCode report the code, and ErrorMessageID the first
// problem's message.
func (e *InvalidInput) Unwrap() error {
	me := &Error{Code: e.Code, Message: "Some fields are not valid."}
	if me.Code == "" {
		me.Code = EINVALID
	}
	if fs := e.Problems.fields(); len(fs) > 0 {
		me.MsgID, me.Data = e.Problems[fs[0]].ID, e.Problems[fs[0]].Data
	}
	return me
}

// invalid is the *InvalidInput of one field's problem (message id).
func invalid(field, id string) *InvalidInput {
	return &InvalidInput{Problems: Problems{field: {ID: id}}}
}

// AsInvalidInput returns the problems in err's chain, or nil.
func AsInvalidInput(err error) *InvalidInput {
	var e *InvalidInput
	if errors.As(err, &e) {
		return e
	}
	return nil
}
