package mocks

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// APIError is an answer in GHL's error shape. Handlers return it; one
// place (Mock.serve) writes it.
type APIError struct {
	Status int
	Body   map[string]any
}

func (e *APIError) Error() string {
	if m, ok := e.Body["message"].(string); ok {
		return m
	}
	b, _ := json.Marshal(e.Body["message"])
	return string(b)
}

// badRequest is GHL's 400 BadRequestDTO {statusCode, message}.
func badRequest(msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Body: map[string]any{"statusCode": 400, "message": msg}}
}

// unprocessable is GHL's 422 UnprocessableDTO, whose message is an array.
func unprocessable(msgs ...string) *APIError {
	return &APIError{Status: http.StatusUnprocessableEntity, Body: map[string]any{
		"statusCode": 422, "message": msgs, "error": "Unprocessable Entity",
	}}
}

// unauthorized is GHL's 401 UnauthorizedDTO.
func unauthorized(msg string) *APIError {
	return &APIError{Status: http.StatusUnauthorized, Body: map[string]any{
		"statusCode": 401, "message": msg, "error": "Unauthorized",
	}}
}

// GHL answers 400, not 404, for an unknown record [FACTS §7].
var (
	errContactNotFound = badRequest("Contact not found")
	errTaskNotFound    = badRequest("Task not found")
	errNoteNotFound    = badRequest("Note not found")
)

// duplicateContact is the 400 a location without "Allow Duplicate Contact"
// answers to a create whose email or phone is taken [FACTS §2.4].
func duplicateContact(c *Contact, field matchField) *APIError {
	return &APIError{Status: http.StatusBadRequest, Body: map[string]any{
		"statusCode": 400,
		"message":    "This location does not allow duplicated contacts.",
		"meta": map[string]any{
			"contactId":     c.ID,
			"contactName":   c.Name,
			"matchingField": string(field),
		},
	}}
}

// routeNotFound is NestJS's answer to a path GHL does not serve.
func routeNotFound(r *http.Request) *APIError {
	return &APIError{Status: http.StatusNotFound, Body: map[string]any{
		"statusCode": 404, "message": "Cannot " + r.Method + " " + r.URL.Path, "error": "Not Found",
	}}
}

func internalError(msg string) *APIError {
	return &APIError{Status: http.StatusInternalServerError, Body: map[string]any{
		"statusCode": 500, "message": msg, "error": "Internal Server Error",
	}}
}

// Some operations document only one of 400 and 422 [FACTS §1]: a
// validation failure there answers with the documented one, in its shape.
var (
	no422 = map[string]bool{
		"search-contacts-advanced": true, "get-duplicate-contact": true, "get-all-tasks": true,
		"get-task": true, "delete-task": true, "get-all-notes": true,
	}
	no400 = map[string]bool{"add-remove-contact-from-business": true}
)

// documented turns a 400 into a 422 (or back) where the operation does not
// document the status the mock chose.
func documented(op string, e *APIError) *APIError {
	switch {
	case e.Status == http.StatusUnprocessableEntity && no422[op]:
		msgs, _ := e.Body["message"].([]string)
		return badRequest(strings.Join(msgs, ", "))
	case e.Status == http.StatusBadRequest && no400[op]:
		msg, _ := e.Body["message"].(string)
		return unprocessable(msg)
	}
	return e
}

func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return internalError("Internal Server Error")
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeAPIError(w http.ResponseWriter, e *APIError) {
	b, _ := json.Marshal(e.Body)
	writeJSON(w, e.Status, b)
}
