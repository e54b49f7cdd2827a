package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Errors of the OAuth refresher. Map ErrRefreshRejected, ErrTokenEndpoint,
// ErrPersist, ErrStore and ErrNoRefreshToken to 503: the gateway's own
// credential is unusable and no client can fix it.
var (
	// ErrRefreshRejected: GHL's token endpoint refused the refresh (400, 401,
	// 422). The *RefreshError says what to fix.
	ErrRefreshRejected = errors.New("ghl token endpoint rejected the refresh")
	// ErrTokenEndpoint: the token endpoint could not be reached or failed (5xx,
	// bad body).
	ErrTokenEndpoint = errors.New("ghl token endpoint failed")
	// ErrPersist: a refreshed token could not be saved, so it is not used.
	// ghlgate holds it in memory and retries the save on the next request.
	ErrPersist = errors.New("refreshed oauth token could not be saved")
	// ErrStore: the stored token could not be read.
	ErrStore = errors.New("oauth token store unavailable")
	// ErrNoRefreshToken: nothing stored and the refresh token variable is empty.
	ErrNoRefreshToken = errors.New("no oauth refresh token")
)

// RefreshError is a refusal by GHL's token endpoint.
type RefreshError struct {
	// Status is the HTTP status.
	Status int
	// Code is the OAuth error code or GHL's "error" field, if any.
	Code string
	// Message is GHL's message, capped.
	Message string
	// Fix says what the operator should do.
	Fix string
}

func (e *RefreshError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ghl token endpoint answered %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrRefreshRejected) or ErrTokenEndpoint hold.
func (e *RefreshError) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity:
		return ErrRefreshRejected
	}
	return ErrTokenEndpoint
}

// OAuthParams configure NewOAuth.
type OAuthParams struct {
	// Name is the token's row in the store. Default: "default".
	Name         string
	ClientID     string
	ClientSecret Secret
	// RefreshToken is the initial refresh token, used when the store holds
	// none, or when GHL rejects the stored one (after a re-authorization).
	RefreshToken Secret
	// RefreshTokenEnv names where RefreshToken came from, for messages.
	RefreshTokenEnv string
	TokenURL        string
	UserType        string
	// RefreshBefore: refresh this long before expiry. Default: 0.
	RefreshBefore time.Duration
	// Store is required.
	Store TokenStore
	// HTTPClient calls the token endpoint. Default: 30s timeout.
	HTTPClient *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Logger: never receives a token.
	Logger *slog.Logger
	// RefreshTimeout bounds one refresh (exchange and save). Default: 30s.
	RefreshTimeout time.Duration
}

// DefaultLifetime is assumed when the token endpoint gives no expires_in
// (as GHL's SDK does).
const DefaultLifetime = 24 * time.Hour

// OAuth is a Source that refreshes its access token at GHL's token endpoint.
// It is safe for concurrent use; at most one refresh runs at a time.
type OAuth struct {
	p   OAuthParams
	log *slog.Logger

	mu       sync.Mutex
	cur      Token  // last token loaded or saved; zero before the first load
	have     bool   // cur is set
	rejected Secret // access token GHL answered 401 to (Invalidate)
	pending  *Token // refreshed but not yet saved: must be saved before use
	flight   *flight
}

type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

