// Loading a YAML configuration file against a Schema into an immutable Config.
//
// Layout: nested mappings follow the dotted path ("detect:\n  conn_rate:\n    limit: 20"). A top-level
// `profile:` key selects the built-in profile (default normal). Precedence, for each key:
// the file > the selected profile's value > the normal default.
//
// The loaders never throw and never stop at the first problem: unknown keys, wrong types,
// out-of-range values, repeated keys and malformed YAML are all returned together, each with
// file:line:column and the key path. A Config exists only when there are no errors.
// The Config getters are start-up code: asking for an undeclared path or with the wrong type is a
// bug in picket and throws std::logic_error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.hpp"
#include "core/ip_address.hpp"
#include "core/time.hpp"

namespace picket::config {

namespace detail {
class ConfigBuilder;
}

class Config {
 public:
  Profile profile() const { return profile_; }
  const std::string& source() const { return source_; }  // the file name, or "built-in profile normal"

  bool boolean(std::string_view path) const;
  int64_t integer(std::string_view path) const;
  double number(std::string_view path) const;                 // also reads an integer parameter
  const std::string& string(std::string_view path) const;     // string and choice
  core::Duration duration(std::string_view path) const;
  const std::vector<std::string>& list(std::string_view path) const;  // string_list, address_list, port_list
  std::vector<core::Prefix> prefixes(std::string_view path) const;    // address_list (bare address = host prefix)
  std::vector<std::pair<uint16_t, uint16_t>> ports(std::string_view path) const;  // port_list, inclusive ranges
  bool is_set_in_file(std::string_view path) const;  // the file gave it explicitly

 private:
  friend class detail::ConfigBuilder;
  Config() = default;  // made only by the loaders and defaults()
  struct Entry {
    ParamType type;
    Value value;
    bool from_file = false;
  };
  const Entry& entry(std::string_view path, std::initializer_list<ParamType> accepted) const;

  Profile profile_ = Profile::normal;
  std::string source_;
  std::map<std::string, Entry, std::less<>> entries_;
};

struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string path;  // key path, "detect.conn_rate.limit" ("" for file-level problems)
  std::string message;
  // "file:line:column: detect.conn_rate.limit: must be at most 1000000 (got 5000000)";
  // the position and the path are left out when unknown.
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
};

// Reading stops adding errors after kMaxErrors (one last error says so), and input larger than
// kMaxInputBytes is refused: a real file is a few KiB, and yaml-cpp reads only a few MB/s, so the
// limit keeps the worst input under about a second.
inline constexpr size_t kMaxErrors = 200;
inline constexpr size_t kMaxInputBytes = 1u << 20;

// A missing or unreadable file gives one error naming it (with the system's reason).
LoadResult load_file(const Schema& schema, const std::string& path);
// `name` stands for the file in errors and in Config::source().
LoadResult load_string(const Schema& schema, std::string_view yaml, const std::string& name);
// Every key at the profile's default; source() is "built-in profile <name>".
Config defaults(const Schema& schema, Profile p);

}  // namespace picket::config
