// IpsetEnforcer: bans through ipset + iptables, for hosts without nftables.
//
// What it owns (and touches nothing else):
//   sets  picket4 / picket6          hash:ip  family inet / inet6  timeout 0 comment   (address bans)
//         picket_net4 / picket_net6  hash:net family inet / inet6  timeout 0 comment   (prefix bans)
//   rules iptables / ip6tables -t raw PREROUTING: -m set --match-set <set> src -j DROP (one per set)
// The raw table runs before conntrack, so established flows are cut too.
//
// How it keeps the Enforcer contract (enforcer.hpp):
// - init(): one `ipset restore -exist` creating the four sets (idempotent), then per rule
//   `iptables -C` and, when missing, `iptables -I PREROUTING 1`.
// - apply(): validates the whole batch (rate limits and /0 prefixes are refused here: "not
//   supported by the ipset backend"), then writes ONE `ipset restore -exist` script: `add ...
//   timeout N comment "detector"` (with -exist, re-adding restarts the timer) and `del ...` (with
//   -exist, deleting what is absent is fine). One process per batch, never one per ban. Not
//   atomic: ipset stops at the first failing line, earlier lines stay applied; the error names
//   the decision of that line.
// - Timeouts live in the kernel (ipset's per-element timeout), rounded up to whole seconds (a
//   500 ms ban is 1 s, never 0 which would mean "no timeout"), and capped at ipset's maximum
//   kMaxIpsetTimeout (about 24.8 days): a longer ban expires at the cap and the store's
//   reconciliation re-applies it after the next restart.
// - list(): one `ipset save`, parsed for picket's sets: target, remaining seconds, detector (the
//   element's comment). list_rate_limits() is empty.
// - flush(): recreates missing sets and flushes the four; remove(): deletes picket's rules (all
//   copies) then destroys the sets that exist.
// Commands run through a CommandRunner (passed in): the real one spawns processes with a timeout;
// kernel tests wrap it in `ip netns exec NS`; unit tests pass a fake.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "enforce/enforcer.hpp"
#include "enforce/exec/process.hpp"

namespace picket::enforce::ipset {

inline constexpr core::Duration kMaxIpsetTimeout = core::Duration::seconds(2'147'483);

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual core::Result<exec::ProcessResult> run(const std::vector<std::string>& argv, std::string_view stdin_text) = 0;
};

// Runs commands with run_process and `timeout`; `wrapper` is put in front of every argv (tests:
// {"ip", "netns", "exec", NAME}).
std::unique_ptr<CommandRunner> process_runner(core::Duration timeout, std::vector<std::string> wrapper = {});

struct IpsetSettings {
  uint32_t maxelem = 1'048'576;  // per set
  core::Duration timeout = core::Duration::seconds(30);
};

// Declares enforce.ipset.* (maxelem, timeout).
void declare_config(config::Schema& schema);
IpsetSettings settings_from_config(const config::Config& cfg);

class IpsetEnforcer : public Enforcer {
 public:
  IpsetEnforcer(IpsetSettings s, std::unique_ptr<CommandRunner> runner);

  std::string_view name() const noexcept override { return "ipset"; }
  core::Result<void> init() override;
  core::Result<void> apply(std::span<const core::Decision> batch) override;
  core::Result<std::vector<core::Ban>> list() const override;
  core::Result<void> flush() override;
  core::Result<void> remove() override;

  // The `ipset restore` script apply() would send for `batch` (validated), for tests and `--dry`.
  core::Result<std::string> restore_script(std::span<const core::Decision> batch) const;

 private:
  core::Result<exec::ProcessResult> run(const std::vector<std::string>& argv, std::string_view in,
                                        std::string_view what) const;
  std::string create_lines() const;

  IpsetSettings settings_;
  std::unique_ptr<CommandRunner> runner_;
};

// Parses `ipset save` output, keeping only picket's sets' elements.
core::Result<std::vector<core::Ban>> parse_save(std::string_view text);

}  // namespace picket::enforce::ipset