// NewOAuth returns an OAuth source. It does not call the store or GHL; the
// first Token call does.
func NewOAuth(p OAuthParams) (*OAuth, error) {
	var errs []error
	if p.Store == nil {
		errs = append(errs, errors.New("no token store"))
	}
	if p.ClientID == "" {
		errs = append(errs, errors.New("no client id"))
	}
	if p.ClientSecret == "" {
		errs = append(errs, errors.New("no client secret"))
	}
	if p.TokenURL == "" {
		errs = append(errs, errors.New("no token url"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: oauth: %w", ErrSetup, err)
	}
	if p.Name == "" {
		p.Name = "default"
	}
	if p.UserType == "" {
		p.UserType = UserTypeLocation
	}
	if p.RefreshTokenEnv == "" {
		p.RefreshTokenEnv = DefaultRefreshTokenEnv
	}
	if p.HTTPClient == nil {
		p.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.RefreshTimeout <= 0 {
		p.RefreshTimeout = 30 * time.Second
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("credential", KindOAuth), slog.String("name", p.Name))
	return &OAuth{p: p, log: log}, nil
}

// Configured returns true.
func (o *OAuth) Configured() bool { return true }

// Kind returns "oauth".
func (o *OAuth) Kind() string { return KindOAuth }

// usable reports whether t may be sent now. Caller holds o.mu.
func (o *OAuth) usable(t Token) bool {
	return t.AccessToken != "" && t.AccessToken != o.rejected &&
		o.p.Now().Before(t.ExpiresAt.Add(-o.p.RefreshBefore))
}

// Token returns the current access token, refreshing it when it expires
// within RefreshBefore or after Invalidate. Callers arriving during a refresh
// wait for it (or for their ctx).
func (o *OAuth) Token(ctx context.Context) (Secret, error) {
	o.mu.Lock()
	if o.have && o.pending == nil && o.usable(o.cur) {
		tok := o.cur.AccessToken
		o.mu.Unlock()
		return tok, nil
	}
	f := o.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		o.flight = f
		// The refresh runs detached from the caller's cancellation: once
		// GHL has rotated the refresh token, abandoning the exchange or the
		// save half-way would lose it. It has its own timeout instead.
		go o.run(context.WithoutCancel(ctx), f)
	}
	o.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return "", f.err
		}
		return f.tok.AccessToken, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Invalidate marks rejected as refused by GHL if it is still the current
// token; the next Token call then refreshes. A 401 for a token that has
// already been replaced changes nothing.
func (o *OAuth) Invalidate(ctx context.Context, rejected Secret) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if rejected == "" || !o.have || o.cur.AccessToken != rejected {
		return
	}
	if o.rejected != rejected {
		o.rejected = rejected
		o.log.LogAttrs(ctx, slog.LevelInfo, "ghl rejected the access token; refreshing")
	}
}

func (o *OAuth) run(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, o.p.RefreshTimeout)
	defer cancel()
	tok, err := o.refresh(ctx)
	o.mu.Lock()
	o.flight = nil
	o.mu.Unlock()
	f.tok, f.err = tok, err
	close(f.done)
}

// adopt makes t current. Caller must not hold o.mu.
func (o *OAuth) adopt(t Token) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cur, o.have = t, true
}

// refresh runs in the one flight. The store is the source of truth: a token is
// used only after it is in the store, and the store is read again before every
// exchange, in case another replica has refreshed meanwhile.
func (o *OAuth) refresh(ctx context.Context) (Token, error) {
	o.mu.Lock()
	pending := o.pending
	o.mu.Unlock()
	if pending != nil {
		// A token GHL issued earlier is still unsaved: its refresh token is the
		// only valid one, so save it before anything else.
		if err := o.p.Store.Save(ctx, o.p.Name, *pending); err != nil {
			o.logPersistFailure(ctx, err, *pending)
			return Token{}, fmt.Errorf("%w: %w", ErrPersist, err)
		}
		o.mu.Lock()
		o.pending = nil
		o.mu.Unlock()
		o.log.LogAttrs(ctx, slog.LevelInfo, "saved the refreshed oauth token that an earlier save had failed to store")
	}

	stored, err := o.p.Store.Load(ctx, o.p.Name)
	var fromStore bool
	switch {
	case err == nil:
		fromStore = true
		o.adopt(stored)
		o.mu.Lock()
		ok := o.usable(stored)
		o.mu.Unlock()
		if ok {
			return stored, nil
		}
	case errors.Is(err, ErrNoToken):
		if o.p.RefreshToken == "" {
			return Token{}, fmt.Errorf("%w: nothing stored under %q and $%s is empty: authorize the app and set $%s to its refresh token",
				ErrNoRefreshToken, o.p.Name, o.p.RefreshTokenEnv, o.p.RefreshTokenEnv)
		}
		stored = Token{RefreshToken: o.p.RefreshToken}
	default:
		o.log.LogAttrs(ctx, slog.LevelError, "cannot read the stored oauth token", slog.String("error", err.Error()))
		return Token{}, fmt.Errorf("%w: %w", ErrStore, err)
	}

	next, err := o.exchange(ctx, stored.RefreshToken)
	if errors.Is(err, ErrRefreshRejected) && fromStore && o.p.RefreshToken != "" && o.p.RefreshToken != stored.RefreshToken {
		// The operator may have re-authorized the app and set a new initial
		// refresh token; the stored one wins only while GHL accepts it.
		o.log.LogAttrs(ctx, slog.LevelWarn, "ghl rejected the stored refresh token; trying the one in $"+o.p.RefreshTokenEnv,
			slog.String("error", err.Error()))
		next, err = o.exchange(ctx, o.p.RefreshToken)
	}
	if err != nil {
		o.log.LogAttrs(ctx, slog.LevelError, "oauth refresh failed", slog.String("error", err.Error()))
		return Token{}, err
	}

	if err := o.p.Store.Save(ctx, o.p.Name, next); err != nil {
		o.mu.Lock()
		o.pending = &next
		o.mu.Unlock()
		o.logPersistFailure(ctx, err, next)
		return Token{}, fmt.Errorf("%w: %w", ErrPersist, err)
	}
	o.mu.Lock()
	o.cur, o.have, o.rejected = next, true, ""
	o.mu.Unlock()
	o.log.LogAttrs(ctx, slog.LevelInfo, "oauth token refreshed",
		slog.Time("expires_at", next.ExpiresAt), slog.String("scope", next.Scope),
		slog.String("location_id", next.LocationID), slog.String("company_id", next.CompanyID))
	return next, nil
}

