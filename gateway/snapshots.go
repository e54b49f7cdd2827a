package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/ghlgate/store"
)

// snapshots persists the mock's datasets (staging, each sandbox) in the data
// store, so staging survives a restart. It implements mocks.Persister.
type snapshots struct{ db *store.DB }

var snapshotMigrations = []store.Migration{{
	Version: 1,
	Name:    "mock datasets",
	SQLite:  `CREATE TABLE mock_datasets (dataset TEXT PRIMARY KEY, snapshot TEXT NOT NULL, saved_at TEXT NOT NULL)`,
}}

func newSnapshots(ctx context.Context, db *store.DB) (*snapshots, error) {
	if err := db.Migrate(ctx, "mock", snapshotMigrations); err != nil {
		return nil, err
	}
	return &snapshots{db: db}, nil
}

func (s *snapshots) Load(ctx context.Context, dataset string) ([]byte, bool, error) {
	var snap string
	err := s.db.QueryRowContext(ctx, s.db.Rebind("SELECT snapshot FROM mock_datasets WHERE dataset = ?"), dataset).Scan(&snap)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load mock dataset %s: %w", dataset, err)
	}
	return []byte(snap), true, nil
}

func (s *snapshots) Save(ctx context.Context, dataset string, snapshot []byte) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mock_datasets (dataset, snapshot, saved_at) VALUES (?, ?, ?)
		ON CONFLICT (dataset) DO UPDATE SET snapshot = excluded.snapshot, saved_at = excluded.saved_at`),
		dataset, string(snapshot), time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("save mock dataset %s: %w", dataset, err)
	}
	return nil
}
