// Package credential holds ghlgate's own HighLevel credential and puts it on
// every upstream request, so that a Rankr client's key never reaches GHL.
//
// A Source hands out the current bearer token. Three implementations exist:
//
//   - Static: a Private Integration Token (PIT) read from an environment
//     variable (GHL_PRIVATE_INTEGRATION_TOKEN by default). It never refreshes.
//   - OAuth: an access token that ghlgate refreshes itself at GHL's
//     POST /oauth/token, 30 s before it expires and after GHL answers 401.
//     GHL's refresh tokens are single-use and rotate on every refresh, so the
//     new pair is written to a TokenStore before it is used: a rotated refresh
//     token that only lived in memory would be lost on the next restart and
//     the integration would have to be re-authorized by hand.
//   - None: nothing is configured; Token returns ErrNotConfigured (503).
//
// Transport is the http.RoundTripper the upstream proxy uses: it replaces the
// client's Authorization (and Cookie, Proxy-Authorization, X-Api-Key) with
// ghlgate's bearer token, sets Version when absent, and after an upstream 401
// invalidates the token and retries once with a fresh one.
//
// Tokens at rest: SQLStore writes the access and refresh tokens to the
// oauth_tokens table as they are, unless a key is given (GHLGATE_TOKEN_KEY,
// 16, 24 or 32 bytes in base64), in which case both are sealed with AES-GCM
// bound to the row's name. Anyone who can read the database without the key
// can act as the integration until the tokens rotate; set the key in
// production.
//
// Secrets are of type Secret, which prints and logs as [redacted]; only
// Reveal returns the text, and only Transport and the token exchange call it.
package credential
