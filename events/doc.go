// Package events turns every change that passes through ghlgate, and every
// change GHL reports by webhook, into a durable sync event that Rankr can
// rely on: none lost, none invented, each delivered at least once and
// recognisable (by its id) when delivered twice.
//
// The pieces, in the order a change meets them:
//
//   - Recorder records an Intent before the gateway forwards a mutation,
//     confirms it into an Event after a 2xx answer (one transaction) and
//     abandons it after any other answer. Reconcile, run at start, settles
//     the intents a crash left open by reading the resource back.
//   - Recorder.IngestWebhook turns a GHL webhook into an event, unless it
//     only echoes a change ghlgate itself just made; then the original event
//     is marked confirmed_by_ghl_at instead.
//   - SQLStore keeps intents, events and deliveries in SQLite (WAL, one
//     writer goroutine that group-commits concurrent writes) or PostgreSQL.
//   - Handler serves the pull API (JSON pages and a Server-Sent Events
//     stream that resumes from Last-Event-ID); ListCommand is the CLI's
//     list/tail.
//   - Deliverer pushes events to subscribers, signed as Standard Webhooks
//     specifies, in order per contact, with exponential backoff for up to a
//     day and then a dead letter; Redeliver replays a range or the dead
//     letters.
package events
