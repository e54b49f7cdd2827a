package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by replicas: one JSON value per key, set with NX
// while in flight and overwritten with the response when done. Expiry is
// Redis's own (PX), so the now arguments are unused.
type Redis struct {
	rdb    redis.Cmdable
	prefix string
}

// NewRedis returns a Store over rdb whose keys all start with prefix (for
// example "ghlgate:idem:").
func NewRedis(rdb redis.Cmdable, prefix string) *Redis { return &Redis{rdb: rdb, prefix: prefix} }

type redisRec struct {
	Hash     []byte    `json:"hash"`
	Done     bool      `json:"done"`
	Token    string    `json:"token,omitempty"`
	Response *Response `json:"response,omitempty"`
}

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, key string, hash [32]byte, lease time.Duration, _ time.Time) (Record, bool, error) {
	token := newToken()
	v, err := json.Marshal(redisRec{Hash: hash[:], Token: token})
	if err != nil {
		return Record{}, false, err
	}
	for range 3 {
		ok, err := r.rdb.SetNX(ctx, r.prefix+key, v, lease).Result()
		if err != nil {
			return Record{}, false, fmt.Errorf("redis claim: %w", err)
		}
		if ok {
			return Record{Hash: hash, Token: token}, true, nil
		}
		raw, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // expired between SETNX and GET: claim again
		}
		if err != nil {
			return Record{}, false, fmt.Errorf("redis read claim: %w", err)
		}
		var rr redisRec
		if err := json.Unmarshal(raw, &rr); err != nil {
			return Record{}, false, fmt.Errorf("redis decode record: %w", err)
		}
		rec := Record{Done: rr.Done}
		copy(rec.Hash[:], rr.Hash)
		if rr.Response != nil {
			rec.Response = *rr.Response
		}
		return rec, false, nil
	}
	return Record{}, false, errors.New("redis claim: key keeps expiring")
}

// settle replaces (ARGV[2] set) or deletes the key only while the claim
// token still matches.
var settle = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if not ok or rec.token ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`)

// Complete implements Store.
func (r *Redis) Complete(ctx context.Context, key, token string, hash [32]byte, resp Response, ttl time.Duration, _ time.Time) error {
	v, err := json.Marshal(redisRec{Hash: hash[:], Done: true, Response: &resp})
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if err := settle.Run(ctx, r.rdb, []string{r.prefix + key}, token, v, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redis complete: %w", err)
	}
	return nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, key, token string) error {
	if err := settle.Run(ctx, r.rdb, []string{r.prefix + key}, token, "", 0).Err(); err != nil {
		return fmt.Errorf("redis release: %w", err)
	}
	return nil
}
