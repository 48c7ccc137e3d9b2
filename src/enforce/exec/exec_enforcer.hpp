// ExecEnforcer: bans through an operator-supplied command per verb, for firewalls picket has no
// backend for (Windows `netsh advfirewall`, a cloud security group through curl, ...).
// Templates and what keeps input inert: command_template.hpp. Running them: process.hpp.
//
// How it keeps the Enforcer contract (enforcer.hpp), and where it cannot:
// - Commands run one at a time, without a shell, each with `timeout`; a non-zero exit status, a
//   signal or a timeout is an Error carrying the command and its stderr (cut to 512 bytes).
// - apply() validates the batch and renders every command first: if any decision is invalid or
//   refused (see command_template.hpp), nothing runs. It is NOT atomic: commands then run in order
//   and apply() stops at the first failure; the decisions before it took effect (list() shows
//   them), the error says how many.
// - Re-blocking a held target runs unblock, then block (so a firewall that keys rules by name
//   does not end up with two rules); the timer restarts with the new duration.
// - The other firewall cannot be listed and has no timeouts of its own: the enforcer keeps what
//   it applied in memory (lost when picket exits: the store re-applies after a restart), and
//   expire(now) runs the unblock (unrate_limit) command of every entry whose time is up. The
//   daemon calls expire() periodically (each second); list() reports the remaining time from that
//   ledger, including entries due but not yet expired.
// - flush() runs the flush command when one is configured, otherwise unblock / unrate_limit for
//   every held entry; remove() is flush() (exec owns no objects). init() checks the configuration
//   (block and unblock are required, each program is found on PATH) and changes nothing.
// - rate_limit / unrate_limit need both templates; without them they are an Error.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "config/config.hpp"
#include "enforce/enforcer.hpp"
#include "enforce/exec/command_template.hpp"

namespace picket::enforce::exec {

struct ExecSettings {
  std::vector<std::string> block, unblock, flush, rate_limit, unrate_limit;
  core::Duration timeout = core::Duration::seconds(10);
};

// Declares enforce.exec.* (block, unblock, flush, rate_limit, unrate_limit, timeout).
void declare_config(config::Schema& schema);
ExecSettings settings_from_config(const config::Config& cfg);

class ExecEnforcer : public Enforcer {
 public:
  using Clock = std::function<core::Timestamp()>;
  // An Error when a template does not parse. `clock` defaults to the wall clock (CLOCK_REALTIME).
  static core::Result<std::unique_ptr<ExecEnforcer>> create(const ExecSettings& s, Clock clock = {});

  std::string_view name() const noexcept override { return "exec"; }
  core::Result<void> init() override;
  core::Result<void> apply(std::span<const core::Decision> batch) override;
  core::Result<std::vector<core::Ban>> list() const override;
  core::Result<std::vector<RateLimit>> list_rate_limits() const override;
  core::Result<void> flush() override;
  core::Result<void> remove() override { return flush(); }

  // Runs the unblock / unrate_limit command for every entry due at `now`; returns how many were
  // lifted. On a failing command the entry stays (retried by the next call) and the first error
  // is returned after the others were tried.
  core::Result<size_t> expire(core::Timestamp now);

  // Commands run so far (successful or not), for health counters.
  uint64_t commands_run() const noexcept { return commands_run_; }

 private:
  struct Held {
    core::Timestamp until;  // Timestamp{} = no timeout
    core::Decision decision;  // the block / rate_limit that created it (for the lifting command)
  };
  using Key = std::tuple<core::Prefix, uint16_t, uint8_t>;  // port/proto 0 for bans

  ExecEnforcer(ExecSettings s, std::vector<CommandTemplate> t, Clock clock);
  core::Result<void> run(const CommandTemplate& t, const std::vector<std::string>& argv);
  static core::Decision lifting(const core::Decision& d);

  ExecSettings settings_;
  CommandTemplate block_, unblock_, flush_, rate_limit_, unrate_limit_;
  Clock clock_;
  std::map<Key, Held> held_;
  uint64_t commands_run_ = 0;
};

}  // namespace picket::enforce::exec
