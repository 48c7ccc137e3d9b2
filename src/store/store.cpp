#include "store/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "store/schema.hpp"
#include "store/sqlite_db.hpp"

namespace picket::store {
namespace {

constexpr std::string_view kBlock = "block";
constexpr std::string_view kRateLimit = "rate_limit";

// The row key of a decision: (target, action, port, proto). Blocks key on the target alone.
struct Key {
  std::string target;
  std::string_view action;
  int64_t port = 0;
  int64_t proto = 0;
};

Key key_of(const core::Decision& d) {
  bool rate = d.action == core::DecisionAction::rate_limit || d.action == core::DecisionAction::unrate_limit;
  if (!rate) return {d.target.to_string(), kBlock, 0, 0};
  return {d.target.to_string(), kRateLimit, d.port, d.proto};
}

std::optional<std::string> check(const core::Decision& d) {
  if (d.target.address().empty()) return "no target";
  if (d.target.length() > d.target.address().bit_width()) return "prefix length past the address width";
  if (d.duration.ns < 0) return fmt::format("negative duration ({} ns)", d.duration.ns);
  if (d.action == core::DecisionAction::rate_limit) {
    if (d.rate_per_second == 0) return "rate limit without a rate";
    if (d.proto == 0) return "rate limit without a protocol";
  }
  return std::nullopt;
}

// now + duration, saturating (a duration of centuries is "for ever", not a wrap to the past).
int64_t expiry(core::Timestamp now, core::Duration d) {
  int64_t out = 0;
  if (__builtin_add_overflow(now.ns, d.ns, &out)) return std::numeric_limits<int64_t>::max();
  return out;
}

uint32_t to_u32(int64_t v) {
  return static_cast<uint32_t>(std::clamp<int64_t>(v, 0, std::numeric_limits<uint32_t>::max()));
}

}  // namespace

struct Store::Impl {
  explicit Impl(Db database) : db(std::move(database)) {}
  Db db;  // declared first: statements are finalized before the connection closes
  Statement upsert_decision;
  Statement delete_decision;
  Statement upsert_offender;
  Statement set_applied;
  Statement select_active;
  Statement delete_expired;
  Statement delete_target;
  Statement delete_all;
  Statement select_offender;
  Statement select_offenders;
  Statement delete_forgiven;

