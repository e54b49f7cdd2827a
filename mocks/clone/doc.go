// Package clone copies a production location's contacts, with their tasks
// and notes, into a mock dataset (normally staging) as test data: the
// library behind `ghlgate staging clone --location ID [--limit N]
// [--mask-pii]`.
//
// Run reads GHL through ghlgate's own upstream client (whose transport adds
// the credential and Version header), calling Options.Wait before every
// request so that the clone stays inside GHL's rate limits, and waiting out
// any 429 GHL still answers. It pages GET /contacts/ with GHL's cursor, then
// fetches each contact's full record, tasks and notes, optionally masks
// personal data (see Masker), and hands everything to mocks.Mock.Import in
// one batch: the staging dataset changes once, at the end, or not at all.
//
// Errors are *StepError values naming the step that failed, GHL's answer
// and what to do about it; errors.Is tells the kind (ErrUnauthorized,
// ErrRateLimited, ...).
package clone
