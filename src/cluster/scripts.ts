/**
 * The Lua scripts that make each cluster step atomic on the Redis server
 * (docs/cluster.md, "Leases"). Time is always the server's own (TIME), so no two
 * machines' clocks are ever compared.
 *
 * Task entry fields: c caller id, j job, k chunk, f the call (task-ref.ts, encodeTaskCall: module
 * relative to the worker's root, export name, the module's content hash, star, timeout),
 * r re-queues left after a worker loss, p the arguments (codec.ts).
 * Result entries hold one or more results, each a run of fields that starts with j: j job,
 * k chunk, o outcome (ok | error | lost), p payload (the values, or the error), d how long
 * it ran (ms, absent for a loss); w who ran it, with an error or a loss only.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: workers, worker hash. ARGV: id, then the hash's field/value pairs. Registers a worker. */
export const REGISTER_WORKER = `${NOW}
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('ZADD', KEYS[1], now, ARGV[1])
return now`;

/**
 * KEYS: workers, worker hash. ARGV: id. A worker's heartbeat; -1 when the worker was
 * declared dead (its hash is gone): it must register again under a new id.
 */
export const WORKER_BEAT = `if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
return now`;

/**
 * KEYS: callers. ARGV: id. A caller's heartbeat; 1 when the caller was not registered
 * (its first beat, or Redis lost its data), else 0.
 */
export const CALLER_BEAT = `${NOW}
return redis.call('ZADD', KEYS[1], now, ARGV[1])`;

/** How many values ADD_TASKS takes per task, after its first two ARGV. */
const ADD_TASKS_STRIDE = 4;

/**
 * KEYS: tasks. ARGV: caller id, re-queues left after a worker loss, then ADD_TASKS_STRIDE
 * values per task: job, chunk, the call ("f"), the arguments ("p"). One entry per task, as
 * XADD would add it; one call for a burst of tasks, where a command per task cost the
 * server a parse and a reply each and the caller a promise each. Returns the entry ids, in order.
 */
export const ADD_TASKS = `local out = {}
for b = 3, #ARGV, ${ADD_TASKS_STRIDE} do
  out[#out + 1] = redis.call('XADD', KEYS[1], '*', 'c', ARGV[1], 'j', ARGV[b], 'k', ARGV[b + 1], 'f', ARGV[b + 2], 'r', ARGV[2], 'p', ARGV[b + 3])
end
return out`;

/** How many values COMPLETE takes per result, after its first ARGV. */
const COMPLETE_STRIDE = 7;
/** At most this many values in one XADD of results (Lua's unpack has a limit of about 8,000). */
const MAX_RESULT_FIELDS = 4_000;

/**
 * KEYS: tasks, callers. ARGV: the results streams' common start (clusterKeys().results("")),
 * then COMPLETE_STRIDE values per result: entry id, job, chunk, outcome, payload, run ms,
 * caller id; the last ARGV: who ran them (written with errors only: the caller names the
 * worker in one).
 *
 * Fencing: a result counts only if XACK takes its entry, that is while the entry is
 * still pending in the group. It is pending under the worker that read it and no other
 * (nothing claims entries), until REAP acknowledges a dead worker's entries: a worker that
 * was declared dead and came back finds them taken and its late results are dropped, so
 * each task has one outcome; so is a result for a task Redis lost (restarted empty: XACK
 * on no group takes nothing), and one whose caller is gone.
 *
 * One call takes every result a worker has ready, and writes the results for one caller
 * as one entry of repeated j, k, o, p, d (, w) fields: a script run, an XADD and an XDEL
 * per result were most of the server's time for small tasks.
 * Returns a list: 0 for each result no longer this worker's, 1 for each other (delivered, or
 * dropped with its gone caller).
 */
