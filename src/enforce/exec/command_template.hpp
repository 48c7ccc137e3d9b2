// CommandTemplate: one verb's command for the exec enforcer, as an argument vector with
// placeholders, and the checks that keep every substituted value inert.
//
// A template is a list of arguments (the YAML list `enforce.exec.block: [netsh, advfirewall, ...]`).
// Nothing is ever split on spaces or quotes: one list element is one argument, before and after
// substitution, and there is no shell. Placeholders inside an element are replaced by text:
//   {address}  the target as firewalls take it: "192.0.2.7" for one host, "198.18.0.0/24" for a prefix
//   {ip}       the address part alone ("198.18.0.0")   {prefix}  always with length ("192.0.2.7/32")
//   {length}   prefix length                            {family}  "ipv4" or "ipv6"
//   {duration} ban lifetime in whole seconds (0 = no timeout)
//   {detector} {reason} {offence}                       {port} {proto} ("tcp"/"udp") {rate} (rate limits)
//   {{ and }}  literal braces
// Unknown placeholders and unbalanced braces are errors when the template is parsed (start-up).
//
// What keeps input from becoming a command:
// - the address text is not taken from input: it is core::Prefix::to_string() of an already
//   parsed prefix, re-parsed and compared (round trip) and checked to hold only [0-9a-f.:/];
// - the detector name must be [A-Za-z0-9_.-], 1..64 characters, not starting with '-';
// - the reason has control characters (newline, NUL, ...) replaced by spaces and is cut to 200 bytes;
// - an argument whose template did not start with '-' must not start with '-' after substitution
//   (so no value can turn into an option such as "-rf" or "--help").
// A decision that fails these checks is refused before anything runs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/decision.hpp"
#include "core/result.hpp"

namespace picket::enforce::exec {

class CommandTemplate {
 public:
  // `verb` names the template in errors ("enforce.exec.block"). An empty list is an empty
  // template (the verb is not configured); an empty program name is an error.
  static core::Result<CommandTemplate> parse(std::string_view verb, const std::vector<std::string>& args);

  bool empty() const noexcept { return parts_.empty(); }
  const std::string& verb() const noexcept { return verb_; }
  const std::string& program() const { return parts_.front().front().text; }

  // The argument vector for `d`, or an Error naming the decision and the value refused.
  core::Result<std::vector<std::string>> render(const core::Decision& d) const;

 private:
  enum class Field { literal, address, ip, prefix, length, family, duration, detector, reason, offence, port, proto, rate };
  struct Piece {
    Field field = Field::literal;
    std::string text;  // for literal
  };
  using Arg = std::vector<Piece>;

  std::string verb_;
  std::vector<Arg> parts_;
};

// The canonical text of `p` after the round-trip check ("192.0.2.7/32"); an Error when the
// prefix has no family or its text does not survive a parse/format round trip.
core::Result<std::string> canonical_prefix_text(const core::Prefix& p);

// Strict parsing of operator- or API-supplied target text (the CLI's `picket ban ADDRESS`, tests):
// at most 64 bytes, no whitespace, control characters or NUL, host bits not allowed, and the text
// must be an IPv4/IPv6 address or prefix. "1.2.3.4; touch /tmp/x" is an Error, never an address.
core::Result<core::Prefix> parse_target(std::string_view text);

// Detector names that may be substituted (see above).
bool is_safe_detector_name(std::string_view name) noexcept;

}  // namespace picket::enforce::exec