func (o *OAuth) logPersistFailure(ctx context.Context, err error, t Token) {
	o.log.LogAttrs(ctx, slog.LevelError,
		"ghl issued a new oauth token pair but it could not be saved; it is NOT used, and the previous refresh token is no longer valid at ghl",
		slog.String("error", err.Error()),
		slog.Time("new_expires_at", t.ExpiresAt),
		slog.String("state", "the new pair is held in this process's memory only; every request retries the save"),
		slog.String("action", "restore the token store (database) while ghlgate keeps running; if ghlgate stops before the save succeeds, re-authorize the app in HighLevel and set $"+o.p.RefreshTokenEnv+" to the new refresh token"))
}

// tokenResponse is GHL's GetAccessCodeSuccessfulResponseDto (the parts used).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	LocationID   string `json:"locationId"`
	CompanyID    string `json:"companyId"`
}

// exchange calls POST /oauth/token with grant_type=refresh_token.
func (o *OAuth) exchange(ctx context.Context, refresh Secret) (Token, error) {
	form := url.Values{
		"client_id":     {o.p.ClientID},
		"client_secret": {o.p.ClientSecret.Reveal()},
		"grant_type":    {"refresh_token"},
		"refresh_token": {refresh.Reveal()},
		"user_type":     {o.p.UserType},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, fmt.Errorf("%w: build request: %w", ErrTokenEndpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := o.p.HTTPClient.Do(req)
	if err != nil {
		// *url.Error carries the URL only; the form is in the body.
		return Token{}, fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Token{}, fmt.Errorf("%w: read response: %w", ErrTokenEndpoint, err)
	}
	if resp.StatusCode/100 != 2 {
		return Token{}, o.refusal(resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return Token{}, fmt.Errorf("%w: response is not the token JSON: %w", ErrTokenEndpoint, err)
	}
	if tr.AccessToken == "" {
		return Token{}, fmt.Errorf("%w: response has no access_token", ErrTokenEndpoint)
	}
	now := o.p.Now()
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = DefaultLifetime
	}
	t := Token{
		AccessToken:  Secret(tr.AccessToken),
		RefreshToken: Secret(tr.RefreshToken),
		ExpiresAt:    now.Add(life),
		Scope:        tr.Scope,
		LocationID:   tr.LocationID,
		CompanyID:    tr.CompanyID,
		UpdatedAt:    now,
	}
	if t.RefreshToken == "" {
		// GHL always rotates, but a response without one must not erase the
		// refresh token that still works.
		t.RefreshToken = refresh
	}
	return t, nil
}

// refusal turns a non-2xx token response into a *RefreshError naming the fix.
// GHL answers with {statusCode, message, error}; RFC 6749 servers with
// {error, error_description}. message may be a string or a list (422).
func (o *OAuth) refusal(status int, body []byte) error {
	var r struct {
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
		Message     json.RawMessage `json:"message"`
	}
	_ = json.Unmarshal(body, &r) // a body that is not JSON just gives no detail
	msg := r.Description
	if msg == "" && len(r.Message) > 0 {
		var s string
		var list []string
		if json.Unmarshal(r.Message, &s) == nil {
			msg = s
		} else if json.Unmarshal(r.Message, &list) == nil {
			msg = strings.Join(list, "; ")
		}
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	e := &RefreshError{Status: status, Code: r.Error, Message: msg}
	code := strings.ToLower(r.Error)
	clientFix := fmt.Sprintf("check upstream.oauth.client_id (%s) and the client secret in the environment", o.p.ClientID)
	grantFix := "the refresh token was refused (used already, revoked or from another app): re-authorize the app in HighLevel and set $" +
		o.p.RefreshTokenEnv + " to the new refresh token, then restart ghlgate"
	switch {
	case code == "invalid_client" || code == "unauthorized_client":
		e.Fix = clientFix
	case code == "invalid_grant":
		e.Fix = grantFix
	case status == http.StatusUnauthorized:
		e.Fix = clientFix + "; if both are right, " + grantFix
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		e.Fix = grantFix + " (or, if it is new, " + clientFix + ")"
	default:
		e.Fix = "GHL's token endpoint failed; ghlgate retries on the next request"
	}
	return e
}
