// The store's schema and its migrations. Each migration is a script that takes the file from
// version N-1 to N inside one transaction; `schema_version` lists the versions applied.
#pragma once

#include "core/result.hpp"
#include "store/sqlite_db.hpp"

namespace picket::store {

// SQLite's application_id for picket files ("pick"), so `file` and picket itself can tell a
// picket store from any other SQLite database.
inline constexpr int kApplicationId = 0x7069636B;

// Checks, without writing, that `db` is a picket store this build can use (or an empty file);
// returns its schema version (0 for an empty file). A file that holds another application's
// tables, or a schema newer than this build knows, gives a clear error.
core::Result<int> identify(Db& db);

// Brings `db` to the latest schema. Refuses (with a clear error, changing nothing) a file that
// holds another application's tables or a schema newer than this build knows.
core::Result<void> migrate(Db& db);

// The version recorded in the file (0 for a fresh file).
core::Result<int> schema_version(Db& db);

}  // namespace picket::store