export const COMPLETE = `local out = {}
local results_of = ARGV[1]
local who = ARGV[#ARGV]
local alive, pending, order, done = {}, {}, {}, {}
local function flush(caller)
  local fields = pending[caller]
  if #fields > 0 then redis.call('XADD', results_of .. caller, '*', unpack(fields)) end
  pending[caller] = {}
end
for b = 2, #ARGV - 1, ${COMPLETE_STRIDE} do
  local id = ARGV[b]
  if redis.call('XACK', KEYS[1], 'workers', id) == 1 then
    out[#out + 1] = 1
    done[#done + 1] = id
    local caller = ARGV[b + 6]
    local live = alive[caller]
    if live == nil then
      live = redis.call('ZSCORE', KEYS[2], caller) ~= false
      alive[caller] = live
      if live then pending[caller] = {}; order[#order + 1] = caller end
    end
    if live then
      local fields = pending[caller]
      local n = #fields
      fields[n + 1] = 'j'; fields[n + 2] = ARGV[b + 1]
      fields[n + 3] = 'k'; fields[n + 4] = ARGV[b + 2]
      fields[n + 5] = 'o'; fields[n + 6] = ARGV[b + 3]
      fields[n + 7] = 'p'; fields[n + 8] = ARGV[b + 4]
      fields[n + 9] = 'd'; fields[n + 10] = ARGV[b + 5]
      if ARGV[b + 3] ~= 'ok' then fields[n + 11] = 'w'; fields[n + 12] = who end
      if #fields >= ${MAX_RESULT_FIELDS} then flush(caller) end
    end
  else
    out[#out + 1] = 0
  end
end
for _, caller in ipairs(order) do flush(caller) end
for i = 1, #done, ${MAX_RESULT_FIELDS} do
  redis.call('XDEL', KEYS[1], unpack(done, i, math.min(i + ${MAX_RESULT_FIELDS} - 1, #done)))
end
return out`;

/**
 * KEYS: workers, tasks, last reap, callers. ARGV: a worker is dead after this many ms
 * without a beat, the key prefix, the longest gap between reaps that is not a freeze,
 * a caller is gone after this many ms without a beat.
 *
 * Reaps the workers whose last beat is too old: each task one held is re-queued (r > 0)
 * or answered "lost" to its caller, then forgotten. When no reap ran for longer than a
 * freeze gap, everyone was stopped together (Redis frozen, or every reaper's host): the
 * beats are old for that reason alone, so this reap only takes note and the next one,
 * after the workers have beaten again, judges. Returns the reaped worker ids.
 */
export const REAP = `${NOW}
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('SET', KEYS[3], now)
if now - last > tonumber(ARGV[3]) then return {} end
local prefix = ARGV[2]
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
for _, w in ipairs(dead) do
  local who = redis.call('HGET', prefix .. ':worker:' .. w, 'label') or w
  local pending = redis.call('XPENDING', KEYS[2], 'workers', '-', '+', 100000, w)
  for _, e in ipairs(pending) do
    local id = e[1]
    local found = redis.call('XRANGE', KEYS[2], id, id)
    if #found > 0 then
      local f = found[1][2]
      local fields = {}
      for i = 1, #f, 2 do fields[f[i]] = f[i + 1] end
      local retries = tonumber(fields['r'] or '0') or 0
      if retries > 0 then
        local copy = {}
        for i = 1, #f, 2 do
          copy[#copy + 1] = f[i]
          copy[#copy + 1] = (f[i] == 'r') and tostring(retries - 1) or f[i + 1]
        end
        redis.call('XADD', KEYS[2], '*', unpack(copy))
      elseif redis.call('ZSCORE', KEYS[4], fields['c']) then
        redis.call('XADD', prefix .. ':results:' .. fields['c'], '*', 'j', fields['j'], 'k', fields['k'], 'o', 'lost', 'p', '', 'w', who)
      end
    end
    redis.call('XACK', KEYS[2], 'workers', id)
    redis.call('XDEL', KEYS[2], id)
  end
  redis.call('XGROUP', 'DELCONSUMER', KEYS[2], 'workers', w)
  redis.call('ZREM', KEYS[1], w)
  redis.call('DEL', prefix .. ':worker:' .. w)
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[4]))
for _, c in ipairs(gone) do
  redis.call('ZREM', KEYS[4], c)
  redis.call('DEL', prefix .. ':results:' .. c)
end
return dead`;
