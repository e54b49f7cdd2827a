package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisClient is what the Redis store needs from go-redis (*redis.Client,
// *redis.ClusterClient and redis.UniversalClient all satisfy it).
type RedisClient interface {
	redis.Scripter
}

// Redis is a Store shared by every replica pointed at the same Redis. Each key
// is a sorted set of timestamps (KEY:z) plus a hash of counts and the running
// total (KEY:h); one Lua script checks and records every key of a decision
// atomically. The script is written here rather than taken from
// go-redis/redis_rate because that library implements GCRA, which is not exact
// over a sliding window (see the package comment).
//
// Time comes from the caller (microseconds), so tests can drive it; replicas
// must keep their clocks in step (NTP), an error of a few milliseconds against
// a 10 s window. All keys of one decision must live on one node: use a single
// Redis or a key prefix with a hash tag on a cluster.
type Redis struct {
	rdb    RedisClient
	prefix string
}

// NewRedis returns a Store over rdb whose keys all start with prefix.
func NewRedis(rdb RedisClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix}
}

// takeScript: KEYS are (zset, hash) pairs, ARGV[1]=now µs, ARGV[2]=n, then per
// check interval µs, max, resolution µs, peek (0|1). Returns a flat list:
// allowed, then per check remaining, refused, retry µs, reset µs.
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local m = #KEYS / 2
local allowed = 1
local out = {0}
local totals = {}
for i = 1, m do
  local z, h = KEYS[2*i-1], KEYS[2*i]
  local b = 2 + (i-1)*4
  local interval = tonumber(ARGV[b+1])
  local max = tonumber(ARGV[b+2])
  local peek = ARGV[b+4] == '1'
  local cutoff = now - interval
  while true do
    local old = redis.call('ZRANGEBYSCORE', z, '-inf', cutoff, 'LIMIT', 0, 500)
    if #old == 0 then break end
    local cnts = redis.call('HMGET', h, unpack(old))
    local freed = 0
    for j = 1, #cnts do freed = freed + (tonumber(cnts[j]) or 0) end
    redis.call('HDEL', h, unpack(old))
    redis.call('ZREM', z, unpack(old))
    redis.call('HINCRBY', h, 'n', -freed)
  end
  local total = tonumber(redis.call('HGET', h, 'n') or '0')
  totals[i] = total
  local cost = n
  if peek then cost = 0 end
  local reset = 0
  local oldest = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
  if #oldest > 0 then reset = tonumber(oldest[2]) + interval - now end
  local refused, retry = 0, 0
  if total + cost > max then
    refused = 1
    allowed = 0
    if cost > max then
      retry = -1
    else
      local need = total + cost - max
      local freed = 0
      retry = interval
      local es = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
      for j = 1, #es, 2 do
        freed = freed + (tonumber(redis.call('HGET', h, es[j])) or 0)
        if freed >= need then retry = tonumber(es[j+1]) + interval - now break end
      end
    end
  end
  local rem = max - total
  if rem < 0 then rem = 0 end
  table.insert(out, rem)
  table.insert(out, refused)
  table.insert(out, retry)
  table.insert(out, reset)
end
if allowed == 1 and n > 0 then
  for i = 1, m do
    local b = 2 + (i-1)*4
    if ARGV[b+4] ~= '1' then
      local z, h = KEYS[2*i-1], KEYS[2*i]
      local interval = tonumber(ARGV[b+1])
      local max = tonumber(ARGV[b+2])
      local res = tonumber(ARGV[b+3])
      local stamp = now
      if res > 1 then stamp = math.ceil(now / res) * res end
      local newest = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
      if #newest > 0 and tonumber(newest[2]) > stamp then stamp = tonumber(newest[2]) end
      local member = string.format('%d', stamp)
      redis.call('ZADD', z, stamp, member)
      redis.call('HINCRBY', h, member, n)
      redis.call('HINCRBY', h, 'n', n)
      local ttl = math.ceil((stamp + interval - now) / 1000) + 1
      redis.call('PEXPIRE', z, ttl)
      redis.call('PEXPIRE', h, ttl)
      local rem = max - totals[i] - n
      if rem < 0 then rem = 0 end
      out[2 + (i-1)*4] = rem
      if out[5 + (i-1)*4] == 0 then out[5 + (i-1)*4] = interval end
    end
  end
end
out[1] = allowed
return out
`)

// Take implements Store.
func (r *Redis) Take(ctx context.Context, checks []Check, n int, now time.Time, states []State) (bool, error) {
	keys := make([]string, 0, 2*len(checks))
	args := make([]any, 0, 2+4*len(checks))
	us := now.UnixMicro()
	args = append(args, us, n)
	for _, c := range checks {
		keys = append(keys, r.prefix+c.Key+":z", r.prefix+c.Key+":h")
		iv := c.Limit.Interval.Microseconds()
		peek := 0
		if c.Peek {
			peek = 1
		}
		args = append(args, iv, c.Limit.Max, resolution(c.Limit.Max, iv), peek)
	}
	res, err := takeScript.Run(ctx, r.rdb, keys, args...).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("redis rate limit script: %w", err)
	}
	if len(res) != 1+4*len(checks) {
		return false, fmt.Errorf("redis rate limit script: %d values for %d checks", len(res), len(checks))
	}
	for i := range checks {
		v := res[1+4*i:]
		st := State{Remaining: int(v[0]), Refused: v[1] == 1, Reset: time.Duration(v[3]) * time.Microsecond}
		if v[2] < 0 {
			st.RetryAfter = -1
		} else {
			st.RetryAfter = time.Duration(v[2]) * time.Microsecond
		}
		states[i] = st
	}
	return res[0] == 1, nil
}
