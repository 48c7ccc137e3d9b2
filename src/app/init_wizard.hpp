// `picket init`: the questions, their checks and the commented YAML file they produce. Kept apart
// from the terminal (cmd_init in init.cpp) so that tests drive it with string streams.
//
// Contract:
// - One question at a time, the default in brackets; an empty answer takes the default, "?" prints
//   the key's help. Each answer is checked with the same functions the loader uses (type, range,
//   choices, address/prefix syntax) plus checks of its own (the interface exists on this host,
//   URL schemes, mail addresses, syslog targets). A bad answer prints the reason and asks again.
// - End of input aborts: ask() returns an error, and nothing is produced.
// - Defaults follow the profile chosen: after "aggressive" the rate-limit default is aggressive's.
// - Keys the schema does not declare (e.g. alerts.* in a build without alert destinations) are
//   neither asked nor written.
// - render() writes the profile and every answered key, each under its help as a comment; the
//   result loads with config::load_string against the same schema (render checks that).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "config/schema.hpp"
#include "core/result.hpp"

namespace picket::app {

struct HostInterface {
  std::string name;
  bool up = false;
  bool loopback = false;
};
// The host's network interfaces (getifaddrs), each once, in the kernel's order. Empty when
// getifaddrs fails (the wizard then accepts any well-formed name).
std::vector<HostInterface> host_interfaces();

// What the wizard settled on: the profile and each written key with its value, in asking order.
struct InitAnswers {
  config::Profile profile = config::Profile::normal;
  std::vector<std::pair<std::string, config::Value>> values;

  const config::Value* find(std::string_view path) const;
};

// Suggested paths: inside the directory the logrotate snippet (contrib/logrotate/picket) rotates.
inline constexpr const char* kDefaultEventsFile = "/var/log/picket/events.json";
inline constexpr const char* kDefaultLogFile = "/var/log/picket/picket.log";
// Longest answer read; a longer line is refused (and the rest of it skipped) rather than stored.
inline constexpr size_t kMaxAnswerBytes = 4096;

class InitWizard {
 public:
  // `schema` must outlive the wizard. `interfaces` are offered and answers checked against them
  // (empty = no check beyond the name's syntax). `hostname` makes the default mail sender.
  InitWizard(const config::Schema& schema, std::vector<HostInterface> interfaces, std::string hostname);

  // Asks on `out`, reads answers from `in`. Error "aborted: end of input" when `in` ends first.
  core::Result<InitAnswers> ask(std::istream& in, std::ostream& out) const;
  // Every question answered with its default (picket init --defaults).
  InitAnswers defaults() const;

  // The commented YAML file. An error only if it would not load back (a bug, never expected).
  core::Result<std::string> render(const InitAnswers& answers) const;

 private:
  class Session;
  const config::Schema& schema_;
  std::vector<HostInterface> interfaces_;
  std::string hostname_;
};

}  // namespace picket::app