  core::Result<void> prepare_all();
  core::Result<void> configure(const Options& options);
};

core::Result<void> Store::Impl::configure(const Options& options) {
  sqlite3_busy_timeout(db.handle(), static_cast<int>(std::clamp<int64_t>(options.busy_timeout.ns / 1'000'000, 0,
                                                                         std::numeric_limits<int>::max())));
  // The first statement reads the file: a file that is not SQLite fails here with
  // "file is not a database".
  if (auto r = db.query_int("PRAGMA application_id", "reading the file header"); !r) return r.error();
  if (sqlite3_db_readonly(db.handle(), "main") == 1) {
    return core::make_error(fmt::format("store {}: opened read-only (no write permission on the file)", db.path()));
  }
  // Before any pragma that writes (journal_mode): another application's file stays untouched.
  if (auto r = identify(db); !r) return r.error();
  auto mode = db.query_text("PRAGMA journal_mode = WAL", "enabling WAL");
  if (!mode) return mode.error();
  std::string got = mode->value_or("");
  std::transform(got.begin(), got.end(), got.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (got != "wal" && !(got == "memory" && db.path() == ":memory:")) {
    return core::make_error(
        fmt::format("store {}: could not enable WAL (journal_mode is \"{}\"; a network or "
                    "read-only file system?)",
                    db.path(), got));
  }
  // FULL: a commit fsyncs the WAL, so an acknowledged ban survives a power loss, not only kill -9.
  // Batches keep this to one fsync per batch.
  if (auto r = db.exec("PRAGMA synchronous = FULL", "setting synchronous"); !r) return r;
  // Keep the WAL from staying large after a burst of bans.
  if (auto r = db.exec("PRAGMA journal_size_limit = 4194304", "setting journal_size_limit"); !r) return r;
  // A 100,000-ban batch touches ~20 MiB of pages; the default 2 MiB cache would spill mid-batch.
  if (auto r = db.exec("PRAGMA cache_size = -32768", "setting cache_size"); !r) return r;
  auto check = db.query_text("PRAGMA quick_check", "checking the file");
  if (!check) return check.error();
  if (check->value_or("") != "ok") {
    return core::make_error(
        fmt::format("store {}: the file is damaged (quick_check: {})", db.path(), check->value_or("no answer")));
  }
  return {};
}

core::Result<void> Store::Impl::prepare_all() {
  struct Item {
    Statement* stmt;
    std::string_view sql;
  };
  const Item items[] = {
      {&upsert_decision, R"sql(
INSERT INTO decisions (target, action, port, proto, rate_per_second, detector, reason, offence,
                       decided_at, created_at, expires_at, duration_ns, applied)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0)
ON CONFLICT (target, action, port, proto) DO UPDATE SET
  rate_per_second = excluded.rate_per_second,
  detector = excluded.detector,
  reason = excluded.reason,
  offence = max(decisions.offence + 1, excluded.offence),
  decided_at = excluded.decided_at,
  created_at = CASE WHEN decisions.expires_at IS NOT NULL AND decisions.expires_at <= excluded.created_at
                    THEN excluded.created_at ELSE decisions.created_at END,
  expires_at = CASE WHEN decisions.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                    ELSE max(decisions.expires_at, excluded.expires_at) END,
  duration_ns = excluded.duration_ns,
  applied = 0)sql"},
      {&delete_decision, "DELETE FROM decisions WHERE target = ?1 AND action = ?2 AND port = ?3 AND proto = ?4"},
      {&upsert_offender, R"sql(
INSERT INTO offenders (target, offences, first_offence_at, last_offence_at, last_ban_duration_ns, last_detector)
VALUES (?1, 1, ?2, ?2, ?3, ?4)
ON CONFLICT (target) DO UPDATE SET
  offences = offenders.offences + 1,
  first_offence_at = min(offenders.first_offence_at, excluded.first_offence_at),
  last_offence_at = max(offenders.last_offence_at, excluded.last_offence_at),
  last_ban_duration_ns = excluded.last_ban_duration_ns,
  last_detector = excluded.last_detector
RETURNING offences)sql"},
      {&set_applied,
       "UPDATE decisions SET applied = ?5 WHERE target = ?1 AND action = ?2 AND port = ?3 AND proto = ?4"},
      {&select_active, R"sql(
SELECT target, action, port, proto, rate_per_second, detector, reason, offence,
       decided_at, created_at, expires_at, duration_ns, applied
FROM decisions WHERE expires_at IS NULL OR expires_at > ?1
ORDER BY target, action, port, proto)sql"},
      {&delete_expired, "DELETE FROM decisions WHERE expires_at IS NOT NULL AND expires_at <= ?1"},
      {&delete_target, "DELETE FROM decisions WHERE target = ?1"},
      {&delete_all, "DELETE FROM decisions"},
      {&select_offender, R"sql(
SELECT target, offences, first_offence_at, last_offence_at, last_ban_duration_ns, last_detector
FROM offenders WHERE target = ?1)sql"},
      {&select_offenders, R"sql(
SELECT target, offences, first_offence_at, last_offence_at, last_ban_duration_ns, last_detector
FROM offenders ORDER BY last_offence_at DESC, target LIMIT ?1)sql"},
      {&delete_forgiven, "DELETE FROM offenders WHERE last_offence_at < ?1"},
  };
  for (const auto& item : items) {
    auto s = db.prepare(item.sql);
    if (!s) return s.error();
    *item.stmt = std::move(*s);
  }
  return {};
}

Store::Store(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const noexcept {
  return impl_->db.path();
}

core::Result<std::unique_ptr<Store>> Store::open(const std::string& path, Options options) {
  if (path.empty()) return core::make_error("store: empty path");
  auto db = Db::open(path);
  if (!db) return db.error();
  auto impl = std::make_unique<Impl>(std::move(*db));
  if (auto r = impl->configure(options); !r) return r.error();
  if (auto r = migrate(impl->db); !r) return r.error();
  if (auto r = impl->prepare_all(); !r) return r.error();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

core::Result<void> Store::record(std::span<const core::Decision> batch, core::Timestamp now) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (auto why = check(batch[i])) {
      return core::make_error(fmt::format("store {}: decision {} of {} ({} {}): {}", path(), i, batch.size(),
                                          core::decision_action_name(batch[i].action), batch[i].target.to_string(),
                                          *why));
    }
  }
  if (batch.empty()) return {};
  auto tx = Transaction::begin(impl_->db, "recording decisions");
  if (!tx) return tx.error();
  for (const auto& d : batch) {
    Key k = key_of(d);
    switch (d.action) {
      case core::DecisionAction::block:
      case core::DecisionAction::rate_limit: {
        int64_t offence = d.offence;
        if (d.action == core::DecisionAction::block) {
          auto& h = impl_->upsert_offender;
          StatementScope scope(h);
          h.bind(1, k.target);
          h.bind(2, now.ns);
          h.bind(3, d.duration.ns);
          h.bind(4, d.detector);
          auto row = h.step("updating offender history");
          if (!row) return row.error();
          if (*row) offence = std::max(offence, h.column_int(0));
          if (auto r = h.run("updating offender history"); !r) return r;
        }
        auto& u = impl_->upsert_decision;
        StatementScope scope(u);
        u.bind(1, k.target);
        u.bind(2, k.action);
        u.bind(3, k.port);
        u.bind(4, k.proto);
        u.bind(5, int64_t{d.rate_per_second});
        u.bind(6, d.detector);
        u.bind(7, d.reason);
        u.bind(8, offence);
        u.bind(9, d.decided_at.ns);
        u.bind(10, now.ns);
        u.bind(11, d.duration.ns == 0 ? std::nullopt : std::optional<int64_t>(expiry(now, d.duration)));
        u.bind(12, d.duration.ns);
        if (auto r = u.run("storing a decision"); !r) return r;
        break;
      }
      case core::DecisionAction::unblock:
      case core::DecisionAction::unrate_limit: {
        auto& del = impl_->delete_decision;
        StatementScope scope(del);
        del.bind(1, k.target);
        del.bind(2, k.action);
        del.bind(3, k.port);
        del.bind(4, k.proto);
        if (auto r = del.run("deleting a decision"); !r) return r;
        break;
      }
    }
  }
  return tx->commit("recording decisions");
}

core::Result<void> Store::mark_applied(std::span<const core::Decision> batch, bool applied) {
  auto tx = Transaction::begin(impl_->db, "marking decisions applied");
  if (!tx) return tx.error();
  for (const auto& d : batch) {
    if (d.action != core::DecisionAction::block && d.action != core::DecisionAction::rate_limit) continue;
    Key k = key_of(d);
    auto& s = impl_->set_applied;
    StatementScope scope(s);
    s.bind(1, k.target);
    s.bind(2, k.action);
    s.bind(3, k.port);
    s.bind(4, k.proto);
    s.bind(5, int64_t{applied ? 1 : 0});
    if (auto r = s.run("marking a decision applied"); !r) return r;
  }
  return tx->commit("marking decisions applied");
}

core::Result<std::vector<StoredDecision>> Store::active(core::Timestamp now) {
  auto& s = impl_->select_active;
  StatementScope scope(s);
  s.bind(1, now.ns);
  std::vector<StoredDecision> out;
  for (;;) {
    auto row = s.step("reading active decisions");
    if (!row) return row.error();
    if (!*row) break;
    auto target = core::Prefix::parse(s.column_text(0));
    std::string action = s.column_text(1);
    if (!target || (action != kBlock && action != kRateLimit)) {
      ++skipped_rows_;
      continue;
    }
    StoredDecision sd;
    core::Decision& d = sd.decision;
    d.action = action == kBlock ? core::DecisionAction::block : core::DecisionAction::rate_limit;
    d.target = *target;
    d.port = static_cast<uint16_t>(s.column_int(2));
    d.proto = static_cast<uint8_t>(s.column_int(3));
    d.rate_per_second = to_u32(s.column_int(4));
    d.detector = s.column_text(5);
    d.reason = s.column_text(6);
    d.offence = to_u32(s.column_int(7));
    d.decided_at = core::Timestamp{s.column_int(8)};
    sd.created_at = core::Timestamp{s.column_int(9)};
    if (!s.column_is_null(10)) sd.expires_at = core::Timestamp{s.column_int(10)};
    d.duration = core::Duration{s.column_int(11)};
    sd.applied = s.column_int(12) != 0;
    out.push_back(std::move(sd));
  }
  return out;
}

core::Result<size_t> Store::expire(core::Timestamp now) {
  auto& s = impl_->delete_expired;
  StatementScope scope(s);
  s.bind(1, now.ns);
  if (auto r = s.run("deleting expired decisions"); !r) return r.error();
  return static_cast<size_t>(impl_->db.changes());
}

core::Result<void> Store::remove(const core::Prefix& target) {
  auto& s = impl_->delete_target;
  StatementScope scope(s);
  s.bind(1, target.to_string());
  return s.run("removing a target");
}

core::Result<void> Store::clear_active() {
  auto& s = impl_->delete_all;
  StatementScope scope(s);
  return s.run("clearing active decisions");
}

namespace {

// Reads one offenders row (columns as in the SELECTs above); nullopt if the target is unreadable.
std::optional<Offender> read_offender(const Statement& s) {
  auto target = core::Prefix::parse(s.column_text(0));
  if (!target) return std::nullopt;
  Offender o;
  o.target = *target;
  o.offences = to_u32(s.column_int(1));
  o.first_offence_at = core::Timestamp{s.column_int(2)};
  o.last_offence_at = core::Timestamp{s.column_int(3)};
  o.last_ban_duration = core::Duration{s.column_int(4)};
  o.last_detector = s.column_text(5);
  return o;
}

}  // namespace

core::Result<std::optional<Offender>> Store::offender(const core::Prefix& target) {
  auto& s = impl_->select_offender;
  StatementScope scope(s);
  s.bind(1, target.to_string());
  auto row = s.step("reading an offender");
  if (!row) return row.error();
  if (!*row) return std::optional<Offender>{};
  auto o = read_offender(s);
  if (!o) ++skipped_rows_;
  return o;
}

core::Result<std::vector<Offender>> Store::offenders(size_t limit) {
  auto& s = impl_->select_offenders;
  StatementScope scope(s);
  s.bind(1, static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
  std::vector<Offender> out;
  for (;;) {
    auto row = s.step("reading offenders");
    if (!row) return row.error();
    if (!*row) break;
    if (auto o = read_offender(s)) {
      out.push_back(std::move(*o));
    } else {
      ++skipped_rows_;
    }
  }
  return out;
}

core::Result<size_t> Store::forgive(core::Timestamp quiet_since) {
  auto& s = impl_->delete_forgiven;
  StatementScope scope(s);
  s.bind(1, quiet_since.ns);
  if (auto r = s.run("forgiving offenders"); !r) return r.error();
  return static_cast<size_t>(impl_->db.changes());
}

}  // namespace picket::store
