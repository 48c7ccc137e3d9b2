// The configuration schema: every parameter declared once (path, type, range, default per profile,
// help, the seed's default). The same declaration drives validation, defaults and the printed
// schema (`picket config schema`).
//
// Declaring is start-up code: a malformed declaration (duplicate path, a default outside its own
// range, a path that is both a key and a section) throws std::logic_error, because it is a bug in
// picket, not in the user's file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/time.hpp"

namespace picket::config {

enum class Profile { normal, aggressive, paranoid };
inline constexpr Profile kAllProfiles[] = {Profile::normal, Profile::aggressive, Profile::paranoid};

// "normal", "aggressive", "paranoid" (exact, lower case); anything else is nullopt.
std::optional<Profile> parse_profile(std::string_view text);
std::string_view profile_name(Profile p);

enum class ParamType {
  boolean,       // true/false/yes/no
  integer,       // int64, decimal only
  number,        // double; an integer literal is accepted
  string,        // any scalar
  duration,      // "300s", "10m", "250ms" or a bare number of seconds (core::parse_duration)
  string_list,   // sequence of scalars
  choice,        // a string that must be one of ParamDecl::choices
  address_list,  // sequence of IP addresses or CIDR prefixes (host bits rejected)
  port_list,     // sequence of ports (0..65535) or inclusive ranges "1000-2000"
};
std::string_view param_type_name(ParamType t);

// Which alternative each ParamType uses: boolean→bool, integer→int64_t, number→double,
// string/choice→std::string, duration→core::Duration, the three lists→std::vector<std::string>.
using Value = std::variant<bool, int64_t, double, std::string, core::Duration, std::vector<std::string>>;

struct ParamDecl {
  std::string path;                 // dotted: "detect.conn_rate.limit"
  ParamType type = ParamType::string;
  std::string help;
  Value default_value;              // the normal profile's default
  std::optional<Value> aggressive;  // profile overrides (unset = same as normal)
  std::optional<Value> paranoid;
  // Numeric range; for durations in seconds; for the list types `max` is the maximum number of
  // entries and `min` the minimum.
  std::optional<double> min, max;
  std::vector<std::string> choices;  // for choice
  std::string seed_note;             // "" or e.g. "seed 001: RATE_LIMIT 50"

  // The value this parameter takes under `p` before the file is applied.
  const Value& profile_default(Profile p) const;
};

class ParamHandle;

class Schema {
 public:
  // Validates the declaration and stores it. Values are normalised (an integer default of a
  // number becomes a double, port and address lists take their canonical spelling).
  // Throws std::logic_error on a duplicate path, a malformed path ("a..b", upper case, the
  // reserved top-level key "profile"), a path that is both a key and a section, a value of the
  // wrong type, or a default/override that fails its own validation.
  void add(ParamDecl decl);
  const ParamDecl* find(std::string_view path) const;
  const std::vector<ParamDecl>& params() const { return params_; }  // in declaration order

  // Human text for `picket config schema`: grouped by section, each key with its type,
  // range/choices, default per profile, seed note and help.
  std::string describe() const;
  // A commented YAML file that holds every key at that profile's default; it loads back cleanly
  // and selects the profile with a top-level `profile:` key.
  std::string example_yaml(Profile p) const;

 private:
  friend class ParamHandle;
  void set_override(size_t index, Profile p, Value v);

  std::vector<ParamDecl> params_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Returned by the SchemaSection builders to set profile overrides. It names the parameter by its
// index in the schema (never a pointer into the vector, which moves as it grows), so it stays
// valid however many parameters are added after it. The schema must outlive the handle.
// An override that fails validation throws std::logic_error, like a bad default.
class ParamHandle {
 public:
  ParamHandle(Schema& schema, size_t index) : schema_(&schema), index_(index) {}
  ParamHandle& aggressive(Value v);
  ParamHandle& paranoid(Value v);
  // For the list types: .aggressive({"22", "80"}).
  ParamHandle& aggressive(std::initializer_list<std::string_view> list);
  ParamHandle& paranoid(std::initializer_list<std::string_view> list);

 private:
  Schema* schema_;
  size_t index_;
};

// Declares parameters under a common dotted prefix:
//   SchemaSection s(schema, "detect.conn_rate");
//   s.integer("limit", 50, 1, 1'000'000, "New connections allowed per window",
//             "seed 001: RATE_LIMIT 50").aggressive(20).paranoid(10);
class SchemaSection {
 public:
  SchemaSection(Schema& schema, std::string prefix) : schema_(&schema), prefix_(std::move(prefix)) {}
  SchemaSection section(std::string_view name) const;  // "detect" → "detect.name"
  const std::string& prefix() const { return prefix_; }

  ParamHandle boolean(std::string_view name, bool def, std::string help, std::string seed_note = "");
  ParamHandle integer(std::string_view name, int64_t def, int64_t min, int64_t max, std::string help,
                      std::string seed_note = "");
  ParamHandle number(std::string_view name, double def, double min, double max, std::string help,
                     std::string seed_note = "");
  ParamHandle string(std::string_view name, std::string def, std::string help, std::string seed_note = "");
  ParamHandle duration(std::string_view name, core::Duration def, core::Duration min, core::Duration max,
                       std::string help, std::string seed_note = "");
  ParamHandle string_list(std::string_view name, std::vector<std::string> def, size_t max_entries,
                          std::string help, std::string seed_note = "");
  ParamHandle choice(std::string_view name, std::string def, std::vector<std::string> choices,
                     std::string help, std::string seed_note = "");
  ParamHandle address_list(std::string_view name, std::vector<std::string> def, size_t max_entries,
                           std::string help, std::string seed_note = "");
  ParamHandle port_list(std::string_view name, std::vector<std::string> def, size_t max_entries,
                        std::string help, std::string seed_note = "");

 private:
  ParamHandle add(ParamDecl decl);
  std::string full_path(std::string_view name) const;

  Schema* schema_;
  std::string prefix_;
};

}  // namespace picket::config
