// Builds the configured enforcer (enforce.backend) for the daemon, wrapped in conntrack cleanup
// when enforce.conntrack_cleanup is on and the kernel lets us open conntrack.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "daemon/settings.hpp"
#include "enforce/conntrack/cleanup_enforcer.hpp"
#include "enforce/enforcer.hpp"
#include "enforce/exec/exec_enforcer.hpp"
#include "enforce/nftables/nftables_enforcer.hpp"

namespace picket::daemon {

struct EnforcerBundle {
  std::unique_ptr<enforce::Enforcer> enforcer;
  enforce::conntrack::ConntrackCleanupEnforcer* cleanup = nullptr;  // inside `enforcer`, when wrapped
  enforce::exec::ExecEnforcer* exec = nullptr;  // the exec backend, whose expiry runs on a timer
  enforce::nftables::NftablesEnforcer* nftables = nullptr;  // the nftables backend (its scan trap)
  std::string warning;  // e.g. conntrack could not be opened: bans still work, flows are not cut
};

// An Error when the backend cannot be created at all (an exec template that does not parse, no
// netlink socket). A backend that exists but fails (no nftables in the kernel, no permission)
// is returned: its init()/apply() errors are reported and retried by the daemon.
core::Result<EnforcerBundle> make_enforcer(const DaemonSettings& s, const config::Config& cfg);

}  // namespace picket::daemon
