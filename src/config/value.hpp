// Internal to src/config: reading, checking and spelling one parameter value. Shared by the
// schema (to check declared defaults), the loader (to check the file) and the schema printout,
// so a value that the printout shows is exactly one the loader accepts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/schema.hpp"
#include "core/result.hpp"

namespace picket::config::detail {

// True when `v` holds the alternative that `t` uses.
bool holds_type(ParamType t, const Value& v);
bool is_list(ParamType t);

// One YAML scalar read as a scalar type (boolean, integer, number, string, choice, duration).
// `quoted`: the scalar was quoted in the file, which makes it a string — never a boolean or number.
// Ranges and choices are not checked here (check_constraints does).
core::Result<Value> parse_scalar(ParamType t, std::string_view text, bool quoted);

// One list entry in its canonical spelling: an address list entry as "10.0.0.0/8" or a bare
// address; a port list entry as "22" or "1000-2000" (a one-port range "22-22" becomes "22").
// string_list entries are returned unchanged.
core::Result<std::string> normalise_entry(ParamType list_type, std::string_view text);

// A normalised port list entry as an inclusive range.
std::optional<std::pair<uint16_t, uint16_t>> parse_port_entry(std::string_view text);

// Range, choices and number of entries. `v` already holds the right alternative.
core::Result<void> check_constraints(const ParamDecl& d, const Value& v);

// For declarations: converts an integer to a double for numbers, normalises list entries, and
// checks the type, constraints and that a duration can be written in the file's syntax.
core::Result<void> check_declared(const ParamDecl& d, Value& v);

// The value as YAML that load_string reads back to the same value.
std::string format_yaml(const Value& v);
// "1 .. 1000000", "one of: a, b", "at most 64 entries", or "" when unconstrained.
std::string describe_constraints(const ParamDecl& d);

// User text for an error message: quoted, non-printable bytes escaped, long text cut.
std::string quote_for_message(std::string_view text);

}  // namespace picket::config::detail
