package mocks

import (
	"net/http"
	"strings"
)

// Standalone wraps the mock for `ghlgate mock serve`, where no gateway
// authenticates: it asks what GHL asks of every Contacts call, an
// "Authorization: Bearer <token>" header (any token; 401 UnauthorizedDTO
// otherwise) and a Version header (any non-empty value: the official SDK
// sends 2023-02-21 while the spec's enum lists only 2021-07-28, FACTS §3.1).
// A missing Version answers 400, the one error status every contacts
// operation documents (422 is not documented on all of them).
func Standalone(m http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			writeAPIError(w, unauthorized("Invalid token: access token is invalid"))
			return
		}
		if strings.TrimSpace(r.Header.Get("Version")) == "" {
			writeAPIError(w, &APIError{Status: http.StatusBadRequest, Body: map[string]any{
				"statusCode": 400, "message": "Version header was not found", "error": "Bad Request",
			}})
			return
		}
		m.ServeHTTP(w, r)
	})
}
