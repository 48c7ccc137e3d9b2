#include "store/sqlite_db.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace picket::store {
namespace {

// Why a file cannot be opened for writing, in words; empty when nothing looks wrong.
std::string diagnose_access(const std::string& path) {
  if (path.empty() || path == ":memory:") return {};
  std::filesystem::path file(path);
  std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fmt::format("directory {} does not exist", dir.string());
  if (std::filesystem::exists(file, ec) && ::access(path.c_str(), R_OK | W_OK) != 0) {
    return fmt::format("no read/write permission on the file: {}", std::strerror(errno));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return fmt::format("no write permission on directory {} (SQLite creates the -wal and -shm files there): {}",
                       dir.string(), std::strerror(errno));
  }
  return {};
}

}  // namespace

Statement::Statement(Statement&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), stmt_(std::exchange(o.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(o.db_, nullptr);
    stmt_ = std::exchange(o.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

// Binding errors (index out of range, out of memory) surface at the next step(), which reports
// them with the connection's message; checking each bind would add nothing.
void Statement::bind(int index, int64_t value) noexcept {
  sqlite3_bind_int64(stmt_, index, value);
}

void Statement::bind(int index, std::string_view text) noexcept {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void Statement::bind_null(int index) noexcept {
  sqlite3_bind_null(stmt_, index);
}

core::Result<bool> Statement::step(std::string_view what) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->error(what, rc);
}

core::Result<void> Statement::run(std::string_view what) {
  for (;;) {
    auto r = step(what);
    if (!r) return r.error();
    if (!*r) return {};
  }
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int(int col) const noexcept {
  return sqlite3_column_int64(stmt_, col);
}

bool Statement::column_is_null(int col) const noexcept {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::string Statement::column_text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

core::Result<Db> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // NOMUTEX: a connection belongs to one thread (the Store's contract), so SQLite's own locking
  // is pure cost.
  Db db(raw, path);  // owns the handle even on failure (sqlite allocates one to carry the message)
  if (rc != SQLITE_OK) {
    if (raw == nullptr) return core::make_error(fmt::format("store {}: open: out of memory", path));
    return db.error("open", rc);
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Db::Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
  }
  return *this;
}

// close_v2 defers the close until the last statement is finalized, so member order in the
// store (statements declared after the Db) cannot leak the connection.
Db::~Db() {
  sqlite3_close_v2(db_);
}

core::Result<Statement> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return error(fmt::format("prepare \"{}\"", sql.substr(0, 60)), rc);
  }
  return Statement(this, stmt);
}

core::Result<void> Db::exec(const std::string& sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(what, rc);
  return {};
}

core::Result<std::optional<std::string>> Db::query_text(std::string_view sql, std::string_view what) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step(what);
  if (!row) return row.error();
  if (!*row || stmt->column_is_null(0)) return std::optional<std::string>{};
  return std::optional<std::string>{stmt->column_text(0)};
}

core::Result<int64_t> Db::query_int(std::string_view sql, std::string_view what) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step(what);
  if (!row) return row.error();
  if (!*row) return core::make_error(fmt::format("store {}: {}: no result", path_, what));
  return stmt->column_int(0);
}

int64_t Db::changes() const noexcept {
  return sqlite3_changes64(db_);
}

core::Error Db::error(std::string_view what) const {
  return error(what, sqlite3_extended_errcode(db_));
}

core::Error Db::error(std::string_view what, int code) const {
  const char* msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  std::string text = fmt::format("store {}: {}: {}", path_, what, msg);
  // The code's own text adds information when the connection's message is generic or stale.
  std::string_view code_text = sqlite3_errstr(code);
  if (code_text != msg) text += fmt::format(" ({})", code_text);
  int primary = code & 0xff;
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM) {
    // SQLite's errno is the one of its last fallback attempt (often a misleading ENOENT), so
    // look at the file and its directory ourselves.
    if (auto why = diagnose_access(path_); !why.empty()) {
      text += fmt::format(" ({})", why);
    } else if (int sys = db_ != nullptr ? sqlite3_system_errno(db_) : 0; sys != 0) {
      text += fmt::format(" ({})", std::strerror(sys));
    }
  } else if (primary == SQLITE_IOERR || primary == SQLITE_FULL) {
    if (int sys = db_ != nullptr ? sqlite3_system_errno(db_) : 0; sys != 0) {
      text += fmt::format(" ({})", std::strerror(sys));
    }
  }
  return core::make_error(std::move(text));
}

core::Result<Transaction> Transaction::begin(Db& db, std::string_view what) {
  // IMMEDIATE takes the write lock now, so a busy database fails (after the busy timeout) here
  // rather than half-way through the batch.
  if (auto r = db.exec("BEGIN IMMEDIATE", fmt::format("{}: begin", what)); !r) return r.error();
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK", "rollback");
}

core::Result<void> Transaction::commit(std::string_view what) {
  if (auto r = db_->exec("COMMIT", fmt::format("{}: commit", what)); !r) return r;  // destructor rolls back
  db_ = nullptr;
  return {};
}

}  // namespace picket::store
