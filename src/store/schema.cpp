#include "store/schema.hpp"

#include <array>
#include <string_view>

#include <fmt/format.h>

#include "store/store.hpp"

namespace picket::store {
namespace {

struct Migration {
  int version;
  std::string_view sql;
};

// Append only: a released migration never changes, a schema change is a new entry.
// Times are nanoseconds since the Unix epoch (UTC); targets are canonical prefix text
// ("198.51.100.7/32", "2001:db8::/64") so the file reads well in the sqlite3 CLI.
constexpr std::array kMigrations = {
    Migration{1, R"sql(
CREATE TABLE decisions (
  target          TEXT    NOT NULL,
  action          TEXT    NOT NULL CHECK (action IN ('block', 'rate_limit')),
  port            INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),
  proto           INTEGER NOT NULL DEFAULT 0 CHECK (proto BETWEEN 0 AND 255),
  rate_per_second INTEGER NOT NULL DEFAULT 0 CHECK (rate_per_second >= 0),
  detector        TEXT    NOT NULL,
  reason          TEXT    NOT NULL,
  offence         INTEGER NOT NULL CHECK (offence >= 0),
  decided_at      INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER,
  duration_ns     INTEGER NOT NULL CHECK (duration_ns >= 0),
  applied         INTEGER NOT NULL DEFAULT 0 CHECK (applied IN (0, 1)),
  PRIMARY KEY (target, action, port, proto)
) WITHOUT ROWID;
CREATE INDEX decisions_expires_at ON decisions (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE offenders (
  target               TEXT    NOT NULL PRIMARY KEY,
  offences             INTEGER NOT NULL CHECK (offences >= 1),
  first_offence_at     INTEGER NOT NULL,
  last_offence_at      INTEGER NOT NULL,
  last_ban_duration_ns INTEGER NOT NULL,
  last_detector        TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX offenders_last_offence_at ON offenders (last_offence_at);
)sql"},
};
static_assert(kMigrations.back().version == kSchemaVersion, "kSchemaVersion must name the last migration");

core::Result<bool> table_exists(Db& db, std::string_view name) {
  auto stmt = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, name);
  return stmt->step("reading the schema");
}

}  // namespace

core::Result<int> schema_version(Db& db) {
  auto exists = table_exists(db, "schema_version");
  if (!exists) return exists.error();
  if (!*exists) return 0;
  auto v = db.query_int("SELECT coalesce(max(version), 0) FROM schema_version", "reading the schema version");
  if (!v) return v.error();
  return static_cast<int>(*v);
}

core::Result<int> identify(Db& db) {
  auto app_id = db.query_int("PRAGMA application_id", "reading the application id");
  if (!app_id) return app_id.error();
  if (*app_id != 0 && *app_id != kApplicationId) {
    return core::make_error(fmt::format("store {}: not a picket store (SQLite application_id {:#x}, picket's is {:#x})",
                                        db.path(), *app_id, kApplicationId));
  }
  auto current = schema_version(db);
  if (!current) return current.error();
  if (*current == 0) {
    auto tables = db.query_int("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", "reading the schema");
    if (!tables) return tables.error();
    if (*tables != 0) {
      return core::make_error(
          fmt::format("store {}: not a picket store (an SQLite database with {} other table(s) and no schema_version)",
                      db.path(), *tables));
    }
  }
  if (*current > kSchemaVersion) {
    return core::make_error(fmt::format(
        "store {}: schema version {} is newer than this picket understands ({}); use a newer picket or another file",
        db.path(), *current, kSchemaVersion));
  }
  return *current;
}

core::Result<void> migrate(Db& db) {
  // The write lock first: two processes opening a fresh file must not both create the schema,
  // so the file is identified again under the lock.
  auto tx = Transaction::begin(db, "migrating the schema");
  if (!tx) return tx.error();
  auto current = identify(db);
  if (!current) return current.error();
  if (*current == kSchemaVersion) return tx->commit("migrating the schema");

  if (auto r = db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                       "applied_at INTEGER NOT NULL)",
                       "creating schema_version");
      !r) {
    return r;
  }
  for (const auto& m : kMigrations) {
    if (m.version <= *current) continue;
    auto what = fmt::format("migrating to schema version {}", m.version);
    if (auto r = db.exec(std::string(m.sql), what); !r) return r;
    // applied_at is wall-clock seconds: file metadata, not a picket timestamp.
    auto insert = fmt::format(
        "INSERT INTO schema_version (version, applied_at) VALUES ({}, CAST(strftime('%s', 'now') AS INTEGER))",
        m.version);
    if (auto r = db.exec(insert, what); !r) return r;
  }
  if (auto r = db.exec(fmt::format("PRAGMA application_id = {}", kApplicationId), "setting the application id"); !r) {
    return r;
  }
  return tx->commit("migrating the schema");
}

}  // namespace picket::store
