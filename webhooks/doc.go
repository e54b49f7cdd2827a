// Package webhooks receives HighLevel (GHL) webhooks and sends GHL-style
// ones from the mock.
//
// Inbound, POST /webhooks/ghl is a Handler: it reads the raw body (capped),
// verifies x-ghl-signature (Ed25519 over the exact bytes) or, when allowed,
// the legacy x-wh-signature (RSA-SHA256), bounds the payload's timestamp to
// a window, parses the payload into an Inbound (sync event type, resource
// ids, echo fields), drops replays with a Deduper (webhook_seen in the
// store), and hands each new delivery to a Sink the gateway provides. Every
// decision has a stable reason code for the audit log.
//
// Echo suppression is shared with the gateway: EchoKey over the fields both
// a gateway response and GHL's webhook carry, so a webhook reporting a
// change ghlgate just made can be matched to the event already recorded.
//
// Outbound, an Emitter posts GHL-shaped payloads for the staging and
// sandbox mock's mutations, signed with MockPrivateKey: a test key, public
// on purpose, whose deliveries Verify marks with KeyID "mock".
package webhooks
