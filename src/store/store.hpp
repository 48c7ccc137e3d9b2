// Store: picket's persistent truth — the active decisions (what should be in the kernel, until
// when) and each offender's history (for escalation). One SQLite file in WAL mode.
//
// Durability contract: when record() (or any other writing method) returns ok, the change is
// committed with synchronous=FULL: the WAL is fsync'ed, so it survives kill -9 *and* a power
// loss. A batch is one transaction: all of it or none of it is stored.
//
// Not thread-safe: one Store belongs to one thread (the control thread). Other processes (the
// sqlite3 CLI, `picket` subcommands) may read the file at the same time; a writer waits up to
// Options::busy_timeout for the lock, then fails with a clear error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/decision.hpp"
#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace picket::store {

// Default file of the daemon (config key `store.path`, declared by whoever wires the store).
inline constexpr const char* kDefaultPath = "/var/lib/picket/picket.db";
// The schema this build writes. Older files are migrated on open; newer ones are refused.
inline constexpr int kSchemaVersion = 1;

// An active decision as stored: a block or a rate limit that should be in the kernel.
struct StoredDecision {
  // action is block or rate_limit. duration is the one last requested; decided_at its time.
  // offence: how many times this target was banned (the store's count, see record()).
  core::Decision decision;
  core::Timestamp created_at;                 // when this ban started (kept across repeats)
  std::optional<core::Timestamp> expires_at;  // nullopt: no expiry (a block of duration 0)
  bool applied = false;                       // the enforcer confirmed it (mark_applied)

  bool expired(core::Timestamp now) const noexcept { return expires_at && *expires_at <= now; }
  // Time left at `now`; 0 when expired or permanent (check expires_at to tell them apart).
  core::Duration remaining(core::Timestamp now) const noexcept {
    if (!expires_at || *expires_at <= now) return {};
    return *expires_at - now;
  }
};

// One target's ban history. Only blocks count: a rate limit protects its target, it does not
// accuse it.
struct Offender {
  core::Prefix target;
  uint32_t offences = 0;
  core::Timestamp first_offence_at;
  core::Timestamp last_offence_at;
  core::Duration last_ban_duration;  // 0 = that ban had no expiry
  std::string last_detector;
};

class Store {
 public:
  struct Options {
    // How long a write waits for another process's lock before failing.
    core::Duration busy_timeout = core::Duration::seconds(5);
  };

  // Opens or creates the store at `path` (":memory:" for tests). The directory must exist. A
  // file that is not SQLite, is damaged, belongs to another application, has a newer schema,
  // or cannot be written gives an error naming the path and SQLite's reason.
  static core::Result<std::unique_ptr<Store>> open(const std::string& path, Options options);
  static core::Result<std::unique_ptr<Store>> open(const std::string& path) { return open(path, Options{}); }

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores a batch in one transaction (all or nothing). Every decision is checked first:
  // an empty target, a negative duration, a rate limit without a rate or protocol fails the
  // whole batch with the decision's index.
  //   block:        upsert the active row; history: offences + 1, last offence = now.
  //                 A repeat keeps created_at, extends expires_at to the later of the two (a
  //                 repeat never shortens a ban; no expiry wins), and stores
  //                 offence = max(old offence + 1, decision.offence, history count).
  //                 duration 0 means no expiry.
  //   rate_limit:   upsert keyed by (target, port, proto); no history.
  //   unblock:      delete the target's block (no-op if absent). History is kept.
  //   unrate_limit: delete the (target, port, proto) rate limit.
  // Upserted rows are marked not applied.
  core::Result<void> record(std::span<const core::Decision> batch, core::Timestamp now);

  // Marks blocks / rate limits of the batch (matched like record()) as applied or not.
  // Unblocks and unknown targets are ignored.
  core::Result<void> mark_applied(std::span<const core::Decision> batch, bool applied);

  // Active decisions not expired at `now`, ordered by target. Rows that cannot be read back
  // (edited by hand into something invalid) are skipped and counted in skipped_rows().
  core::Result<std::vector<StoredDecision>> active(core::Timestamp now);
  // Deletes active rows expired at `now`; returns how many.
  core::Result<size_t> expire(core::Timestamp now);
  // Deletes every active row of `target` (its block and its rate limits).
  core::Result<void> remove(const core::Prefix& target);
  core::Result<void> clear_active();

  // History of exactly `target` (no prefix matching), or nullopt.
  core::Result<std::optional<Offender>> offender(const core::Prefix& target);
  // Up to `limit` offenders, most recent offence first.
  core::Result<std::vector<Offender>> offenders(size_t limit);
  // Drops the history of targets whose last offence is before `quiet_since`; returns how many.
  core::Result<size_t> forgive(core::Timestamp quiet_since);

  const std::string& path() const noexcept;
  uint64_t skipped_rows() const noexcept { return skipped_rows_; }

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
  uint64_t skipped_rows_ = 0;
};

}  // namespace picket::store
