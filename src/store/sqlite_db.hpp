// Thin RAII over the SQLite C API, just what the store needs: a connection that knows its file
// path (every error names it), and prepared statements that are kept and reset, not re-parsed.
// Internal to src/store; nothing outside the folder includes sqlite3.h through this header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace picket::store {

class Db;

// A prepared statement, reset (and its bindings cleared) by `reset()`. Columns and parameters
// are 1-based for binding (SQLite's convention) and 0-based for reading.
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  void bind(int index, int64_t value) noexcept;
  void bind(int index, std::string_view text) noexcept;
  void bind_null(int index) noexcept;
  void bind(int index, std::optional<int64_t> value) noexcept { value ? bind(index, *value) : bind_null(index); }

  // One step: true when a row is ready, false when done; an error names `what`.
  core::Result<bool> step(std::string_view what);
  // Steps to the end, ignoring rows.
  core::Result<void> run(std::string_view what);
  void reset() noexcept;

  int64_t column_int(int col) const noexcept;
  bool column_is_null(int col) const noexcept;
  std::string column_text(int col) const;

 private:
  friend class Db;
  Statement(Db* db, sqlite3_stmt* stmt) noexcept : db_(db), stmt_(stmt) {}
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, on every path.
class StatementScope {
 public:
  explicit StatementScope(Statement& s) noexcept : s_(s) {}
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;
  ~StatementScope() { s_.reset(); }

 private:
  Statement& s_;
};

class Db {
 public:
  // Opens (creating if missing) a database file, or ":memory:". The directory is not created.
  static core::Result<Db> open(const std::string& path);

  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  const std::string& path() const noexcept { return path_; }
  sqlite3* handle() const noexcept { return db_; }

  core::Result<Statement> prepare(std::string_view sql);
  // Runs one or more statements without results (schema, pragmas, BEGIN/COMMIT).
  core::Result<void> exec(const std::string& sql, std::string_view what);
  // Runs a statement that returns one value in its first row (pragmas, counts).
  core::Result<std::optional<std::string>> query_text(std::string_view sql, std::string_view what);
  core::Result<int64_t> query_int(std::string_view sql, std::string_view what);
  int64_t changes() const noexcept;

  // "store <path>: <what>: <sqlite message> (<code name>)".
  core::Error error(std::string_view what) const;
  core::Error error(std::string_view what, int code) const;

 private:
  Db(sqlite3* db, std::string path) noexcept : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

// Wraps a transaction: BEGIN IMMEDIATE now, ROLLBACK unless `commit()` succeeded.
class Transaction {
 public:
  static core::Result<Transaction> begin(Db& db, std::string_view what);
  Transaction(Transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  core::Result<void> commit(std::string_view what);

 private:
  explicit Transaction(Db* db) noexcept : db_(db) {}
  Db* db_ = nullptr;
};

}  // namespace picket::store
