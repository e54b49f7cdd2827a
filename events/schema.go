package events

import (
	"strings"

	"github.com/rankr/ghlgate/store"
)

// schemaV1 is written once; {{SEQ}} and {{INT}} become each dialect's
// auto-increment key and 64-bit integer. Times are unix microseconds in
// integer columns so both dialects compare and sort them the same way.
// SQLite's AUTOINCREMENT keeps a seq from ever being reused, which a
// cursor needs.
const schemaV1 = `
CREATE TABLE event_intents (
	id TEXT PRIMARY KEY,
	created_us {{INT}} NOT NULL,
	operation_id TEXT NOT NULL,
	method TEXT NOT NULL,
	path TEXT NOT NULL DEFAULT '',
	path_params TEXT,
	stage TEXT NOT NULL DEFAULT '',
	location TEXT NOT NULL DEFAULT '',
	client TEXT NOT NULL DEFAULT '',
	request_id TEXT NOT NULL DEFAULT '',
	request_body TEXT,
	status TEXT NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	resolved_us {{INT}}
);
CREATE INDEX event_intents_status ON event_intents (status, created_us);
CREATE TABLE events (
	seq {{SEQ}},
	id TEXT NOT NULL UNIQUE,
	type TEXT NOT NULL,
	source TEXT NOT NULL,
	stage TEXT NOT NULL DEFAULT '',
	location TEXT NOT NULL DEFAULT '',
	resource_type TEXT NOT NULL DEFAULT '',
	resource_id TEXT NOT NULL DEFAULT '',
	contact_id TEXT NOT NULL DEFAULT '',
	client TEXT NOT NULL DEFAULT '',
	request_id TEXT NOT NULL DEFAULT '',
	fields TEXT,
	resource TEXT,
	raw TEXT,
	time_us {{INT}} NOT NULL,
	reconciled INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	confirmed_by_ghl_us {{INT}},
	intent_id TEXT UNIQUE,
	external_id TEXT UNIQUE
);
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_resource ON events (resource_id, time_us);
CREATE TABLE event_subscriber_cursors (
	subscriber TEXT PRIMARY KEY,
	last_seq {{INT}} NOT NULL
);
CREATE TABLE event_deliveries (
	subscriber TEXT NOT NULL,
	event_seq {{INT}} NOT NULL,
	contact_key TEXT NOT NULL,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	created_us {{INT}} NOT NULL,
	next_attempt_us {{INT}} NOT NULL,
	last_status INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	delivered_us {{INT}},
	PRIMARY KEY (subscriber, event_seq)
);
CREATE INDEX event_deliveries_state ON event_deliveries (subscriber, state, event_seq);
`

func migrations() []store.Migration {
	sqlite := strings.NewReplacer("{{SEQ}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{INT}}", "INTEGER").Replace(schemaV1)
	pg := strings.NewReplacer("{{SEQ}}", "BIGSERIAL PRIMARY KEY", "{{INT}}", "BIGINT").Replace(schemaV1)
	return []store.Migration{{Version: 1, Name: "events, intents, deliveries", SQLite: sqlite, Postgres: pg}}
}
